//! Mutant: `sell` decrements first with `fetch_sub` and, if there was nothing left, adds the ticket back with `fetch_add`.
//! expect-fail: race_loom::one_ticket_two_windows_each_trying_twice, race_stress::eight_windows_never_oversell, race_stress::many_sell_outs
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: `sell` decrements first with `fetch_sub` and, if there was nothing left, adds the ticket back with `fetch_add`.
//! Breaks: "Sells one ticket if any is left. Never sells more tickets than there were." (README, TicketOffice::sell)
//! Shows when: the office is empty and two windows call `sell` together: A's fetch_sub wraps 0 to u64::MAX, B's fetch_sub then sees u64::MAX and sells a ticket that does not exist before A undoes its decrement.
//! Evidence: loom checks empty_office_never_sells ("sold 1 tickets out of 0") and left_is_consistent_while_a_refused_sale_runs (left() = 18446744073709551615) fail deterministically; stress_last_ticket failed 2/3 runs (e.g. 2 oversold races of 2000); reference passes all. Visible tests pass.


use kata_sync::atomic::{AtomicU64, Ordering};
use kata_sync::thread;
use kata_sync::Arc;

pub struct Counter {
    value: AtomicU64,
}

impl Counter {
    pub fn new() -> Counter {
        Counter {
            value: AtomicU64::new(0),
        }
    }

    /// One read-modify-write: no other thread can come between the read and the write.
    pub fn increment(&self) {
        self.value.fetch_add(1, Ordering::SeqCst);
    }

    pub fn get(&self) -> u64 {
        self.value.load(Ordering::SeqCst)
    }
}

impl Default for Counter {
    fn default() -> Counter {
        Counter::new()
    }
}

pub fn count_in_parallel(threads: usize, per_thread: u64) -> u64 {
    let counter = Arc::new(Counter::new());
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..per_thread {
                    counter.increment();
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("a counting thread panicked");
    }
    counter.get()
}

pub struct TicketOffice {
    left: AtomicU64,
}

impl TicketOffice {
    pub fn new(tickets: u64) -> TicketOffice {
        TicketOffice {
            left: AtomicU64::new(tickets),
        }
    }

    /// Take the ticket first, in one atomic step; if there was none, put it back.
    pub fn sell(&self) -> bool {
        let before = self.left.fetch_sub(1, Ordering::SeqCst);
        if before == 0 {
            // Sold out: undo our decrement.
            self.left.fetch_add(1, Ordering::SeqCst);
            return false;
        }
        true
    }


    pub fn left(&self) -> u64 {
        self.left.load(Ordering::SeqCst)
    }
}
