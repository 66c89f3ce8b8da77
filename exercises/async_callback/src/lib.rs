//! Kata `async_callback` — 异步. See README.md.
//!
//! Take every thread, lock, condition variable and `Arc` from `kata_sync` (never
//! `std::sync`, `std::thread` or parking_lot directly): the grader swaps in loom's models
//! to try every interleaving. (`std::collections::VecDeque` and
//! `std::panic::catch_unwind` are fine: they are not synchronisation.)
//!
//! This stub is synchronous, not asynchronous: it has no workers, and `apply_async`
//! runs the job and then the callback right away, on the caller's thread, before it
//! returns. The values come out right, but the caller waits for everything ("you wait
//! until your friend is done"), the callback runs on the wrong side, and a panic in the
//! job or the callback unwinds into the caller.

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

pub struct Pool {
    // TODO: a pool needs worker threads and the state they share (an `Arc` of: a
    // `Mutex` around a queue of boxed jobs, `VecDeque<Box<dyn FnOnce() + Send>>`, and an
    // open/closed flag; a `Condvar` to wake the workers), plus the workers'
    // `JoinHandle`s. Kata `thread_pool` built exactly this: you may reuse your code.
    workers: usize,
}

impl Pool {
    /// A pool of `workers` threads; 0 is `ZeroWorkers`.
    pub fn new(workers: usize) -> Result<Pool, PoolError> {
        // TODO: `new(0)` must be `Err(ZeroWorkers)`; start `workers` worker threads
        // (`kata_sync::thread::spawn`), each looping: take the next job and run it, wait
        // on the condvar while the queue is empty, exit once the pool is closed and the
        // queue is empty.
        Ok(Pool { workers })
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
        // TODO: this runs the job and the callback here, on the caller's thread, before
        // returning: synchronous. Instead make a shared result slot (an `Arc` of a
        // `Mutex<Option<Result<T, PoolError>>>` and a `Condvar`), and queue a job for the
        // workers that: runs `job` under `catch_unwind` (a panic: `JobPanicked`, and no
        // callback); runs `callback(&value)` under `catch_unwind` too (a panic:
        // `CallbackPanicked`); and only then stores the outcome in the slot and notifies,
        // both while holding the slot's lock. Refuse with `Closed` after `close`.
        let value = job();
        callback(&value);
        Ok(AsyncResult { value: Ok(value) })
    }

    /// Accepts no more jobs; every job queued before it (and its callback) still runs.
    pub fn close(&self) {
        // TODO: mark the pool closed and wake every idle worker (notify_all).
    }

    /// Waits until every worker has exited. `StillRunning` unless `close` came first.
    pub fn join(&self) -> Result<(), PoolError> {
        // TODO: `Err(StillRunning)` while the pool is open; otherwise join every worker.
        Ok(())
    }
}

// TODO: dropping a Pool must close it and wait for its workers (every queued job and
// callback has run when the drop returns): add `impl Drop for Pool`.

/// The pending result of `apply_async` (Python's `AsyncResult`).
pub struct AsyncResult<T> {
    // TODO: the caller's end of the slot that a worker fills once the job and its
    // callback are done.
    value: Result<T, PoolError>,
}

impl<T> AsyncResult<T> {
    /// True once the job has finished and its callback has returned. Never waits for the
    /// job, and never says false once that has happened, whoever else is looking.
    pub fn ready(&self) -> bool {
        // TODO: look at the slot (under its lock).
        true
    }

    /// Blocks until `ready()`. Any number of threads may wait on one result at once:
    /// every one of them returns.
    pub fn wait(&self) {
        // TODO: wait on the slot's condvar, in a `while` loop, until the outcome is there.
    }

    /// Blocks until `ready()`, then gives the job's value, or `JobPanicked` /
    /// `CallbackPanicked`.
    pub fn get(self) -> Result<T, PoolError> {
        // TODO: wait like `wait`, then take the outcome out of the slot.
        self.value
    }
}
