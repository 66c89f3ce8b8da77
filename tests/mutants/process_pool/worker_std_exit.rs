//! Mutant: a worker leaves with `std::process::exit(code)` when it is told to stop, instead of `libc::_exit(code)` ("exit never returns, so it cannot run the caller's code").
//! expect-fail: process_pool_proc::workers_skip_the_callers_exit_handlers
//!
//! It used to be on a may-fail line for `process_pool_proc::map_returns_results_in_argument_order`
//! too: a worker hung now and then, since `exit`'s cleanup takes a lock of std's (the
//! stack-overflow handler's `thread_info::LOCK`) that the facade's hang-watch thread held
//! while it started, just as the pool forked. The hang watch now waits for its thread to be
//! running before the test goes on (sync/src/hang.rs), and the mutant passes every other
//! test on every run (0 hangs in 3300 runs of `join_reaps_only_the_pools_own_workers`, from
//! 11 before, measured on a build with that change alone).
//!
//! (A blind mutant: written from the statement, the stub and the reference only.)
//! Breaks: README "on the stop sign ..., it leaves with `libc::_exit(0)`"; the course's rule (fork_basics README, "Why `_exit`"): `std::process::exit` runs the exit handlers (atexit) of the child's copy of the caller and flushes its stdio buffers.
//! Shows when: the caller has registered an atexit handler (C libraries do) or has C stdio output pending: every worker runs it once more when the pool is joined.
//! Evidence: /work/blind/ws-process/process_pool/tests/checks.rs `worker_std_exit` (helper registers an atexit handler writing a byte to a pipe, then a pool of 2, map, close, join): reference passes (0 bytes); mutant fails ("2 worker(s) ran the caller's atexit handlers"). Visible tests pass.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{pipe2, ForkResult, Pid};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::io::Write;
use std::marker::PhantomData;
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use kata_sync::process::fork;

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
    Os { call: &'static str, errno: Errno },
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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

fn os(call: &'static str) -> impl Fn(Errno) -> PoolError {
    move |errno| PoolError::Os { call, errno }
}

/// What a worker sends back for one job: the result, or why there is none.
#[derive(Serialize, Deserialize)]
enum Failure {
    Panicked(String),
    Encode(String),
    Decode(String),
}

impl From<Failure> for PoolError {
    fn from(failure: Failure) -> PoolError {
        match failure {
            Failure::Panicked(message) => PoolError::JobPanicked(message),
            Failure::Encode(message) => PoolError::Encode(message),
            Failure::Decode(message) => PoolError::Decode(message),
        }
    }
}

type JobId = u64;

/// A worker's side of one job: the argument's JSON in, the reply's JSON out.
type Serve = Box<dyn Fn(&[u8]) -> Vec<u8>>;

/// The parent's view of one worker process.
struct Worker {
    pid: Pid,
    /// The parent's end of the pipe the worker reads its jobs from.
    jobs: OwnedFd,
    /// The parent's end of the pipe the worker writes its results into.
    results: OwnedFd,
    /// The job it is running, if any.
    busy: Option<JobId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    Closed,
    Terminated,
    /// Every worker has exited and been reaped.
    Joined,
}

/// Everything a pool and its results share.
struct Inner {
    serve: Serve,
    /// Jobs not yet handed to a worker: their id and their argument's JSON.
    queue: VecDeque<(JobId, Vec<u8>)>,
    /// Results not yet fetched by their `AsyncResult`: the reply's JSON, or an error.
    done: HashMap<JobId, Result<Vec<u8>, PoolError>>,
    /// Jobs whose `AsyncResult` was dropped: their results are thrown away.
    abandoned: HashSet<JobId>,
    workers: Vec<Worker>,
    next_id: JobId,
    state: State,
}

impl Inner {
    /// Forks one worker. In the child it serves jobs until its job pipe ends, then
    /// `_exit`s: it never returns from here.
    fn spawn(&self) -> Result<Worker, PoolError> {
        // O_CLOEXEC: a program that the caller runs (exec) does not inherit them.
        let (job_read, job_write) = pipe2(OFlag::O_CLOEXEC).map_err(os("pipe"))?;
        let (result_read, result_write) = pipe2(OFlag::O_CLOEXEC).map_err(os("pipe"))?;
        // Output still buffered here would be written a second time by the child.
        let _ = std::io::stdout().flush();
        let _ = std::io::stderr().flush();
        // The child runs the worker loop (it allocates, and runs the job) and then
        // `_exit`s. The pool forks from the caller's thread; see the README for what that
        // means if the caller has other threads.
        match fork().map_err(os("fork"))? {
            ForkResult::Child => {
                drop(job_write);
                drop(result_read);
                // The child also holds copies of the parent's ends of the pipes of every
                // worker forked before it (fork copies every descriptor): that is why the
                // pool stops its workers with a stop sign, not by closing their pipes.
                let code = catch_unwind(AssertUnwindSafe(|| {
                    serve_jobs(&job_read, &result_write, &self.serve)
                }))
                .unwrap_or(70);
                let _ = std::io::stdout().flush();
                let _ = std::io::stderr().flush();
                // Never a return: the worker is a copy of the caller, and would run the
                // caller's code after `Pool::new` (or after whichever call forked it).
                // exit() does not return.
                std::process::exit(code)
            }
            ForkResult::Parent { child } => Ok(Worker {
                pid: child,
                jobs: job_write,
                results: result_read,
                busy: None,
            }),
        }
    }

    /// Whether job `id` is still queued or running.
    fn pending(&self, id: JobId) -> bool {
        self.queue.iter().any(|(queued, _)| *queued == id)
            || self.workers.iter().any(|w| w.busy == Some(id))
    }

    fn finish(&mut self, id: JobId, result: Result<Vec<u8>, PoolError>) {
        if !self.abandoned.remove(&id) {
            self.done.insert(id, result);
        }
    }

    /// Hands queued jobs to idle workers, oldest job first.
    fn dispatch(&mut self) -> Result<(), PoolError> {
        while !self.queue.is_empty() {
            let Some(i) = self.workers.iter().position(|w| w.busy.is_none()) else {
                return Ok(());
            };
            let (id, arg) = self.queue.pop_front().expect("the queue is not empty");
            match write_frame(&self.workers[i].jobs, &arg) {
                Ok(()) => self.workers[i].busy = Some(id),
                Err(_) => {
                    // The worker died while idle (EPIPE: nobody reads its pipe; Rust
                    // programs ignore SIGPIPE, so the write fails instead of killing us).
                    // The job never started: back to the front of the queue, for the new
                    // worker.
                    self.queue.push_front((id, arg));
                    self.bury(i)?;
                }
            }
        }
        Ok(())
    }

    /// One round of the pool's work: dispatch, then collect whatever has come back (with
    /// `block`, wait in `poll` until something has), then dispatch again.
    fn pump(&mut self, block: bool) -> Result<(), PoolError> {
        self.dispatch()?;
        if self.workers.is_empty() {
            return Ok(());
        }
        let ready: Vec<usize> = {
            let mut fds: Vec<PollFd> = self
                .workers
                .iter()
                .map(|w| PollFd::new(w.results.as_fd(), PollFlags::POLLIN))
                .collect();
            let timeout = if block {
                PollTimeout::NONE
            } else {
                PollTimeout::ZERO
            };
            loop {
                match poll(&mut fds, timeout) {
                    Ok(_) => break,
                    Err(Errno::EINTR) => continue,
                    Err(errno) => {
                        return Err(PoolError::Os {
                            call: "poll",
                            errno,
                        })
                    }
                }
            }
            fds.iter()
                .enumerate()
                .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
                .map(|(i, _)| i)
                .collect()
        };
        // From the last: a worker removed by `bury` shifts only those after it.
        for i in ready.into_iter().rev() {
            self.collect(i)?;
        }
        self.dispatch()
    }

    /// Reads what worker `i` has sent: a result, or the end of its pipe (it died).
    fn collect(&mut self, i: usize) -> Result<(), PoolError> {
        match read_frame(&self.workers[i].results) {
            Ok(Some(reply)) => {
                if let Some(id) = self.workers[i].busy.take() {
                    self.finish(id, Ok(reply));
                }
                Ok(())
            }
            // End of the pipe, or a frame cut short: the worker is gone.
            Ok(None) | Err(_) => self.bury(i),
        }
    }

    /// Worker `i` is dead (or broken): reap it, fail its job, and replace it while the
    /// pool still has work to do.
    fn bury(&mut self, i: usize) -> Result<(), PoolError> {
        let pid = self.workers[i].pid;
        // Its result pipe ended, so it has exited or is exiting. SIGKILL makes sure of it
        // (a job could have closed the pipe and lived on) and does not change the status
        // of a process that has already ended.
        let _ = kill(pid, Signal::SIGKILL);
        let exitcode = reap(pid)?;
        if let Some(id) = self.workers[i].busy.take() {
            self.finish(
                id,
                Err(PoolError::WorkerDied {
                    pid: pid.as_raw(),
                    exitcode,
                }),
            );
        }
        match self.state {
            State::Open | State::Closed => {
                let worker = self.spawn()?;
                // The dead worker's pipes are closed as it is dropped here.
                self.workers[i] = worker;
            }
            State::Terminated | State::Joined => {
                self.workers.remove(i);
            }
        }
        Ok(())
    }

    /// Tells every (idle) worker to stop, and reaps them all.
    fn shut_down(&mut self) -> Result<(), PoolError> {
        let workers = std::mem::take(&mut self.workers);
        let mut pids = Vec::new();
        for worker in workers {
            // The stop sign is an empty frame (no JSON text is empty). Closing the job
            // pipe is not enough: every process forked since this worker (a worker of
            // another pool, say) holds a copy of its write end, so the worker would not
            // see the pipe end until those have exited too.
            let _ = write_frame(&worker.jobs, &[]);
            pids.push(worker.pid);
            drop(worker); // closes both of the parent's ends
        }
        let mut first_error = None;
        for pid in pids {
            if let Err(e) = reap(pid) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Inner {
    fn close(&mut self) {
        if self.state == State::Open {
            self.state = State::Closed;
        }
    }

    fn terminate(&mut self) {
        if matches!(self.state, State::Terminated | State::Joined) {
            return;
        }
        self.state = State::Terminated;
        let dropped: Vec<JobId> = self.queue.drain(..).map(|(id, _)| id).collect();
        for id in dropped {
            self.finish(id, Err(PoolError::Terminated));
        }
        // Signal them all first, then reap them all: they die side by side.
        for worker in &self.workers {
            let _ = kill(worker.pid, Signal::SIGTERM);
        }
        for worker in std::mem::take(&mut self.workers) {
            let _ = reap(worker.pid);
            if let Some(id) = worker.busy {
                self.finish(id, Err(PoolError::Terminated));
            }
        }
    }

    fn join(&mut self) -> Result<(), PoolError> {
        match self.state {
            State::Open => return Err(PoolError::StillRunning),
            State::Joined => return Ok(()),
            // terminate has already reaped every worker.
            State::Terminated => {}
            State::Closed => {
                // Keep the pool going until every queued job has run.
                while !self.queue.is_empty() || self.workers.iter().any(|w| w.busy.is_some()) {
                    self.pump(true)?;
                }
            }
        }
        self.state = State::Joined;
        self.shut_down()
    }
}

impl Drop for Inner {
    /// A safety net: a worker still here (a pool whose `new` failed half-way, or whose
    /// `join` failed) is killed and reaped.
    fn drop(&mut self) {
        for worker in &self.workers {
            let _ = kill(worker.pid, Signal::SIGKILL);
        }
        for worker in std::mem::take(&mut self.workers) {
            let _ = reap(worker.pid);
        }
    }
}

/// The worker's loop: read an argument, run the job, send the reply; until the stop
/// sign (an empty frame) or the end of the job pipe. Returns the worker's exit code.
fn serve_jobs(jobs: &OwnedFd, results: &OwnedFd, serve: &Serve) -> i32 {
    loop {
        let arg = match read_frame(jobs) {
            Ok(Some(arg)) if arg.is_empty() => return 0,
            Ok(Some(arg)) => arg,
            Ok(None) => return 0,
            Err(_) => return 1,
        };
        let reply = serve(&arg);
        if write_frame(results, &reply).is_err() {
            return 1;
        }
    }
}

/// The text of a panic's payload.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_string()
    }
}

/// Waits for `pid` and reaps it; its exit code, or minus the signal that killed it.
fn reap(pid: Pid) -> Result<i32, PoolError> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(-(signal as i32)),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(errno) => {
                return Err(PoolError::Os {
                    call: "waitpid",
                    errno,
                })
            }
        }
    }
}

