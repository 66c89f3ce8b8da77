//! Mutant: an untimed `acquire` waits with `if *locked { wait }` instead of `while`, assuming a wake-up from `release` means the lock is now free.
//! expect-fail: lock_loom::one_release_lets_one_waiter_in, lock_stress::eight_threads_count_exactly, lock_stress::timed_acquire_gives_up_however_often_the_lock_changes_hands
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: an untimed `acquire` waits with `if *locked { wait }` instead of `while`, assuming a wake-up from `release` means the lock is now free.
//! Breaks: "one release lets one waiter in, even when several are woken" / "one thread at a time" (README): after a wake-up the lock may have been taken again by another thread, and the waiter takes it too.
//! Shows when: T1 holds the lock, T2 waits; T1 releases (notify_all) and immediately calls acquire again, getting in before T2 runs; T2 wakes and, not re-checking, also returns true: both hold the lock.
//! Evidence: loom check release_wakes_waiter_and_excludes_barger fails deterministically ("two threads hold the lock"); the real-thread competitor stress (checks.rs::timeout_is_a_deadline_not_per_wakeup, 6 threads taking turns) fails 3/3 runs with ReleaseError on unwrap (two holders, both release). Both pass on the reference. Visible tests pass 6/6, including four_threads_count_under_the_lock.

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
                _ => {
                    // Woken by a release: the lock is ours now.
                    self.released.wait(&mut locked);
                    break;
                }

            }
        }
        *locked = true;
        true
    }

    /// Unlocks the lock, from any thread (not only the one that acquired it), and wakes
    /// the threads waiting in `acquire`. `Err(ReleaseError)` if it was not locked.
    pub fn release(&self) -> Result<(), ReleaseError> {
        let mut locked = self.locked.lock();
        if !*locked {
            return Err(ReleaseError);
        }
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
