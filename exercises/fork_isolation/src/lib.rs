//! Kata `fork_isolation` — 多进程修改全局变量. See README.md.
//!
//! Use `nix` (fork, pipe, read, write, waitpid) and `kata_sync::process::_exit`. Between `fork` and
//! `_exit` the child may call only async-signal-safe functions: no allocation, no
//! `println!`, no locks (the README says why).

use nix::errno::Errno;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};

/// The global that both sides of the fork change.
pub static COUNTER: AtomicI64 = AtomicI64::new(0);

/// What each process saw right after adding its own delta.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Observation {
    /// The parent's COUNTER after it added `parent_delta`.
    pub parent_saw: i64,
    /// The child's COUNTER after it added `child_delta`, as the child reported it.
    pub child_saw: i64,
    /// The child's pid, as `fork` returned it to the parent.
    pub child_pid: i32,
}

/// The system call that failed, with its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkError {
    /// `pipe` failed (EMFILE: the process has no descriptor left).
    Pipe(Errno),
    /// `fork` failed (EAGAIN: too many processes; ENOMEM).
    Fork(Errno),
    /// `read` on the pipe failed.
    Read(Errno),
    /// `read` reached the end of the pipe before the child's whole value: the child
    /// exited (or was killed) without sending it.
    ShortRead { got: usize },
    /// `waitpid` on the child failed.
    Waitpid(Errno),
}

impl fmt::Display for ForkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForkError::Pipe(errno) => write!(f, "pipe() failed: {errno}"),
            ForkError::Fork(errno) => write!(f, "fork() failed: {errno}"),
            ForkError::Read(errno) => write!(f, "read() from the child's pipe failed: {errno}"),
            ForkError::ShortRead { got } => write!(
                f,
                "read() from the child's pipe got {got} of 8 bytes: the child exited \
                 without sending its value"
            ),
            ForkError::Waitpid(errno) => write!(f, "waitpid() on the child failed: {errno}"),
        }
    }
}

impl std::error::Error for ForkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ForkError::Pipe(errno)
            | ForkError::Fork(errno)
            | ForkError::Read(errno)
            | ForkError::Waitpid(errno) => Some(errno),
            ForkError::ShortRead { .. } => None,
        }
    }
}

/// Forks once. The child adds `child_delta` to COUNTER, sends the value it then sees to the
/// parent through a pipe, and exits at once: it never returns into the caller's code. The
/// parent waits for and reaps the child, then adds `parent_delta` and returns what each saw.
pub fn fork_and_add(parent_delta: i64, child_delta: i64) -> Result<Observation, ForkError> {
    // TODO: there is no second process here: both additions land in this process's one
    // COUNTER, so the "child's" +child_delta leaks into the parent. Create a pipe
    // (ForkError::Pipe if that fails), then fork (ForkError::Fork).
    // TODO: in the child: add child_delta to COUNTER, write the value it now sees into the
    // pipe with nix::unistd::write, then end with kata_sync::process::_exit(0). Never return from here, never
    // call exit() or std::process::exit, and nothing that allocates or takes a lock.
    let child_saw = COUNTER
        .fetch_add(child_delta, Ordering::SeqCst)
        .wrapping_add(child_delta);
    // TODO: in the parent: close the pipe's write end, read the child's 8 bytes
    // (ForkError::Read / ForkError::ShortRead), close the read end, waitpid the child so
    // it leaves no zombie (ForkError::Waitpid), and only then add parent_delta.
    let parent_saw = COUNTER
        .fetch_add(parent_delta, Ordering::SeqCst)
        .wrapping_add(parent_delta);
    Ok(Observation {
        parent_saw,
        child_saw,
        // TODO: 0 is nobody's pid: return the pid that fork gave the parent.
        child_pid: 0,
    })
}
