//! Mutant: start() forks without first flushing the caller's stdout/stderr (the child still flushes its own output before `_exit`).
//! expect-fail: process_proc::start_writes_the_callers_pending_output_once
//!
//! (A blind mutant: written from the statement, the stub and the reference only.)
//! Breaks: README "Why `_exit`, and what the child may do": the child must not write out the caller's buffered output a second time (`std::process::exit` is banned because it would "flush its buffers a second time"); here the child's own final flush does just that, since the caller's unflushed stdout buffer was copied into it by fork.
//! Shows when: the caller has written to stdout without a newline (or to a block-buffered stdout) before start(): that text appears twice.
//! Evidence: /work/blind/ws-process/process/tests/checks.rs `no_flush_before_fork` (helper with stdout on a pipe writes "pending;" without newline, starts and joins a Process, writes "end\n"): reference passes ("pending;end"); mutant fails (the caller's stdout was "pending;pending;end\n"). Visible tests pass.

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use std::fmt;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use kata_sync::process::{_exit, fork};

/// The "subclass" style: a type whose `run` is the child's work, like a Python subclass of
/// `Process` that overrides `run()`. The return value is the child's exit code.
pub trait Run {
    fn run(&mut self) -> i32;
}

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessError {
    /// `start` on a process that was already started (Python: "cannot start a process
    /// twice"), even one that has ended since.
    AlreadyStarted,
    /// `join` or `terminate` on a process that was never started.
    NotStarted,
    /// `fork` failed (EAGAIN: too many processes).
    Fork(Errno),
    /// `waitpid` failed.
    Wait(Errno),
    /// `kill` failed.
    Signal(Errno),
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::AlreadyStarted => f.write_str("cannot start a process twice"),
            ProcessError::NotStarted => f.write_str("the process was never started"),
            ProcessError::Fork(errno) => write!(f, "fork() failed: {errno}"),
            ProcessError::Wait(errno) => write!(f, "waitpid() failed: {errno}"),
            ProcessError::Signal(errno) => write!(f, "kill() failed: {errno}"),
        }
    }
}

impl std::error::Error for ProcessError {}

/// Numbers every `Process` this program creates, from 1, as Python's `Process-N` names do.
/// Each process of the program has its own copy: a child that creates processes numbers
/// them on from the value the counter had when it was forked.
static CREATED: AtomicU64 = AtomicU64::new(1);

type Target = Box<dyn FnOnce() -> i32>;

/// A child process to be, like Python's `multiprocessing.Process`.
pub struct Process {
    name: String,
    /// What the child will run; taken by `start`.
    target: Option<Target>,
    /// The child's pid, once started (kept after it has ended, as in Python).
    pid: Option<Pid>,
    /// How the child ended, once it has been reaped: its exit code, or minus the signal.
    exitcode: Option<i32>,
}

impl Process {
    /// A process that will run `target` in a child; the child's exit code is the value
    /// `target` returns (only its low 8 bits reach the parent: 0..=255). Named
    /// `Process-N`, N counting every `Process` this program has created, from 1.
    pub fn new<F>(target: F) -> Process
    where
        F: FnOnce() -> i32 + 'static,
    {
        let number = CREATED.fetch_add(1, Ordering::Relaxed);
        Process {
            name: format!("Process-{number}"),
            target: Some(Box::new(target)),
            pid: None,
            exitcode: None,
        }
    }

    /// Like `new`, with a name of your own. It still takes a number (as in Python), so
    /// the next unnamed process is not renumbered.
    pub fn with_name<F>(name: impl Into<String>, target: F) -> Process
    where
        F: FnOnce() -> i32 + 'static,
    {
        let mut process = Process::new(target);
        process.name = name.into();
        process
    }

    /// A process whose child runs `runner.run()`: the "subclass" style.
    pub fn from_run<R>(mut runner: R) -> Process
    where
        R: Run + 'static,
    {
        Process::new(move || runner.run())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }

    /// The child's pid: `None` before `start`, and kept after the child has ended.
    pub fn pid(&self) -> Option<i32> {
        self.pid.map(Pid::as_raw)
    }

