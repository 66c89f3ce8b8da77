//! Hidden stress suite of kata `race`: real threads, counts too large for loom.
//!
//! A lost update needs a thread to be paused between its read and its write. Left to the
//! scheduler that is rare (a thread is preempted at the end of a time slice), so these
//! tests turn on the facade's chaos first (`kata_sync::chaos`): now and then an atomic
//! operation yields the processor, dawdles or naps just before it, and a new lock holder
//! naps holding the lock. Every window between two steps is then crossed by other
//! threads hundreds of times in a hundred thousand operations, started together at a
//! barrier, on one core or many: a racy solution fails these tests on every run, not by
//! luck, and a correct one cannot tell the difference.

use kata_harness::hidden_test;
use kata_testkit::threads::{together, together_with};
use race::{count_in_parallel, Counter, TicketOffice};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

hidden_test! {
    /// count_in_parallel(4, 50 000): two hundred thousand increments, none lost.
    fn four_threads_count_together() {
        kata_sync::chaos::enable();
        let got = count_in_parallel(4, 50_000);
        for (threads, each) in [(0, 1000), (1, 0), (1, 1000)] {
            let few = count_in_parallel(threads, each);
            assert_eq!(
                few,
                threads as u64 * each,
                "count_in_parallel({threads}, {each}) returned {few}: `threads` threads each \
                 call increment `per_thread` times, so the count is exactly threads x \
                 per_thread ({}). Only the threads count_in_parallel starts may count: the \
                 calling thread starts and joins them, and adds nothing itself",
                threads as u64 * each
            );
        }
        assert_eq!(
            got, 200_000,
            "4 threads x 50000 increments gave {got}: {} increments were lost \
             (or the count was read before every thread had finished)",
            200_000 - got.min(200_000)
        );
    }
}

hidden_test! {
    /// Eight threads started together on one Counter, 25 000 increments each.
    fn eight_threads_share_one_counter() {
        kata_sync::chaos::enable();
        let counter = Arc::new(Counter::new());
        let shared = Arc::clone(&counter);
        together(8, move |_| {
            for _ in 0..25_000 {
                shared.increment();
            }
        });
        let got = counter.get();
        assert_eq!(got, 200_000, "8 threads x 25000 increments gave {got}: increments were lost");
    }
}

hidden_test! {
    /// Three times, four threads started together increment one Counter 50 000 times each
    /// while a fifth reads get() over and over: no read is ever smaller than one before it
    /// (get() is the count, never a "busy" answer), and the final count is exact.
    fn get_never_goes_back_while_others_count() {
        kata_sync::chaos::enable();
        // Three times: a get() that gives up on a busy lock is caught only if one of its
        // reads meets a writer holding it, and one run now and then has none.
        for _ in 0..3 {
            reads_while_others_count();
        }
    }
}

/// One run of `get_never_goes_back_while_others_count`.
fn reads_while_others_count() {
    const WRITERS: usize = 4;
    const EACH: u64 = 50_000;
    let counter = Arc::new(Counter::new());
    counter.increment();
    let finished = Arc::new(AtomicUsize::new(0));
    let mut writers = {
        let (counter, finished) = (Arc::clone(&counter), Arc::clone(&finished));
        together_with(WRITERS, move |_| {
            for _ in 0..EACH {
                counter.increment();
            }
            finished.fetch_add(1, Ordering::SeqCst);
        })
    };
    // This thread reads until every writer has finished (and once more after that).
    writers.go();
    let (mut reads, mut backwards, mut example, mut highest) = (0u64, 0u64, None, 0);
    loop {
        let all_done = finished.load(Ordering::SeqCst) == WRITERS;
        let now = counter.get();
        reads += 1;
        if now < highest {
            backwards += 1;
            example.get_or_insert((highest, now));
        }
        highest = highest.max(now);
        if all_done {
            break;
        }
        // A reader that never sleeps is the one a crowded core runs last: now and
        // then it naps, so that it wakes in the middle of the writers' work.
        if reads % 64 == 0 {
            std::thread::sleep(std::time::Duration::from_micros(20));
        }
    }
    writers.join();
    if let Some((before, after)) = example {
        panic!(
            "while {WRITERS} threads incremented a Counter (which started at 1), get() \
             went backwards {backwards} times in {reads} reads (for instance {after} \
             after {before}): get() must return the count, which only ever grows, never \
             a stand-in (such as 0) while another thread is busy with the counter, and no \
             increment may be lost"
        );
    }
    let got = counter.get();
    let want = 1 + WRITERS as u64 * EACH;
    assert_eq!(
        got, want,
        "a Counter at 1, then {WRITERS} threads x {EACH} increments, gave {got}: \
         increments were lost"
    );
}

/// How many more sales each window tries once every window has been refused: all must be
/// refused, while the other windows are being refused at the same moment.
const AFTER_SOLD_OUT: u64 = 1_000;

/// `rounds` times, `windows` windows started together sell `tickets` tickets until the
/// office refuses, then (once all have been refused) try `AFTER_SOLD_OUT` more sales each:
/// each round must sell exactly `tickets`, leave none, and refuse one more.
/// (Many rounds, not one long sell-out: each round's start makes the windows race again.)
fn sell_outs(rounds: usize, windows: usize, tickets: u64) {
    kata_sync::chaos::enable();
    for round in 0..rounds {
        let office = Arc::new(TicketOffice::new(tickets));
        let shared = Arc::clone(&office);
        let all_refused = Arc::new(Barrier::new(windows));
        let sold: u64 = together(windows, move |_| {
            // No window can rightly sell more than there are: an office that sells on
            // past zero fails here rather than selling until the time limit.
            let mut sold = 0u64;
            while sold <= tickets && shared.sell() {
                sold += 1;
            }
            // Once every window has been refused, the office is sold out: a sale on an
            // empty office must change nothing, not even for a moment (a window that takes
            // a ticket first and puts it back when there was none lets another window sell
            // the ticket that is not there).
            all_refused.wait();
            for _ in 0..AFTER_SOLD_OUT {
                if shared.sell() {
                    sold += 1;
                }
            }
            sold
        })
        .into_iter()
        .sum();
        assert_eq!(
            sold, tickets,
            "round {round}: {windows} windows sold {sold} tickets out of {tickets} (each \
             window sold until the office refused, then tried {AFTER_SOLD_OUT} more sales, \
             which must all be refused)"
        );
        assert_eq!(office.left(), 0, "round {round}: left() once every window saw the office sold out");
        assert!(!office.sell(), "round {round}: the sold-out office sold one more ticket");
        assert_eq!(office.left(), 0, "round {round}: left() after a refused sale");
    }
}

hidden_test! {
    /// Sixteen sell-outs of 5 000 tickets by eight windows, each window then trying
    /// 1 000 more sales of the sold-out office.
    fn eight_windows_never_oversell() {
        sell_outs(16, 8, 5_000);
    }
}

hidden_test! {
    /// Twenty-four sell-outs of 5 000 tickets by four windows, each window then trying
    /// 1 000 more sales of the sold-out office. (Without chaos, rounds of 100 000 were too
    /// short: each fit in one time slice, and on a crowded machine a racy office once
    /// survived 101 of them in a row. Chaos pauses the windows inside every round.)
    fn many_sell_outs() {
        sell_outs(24, 4, 5_000);
    }
}
