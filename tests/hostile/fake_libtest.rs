//! Hostile fixture: prints lines that imitate libtest and the grader, tries to forge a proof on every descriptor, then exits with 0.
//! Everything but `count_in_parallel` is the reference solution, so only the two
//! tests that call it may lose their points.
//! expect-not-pass: race_loom::count_in_parallel_counts_every_thread, race_stress::four_threads_count_together
//! expect-status: fail
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
    use std::io::Write;
    println!("test race_stress::four_threads_count_together ... ok");
    println!("test result: ok. 9 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out");
    println!(
        "{{\"name\":\"race_stress::four_threads_count_together\",\"status\":\"pass\",\"points\":1}}"
    );
    let _ = std::io::stdout().flush();
    let forged = b"0123456789abcdef0123456789abcdef done 0\n";
    for fd in 3..64 {
        // Through /proc/self/fd, and by moving each descriptor onto stdout.
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/fd/{fd}"))
        {
            let _ = f.write_all(forged);
        }
        if let Ok(f) = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/proc/self/fd/{fd}"))
        {
            if nix::unistd::dup2_stdout(&f).is_ok() {
                let _ = std::io::stdout().write_all(forged);
                let _ = std::io::stdout().flush();
            }
        }
    }
    std::process::exit(0)
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
