//! Not a mutant: a correct `race` whose `Counter` waits by spinning (a spin lock on an
//! atomic), which loom cannot finish exploring. Its loom tests of the counter must read
//! "inconclusive", not "fail"; its stress tests pass (tests/student_loop.rs).

//! Reference solution of kata `race`.

use kata_sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kata_sync::thread;
use kata_sync::Arc;

pub struct Counter {
    busy: AtomicBool,
    value: AtomicU64,
}

impl Counter {
    pub fn new() -> Counter {
        Counter {
            busy: AtomicBool::new(false),
            value: AtomicU64::new(0),
        }
    }

    /// A spin lock around a load and a store: correct, but a waiting thread spins on an
    /// atomic instead of sleeping, and every turn of its loop is a branch for loom.
    pub fn increment(&self) {
        while self
            .busy
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        let value = self.value.load(Ordering::SeqCst);
        self.value.store(value + 1, Ordering::SeqCst);
        self.busy.store(false, Ordering::Release);
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
