//! Kata `race` — 多线程-共享全局变量, 同步的概念. See README.md.
//!
//! Take every thread, lock and atomic from `kata_sync` (never `std::sync`, `std::thread` or
//! parking_lot directly): the grader swaps in loom's models to try every interleaving.

use kata_sync::atomic::{AtomicU64, Ordering};
use kata_sync::thread;
use kata_sync::Arc;

/// A counter that many threads increment at once.
pub struct Counter {
    value: AtomicU64,
}

impl Counter {
    pub fn new() -> Counter {
        Counter {
            value: AtomicU64::new(0),
        }
    }

    /// Adds one. No increment is ever lost, however many threads call it at once.
    pub fn increment(&self) {
        // TODO: this is the course's `num += 1`: read, then write back. Two threads can
        // both read 0 and both write 1, and one increment is lost. Make it one step.
        let seen = self.value.load(Ordering::SeqCst);
        self.value.store(seen + 1, Ordering::SeqCst);
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

/// `threads` threads each call `increment` `per_thread` times on one counter; returns the final count.
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

/// A box office with a fixed number of tickets, selling from many windows at once.
pub struct TicketOffice {
    left: AtomicU64,
}

impl TicketOffice {
    pub fn new(tickets: u64) -> TicketOffice {
        TicketOffice {
            left: AtomicU64::new(tickets),
        }
    }

    /// Sells one ticket if any is left. Never sells more tickets than there were.
    pub fn sell(&self) -> bool {
        // TODO: check-then-act. Two windows can both see one ticket left, and both sell it.
        // Make the check and the sale one indivisible step.
        let left = self.left.load(Ordering::SeqCst);
        if left == 0 {
            return false;
        }
        self.left.store(left - 1, Ordering::SeqCst);
        true
    }

    pub fn left(&self) -> u64 {
        self.left.load(Ordering::SeqCst)
    }
}
