//! The sync facade: the only place a loom-checked kata takes its threads, locks,
//! condition variables, atomics and channels from.
//!
//! Normally it hands out parking_lot and std. With its `loom` feature it hands out loom's
//! models behind the very same API, so the grader can explore every interleaving of a
//! student's code without the student writing anything for loom. The API follows
//! parking_lot: `lock()` returns the guard (no poisoning), and `Condvar::wait` takes
//! `&mut guard`. Methods are `#[track_caller]` so loom's reports point at the student's
//! line, not at this file.
//!
//! Like tokio's `src/loom/` and crossbeam-utils' `primitive`, the switch is this one file:
//! nothing else in a kata knows which implementation it runs on.
//!
//! [`process`] is the other door: the few process calls (fork, _exit) that Rust offers
//! only as `unsafe`, for kata crates, which are compiled with `unsafe_code` forbidden.

pub mod chaos;
pub mod hang;
pub mod process;
#[cfg(feature = "loom")]
pub mod trace;

/// The lines around the steps of a failing loom execution as [`model`] prints them (see
/// `trace`), for the grader to find: in every configuration, since the grader is built
/// without loom.
pub mod trace_marks {
    /// The first line of a printed trace; [`END`] is its last.
    pub const BEGIN: &str = "kata-sync: the failing interleaving, step by step:";
    pub const END: &str = "kata-sync: end of the interleaving";
}
#[cfg(feature = "loom")]
mod traced_atomic;

#[cfg(not(feature = "loom"))]
mod imp {
    pub(crate) use super::chaos::atomic;
    pub use parking_lot::{Condvar, Mutex, MutexGuard};
    pub use std::sync::Arc;
    pub use std::thread;
}

#[cfg(feature = "loom")]
mod imp {
    pub(crate) use super::traced_atomic as atomic;
    pub use loom::sync::mpsc;
    pub use loom::sync::Arc;
    pub use loom::sync::{Condvar, Mutex, MutexGuard};
    pub use loom::thread;
}

pub use imp::Arc;

/// Loom itself, for hidden tests that need more than [`model`].
#[cfg(feature = "loom")]
pub use loom;

/// Atomics (`AtomicUsize`, `AtomicU64`, `AtomicBool`, …) and `Ordering`.
pub mod atomic {
    pub use super::imp::atomic::*;
}

/// An unbounded channel (`channel`, `Sender`, `Receiver`).
pub mod mpsc {
    #[cfg(feature = "loom")]
    pub use super::imp::mpsc::{channel, Receiver, Sender};
    #[cfg(not(feature = "loom"))]
    pub use real::{channel, Receiver};
    #[cfg(not(feature = "loom"))]
    pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, Sender, TryRecvError};

    /// std's channel, with receives that the hang watch sees (see [`crate::hang`]).
    #[cfg(not(feature = "loom"))]
    mod real {
        use crate::hang::{blocked, Kind, LONG_WAIT};
        use std::sync::mpsc::{RecvError, RecvTimeoutError, Sender, TryRecvError};
        use std::time::Duration;

        /// Creates a channel: a [`Sender`] (clone it for more senders) and its [`Receiver`].
        pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
            let (sender, receiver) = std::sync::mpsc::channel();
            (sender, Receiver(receiver))
        }

        /// The receiving end of a [`channel`].
        pub struct Receiver<T>(std::sync::mpsc::Receiver<T>);

        impl<T> Receiver<T> {
            /// Waits for a message; `Err` once every sender is gone and nothing is left.
            #[track_caller]
            pub fn recv(&self) -> Result<T, RecvError> {
                blocked(Kind::Receive, || self.0.recv())
            }

            /// Like [`Receiver::recv`], but gives up after `timeout`. A timeout longer than
            /// any test lives counts as none for the hang watch.
            #[track_caller]
            pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
                if timeout >= LONG_WAIT {
                    blocked(Kind::Receive, || self.0.recv_timeout(timeout))
                } else {
                    self.0.recv_timeout(timeout)
                }
            }

            /// A message if one is waiting, at once.
            pub fn try_recv(&self) -> Result<T, TryRecvError> {
                self.0.try_recv()
            }

            /// The messages, each waited for, until every sender is gone.
            pub fn iter(&self) -> Iter<'_, T> {
                Iter(self)
            }

            /// The messages waiting now.
            pub fn try_iter(&self) -> impl Iterator<Item = T> + '_ {
                self.0.try_iter()
            }
        }

        impl<T> std::fmt::Debug for Receiver<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        /// See [`Receiver::iter`].
        pub struct Iter<'a, T>(&'a Receiver<T>);

        impl<T> Iterator for Iter<'_, T> {
            type Item = T;
            fn next(&mut self) -> Option<T> {
                self.0.recv().ok()
            }
        }

        /// See [`Receiver`]'s `into_iter`.
        pub struct IntoIter<T>(Receiver<T>);

        impl<T> Iterator for IntoIter<T> {
            type Item = T;
            fn next(&mut self) -> Option<T> {
                self.0.recv().ok()
            }
        }

        impl<T> IntoIterator for Receiver<T> {
            type Item = T;
            type IntoIter = IntoIter<T>;
            fn into_iter(self) -> IntoIter<T> {
                IntoIter(self)
            }
        }

        impl<'a, T> IntoIterator for &'a Receiver<T> {
            type Item = T;
            type IntoIter = Iter<'a, T>;
            fn into_iter(self) -> Iter<'a, T> {
                Iter(self)
            }
        }
    }
}