/// Frames are a 4-byte little-endian length, then the bytes.
const LEN: usize = 4;

/// A pipe that broke: it ended in the middle of a frame, or a read or write failed.
struct Broken;

/// Writes one frame, whole: prefix and bytes in one buffer, so that a small frame goes
/// into the pipe with a single write.
fn write_frame(fd: &OwnedFd, bytes: &[u8]) -> Result<(), Broken> {
    let len = u32::try_from(bytes.len()).map_err(|_| Broken)?;
    let mut frame = Vec::with_capacity(LEN + bytes.len());
    frame.extend_from_slice(&len.to_le_bytes());
    frame.extend_from_slice(bytes);
    let mut rest = &frame[..];
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(n) if n > 0 => rest = &rest[n..],
            Err(Errno::EINTR) => continue,
            _ => return Err(Broken),
        }
    }
    Ok(())
}

/// Fills `buf` from `fd` (a pipe gives a large frame in pieces). Returns how many bytes
/// it got: fewer than `buf.len()` only at the end of the pipe.
fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, Broken> {
    let mut got = 0;
    while got < buf.len() {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(_) => return Err(Broken),
        }
    }
    Ok(got)
}

/// Reads one frame; `None` at the end of the pipe, between frames.
fn read_frame(fd: &OwnedFd) -> Result<Option<Vec<u8>>, Broken> {
    let mut len = [0u8; LEN];
    match read_full(fd, &mut len)? {
        0 => return Ok(None),
        LEN => {}
        _ => return Err(Broken),
    }
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    if read_full(fd, &mut bytes)? < bytes.len() {
        return Err(Broken);
    }
    Ok(Some(bytes))
}

