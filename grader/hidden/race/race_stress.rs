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

/// `rounds` times, `windows` windows started together sell `tickets` tickets until the
/// office refuses: each round must sell exactly `tickets`, leave none, and refuse one more.
/// (Many rounds, not one long sell-out: on a crowded machine the windows may share one
/// core, and each round's start makes them race again.)
fn sell_outs(rounds: usize, windows: usize, tickets: u64) {
    for round in 0..rounds {
        let office = Arc::new(TicketOffice::new(tickets));
        let shared = Arc::clone(&office);
        let sold: u64 = together(windows, move || {
            // No window can rightly sell more than there are: an office that sells on
            // past zero fails here rather than selling until the time limit.
            let mut sold = 0u64;
            while sold <= tickets && shared.sell() {
                sold += 1;
            }
            sold
        })
        .into_iter()
        .sum();
        assert_eq!(sold, tickets, "round {round}: {windows} windows sold {sold} tickets out of {tickets}");
        assert_eq!(office.left(), 0, "round {round}: left() once every window saw the office sold out");
        assert!(!office.sell(), "round {round}: the sold-out office sold one more ticket");
        assert_eq!(office.left(), 0, "round {round}: left() after a refused sale");
    }
}

hidden_test! {
    /// Sixteen sell-outs of a million tickets by eight windows.
    fn eight_windows_never_oversell() {
        sell_outs(16, 8, 1_000_000);
    }
}

hidden_test! {
    /// Twenty-four sell-outs of a million tickets by four windows. (Rounds of 100 000 were
    /// too short: each fits in one time slice, and on a crowded machine a racy office
    /// once survived 101 of them in a row.)
    fn many_sell_outs() {
        sell_outs(24, 4, 1_000_000);
    }
}
