//! Mutant: `sell` does a single `compare_exchange(left, left - 1)` and reports the sale as failed when the CAS loses, instead of retrying.
//! expect-fail: race_loom::three_windows_sell_two_tickets, race_loom::two_windows_sell_the_last_two_tickets
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: `sell` does a single `compare_exchange(left, left - 1)` and reports the sale as failed when the CAS loses, instead of retrying.
//! Breaks: "Sells one ticket if any is left." (README, TicketOffice::sell) — it returns false while tickets remain.
//! Shows when: two windows sell at once with 2+ tickets left: one CAS fails because the other changed the count, and that window is told "sold out" although a ticket is still there.
//! Evidence: loom check two_tickets_two_windows_both_sell fails deterministically ("2 windows, 2 tickets: sold 1", left (1, 1)); stress check stress_no_false_sold_out (2000 rounds, 4 windows x 2 sells on 8 tickets) fails 3/3 runs; both pass on the reference. Visible tests pass 4/4 (in many_windows_never_oversell the last window standing sells the rest, so the total still comes out right).


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

    /// Check and sale in one compare-and-swap: the decrement happens only if the count is
    /// still the one that was checked, so no ticket is ever sold twice.
    pub fn sell(&self) -> bool {
        let left = self.left.load(Ordering::SeqCst);
        if left == 0 {
            return false;
        }
        self.left
            .compare_exchange(left, left - 1, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }


    pub fn left(&self) -> u64 {
        self.left.load(Ordering::SeqCst)
    }
}