/// A pool of worker processes that all run the same function, like Python's
/// `multiprocessing.Pool`: `Pool::new(3, worker)`, then `apply(arg)`, `apply_async(arg)`,
/// `map(args)`, `close()`, `join()`, `terminate()`.
///
/// A job cannot be a closure: a closure cannot cross into another process. The pool's
/// function is forked along with its workers; what crosses the pipes is its argument and
/// its result, as JSON. The pool is driven by your calls (it has no thread of its own),
/// so it belongs to the thread that made it.
pub struct Pool<A, R> {
    inner: Rc<RefCell<Inner>>,
    workers: usize,
    _types: PhantomData<fn(A) -> R>,
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
        // The worker's side of a job, monomorphised here so that the pool's inside needs
        // no type parameters: JSON in, JSON out, a panic caught and reported.
        let serve: Serve = Box::new(move |arg: &[u8]| {
            let reply: Result<R, Failure> = match serde_json::from_slice::<A>(arg) {
                Ok(arg) => catch_unwind(AssertUnwindSafe(|| f(arg)))
                    .map_err(|payload| Failure::Panicked(panic_message(payload))),
                Err(e) => Err(Failure::Decode(e.to_string())),
            };
            serde_json::to_vec(&reply).unwrap_or_else(|e| {
                let failure: Result<R, Failure> = Err(Failure::Encode(e.to_string()));
                serde_json::to_vec(&failure).unwrap_or_default()
            })
        });
        let mut inner = Inner {
            serve,
            queue: VecDeque::new(),
            done: HashMap::new(),
            abandoned: HashSet::new(),
            workers: Vec::with_capacity(workers),
            next_id: 0,
            state: State::Open,
        };
        for _ in 0..workers {
            // On an error, dropping `inner` kills and reaps the workers forked so far.
            let worker = inner.spawn()?;
            inner.workers.push(worker);
        }
        Ok(Pool {
            inner: Rc::new(RefCell::new(inner)),
            workers,
            _types: PhantomData,
        })
    }

    /// How many workers the pool keeps.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The pids of the current workers. A worker that has died is replaced first, so
    /// while the pool is open there are always `workers()` of them; none after `join`
    /// or `terminate`.
    pub fn pids(&self) -> Vec<i32> {
        let mut inner = self.inner.borrow_mut();
        let _ = inner.pump(false);
        inner.workers.iter().map(|w| w.pid.as_raw()).collect()
    }

    /// Runs `f(arg)` on a worker and waits for its result (Python's apply, 堵塞式).
    pub fn apply(&self, arg: A) -> Result<R, PoolError> {
        self.apply_async(arg)?.get()
    }

    /// Queues `f(arg)` and returns at once (Python's apply_async): an idle worker starts
    /// it right away; otherwise it waits for the first free worker.
    pub fn apply_async(&self, arg: A) -> Result<AsyncResult<R>, PoolError> {
        let mut inner = self.inner.borrow_mut();
        if inner.state != State::Open {
            return Err(PoolError::Closed);
        }
        let bytes = serde_json::to_vec(&arg).map_err(|e| PoolError::Encode(e.to_string()))?;
        if u32::try_from(bytes.len()).is_err() {
            return Err(PoolError::Encode(
                "the argument is 4 GiB or more".to_string(),
            ));
        }
        let id = inner.next_id;
        inner.next_id += 1;
        inner.queue.push_back((id, bytes));
        if let Err(e) = inner.pump(false) {
            inner.abandoned.insert(id);
            return Err(e);
        }
        Ok(AsyncResult {
            inner: Rc::clone(&self.inner),
            id,
            _type: PhantomData,
        })
    }

    /// `f` of every argument, spread over the workers; the results in the arguments'
    /// order. If any job failed, the first failure (in that order), once all have ended.
    pub fn map<I>(&self, args: I) -> Result<Vec<R>, PoolError>
    where
        I: IntoIterator<Item = A>,
    {
        let pending = args
            .into_iter()
            .map(|arg| self.apply_async(arg))
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = Vec::with_capacity(pending.len());
        let mut first_error = None;
        for result in pending {
            match result.get() {
                Ok(value) => results.push(value),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(results), Err)
    }

    /// Takes no more jobs; the queued ones still run.
    pub fn close(&self) {
        self.inner.borrow_mut().close();
    }

    /// Stops at once: jobs not yet started are dropped, and every worker is killed
    /// (SIGTERM) and reaped. Their results are `Terminated`.
    pub fn terminate(&self) {
        self.inner.borrow_mut().terminate();
    }

    /// Waits until every worker has exited, and reaps them: after `close`, once every
    /// queued job has run. `StillRunning` unless `close` or `terminate` came first.
    pub fn join(&self) -> Result<(), PoolError> {
        self.inner.borrow_mut().join()
    }
}