/// `spawn`, `JoinHandle`, `yield_now`, `current`, `panicking`, `Builder` and `sleep`.
pub mod thread {
    pub use super::imp::thread::{current, panicking, yield_now, Thread, ThreadId};

    #[cfg(feature = "loom")]
    pub use super::imp::thread::{spawn, Builder, JoinHandle};
    #[cfg(not(feature = "loom"))]
    pub use real::{spawn, Builder, JoinHandle};

    /// std's threads, with a join that the hang watch sees (see [`crate::hang`]).
    #[cfg(not(feature = "loom"))]
    mod real {
        use crate::hang::{blocked, Kind};

        /// Owns a thread; [`JoinHandle::join`] waits for it to end.
        pub struct JoinHandle<T>(std::thread::JoinHandle<T>);

        impl<T> JoinHandle<T> {
            /// Waits for the thread to end; `Err` holds its panic's payload.
            #[track_caller]
            pub fn join(self) -> std::thread::Result<T> {
                blocked(Kind::Join, || self.0.join())
            }

            pub fn thread(&self) -> &std::thread::Thread {
                self.0.thread()
            }

            pub fn is_finished(&self) -> bool {
                self.0.is_finished()
            }
        }

        impl<T> std::fmt::Debug for JoinHandle<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        /// Starts a thread running `f`.
        #[track_caller]
        pub fn spawn<F, T>(f: F) -> JoinHandle<T>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            JoinHandle(std::thread::spawn(f))
        }

        /// Names a thread or sizes its stack before it starts.
        #[derive(Debug)]
        pub struct Builder(std::thread::Builder);

        impl Builder {
            #[allow(clippy::new_without_default)]
            pub fn new() -> Builder {
                Builder(std::thread::Builder::new())
            }

            pub fn name(self, name: String) -> Builder {
                Builder(self.0.name(name))
            }

            pub fn stack_size(self, size: usize) -> Builder {
                Builder(self.0.stack_size(size))
            }

            pub fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
            where
                F: FnOnce() -> T + Send + 'static,
                T: Send + 'static,
            {
                self.0.spawn(f).map(JoinHandle)
            }
        }
    }

    /// Sleeps for `duration`. Under loom, time does not exist: a sleep is a yield, which
    /// is all it can mean to a model that explores every order anyway.
    #[track_caller]
    pub fn sleep(duration: std::time::Duration) {
        #[cfg(not(feature = "loom"))]
        std::thread::sleep(duration);
        #[cfg(feature = "loom")]
        {
            let _ = duration;
            super::imp::thread::yield_now();
        }
    }
}

/// A busy-wait hint; under loom a yield, so that spinning code lets other threads run.
#[track_caller]
pub fn spin_loop() {
    #[cfg(not(feature = "loom"))]
    std::hint::spin_loop();
    #[cfg(feature = "loom")]
    loom::thread::yield_now();
}

/// A mutual-exclusion lock in parking_lot's style: `lock()` returns the guard directly.
pub struct Mutex<T> {
    inner: imp::Mutex<T>,
}

/// Holds a [`Mutex`] locked until dropped.
pub struct MutexGuard<'a, T> {
    // An Option only so that `Condvar::wait` can hand the guard to loom's by-value wait
    // and put it back; it is `Some` whenever user code can see the guard.
    #[cfg(feature = "loom")]
    inner: Option<imp::MutexGuard<'a, T>>,
    /// Where the lock was taken: the trace names it when the guard lets go.
    #[cfg(feature = "loom")]
    at: &'static std::panic::Location<'static>,
    #[cfg(not(feature = "loom"))]
    inner: imp::MutexGuard<'a, T>,
}

