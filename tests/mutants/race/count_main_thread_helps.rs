//! Mutant: `count_in_parallel` spawns `threads - 1` helpers and lets the calling thread do the last share of the work itself (saturating so 0 threads "cannot underflow").
//! expect-fail: race_stress::four_threads_count_together
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: `count_in_parallel` spawns `threads - 1` helpers and lets the calling thread do the last share of the work itself (saturating so 0 threads "cannot underflow").
//! Breaks: "`threads` threads each call `increment` `per_thread` times on one counter; returns the final count." — with 0 threads nobody should count, but the caller still does `per_thread` increments.
//! Shows when: count_in_parallel(0, n) returns n instead of 0 (every threads >= 1 is right).
//! Evidence: ws-locks/race/tests/checks.rs::zero_threads_count_nothing fails 3/3 runs (left: 5, right: 0: "0 threads counted"), passes on the reference; visible tests pass 4/4 on the mutant; loom checks pass (not a concurrency bug).


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
    // The calling thread is one of the workers: spawn the others, then do our share.
    let handles: Vec<_> = (0..threads.saturating_sub(1))
        .map(|_| {
            let counter = Arc::clone(&counter);
            thread::spawn(move || {
                for _ in 0..per_thread {
                    counter.increment();
                }
            })
        })
        .collect();
    for _ in 0..per_thread {
        counter.increment();
    }
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
        self.left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_ok()
    }

    pub fn left(&self) -> u64 {
        self.left.load(Ordering::SeqCst)
    }
}
