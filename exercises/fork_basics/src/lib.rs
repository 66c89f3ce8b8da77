//! Kata `fork_basics` — 进程的创建-fork, getpid/getppid. See README.md.
//!
//! Use `nix` (pipe2, fork, getpid, getppid, read, write, waitpid) and `kata_sync::process::_exit`.
//! Between `fork` and `_exit` the child may call only async-signal-safe functions: no
//! allocation, no `println!`, no locks (the README says why).

use nix::errno::Errno;
use nix::unistd::{getpid, getppid};
use std::fmt;

/// What a process says about itself: `os.getpid()` and `os.getppid()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// The process's own pid (getpid).
    pub pid: i32,
    /// Its parent's pid (getppid).
    pub ppid: i32,
}

/// What the parent knows once the child has reported and been reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forked {
    /// The parent's own pid (getpid in the parent, i.e. the caller's pid).
    pub parent_pid: i32,
    /// The pid `fork` returned to the parent.
    pub child_pid: i32,
    /// What the child reported about itself, through the pipe.
    pub child: Report,
    /// The child's exit status as `waitpid` gave it: the code the child passed to
    /// `_exit`, or 128 + the signal's number if a signal killed it.
    pub exit_status: i32,
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
    /// `read` reached the end of the pipe before the child's whole report: the child
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
                "read() from the child's pipe got {got} of 8 bytes: the child \
                 exited without sending its report"
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

/// Forks once. The child reports its pid and its parent's pid through a pipe, then ends
/// with `_exit(0)`: it never returns into the caller. The parent reads the report, reaps
/// the child with `waitpid` and returns what it learned.
pub fn fork_and_report() -> Result<Forked, ForkError> {
    fork_with_exit_code(0)
}

/// Like [`fork_and_report`], but the child ends with `_exit(code)`; the parent's
/// `waitpid` collects that code into `exit_status`.
pub fn fork_with_exit_code(code: u8) -> Result<Forked, ForkError> {
    // TODO: there is no second process here: nothing forks, so the "child" below is just
    // this process describing itself. Create a pipe (ForkError::Pipe if that fails), then
    // fork (ForkError::Fork).
    // TODO: in the child: getpid() and getppid(), write both into the pipe with
    // nix::unistd::write (8 bytes: pid then ppid, i32::to_ne_bytes), then kata_sync::process::_exit(code).
    // Never return from here, never call exit() or std::process::exit, and nothing that
    // allocates or takes a lock.
    let child = Report {
        pid: getpid().as_raw(),
        ppid: getppid().as_raw(),
    };
    // TODO: in the parent: close the pipe's write end, read the child's 8 bytes
    // (ForkError::Read / ForkError::ShortRead), close the read end, then waitpid the
    // child (ForkError::Waitpid) so it leaves no zombie; its exit code becomes exit_status.
    let _ = code;
    Ok(Forked {
        parent_pid: getpid().as_raw(),
        // TODO: 0 is nobody's pid: return the pid that fork gave the parent.
        child_pid: 0,
        child,
        // TODO: the status waitpid collected from the child, not a made-up 0.
        exit_status: 0,
    })
}