#[cfg(not(feature = "loom"))]
impl<'a, T> MutexGuard<'a, T> {
    /// A guard of a lock just taken: counted among the locks its thread holds.
    fn taken(inner: imp::MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        chaos::took_lock();
        MutexGuard { inner }
    }
}

#[cfg(not(feature = "loom"))]
impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        chaos::let_go_of_lock();
    }
}

#[cfg(feature = "loom")]
impl<T> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // The step first: the unlock is where loom may switch to another thread.
        if self.inner.is_some() {
            trace::step("lets go of the lock taken", self.at);
        }
        self.inner = None;
    }
}

impl<T> Mutex<T> {
    #[track_caller]
    pub fn new(value: T) -> Mutex<T> {
        Mutex {
            inner: imp::Mutex::new(value),
        }
    }

    /// Blocks until the lock is free, then takes it.
    #[track_caller]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // Only a lock that has to wait is shown to the hang watch. Under chaos the new
        // holder may dawdle before its first step, as a preempted one would.
        #[cfg(not(feature = "loom"))]
        return {
            let guard = match self.inner.try_lock() {
                Some(inner) => MutexGuard::taken(inner),
                None => MutexGuard::taken(hang::blocked(hang::Kind::Lock, || self.inner.lock())),
            };
            chaos::step_holding_lock();
            guard
        };
        #[cfg(feature = "loom")]
        {
            let at = std::panic::Location::caller();
            trace::step("waits for the lock", at);
            let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            trace::step("takes the lock", at);
            MutexGuard {
                inner: Some(inner),
                at,
            }
        }
    }

    /// Takes the lock if it is free right now; `None` if another thread holds it.
    #[track_caller]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        #[cfg(not(feature = "loom"))]
        return {
            chaos::step();
            let got = self.inner.try_lock().map(MutexGuard::taken);
            if got.is_some() {
                chaos::step_holding_lock();
            }
            got
        };
        #[cfg(feature = "loom")]
        {
            let at = std::panic::Location::caller();
            let got = match self.inner.try_lock() {
                Ok(guard) => Some(MutexGuard {
                    inner: Some(guard),
                    at,
                }),
                Err(std::sync::TryLockError::Poisoned(e)) => Some(MutexGuard {
                    inner: Some(e.into_inner()),
                    at,
                }),
                Err(std::sync::TryLockError::WouldBlock) => None,
            };
            trace::step(
                if got.is_some() {
                    "try_lock: takes the lock"
                } else {
                    "try_lock: lock is busy"
                },
                at,
            );
            got
        }
    }

    #[track_caller]
    pub fn into_inner(self) -> T {
        #[cfg(not(feature = "loom"))]
        return self.inner.into_inner();
        #[cfg(feature = "loom")]
        return self.inner.into_inner().unwrap_or_else(|e| e.into_inner());
    }

    #[track_caller]
    pub fn get_mut(&mut self) -> &mut T {
        #[cfg(not(feature = "loom"))]
        return self.inner.get_mut();
        #[cfg(feature = "loom")]
        return self.inner.get_mut().unwrap_or_else(|e| e.into_inner());
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Mutex<T> {
        Mutex::new(T::default())
    }
}

impl<T> std::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Mutex { .. }")
    }
}

impl<T> std::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        #[cfg(not(feature = "loom"))]
        return &self.inner;
        #[cfg(feature = "loom")]
        return self
            .inner
            .as_ref()
            .expect("guard is present outside Condvar::wait");
    }
}

impl<T> std::ops::DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        #[cfg(not(feature = "loom"))]
        return &mut self.inner;
        #[cfg(feature = "loom")]
        return self
            .inner
            .as_mut()
            .expect("guard is present outside Condvar::wait");
    }
}

/// Whether a timed wait returned because the time ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult {
    timed_out: bool,
}

impl WaitTimeoutResult {
    pub fn timed_out(&self) -> bool {
        self.timed_out
    }
}

/// Under chaos, now and then, a thread just woken from a wait lets go of the lock, hands it
/// to a thread already waiting for it, and yields before it takes it again (see
/// [`chaos::HAND_OVER_ONE_IN`]): on one core, the thread that woke it runs on first.
#[cfg(not(feature = "loom"))]
fn hand_over_after_wake<T>(guard: &mut MutexGuard<'_, T>) {
    if chaos::hand_over_after_wake() {
        imp::MutexGuard::unlocked_fair(&mut guard.inner, std::thread::yield_now);
    }
}

/// A condition variable in parking_lot's style: `wait(&mut guard)`.
pub struct Condvar {
    inner: imp::Condvar,
}

impl Condvar {
    #[track_caller]
    pub fn new() -> Condvar {
        Condvar {
            inner: imp::Condvar::new(),
        }
    }