/// Dropping a pool closes it and joins it: the queued jobs still run, and every worker
/// exits and is reaped. No process outlives the pool. (Their results stay with their
/// `AsyncResult`s.)
impl<A, R> Drop for Pool<A, R> {
    fn drop(&mut self) {
        let mut inner = self.inner.borrow_mut();
        inner.close();
        if inner.join().is_err() {
            // A system call failed half-way: still leave no worker behind.
            inner.terminate();
        }
    }
}

/// The result of one `apply_async`, to be fetched with `get`.
pub struct AsyncResult<R> {
    inner: Rc<RefCell<Inner>>,
    id: JobId,
    _type: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> AsyncResult<R> {
    /// Whether the result has come back (`get` would not wait).
    pub fn ready(&self) -> bool {
        let mut inner = self.inner.borrow_mut();
        let _ = inner.pump(false);
        inner.done.contains_key(&self.id)
    }

    /// Waits for the job's result: its value, `JobPanicked`, `WorkerDied` if its worker
    /// died, or `Terminated`.
    pub fn get(self) -> Result<R, PoolError> {
        let reply = {
            let mut inner = self.inner.borrow_mut();
            loop {
                if let Some(result) = inner.done.remove(&self.id) {
                    break result?;
                }
                if !inner.pending(self.id) || inner.workers.is_empty() {
                    // Neither queued, running nor done: terminate took it. (Or no worker
                    // is left to run it, which only a failed join can bring about.)
                    return Err(PoolError::Terminated);
                }
                inner.pump(true)?;
            }
        };
        let reply: Result<R, Failure> =
            serde_json::from_slice(&reply).map_err(|e| PoolError::Decode(e.to_string()))?;
        reply.map_err(PoolError::from)
    }
}

impl<R> Drop for AsyncResult<R> {
    /// A result nobody will fetch: forget it, now or when it comes back.
    fn drop(&mut self) {
        if let Ok(mut inner) = self.inner.try_borrow_mut() {
            if inner.done.remove(&self.id).is_none() && inner.pending(self.id) {
                inner.abandoned.insert(self.id);
            }
        }
    }
}
