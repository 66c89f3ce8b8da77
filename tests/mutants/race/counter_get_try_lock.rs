//! Mutant: the counter is a `Mutex<u64>`; `increment` locks it, and `get` uses `try_lock` so that a reader never blocks the counting threads, answering 0 when the lock is busy.
//! expect-fail: race_stress::get_never_goes_back_while_others_count
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: the counter is a `Mutex<u64>`; `increment` locks it, and `get` uses `try_lock` so that a reader never blocks the counting threads, answering 0 when the lock is busy.
//! Breaks: `get` must be the counter's value ("Adds one. No increment is ever lost"): while another thread is incrementing, `get` reports 0, i.e. increments that already happened seem lost.
//! Shows when: the counter already holds n >= 1 and one thread calls `get` at the moment another thread is inside `increment` (holding the mutex): `get` returns 0.
//! Evidence: ws-locks/race/tests/checks.rs::stress_get_is_monotonic (2 threads x 200k increments, main thread reading get()) fails 3/3 runs (e.g. "168866 of 464278 reads went backwards"), passes on the reference. Visible tests pass. NOTE: the loom check get_never_goes_back_while_another_thread_counts PASSES on this mutant: loom does not preempt inside a critical section that has no other sync operation (unlock is not a branch point), so a loom-only hidden test cannot see this bug; only a stress test can.


use kata_sync::atomic::{AtomicU64, Ordering};
use kata_sync::thread;
use kata_sync::{Arc, Mutex};

pub struct Counter {
    value: Mutex<u64>,
}

impl Counter {
    pub fn new() -> Counter {
        Counter {
            value: Mutex::new(0),
        }
    }

    /// Read, add and write while holding the lock: no other thread can come in between.
    pub fn increment(&self) {
        *self.value.lock() += 1;
    }

    /// Reading must not slow the counting threads down: don't wait for the lock.
    pub fn get(&self) -> u64 {
        self.value.try_lock().map(|value| *value).unwrap_or(0)
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
