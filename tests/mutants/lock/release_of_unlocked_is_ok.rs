//! Mutant: `release` of a lock that is not locked returns Ok instead of Err(ReleaseError).
//! expect-fail: lock_loom::two_releases_of_one_hold_one_is_refused, lock_stress::releasing_an_unlocked_lock_is_an_error
//!
//! The lock's state, locked or not, is a `bool` behind a `Mutex`; the `Mutex` is held only
//! for the few instructions that look at or change that flag, never while the *Lock* is
//! held. A `Condvar` lets a thread that finds the lock taken sleep until a `release`.
//! Because the state is just a flag, not a guard owned by one thread, any thread may
//! release the lock, as in Python.

use kata_sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// `release()` of a lock that is not locked (Python raises
/// `RuntimeError: release unlocked lock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseError;

impl std::fmt::Display for ReleaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("release unlocked lock")
    }
}

impl std::error::Error for ReleaseError {}

/// A lock in the style of Python's `threading.Lock`.
pub struct Lock {
    /// True while some thread holds the lock.
    locked: Mutex<bool>,
    /// Notified by every `release`: the lock may now be free.
    released: Condvar,
}

impl Lock {
    /// A new, unlocked lock.
    pub fn new() -> Lock {
        Lock {
            locked: Mutex::new(false),
            released: Condvar::new(),
        }
    }

    /// Takes the lock and returns true. If another thread holds it: with `blocking ==
    /// false`, returns false at once; with `blocking == true` and no timeout, waits until
    /// it is released; with a timeout, waits at most that long and returns false if the
    /// lock is still held. With `blocking == false` the timeout is ignored.
    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        let mut locked = self.locked.lock();
        if !blocking {
            if *locked {
                return false;
            }
            *locked = true;
            return true;
        }
        // A deadline, not a fresh timeout per wait: a wake-up that finds the lock taken
        // again must not restart the clock. `None` when there is no timeout (or one too
        // far away to represent, which amounts to the same).
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        // A loop, not an `if`: a release wakes every waiter, and all but one of them (or
        // all of them, if a thread that was not waiting got in first) find it taken again.
        while *locked {
            match (timeout, deadline) {
                (Some(_), Some(deadline)) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    self.released.wait_for(&mut locked, deadline - now);
                }
                _ => self.released.wait(&mut locked),
            }
        }
        *locked = true;
        true
    }

    /// Unlocks the lock, from any thread (not only the one that acquired it), and wakes
    /// the threads waiting in `acquire`. `Err(ReleaseError)` if it was not locked.
    pub fn release(&self) -> Result<(), ReleaseError> {
        let mut locked = self.locked.lock();
        // The bug: no check that the lock was locked.
        *locked = false;
        // Under the mutex: a thread in `acquire` has either not yet looked at the flag
        // (it will see it false) or is already waiting (and is woken). notify_one would
        // do for correct waiters; notify_all is also correct, and is the choice that
        // requires the waiters' `while` loop.
        self.released.notify_all();
        Ok(())
    }

    /// Whether some thread holds the lock right now.
    pub fn locked(&self) -> bool {
        *self.locked.lock()
    }
}

impl Default for Lock {
    fn default() -> Lock {
        Lock::new()
    }
}
