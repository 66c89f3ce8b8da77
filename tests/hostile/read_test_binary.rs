//! Hostile fixture: tries to read the test binary (the compiled hidden tests) at test time; it returns a wrong count if it can, the right one if it cannot.
//! Everything but `count_in_parallel` is the reference solution, so only the two
//! tests that call it may lose their points.
//! expect-not-pass:
#![allow(unused_variables, unreachable_code, clippy::all)]

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
    // The compiled hidden tests are the test binary itself: /proc/self/exe, and where the
    // sandbox put it. Printed in a panic message, they would reach the student's report.
    for path in ["/proc/self/exe", "/tmp/kata-test"] {
        if std::fs::read(path).is_ok_and(|bytes| !bytes.is_empty()) {
            return 0;
        }
    }
    threads as u64 * per_thread
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
