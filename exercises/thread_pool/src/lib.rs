//! Kata `thread_pool` — 进程池Pool (the pool, with threads). See README.md.
//!
//! Take every thread, lock, condition variable and `Arc` from `kata_sync` (never
//! `std::sync`, `std::thread` or parking_lot directly): the grader swaps in loom's models
//! to try every interleaving. (`std::collections::VecDeque` and
//! `std::panic::catch_unwind` are fine: they are not synchronisation.)
//!
//! This stub is not a pool yet: it has no workers, and runs every job at once on the
//! thread that submits it. The values come out right, but nothing runs in parallel,
//! nothing is queued, and close / terminate / join do nothing.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// `ThreadPool::new(0)`.
    ZeroWorkers,
    /// The pool was closed or terminated (or the job was dropped by terminate).
    Closed,
    /// The job panicked.
    JobPanicked,
    /// `join` before `close` or `terminate`.
    StillRunning,
}

pub struct ThreadPool {
    // TODO: a pool needs shared state its workers can reach (an `Arc` of: a `Mutex`
    // around a queue of boxed jobs, `VecDeque<Box<dyn FnOnce() + Send>>`, plus a state,
    // open / closed / terminated; and a `Condvar` to wake workers) and the
    // `JoinHandle`s of its worker threads. Right now it only remembers a number.
    workers: usize,
}

impl ThreadPool {
    /// A pool of `workers` threads; 0 is `ZeroWorkers`.
    pub fn new(workers: usize) -> Result<ThreadPool, PoolError> {
        // TODO: `new(0)` must be `Err(ZeroWorkers)`: a pool without workers would accept
        // jobs and never run them.
        // TODO: start `workers` worker threads (`kata_sync::thread::spawn`). Each loops:
        // take the next job from the queue and run it; when the queue is empty, wait on
        // the condvar (in a `while` loop); exit once the pool is closed AND the queue is
        // empty. Run each job under `std::panic::catch_unwind` so a panic does not kill
        // the worker.
        Ok(ThreadPool { workers })
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Queues `job` to run on one worker. `Closed` after `close` or `terminate`.
    pub fn execute<F>(&self, job: F) -> Result<(), PoolError>
    where
        F: FnOnce() + Send + 'static,
    {
        // TODO: this runs the job right here, on the caller's thread. Queue it instead
        // (and wake a worker), so that it runs on a worker; refuse it with `Closed` once
        // the pool is closed or terminated.
        job();
        Ok(())
    }

    /// Runs `job` on a worker and blocks for its value (Python's apply). A job that panics
    /// gives `JobPanicked`, and the pool keeps all its workers.
    pub fn apply<F, T>(&self, job: F) -> Result<T, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // TODO: runs on the caller's thread, and a panic in `job` unwinds into the caller.
        // Once apply_async works, apply is apply_async followed by get.
        Ok(job())
    }

    /// Queues `job` and returns at once (Python's apply_async).
    pub fn apply_async<F, T>(&self, job: F) -> Result<AsyncResult<T>, PoolError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // TODO: runs the job before returning, on the caller's thread: not async at all.
        // Make a shared result slot (an `Arc` of a `Mutex<Option<Result<T, PoolError>>>`
        // and a `Condvar`), queue a job that runs `job` (catching its panic as
        // `JobPanicked`) and fills the slot, and hand back an AsyncResult reading that
        // slot. If terminate drops the queued job before it runs, the slot must still be
        // filled, with `Closed` (a `Drop` impl on something the job owns can do that).
        Ok(AsyncResult { value: Ok(job()) })
    }

    /// Accepts no more jobs; queued jobs still run.
    pub fn close(&self) {
        // TODO: mark the pool closed and wake every idle worker (notify_all), so that
        // each one finishes the queue and then exits.
    }

    /// Accepts no more jobs and drops every job that has not started.
    pub fn terminate(&self) {
        // TODO: mark the pool terminated, drop every queued job (their results become
        // `Closed`), and wake every idle worker. Jobs already running finish normally.
    }

    /// Waits until every worker has exited. `StillRunning` unless close or terminate came first.
    /// Several threads may call it at once: none returns before every worker has exited.
    pub fn join(&self) -> Result<(), PoolError> {
        // TODO: `Err(StillRunning)` while the pool is open (its workers never exit);
        // otherwise join every worker thread before returning `Ok(())`.
        Ok(())
    }
}

// TODO: dropping a ThreadPool must close it and wait for its workers (no worker outlives
// the pool): add `impl Drop for ThreadPool`.

/// The pending result of `apply_async`.
pub struct AsyncResult<T> {
    // TODO: the caller's end of a slot that a worker fills when the job has finished.
    value: Result<T, PoolError>,
}

impl<T> AsyncResult<T> {
    /// Whether the job has finished (or was dropped by terminate). Never waits for the
    /// job, and never says false once it has finished, whoever else is looking.
    pub fn ready(&self) -> bool {
        // TODO: true only once the job has finished (or was dropped by terminate).
        true
    }

    /// Blocks until the job has finished; `JobPanicked` if it panicked, `Closed` if it was
    /// dropped by terminate before it started.
    pub fn get(self) -> Result<T, PoolError> {
        // TODO: wait on the slot's condvar (in a loop) until the value is there.
        self.value
    }
}