    /// Forks the child, which runs the target and exits with the code it returns; the
    /// parent returns at once. `AlreadyStarted` the second time.
    pub fn start(&mut self) -> Result<(), ProcessError> {
        if self.pid.is_some() {
            return Err(ProcessError::AlreadyStarted);
        }
        let target = self.target.take().ok_or(ProcessError::AlreadyStarted)?;
        // The child runs the caller's target, arbitrary Rust code, and then ends
        // with _exit. If the caller has other threads, they do not exist in the child and
        // a lock one of them held at the fork stays locked there: a target should then
        // stay away from such locks (stdout's, say). See the README.
        match fork() {
            Err(errno) => {
                self.target = Some(target);
                Err(ProcessError::Fork(errno))
            }
            Ok(ForkResult::Child) => {
                // A panic must not unwind out of `start`: the child would return into
                // the caller's code and run it as a second copy. Python's exit code for
                // a run() that raised is 1.
                let code = catch_unwind(AssertUnwindSafe(target)).unwrap_or(1);
                // _exit does not flush: write out what the target printed.
                let _ = std::io::stdout().flush();
                let _ = std::io::stderr().flush();
                // _exit, never a return: see the README.
                // SAFETY: ends this process at once.
                _exit(code)
            }
            Ok(ForkResult::Parent { child }) => {
                // The parent's copy of the target is never run: dropping it here closes
                // what it captured (the parent's copies of pipe ends, say), as Python
                // does (`del self._target`).
                drop(target);
                self.pid = Some(child);
                Ok(())
            }
        }
    }

    /// Whether the child is running: false before `start` and once it has ended, even
    /// if nobody has joined it yet (an ended child is reaped here, as Python does).
    pub fn is_alive(&mut self) -> bool {
        let _ = self.poll();
        self.pid.is_some() && self.exitcode.is_none()
    }

    /// `None` before `start` and while the child runs; then its exit code, or minus the
    /// number of the signal that killed it (-15 for SIGTERM, -9 for SIGKILL).
    pub fn exitcode(&mut self) -> Option<i32> {
        let _ = self.poll();
        self.exitcode
    }

    /// Waits for the child to end and reaps it, and returns its exit code. With
    /// `Some(timeout)` it gives up after about that long and returns `Ok(None)`: the
    /// child runs on (join never kills it). `NotStarted` before `start`.
    pub fn join(&mut self, timeout: Option<Duration>) -> Result<Option<i32>, ProcessError> {
        let pid = self.pid.ok_or(ProcessError::NotStarted)?;
        if self.exitcode.is_some() {
            return Ok(self.exitcode);
        }
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let Some(deadline) = deadline else {
            // No timeout (or one too far away to matter): block in waitpid.
            loop {
                match waitpid(pid, None) {
                    Ok(status) => {
                        if self.record(status) {
                            return Ok(self.exitcode);
                        }
                    }
                    Err(Errno::EINTR) => continue,
                    Err(errno) => return Err(ProcessError::Wait(errno)),
                }
            }
        };
        // A timeout: look without blocking, and sleep a little between looks.
        let mut pause = Duration::from_millis(1);
        loop {
            if self.poll()? {
                return Ok(self.exitcode);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM to a running child (its exit code becomes -15 once joined). Does
    /// nothing to a child that has already ended. `NotStarted` before `start`.
    pub fn terminate(&mut self) -> Result<(), ProcessError> {
        let pid = self.pid.ok_or(ProcessError::NotStarted)?;
        if self.exitcode.is_some() {
            // Reaped: the pid may already belong to another process. Never signal it.
            return Ok(());
        }
        // Not reaped yet, so the pid is still our child's (perhaps a zombie, for which
        // the signal is harmless and its real exit status is kept).
        kill(pid, Signal::SIGTERM).map_err(ProcessError::Signal)
    }

    /// Looks at the child without blocking; true once it has ended (and been reaped).
    fn poll(&mut self) -> Result<bool, ProcessError> {
        let Some(pid) = self.pid else {
            return Ok(false);
        };
        if self.exitcode.is_some() {
            return Ok(true);
        }
        loop {
            match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(status) => return Ok(self.record(status)),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(ProcessError::Wait(errno)),
            }
        }
    }

    /// Records how the child ended; false if `status` says it has not.
    fn record(&mut self, status: WaitStatus) -> bool {
        match status {
            WaitStatus::Exited(_, code) => self.exitcode = Some(code),
            // Python's convention: minus the signal's number.
            WaitStatus::Signaled(_, signal, _) => self.exitcode = Some(-(signal as i32)),
            _ => return false,
        }
        true
    }
}

/// Dropping a started process that has not been reaped kills its child (SIGKILL, which
/// cannot be caught or ignored, so the drop cannot hang) and reaps it: no child outlives
/// its `Process`, and none is left a zombie. Join a process first to let it finish.
impl Drop for Process {
    fn drop(&mut self) {
        let Some(pid) = self.pid else {
            return;
        };
        if self.exitcode.is_some() {
            return;
        }
        let _ = kill(pid, Signal::SIGKILL);
        loop {
            match waitpid(pid, None) {
                Err(Errno::EINTR) => continue,
                Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    }
}

impl fmt::Debug for Process {
    /// Like Python's repr: `<Process name='Process-1' pid=1234 started>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Process name={:?}", self.name)?;
        match (self.pid, self.exitcode) {
            (None, _) => write!(f, " initial>"),
            (Some(pid), None) => write!(f, " pid={pid} started>"),
            (Some(pid), Some(code)) => write!(f, " pid={pid} exitcode={code}>"),
        }
    }
}
