//! Mutant: `sell` decrements unconditionally and reports success from the old value: a sold-out office wraps to u64::MAX.
//! expect-fail: race_loom::last_ticket_is_sold_once, race_loom::three_windows_sell_two_tickets, race_loom::one_ticket_two_windows_each_trying_twice, race_stress::eight_windows_never_oversell, race_stress::many_sell_outs

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

    /// Check and sale in one compare-and-swap loop: the decrement happens only if the
    /// count is still the one that was checked.
    pub fn sell(&self) -> bool {
        self.left.fetch_sub(1, Ordering::SeqCst) > 0
    }

    pub fn left(&self) -> u64 {
        self.left.load(Ordering::SeqCst)
    }
}
