//! Kata `process` — multiprocessing / Process子类. See README.md.
//!
//! Use `nix` (fork, waitpid, kill) and `kata_sync::process::_exit`. The child runs the caller's
//! target, arbitrary Rust code, and must then end with `kata_sync::process::_exit`: it never returns
//! from `start` (the README says why).
//!
//! This stub forks nothing: `start` runs the target right here, in the caller's process,
//! and keeps its return value as the "exit code". There is no child, so there is nothing
//! to wait for, to signal or to reap.

use nix::errno::Errno;
use std::fmt;
use std::time::Duration;

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

type Target = Box<dyn FnOnce() -> i32>;

/// A child process to be, like Python's `multiprocessing.Process`.
pub struct Process {
    name: String,
    target: Option<Target>,
    // TODO: remember the child's pid (a `nix::unistd::Pid`) once started; keep it after
    // the child has ended, as Python does.
    started: bool,
    exitcode: Option<i32>,
}

// TODO: dropping a started Process that has not been reaped must kill its child (SIGKILL)
// and reap it (waitpid): `impl Drop for Process`. No child may outlive its Process.

impl Process {
    /// A process that will run `target` in a child; the child's exit code is the value
    /// `target` returns (only its low 8 bits reach the parent: 0..=255). Named
    /// `Process-N`, N counting every `Process` this program has created, from 1.
    pub fn new<F>(target: F) -> Process
    where
        F: FnOnce() -> i32 + 'static,
    {
        // TODO: every process is called "Process". Number them: a static counter
        // (an AtomicU64) that every new Process takes the next number from, starting at 1.
        Process {
            name: "Process".to_string(),
            target: Some(Box::new(target)),
            started: false,
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
        // TODO: this is the caller's own pid: return the child's, the one fork() gave.
        if self.started {
            Some(std::process::id() as i32)
        } else {
            None
        }
    }

    /// Forks the child, which runs the target and exits with the code it returns; the
    /// parent returns at once. `AlreadyStarted` the second time. Output the caller wrote
    /// before `start` (still in its stdout/stderr buffers) is written out before the fork,
    /// so that it comes out once, never a second time from the child.
    pub fn start(&mut self) -> Result<(), ProcessError> {
        if self.started {
            return Err(ProcessError::AlreadyStarted);
        }
        let target = self.target.take().ok_or(ProcessError::AlreadyStarted)?;
        // TODO: this runs the target right here, in the caller, and waits for it. fork()
        // instead (ProcessError::Fork if it fails). In the child: run the target under
        // std::panic::catch_unwind (a panic gives exit code 1, as in Python) and end with
        // kata_sync::process::_exit(code): never return from start(), never std::process::exit. In the
        // parent: drop the target (the child has its own copy), keep the child's pid, and
        // return at once.
        self.exitcode = Some(target());
        self.started = true;
        Ok(())
    }

    /// Whether the child is running: false before `start` and once it has ended, even
    /// if nobody has joined it yet (an ended child is reaped here, as Python does).
    pub fn is_alive(&mut self) -> bool {
        // TODO: look at the child with waitpid(pid, WNOHANG): still running, or ended
        // (then record its exit code: it is reaped now). Not kill(pid, 0), which also
        // succeeds for a zombie.
        false
    }

    /// `None` before `start` and while the child runs; then its exit code, or minus the
    /// number of the signal that killed it (-15 for SIGTERM, -9 for SIGKILL). It looks at
    /// the child itself, as `is_alive` does: an ended child is reaped here, joined or not.
    pub fn exitcode(&mut self) -> Option<i32> {
        // TODO: look at the child first (waitpid WNOHANG), as is_alive does. A child
        // killed by a signal has exitcode -signal (WaitStatus::Signaled).
        self.exitcode
    }

    /// Waits for the child to end and reaps it, and returns its exit code; a signal that
    /// interrupts the wait (EINTR) does not end it. With `Some(timeout)` it gives up once
    /// that long has passed (never sooner) and returns `Ok(None)`: the child runs on (join
    /// never kills it). `NotStarted` before `start`.
    pub fn join(&mut self, timeout: Option<Duration>) -> Result<Option<i32>, ProcessError> {
        if !self.started {
            return Err(ProcessError::NotStarted);
        }
        // TODO: with no timeout, block in waitpid(pid, None) (again on EINTR) and record
        // the status. With a timeout, look with waitpid(pid, WNOHANG) and sleep a little
        // between looks until the deadline, then return Ok(None), leaving the child
        // running.
        let _ = timeout;
        Ok(self.exitcode)
    }

    /// Sends SIGTERM to a running child (its exit code becomes -15 once joined). Does
    /// nothing to a child that has already ended. `NotStarted` before `start`.
    pub fn terminate(&mut self) -> Result<(), ProcessError> {
        if !self.started {
            return Err(ProcessError::NotStarted);
        }
        // TODO: kill(pid, SIGTERM) (ProcessError::Signal if it fails), unless the child
        // has already been reaped: its pid may then belong to another process.
        Ok(())
    }
}

impl fmt::Debug for Process {
    /// Like Python's repr: `<Process name='Process-1' pid=1234 started>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<Process name={:?}", self.name)?;
        match (self.pid(), self.exitcode) {
            (None, _) => write!(f, " initial>"),
            (Some(pid), None) => write!(f, " pid={pid} started>"),
            (Some(pid), Some(code)) => write!(f, " pid={pid} exitcode={code}>"),
        }
    }
}
