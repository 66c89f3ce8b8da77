//! Kata `process_pool` — 进程池Pool, apply堵塞式. See README.md.
//!
//! Use `nix` (fork, pipe2, poll, read, write, waitpid, kill), `kata_sync::process::_exit` and
//! serde_json for the messages. A worker is a forked child: it loops reading jobs from
//! its pipe and must end with `kata_sync::process::_exit`, never returning into the caller's code.
//!
//! This stub is not a pool yet: it forks nothing, and runs every job right here, in the
//! caller's process, at once. The values come out right, but nothing runs in another
//! process, nothing is queued, no argument crosses a pipe, and pids() is the caller's.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// `Pool::new(0, f)`: a pool without workers would never run a job.
    ZeroWorkers,
    /// The pool no longer takes jobs: `close` or `terminate` came first.
    Closed,
    /// `join` before `close` or `terminate`.
    StillRunning,
    /// `terminate` stopped the job, or dropped it before it started.
    Terminated,
    /// The worker running the job died (the job crashed it, or it was killed): its pid,
    /// and its exit code (minus the signal's number if a signal killed it). The pool
    /// replaced it with a new worker.
    WorkerDied { pid: i32, exitcode: i32 },
    /// The job panicked in the worker, with this message. The worker lives on.
    JobPanicked(String),
    /// serde_json could not encode an argument or a result.
    Encode(String),
    /// serde_json could not decode an argument or a result.
    Decode(String),
    /// A system call failed.
    Os {
        call: &'static str,
        errno: nix::errno::Errno,
    },
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PoolError::ZeroWorkers => f.write_str("a pool needs at least one worker"),
            PoolError::Closed => f.write_str("the pool is closed"),
            PoolError::StillRunning => f.write_str("join before close or terminate"),
            PoolError::Terminated => f.write_str("the pool was terminated before the job ended"),
            PoolError::WorkerDied { pid, exitcode } => {
                write!(
                    f,
                    "the worker {pid} died running the job (exit code {exitcode})"
                )
            }
            PoolError::JobPanicked(message) => write!(f, "the job panicked: {message}"),
            PoolError::Encode(message) => write!(f, "could not encode a message: {message}"),
            PoolError::Decode(message) => write!(f, "could not decode a message: {message}"),
            PoolError::Os { call, errno } => write!(f, "{call}() failed: {errno}"),
        }
    }
}

impl std::error::Error for PoolError {}

/// A pool of worker processes that all run the same function, like Python's
/// `multiprocessing.Pool`: `Pool::new(3, worker)`, then `apply(arg)`, `apply_async(arg)`,
/// `map(args)`, `close()`, `join()`, `terminate()`.
pub struct Pool<A, R> {
    // TODO: a pool needs its workers: for each, the pid fork gave, the parent's end of a
    // pipe to send it jobs, the parent's end of a pipe it sends results back on, and the
    // job it is running (if any). Plus a queue of jobs not yet handed out (their id and
    // their argument as JSON), the results that came back (by job id), and a state: open,
    // closed, terminated, joined. `AsyncResult` needs to reach that state too (say an
    // `Rc<RefCell<..>>` shared by the pool and its results).
    f: fn(A) -> R,
    workers: usize,
}

