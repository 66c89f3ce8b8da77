//! Kata `lock` — 互斥锁. See README.md.
//!
//! Take every lock and condition variable from `kata_sync` (never `std::sync`,
//! `std::thread` or parking_lot directly): the grader swaps in loom's models to try every
//! interleaving. (`std::time::{Duration, Instant}` are fine: they are not synchronisation.)
//!
//! This stub remembers whether the lock is locked, but nothing in it ever waits: `acquire`
//! takes the lock even while another thread holds it, so it excludes nobody.

use kata_sync::Mutex;
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
    /// True while some thread holds the lock. (The `Mutex` only guards this flag for the
    /// moment it takes to look at it or change it; it is not the lock itself.)
    locked: Mutex<bool>,
    // TODO: a thread that finds the lock taken must sleep until a `release`: add a
    // `kata_sync::Condvar` that `release` notifies and `acquire` waits on.
}

impl Lock {
    /// A new, unlocked lock.
    pub fn new() -> Lock {
        Lock {
            locked: Mutex::new(false),
        }
    }

    /// Takes the lock and returns true; a free lock is always taken, whatever the
    /// arguments. If another thread holds it: with `blocking == false`, returns false at
    /// once (the timeout is then ignored); with `blocking == true` and no timeout, waits
    /// until it is released and takes it; with `Some(t)`, takes it if it comes free
    /// within `t` of the call, and otherwise returns false once `t` has passed since the
    /// call: never sooner, and without starting the clock again when a wake-up finds the
    /// lock taken again. Any `t` is valid: `Duration::ZERO` never waits, and one too long
    /// to add to `Instant::now()` (like `Duration::MAX`) is as good as no timeout.
    pub fn acquire(&self, blocking: bool, timeout: Option<Duration>) -> bool {
        // TODO: this takes the lock even when another thread holds it: two threads are
        // then both "inside". If it is locked: return false at once when `!blocking`;
        // otherwise wait on the condvar in a `while` loop (a wake-up does not mean the
        // lock is yours: another thread may have taken it first), and with a timeout use
        // `wait_for` and give up, returning false, once the time has run out.
        let _ = (blocking, timeout);
        *self.locked.lock() = true;
        true
    }

    /// Unlocks the lock, from any thread (not only the one that acquired it), and wakes
    /// the threads waiting in `acquire`. `Err(ReleaseError)` if it was not locked.
    pub fn release(&self) -> Result<(), ReleaseError> {
        // TODO: releasing a lock that is not locked must be `Err(ReleaseError)`, and a
        // release must wake the threads waiting in `acquire` (notify the condvar while
        // the flag's mutex is held), or they sleep forever.
        *self.locked.lock() = false;
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
