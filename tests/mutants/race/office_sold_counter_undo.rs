//! Mutant: the office counts tickets *sold* (`fetch_add`), undoes the sale with `fetch_sub` when it went past the stock, and computes `left()` as `tickets - sold`.
//! expect-fail: race_loom::one_ticket_two_windows_each_trying_twice
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: the office counts tickets *sold* (`fetch_add`), undoes the sale with `fetch_sub` when it went past the stock, and computes `left()` as `tickets - sold`.
//! Breaks: `left()` must be the number of tickets left ("Sells one ticket if any is left. Never sells more tickets than there were."): while a refused sale is being undone, `sold` is transiently `tickets + 1` and `left()` underflows (panic in debug, a huge number in release).
//! Shows when: the office is sold out and one window's `sell` (which will be refused) runs at the same time as another thread calling `left()`.
//! Evidence: loom check ws-locks/race/tests/loom_checks.rs::left_is_consistent_while_a_refused_sale_runs (office of 0, one thread sells, main calls left()) fails deterministically: "attempt to subtract with overflow" in TicketOffice::left; passes on the reference. Visible tests and the stress checks pass on the mutant.


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
    tickets: u64,
    sold: AtomicU64,
}

impl TicketOffice {
    pub fn new(tickets: u64) -> TicketOffice {
        TicketOffice {
            tickets,
            sold: AtomicU64::new(0),
        }
    }

    /// Claim a ticket number in one atomic step; numbers past the stock are given back.
    pub fn sell(&self) -> bool {
        let number = self.sold.fetch_add(1, Ordering::SeqCst);
        if number >= self.tickets {
            self.sold.fetch_sub(1, Ordering::SeqCst);
            return false;
        }
        true
    }

    pub fn left(&self) -> u64 {
        self.tickets - self.sold.load(Ordering::SeqCst)
    }

}
