//! Mutant: a worker that wakes up and finds the pool closed exits at once ("close woke me: time to go"), without one more look at the queue.
//! expect-fail: async_callback_loom::a_job_queued_just_before_close_still_runs, async_callback_loom::close_then_join_runs_every_callback, async_callback_stress::dropping_the_pool_runs_every_callback
//!
//! Blind mutant: a worker that wakes up and finds the pool closed exits at once ("close woke me: time to go"), without one more look at the queue.
//! Breaks: "`close`: Accepts no more jobs; queued jobs (and their callbacks) still run." and "`close` then `join` (or dropping the pool) runs every queued job and callback" (README).
//! Shows when: an idle worker is woken by `apply_async`'s notification, but `close()` runs before the worker gets the lock: the worker sees "closed", exits, and the job just queued never runs (its `get` waits forever, or the pool of 1 is joined with the job unrun).
//! Evidence: ws-queues/async_callback/tests/blind_loom.rs::loom_job_queued_right_before_close_runs (loom) fails "close and join left a queued job unrun"; passes on the reference. Real threads do NOT show it: blind.rs passes on this mutant (parking_lot hands the lock to the woken worker before close runs), loom-only evidence. All visible tests pass on it.

//! The pool is `thread_pool`'s: one queue of boxed jobs behind a `Mutex`, one `Condvar`
//! that says "the queue or the state changed", and `workers` threads that take jobs
//! until the pool is closed and the queue is empty. `apply_async` queues a job that, on
//! the worker, runs the function, then the callback with its value, and only then
//! completes the `AsyncResult` (as Python's pool does): whoever sees the result ready
//! also sees everything the callback did.

use kata_sync::thread::{self, JoinHandle};
use kata_sync::{Arc, Condvar, Mutex};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// `Pool::new(0)`.
    ZeroWorkers,
    /// `apply_async` after `close`.
    Closed,
    /// The job panicked (its callback was not called).
    JobPanicked,
    /// The job returned, but its callback panicked.
    CallbackPanicked,
    /// `join` before `close`.
    StillRunning,
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PoolError::ZeroWorkers => "a pool needs at least one worker",
            PoolError::Closed => "the pool is closed",
            PoolError::JobPanicked => "the job panicked",
            PoolError::CallbackPanicked => "the callback panicked",
            PoolError::StillRunning => "join before close",
        })
    }
}

impl std::error::Error for PoolError {}

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Queue {
    jobs: VecDeque<Job>,
    open: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Notified whenever a job is queued or the pool is closed.
    changed: Condvar,
}

pub struct Pool {
    shared: Arc<Shared>,
    workers: usize,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    /// A pool of `workers` threads; 0 is `ZeroWorkers`.
    pub fn new(workers: usize) -> Result<Pool, PoolError> {
        if workers == 0 {
            return Err(PoolError::ZeroWorkers);
        }
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                open: true,
            }),
            changed: Condvar::new(),
        });
        let handles = (0..workers)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || work(&shared))
            })
            .collect();
        Ok(Pool {
            shared,
            workers,
            handles: Mutex::new(handles),
        })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Python's `apply_async(func, callback=...)`: queues `job` and returns at once. On a
    /// worker thread, `job` runs, then `callback` with a reference to its value, then
    /// the `AsyncResult` completes with the value. The callback runs exactly once, on the
    /// worker that ran the job, and has returned before `ready()` is true or `wait` /
    /// `get` return. A job that panics gives `JobPanicked` and its callback never runs;
    /// a callback that panics gives `CallbackPanicked`. Either way the worker lives on.
    /// `Closed` after `close`.
    pub fn apply_async<F, C, T>(&self, job: F, callback: C) -> Result<AsyncResult<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        C: FnOnce(&T) + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Slot {
            outcome: Mutex::new(None),
            done: Condvar::new(),
        });
        let filled = Arc::clone(&slot);
        let task = move || {
            // Both the job and the callback are caught: a panic in either must neither
            // end this worker nor leave the result waiting forever.
            let outcome = match catch_unwind(AssertUnwindSafe(job)) {
                Err(_) => Err(PoolError::JobPanicked),
                Ok(value) => match catch_unwind(AssertUnwindSafe(|| callback(&value))) {
                    Ok(()) => Ok(value),
                    Err(_) => Err(PoolError::CallbackPanicked),
                },
            };
            // The callback has returned; only now does the result complete.
            filled.fill(outcome);
        };
        let mut queue = self.shared.queue.lock();
        if !queue.open {
            return Err(PoolError::Closed);
        }
        queue.jobs.push_back(Box::new(task));
        self.shared.changed.notify_one();
        Ok(AsyncResult { slot })
    }

    /// Accepts no more jobs; queued jobs (and their callbacks) still run.
    pub fn close(&self) {
        self.shared.queue.lock().open = false;
        // Every idle worker must wake to see that it may exit.
        self.shared.changed.notify_all();
    }

    /// Waits until every worker has exited. `StillRunning` unless `close` came first.
    pub fn join(&self) -> Result<(), PoolError> {
        if self.shared.queue.lock().open {
            return Err(PoolError::StillRunning);
        }
        for handle in self.handles.lock().drain(..) {
            let _ = handle.join();
        }
        Ok(())
    }
}

/// Dropping a Pool closes it and waits for its workers: every queued job and callback
/// has run when the drop returns.
impl Drop for Pool {
    fn drop(&mut self) {
        self.close();
        let _ = self.join();
    }
}

/// A worker: take a job, run it, repeat, until the pool is closed and the queue is empty.
fn work(shared: &Shared) {
    loop {
        let job = {
            let mut queue = shared.queue.lock();
            loop {
                if let Some(job) = queue.jobs.pop_front() {
                    break job;
                }
                if !queue.open {
                    return;
                }
                shared.changed.wait(&mut queue);
                if !queue.open {
                    return; // woken by close: nothing more to wait for
                }
            }
        };
        // Never panics: apply_async's task catches the job's and the callback's panics.
        job();
    }
}

/// Where a job's outcome goes: shared by the worker's task and the caller's AsyncResult.
struct Slot<T> {
    outcome: Mutex<Option<Result<T, PoolError>>>,
    done: Condvar,
}

impl<T> Slot<T> {
    fn fill(&self, outcome: Result<T, PoolError>) {
        let mut slot = self.outcome.lock();
        *slot = Some(outcome);
        // Stored and notified under the lock: a waiter has either not looked yet (and
        // will find the outcome) or is already waiting (and is woken). Never notify
        // before storing, nor without the lock.
        self.done.notify_all();
    }
}

/// The pending result of `apply_async` (Python's `AsyncResult`).
pub struct AsyncResult<T> {
    slot: Arc<Slot<T>>,
}

impl<T> AsyncResult<T> {
    /// True once the job has finished and its callback has returned.
    pub fn ready(&self) -> bool {
        self.slot.outcome.lock().is_some()
    }

    /// Blocks until `ready()`.
    pub fn wait(&self) {
        let mut outcome = self.slot.outcome.lock();
        while outcome.is_none() {
            self.slot.done.wait(&mut outcome);
        }
    }

    /// Blocks until `ready()`, then gives the job's value, or `JobPanicked` /
    /// `CallbackPanicked`.
    pub fn get(self) -> Result<T, PoolError> {
        let mut outcome = self.slot.outcome.lock();
        loop {
            if let Some(outcome) = outcome.take() {
                return outcome;
            }
            self.slot.done.wait(&mut outcome);
        }
    }
}
