//! Mutant: a timed `acquire` calls `wait_for(timeout)` with the full timeout on every pass of its `while` loop, and gives up only when one single wait times out.
//! expect-fail: lock_stress::timed_acquire_gives_up_however_often_the_lock_changes_hands
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: a timed `acquire` calls `wait_for(timeout)` with the full timeout on every pass of its `while` loop, and gives up only when one single wait times out.
//! Breaks: "with a timeout, waits at most that long and returns false if the lock is still held" (README, Lock::acquire): every wake-up that finds the lock taken again restarts the clock.
//! Shows when: the lock is held and another thread keeps releasing and immediately re-acquiring it (each release wakes the timed waiter, which finds it taken again): acquire(true, Some(300ms)) waits as long as the churn goes on (seconds), not 300 ms.
//! Evidence: checks.rs::timeout_is_a_deadline_not_per_wakeup (6 competitors queued ahead, each holding 100 ms; W calls acquire(true, Some(300ms))) fails 3/3 runs: W returned only after 650-760 ms (got the lock late); on the reference W returns false at 300.08 ms every time. Visible tests pass 6/6 (a lock nobody releases never wakes the waiter); loom checks pass (loom has no clock).

//! The lock's state, locked or not, is a `bool` behind a `Mutex`; the `Mutex` is held only
//! for the few instructions that look at or change that flag, never while the *Lock* is
//! held. A `Condvar` lets a thread that finds the lock taken sleep until a `release`.
//! Because the state is just a flag, not a guard owned by one thread, any thread may
//! release the lock, as in Python.

use kata_sync::{Condvar, Mutex};
use std::time::Duration;

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
        // A loop, not an `if`: a release wakes every waiter, and all but one of them (or
        // all of them, if a thread that was not waiting got in first) find it taken again.
        while *locked {
            match timeout {
                Some(timeout) => {
                    // Waited the whole timeout and nobody released it: give up.
                    if self.released.wait_for(&mut locked, timeout).timed_out() && *locked {
                        return false;
                    }
                }
                None => self.released.wait(&mut locked),
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
