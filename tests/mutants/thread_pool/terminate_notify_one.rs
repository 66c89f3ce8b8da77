//! Mutant: `terminate` wakes one idle worker (`notify_one`) — it copied `execute`'s notification — so only one sleeping worker learns that the pool is terminated.
//! expect-fail: thread_pool_loom::terminate_wakes_every_idle_worker, thread_pool_stress::an_idle_pool_closed_or_terminated_joins, thread_pool_stress::closed_after_close_and_after_terminate
//!
//! Blind mutant: `terminate` wakes one idle worker (`notify_one`) — it copied `execute`'s notification — so only one sleeping worker learns that the pool is terminated.
//! Breaks: "no lost wake-up: ... `close` wakes every idle worker" and "`join()` Waits until every worker has exited" after terminate: idle workers of a terminated pool must exit (README).
//! Shows when: a pool of 3 or more sits idle and is terminated: one worker exits, the others sleep forever, so `join()` (and dropping the pool) never returns.
//! Evidence: ws-queues/thread_pool/tests/blind.rs::an_idle_pool_terminated_joins: ThreadPool::new(4), idle, terminate(), join() hangs (5 s guard); fails 3/3 runs, passes on the reference (5/5 runs of the whole file). All visible tests pass on it.

//! One queue of boxed jobs behind a `Mutex`, one `Condvar` that says "the queue or the
//! state changed", and `workers` threads that each loop: take the next job (or wait), run
//! it, repeat; exit once the pool no longer accepts jobs and the queue is empty.

use kata_sync::thread::{self, JoinHandle};
use kata_sync::{Arc, Condvar, Mutex};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    ZeroWorkers,
    Closed,
    JobPanicked,
    StillRunning,
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PoolError::ZeroWorkers => "a pool needs at least one worker",
            PoolError::Closed => "the pool is closed",
            PoolError::JobPanicked => "the job panicked",
            PoolError::StillRunning => "join before close or terminate",
        })
    }
}

impl std::error::Error for PoolError {}

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Closed,
    Terminated,
}

struct Queue {
    jobs: VecDeque<Job>,
    state: State,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Notified whenever a job is queued or the state changes.
    changed: Condvar,
}

pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: usize,
    /// Taken (and joined) by the first `join`; a second `join` waits on this lock until
    /// the first has finished, so neither returns while a worker is still alive.
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl ThreadPool {
    /// A pool of `workers` threads; 0 is `ZeroWorkers`.
    pub fn new(workers: usize) -> Result<ThreadPool, PoolError> {
        if workers == 0 {
            return Err(PoolError::ZeroWorkers);
        }
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                jobs: VecDeque::new(),
                state: State::Open,
            }),
            changed: Condvar::new(),
        });
        let handles = (0..workers)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || work(&shared))
            })
            .collect();
        Ok(ThreadPool {
            shared,
            workers,
            handles: Mutex::new(handles),
        })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Queues `job` to run on one worker. `Closed` after `close` or `terminate`.
    pub fn execute<F>(&self, job: F) -> Result<(), PoolError>
    where
        F: FnOnce() + Send + 'static,
    {
        let mut queue = self.shared.queue.lock();
        if queue.state != State::Open {
            return Err(PoolError::Closed);
        }
        queue.jobs.push_back(Box::new(job));
        // Pushed and notified under the lock: a worker is either already waiting (and is
        // woken) or has not yet looked at the queue (and will find the job).
        self.shared.changed.notify_one();
        Ok(())
    }

    /// Runs `job` on a worker and blocks for its value (Python's apply). A job that panics
    /// gives `JobPanicked`, and the pool keeps all its workers.
    pub fn apply<F, T>(&self, job: F) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.apply_async(job)?.get()
    }

    /// Queues `job` and returns at once (Python's apply_async).
    pub fn apply_async<F, T>(&self, job: F) -> Result<AsyncResult<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Slot {
            value: Mutex::new(None),
            filled: Condvar::new(),
        });
        let promise = Promise {
            slot: Some(Arc::clone(&slot)),
        };
        self.execute(move || {
            // Catch here too, so the result can say `JobPanicked`; the worker's own
            // catch_unwind then sees a job that returned normally.
            let outcome = catch_unwind(AssertUnwindSafe(job)).map_err(|_| PoolError::JobPanicked);
            promise.fulfil(outcome);
        })?;
        Ok(AsyncResult { slot })
    }

    /// Accepts no more jobs; queued jobs still run.
    pub fn close(&self) {
        let mut queue = self.shared.queue.lock();
        if queue.state == State::Open {
            queue.state = State::Closed;
        }
        // Every idle worker must wake to see that it may exit: notify_all.
        self.shared.changed.notify_all();
    }

    /// Accepts no more jobs and drops every job that has not started.
    pub fn terminate(&self) {
        let dropped = {
            let mut queue = self.shared.queue.lock();
            queue.state = State::Terminated;
            self.shared.changed.notify_one();
            std::mem::take(&mut queue.jobs)
        };
        // Dropped outside the lock: dropping a job drops its Promise, which fills its
        // AsyncResult with `Closed` (and a job's captures may run any code when dropped).
        drop(dropped);
    }

    /// Waits until every worker has exited. `StillRunning` unless close or terminate came first.
    pub fn join(&self) -> Result<(), PoolError> {
        if self.shared.queue.lock().state == State::Open {
            return Err(PoolError::StillRunning);
        }
        let mut handles = self.handles.lock();
        for handle in handles.drain(..) {
            // Workers catch every panic of a job, so a worker never ends in a panic.
            let _ = handle.join();
        }
        Ok(())
    }
}

/// Dropping a ThreadPool closes it and waits for its workers: no worker outlives the pool.
impl Drop for ThreadPool {
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
                // Drain first: after `close` the queued jobs still run. (`terminate` has
                // emptied the queue, so it needs no check of its own here.)
                if let Some(job) = queue.jobs.pop_front() {
                    break job;
                }
                if queue.state != State::Open {
                    return;
                }
                // A loop, not an `if`: another worker may have taken the job we were
                // woken for, and condition variables may wake spuriously.
                shared.changed.wait(&mut queue);
            }
        };
        // Run the job without holding the lock, and survive its panic: a panic must not
        // end this worker (the pool keeps all its workers).
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

/// Where a job's result goes: shared by the job's Promise and the caller's AsyncResult.
struct Slot<T> {
    value: Mutex<Option<Result<T, PoolError>>>,
    filled: Condvar,
}

/// The job's end of a Slot. If it is dropped unfulfilled (terminate dropped the job before
/// it started), it fills the slot with `Closed`, so `get` never waits forever.
struct Promise<T> {
    slot: Option<Arc<Slot<T>>>,
}

impl<T> Promise<T> {
    fn fulfil(mut self, outcome: Result<T, PoolError>) {
        if let Some(slot) = self.slot.take() {
            *slot.value.lock() = Some(outcome);
            slot.filled.notify_all();
        }
    }
}

impl<T> Drop for Promise<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            *slot.value.lock() = Some(Err(PoolError::Closed));
            slot.filled.notify_all();
        }
    }
}

pub struct AsyncResult<T> {
    slot: Arc<Slot<T>>,
}

impl<T> AsyncResult<T> {
    pub fn ready(&self) -> bool {
        self.slot.value.lock().is_some()
    }

    /// Blocks until the job has finished; `JobPanicked` if it panicked, `Closed` if it was
    /// dropped by terminate before it started.
    pub fn get(self) -> Result<T, PoolError> {
        let mut value = self.slot.value.lock();
        loop {
            if let Some(outcome) = value.take() {
                return outcome;
            }
            self.slot.filled.wait(&mut value);
        }
    }
}
