//! Kata `fork_twice` — 多次fork问题. See README.md.
//!
//! Use `nix` (pipe2, fork, getpid, getppid, read, write, waitpid) and `kata_sync::process::_exit`.
//! Between `fork` and `_exit` the children may call only async-signal-safe functions: no
//! allocation, no `println!`, no locks (the README says why).

use nix::errno::Errno;
use nix::unistd::{getpid, getppid};
use std::fmt;

/// Which way a `fork` went for a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Side {
    /// `fork` returned the new child's pid: this process was there before that fork
    /// (the course's `else:` branch, 哈哈2 / 哈哈4).
    Parent,
    /// `fork` returned 0: this process was made by that fork (`if pid == 0:`, 哈哈1 / 哈哈3).
    Child,
}

/// What one of the four processes says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Its own pid (getpid).
    pub pid: i32,
    /// Its parent's pid (getppid), asked while that parent was still alive.
    pub ppid: i32,
    /// Its side of the first fork.
    pub first: Side,
    /// Its side of the second fork.
    pub second: Side,
}

/// The system call that failed, with its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForkError {
    /// `pipe` failed (EMFILE: the process has no descriptor left).
    Pipe(Errno),
    /// `fork` failed in the original process (EAGAIN: too many processes; ENOMEM).
    Fork(Errno),
    /// `read` on the pipe failed.
    Read(Errno),
    /// `read` reached the end of the pipe before all four reports: some process exited
    /// (or was killed, or could not fork) without sending its report. `got` bytes came.
    ShortRead { got: usize },
    /// `waitpid` on a child failed.
    Waitpid(Errno),
}

impl fmt::Display for ForkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ForkError::Pipe(errno) => write!(f, "pipe() failed: {errno}"),
            ForkError::Fork(errno) => write!(f, "fork() failed: {errno}"),
            ForkError::Read(errno) => write!(f, "read() from the reports' pipe failed: {errno}"),
            ForkError::ShortRead { got } => write!(
                f,
                "read() from the reports' pipe got {got} of 40 bytes: a process \
                 exited without sending its report"
            ),
            ForkError::Waitpid(errno) => write!(f, "waitpid() on a child failed: {errno}"),
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

/// Runs the course's program: fork; fork again; every one of the four processes reports.
/// Returns the four reports sorted by `(first, second)`, Parent before Child: the original
/// (the caller itself), its second child, its first child, the grandchild.
///
/// Every child ends with `_exit` and never returns into the caller. Before returning, the
/// original has reaped its two children, and the first child has reaped the grandchild:
/// each waits for its own children by pid, never for "any child" (the caller may have
/// children of its own, which are left alone).
pub fn fork_twice() -> Result<Vec<Report>, ForkError> {
    // TODO: nothing forks here, so there is one process and one report instead of four.
    // Create one pipe before the first fork (ForkError::Pipe), then fork (ForkError::Fork),
    // then fork AGAIN in whichever process you are: the second fork runs in both.
    let first = Side::Parent;
    let second = Side::Parent;
    // TODO: every process (the four of them) sends its report through the pipe: pid and
    // ppid asked after both forks, its two sides; one nix::unistd::write of a fixed-size record
    // (at most PIPE_BUF bytes, so reports never interleave).
    let report = Report {
        pid: getpid().as_raw(),
        ppid: getppid().as_raw(),
        first,
        second,
    };
    // TODO: the three children then end with kata_sync::process::_exit, never returning; the first child
    // (first: Child, second: Parent) must waitpid its own child, the grandchild, first.
    // TODO: the original closes its write end, reads exactly four reports
    // (ForkError::Read / ForkError::ShortRead), closes the read end, waitpids both of its
    // children (ForkError::Waitpid), and returns the reports sorted by (first, second).
    Ok(vec![report])
}
