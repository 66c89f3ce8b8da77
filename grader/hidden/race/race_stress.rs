//! Hidden stress suite of kata `race`: real threads, counts too large for loom.
//!
//! A lost update needs a thread to be paused between its read and its write. With
//! millions of operations per thread, started together at a barrier, that happens
//! thousands of times per run even when the machine is busy and the threads share one
//! core, so a racy solution fails these tests on every run, not by luck.

use kata_harness::hidden_test;
use race::{count_in_parallel, Counter, TicketOffice};
use std::sync::{Arc, Barrier};

/// Runs `threads` threads that start together and returns what each returned.
fn together<T: Send + 'static>(
    threads: usize,
    work: impl Fn() -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (work, start) = (Arc::clone(&work), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                work()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a thread of the test panicked"))
        .collect()
}

hidden_test! {
    /// count_in_parallel(4, 2 500 000): ten million increments, none lost.
    fn ten_million_increments() {
        let got = count_in_parallel(4, 2_500_000);
        assert_eq!(
            got, 10_000_000,
            "4 threads x 2500000 increments gave {got}: {} increments were lost \
             (or the count was read before every thread had finished)",
            10_000_000 - got.min(10_000_000)
        );
    }
}

hidden_test! {
    /// Eight threads started together on one Counter, a million increments each.
    fn eight_threads_share_one_counter() {
        let counter = Arc::new(Counter::new());
        let shared = Arc::clone(&counter);
        together(8, move || {
            for _ in 0..1_000_000 {
                shared.increment();
            }
        });
        let got = counter.get();
        assert_eq!(got, 8_000_000, "8 threads x 1000000 increments gave {got}: increments were lost");
    }
}

hidden_test! {
    /// Sixteen rounds of eight windows, started together, selling a million tickets until
    /// sold out: exactly a million sales each round, then the office refuses. (Rounds, not
    /// one long sell-out: on a crowded machine the eight threads may share one core, and
    /// each round's start makes them race again.)
    fn eight_windows_never_oversell() {
        for round in 0..16 {
            let office = Arc::new(TicketOffice::new(1_000_000));
            let shared = Arc::clone(&office);
            let sold: u64 = together(8, move || {
                let mut sold = 0u64;
                while shared.sell() {
                    sold += 1;
                }
                sold
            })
            .into_iter()
            .sum();
            assert_eq!(sold, 1_000_000, "round {round}: 8 windows sold {sold} tickets out of 1000000");
            assert_eq!(office.left(), 0, "round {round}: left() once every window saw the office sold out");
            assert!(!office.sell(), "round {round}: the sold-out office sold one more ticket");
            assert_eq!(office.left(), 0, "round {round}: left() after a refused sale");
        }
    }
}

hidden_test! {
    /// 200 rounds of 4 windows racing for 100 000 tickets: every round sells exactly that.
    /// (A round is short: on a crowded machine a racy office may survive a few, not 200.)
    fn many_sell_outs() {
        for round in 0..200 {
            let office = Arc::new(TicketOffice::new(100_000));
            let shared = Arc::clone(&office);
            let sold: u64 = together(4, move || {
                let mut sold = 0u64;
                while shared.sell() {
                    sold += 1;
                }
                sold
            })
            .into_iter()
            .sum();
            assert_eq!(sold, 100_000, "round {round}: 4 windows sold {sold} of 100000 tickets");
            assert_eq!(office.left(), 0, "round {round}: left() after the sell-out");
        }
    }
}
