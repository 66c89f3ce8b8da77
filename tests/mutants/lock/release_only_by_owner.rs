//! Mutant: the lock remembers which thread acquired it and refuses a `release` from any other thread, like a Rust MutexGuard (a Python Lock may be released by any thread).
//! expect-fail: lock_loom::relay_releases_from_another_thread, lock_loom::two_releases_of_one_hold_one_is_refused, lock_stress::course_relay_of_three_locks

use kata_sync::thread::{self, Thread};
use kata_sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseError;

impl std::fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("release unlocked lock")
    }
}

impl std::error::Error for ReleaseError {}

pub struct Lock {
    /// The thread holding the lock, if any.
    owner: Mutex<Option<Thread>>,
    released: Condvar,
}

impl Lock {
    pub fn new() -> Lock {
        Lock {
            owner: Mutex::new(None),
            released: Condvar::new(),
        }
    }

    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        let mut owner = self.owner.lock();
        if !blocking {
            if owner.is_some() {
                return false;
            }
            *owner = Some(thread::current());
            return true;
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        while owner.is_some() {
            match (timeout, deadline) {
                (Some(_), Some(deadline)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.released.wait_for(&mut owner, deadline - now);
                }
                _ => self.released.wait(&mut owner),
            }
        }
        *owner = Some(thread::current());
        true
    }

    pub fn release(&self) -> Result<(), ReleaseError> {
        let mut owner = self.owner.lock();
        // The bug: only the thread that acquired the lock may release it.
        if owner.as_ref().map(|t| t.id()) != Some(thread::current().id()) {
            return Err(ReleaseError);
        }
        *owner = None;
        self.released.notify_all();
        Ok(())
    }

    pub fn locked(&self) -> bool {
        self.owner.lock().is_some()
    }
}

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}