    /// Releases the guard's lock, sleeps until notified (or spuriously), and takes the
    /// lock again before returning. Always wait in a loop that re-checks the condition.
    #[track_caller]
    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        // Under chaos a thread about to wait may dawdle first, holding the lock, as a
        // preempted one would: code that checked its condition outside the lock, or
        // notifies without it, loses the wake-up then.
        #[cfg(not(feature = "loom"))]
        chaos::step_holding_lock();
        #[cfg(not(feature = "loom"))]
        {
            hang::blocked(hang::Kind::Wait, || self.inner.wait(&mut guard.inner));
            hand_over_after_wake(guard);
        }
        #[cfg(feature = "loom")]
        {
            let at = std::panic::Location::caller();
            trace::step("waits on the Condvar", at);
            let inner = guard.inner.take().expect("guard is present");
            let inner = self.inner.wait(inner).unwrap_or_else(|e| e.into_inner());
            trace::step("wakes, has the lock again", at);
            guard.inner = Some(inner);
        }
    }

    /// Like [`Condvar::wait`], but gives up after `timeout`.
    ///
    /// Under loom there is no time: loom 0.7's timed wait is a plain wait, which never
    /// times out. Code that relies on the timeout to make progress hangs under loom, so
    /// loom suites exercise timed waits only where another thread notifies anyway.
    #[track_caller]
    pub fn wait_for<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: std::time::Duration,
    ) -> WaitTimeoutResult {
        // A timeout longer than any test lives is none, as far as the hang watch knows.
        // Under chaos the waiter may dawdle first, as in `wait`.
        #[cfg(not(feature = "loom"))]
        chaos::step_holding_lock();
        #[cfg(not(feature = "loom"))]
        return {
            let timed_out = if timeout >= hang::LONG_WAIT {
                hang::blocked(hang::Kind::Wait, || {
                    self.inner.wait_for(&mut guard.inner, timeout)
                })
            } else {
                self.inner.wait_for(&mut guard.inner, timeout)
            }
            .timed_out();
            hand_over_after_wake(guard);
            WaitTimeoutResult { timed_out }
        };
        #[cfg(feature = "loom")]
        {
            let at = std::panic::Location::caller();
            trace::step("waits on the Condvar (timed)", at);
            let inner = guard.inner.take().expect("guard is present");
            let (inner, result) = self
                .inner
                .wait_timeout(inner, timeout)
                .unwrap_or_else(|e| e.into_inner());
            trace::step("wakes, has the lock again", at);
            guard.inner = Some(inner);
            WaitTimeoutResult {
                timed_out: result.timed_out(),
            }
        }
    }

    /// Wakes one waiting thread, if any.
    #[track_caller]
    pub fn notify_one(&self) {
        #[cfg(feature = "loom")]
        {
            trace::step("notify_one", std::panic::Location::caller());
            self.inner.notify_one();
        }
        #[cfg(not(feature = "loom"))]
        chaos::after_notify(self.inner.notify_one());
    }

    /// Wakes every waiting thread.
    #[track_caller]
    pub fn notify_all(&self) {
        #[cfg(feature = "loom")]
        {
            trace::step("notify_all", std::panic::Location::caller());
            self.inner.notify_all();
        }
        #[cfg(not(feature = "loom"))]
        chaos::after_notify(self.inner.notify_all() > 0);
    }
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Condvar {
        Condvar::new()
    }
}

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condvar { .. }")
    }
}

/// Runs `body` under loom with the course's bounds: a preemption bound, and none of
/// loom's duration or permutation limits (those end a run quietly with a pass). The
/// external time limit is the grader's. It exists only with the `loom` feature: a loom
/// suite is compiled in that configuration alone, so nothing else may call it.
#[cfg(feature = "loom")]
pub fn model<F>(preemption_bound: usize, body: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let body = std::sync::Arc::new(body);
    // The fewest preemptions first: the first failing interleaving found is then one of
    // the simplest, which is the one the student is shown (see `trace`).
    for bound in 0..=preemption_bound {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(bound);
        builder.max_duration = None;
        builder.max_permutations = None;
        // Record where each thread blocks (through the facade's #[track_caller], that is
        // the student's line), so that a deadlock report says where to look.
        builder.location = true;
        let body = std::sync::Arc::clone(&body);
        // Each execution's facade steps, so that the failing one can be shown.
        let checked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            builder.check(move || {
                trace::begin_execution();
                body();
            })
        }));
        if let Err(panic) = checked {
            trace::print_failing_execution();
            std::panic::resume_unwind(panic);
        }
    }
}