impl<A, R> Pool<A, R>
where
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + 'static,
{
    /// Forks `workers` worker processes at once, each ready to run `f`. 0 is `ZeroWorkers`.
    pub fn new(workers: usize, f: fn(A) -> R) -> Result<Pool<A, R>, PoolError> {
        if workers == 0 {
            return Err(PoolError::ZeroWorkers);
        }
        // TODO: fork `workers` workers now. For each: two pipes (pipe2 with O_CLOEXEC),
        // then fork. The child closes the parent's ends, loops (read a frame: the
        // argument's JSON; decode it; run `f` under catch_unwind; send the reply's JSON as
        // a frame) until the stop sign (an empty frame) or the end of its job pipe, then
        // `kata_sync::process::_exit(0)`: never return. The parent closes the child's ends and keeps its
        // own, with the pid.
        Ok(Pool { f, workers })
    }

    /// How many workers the pool keeps.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The pids of the current workers. A worker that has died is replaced first, so
    /// while the pool is open there are always `workers()` of them; none after `join`
    /// or `terminate`.
    pub fn pids(&self) -> Vec<i32> {
        // TODO: these are the caller's own pid, `workers` times: return the workers'.
        // Notice dead workers first (their result pipe has ended): reap each (waitpid),
        // fail its job with WorkerDied, and fork a replacement.
        vec![std::process::id() as i32; self.workers]
    }

    /// Runs `f(arg)` on a worker and waits for its result (Python's apply, 堵塞式).
    pub fn apply(&self, arg: A) -> Result<R, PoolError> {
        self.apply_async(arg)?.get()
    }

    /// Queues `f(arg)` and returns at once (Python's apply_async): an idle worker starts
    /// it right away; otherwise it waits for the first free worker. A job handed to a
    /// worker that turns out to have died while idle has not run: it goes to the worker's
    /// replacement (only the job a worker was running when it died gives `WorkerDied`).
    pub fn apply_async(&self, arg: A) -> Result<AsyncResult<R>, PoolError> {
        // TODO: refuse with Closed once the pool is closed or terminated. Encode the
        // argument (serde_json::to_vec), give it an id, queue it, and hand queued jobs to
        // idle workers: write the frame (a 4-byte little-endian length, then the bytes)
        // into the worker's job pipe. The AsyncResult remembers the job's id.
        // This runs the job here, in the caller, and keeps its result.
        Ok(AsyncResult {
            result: Ok((self.f)(arg)),
        })
    }

    /// `f` of every argument, spread over the workers: every job is queued before the
    /// first result is awaited, so that all the workers run at once. The results in the
    /// arguments' order. If any job failed, the first failure (in that order), once all
    /// have ended.
    pub fn map<I>(&self, args: I) -> Result<Vec<R>, PoolError>
    where
        I: IntoIterator<Item = A>,
    {
        // TODO: apply_async every argument first (so the workers run them at the same
        // time), then get each result in the arguments' order.
        args.into_iter().map(|arg| self.apply(arg)).collect()
    }

    /// Takes no more jobs; the queued ones still run (a worker that dies meanwhile is
    /// still replaced while jobs wait).
    pub fn close(&self) {
        // TODO: mark the pool closed (apply_async then gives Closed).
    }

    /// Stops at once: jobs not yet started are dropped, and every worker is killed
    /// (SIGTERM) and reaped. The jobs that had not ended give `Terminated`; a job whose
    /// result had already come back (`ready()` said true) keeps it.
    pub fn terminate(&self) {
        // TODO: mark the pool terminated, fail every queued and running job with
        // Terminated, kill every worker (SIGTERM) and reap it (waitpid).
    }

    /// Waits until every worker has exited, and reaps them (`waitpid` on each worker's
    /// pid: never another child of the caller): after `close`, once every queued job has
    /// run. `StillRunning` unless `close` or `terminate` came first.
    pub fn join(&self) -> Result<(), PoolError> {
        // TODO: StillRunning while the pool is open. After close: keep handing out jobs and
        // collecting results (poll on the result pipes) until nothing is queued or running;
        // then send every worker the stop sign (an empty frame) and waitpid it. (Closing
        // the job pipes is not enough: processes forked later hold copies of them.)
        Ok(())
    }
}

// TODO: dropping a Pool must close it and join it: `impl<A, R> Drop for Pool<A, R>`. No
// worker may outlive its pool.

/// The result of one `apply_async`, to be fetched with `get`.
pub struct AsyncResult<R> {
    // TODO: the job's id and a way to reach the pool's state, not the value itself:
    // the value comes back from a worker, later.
    result: Result<R, PoolError>,
}

impl<R: DeserializeOwned> AsyncResult<R> {
    /// Whether the result has come back (`get` would not wait).
    pub fn ready(&self) -> bool {
        // TODO: collect whatever results have come back (without blocking), then look.
        true
    }

    /// Waits for the job's result: its value, `JobPanicked`, `WorkerDied` if its worker
    /// died, or `Terminated`.
    pub fn get(self) -> Result<R, PoolError> {
        // TODO: until this job's result has come back, keep the pool going: hand out
        // queued jobs, and wait in poll() on the workers' result pipes for replies (and
        // for dead workers). Then decode the reply (serde_json).
        self.result
    }
}
