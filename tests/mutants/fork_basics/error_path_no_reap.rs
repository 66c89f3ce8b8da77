//! Mutant: the parent returns the read error with `?` before it calls `waitpid`, so a failed read leaves the child unreaped.
//! expect-fail: fork_basics_proc::a_child_that_dies_before_reporting_is_still_reaped
//!
//! (A blind mutant: written from the statement, the stub and the reference only.)
//! Breaks: README step 4 "Reap the child even if the read failed"; "the child leaves no zombie".
//! Shows when: the child dies before it reports: fork_and_report returns Err(ShortRead) and the dead child stays a zombie of the caller.
//! Evidence: /work/blind/ws-process/fork_basics/tests/checks.rs `error_path_no_reap` (helper, seccomp kills the child at getppid; then waitpid(-1, WNOHANG)): reference passes (ECHILD); mutant fails ("a child was left behind: Signaled(.., SIGSYS, ..)"). Visible tests pass.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{getpid, getppid, pipe2, ForkResult, Pid};
use std::fmt;
use std::os::fd::OwnedFd;
use kata_sync::process::{_exit, fork};

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
                "read() from the child's pipe got {got} of {REPORT_LEN} bytes: the child \
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

/// The child's report on the pipe: pid, then ppid, 4 native-endian bytes each. Less than
/// PIPE_BUF, so one `write` puts it in the pipe all at once.
const REPORT_LEN: usize = 8;

/// Forks once. The child reports its pid and its parent's pid through a pipe, then ends
/// with `_exit(0)`: it never returns into the caller. The parent reads the report, reaps
/// the child with `waitpid` and returns what it learned.
pub fn fork_and_report() -> Result<Forked, ForkError> {
    fork_with_exit_code(0)
}

/// Like [`fork_and_report`], but the child ends with `_exit(code)`; the parent's
/// `waitpid` collects that code into `exit_status`.
pub fn fork_with_exit_code(code: u8) -> Result<Forked, ForkError> {
    // O_CLOEXEC: if another thread of this process spawns a program meanwhile, the program
    // does not inherit (and hold open) our pipe.
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).map_err(ForkError::Pipe)?;

    // The child runs only async-signal-safe code (getpid, getppid, write, close,
    // _exit): the caller may have other threads, and in the child they are gone, possibly
    // in the middle of holding a lock (the allocator's, stdout's) nobody will release.
    match fork().map_err(ForkError::Fork)? {
        ForkResult::Child => {
            drop(read_end);
            // In the child fork returned 0: that is not a pid. The kernel says who we are
            // and who our parent is; the parent is still alive (it waits for us), so
            // getppid is its pid and not that of a process that adopted us.
            let pid = getpid().as_raw();
            let ppid = getppid().as_raw();
            let mut report = [0u8; REPORT_LEN];
            report[..4].copy_from_slice(&pid.to_ne_bytes());
            report[4..].copy_from_slice(&ppid.to_ne_bytes());
            write_all(&write_end, &report);
            drop(write_end);
            // _exit, never `exit` nor a return: the child is a copy of the caller, so
            // returning would run the rest of the caller's code a second time, in the
            // child; `exit` would run the copy's atexit handlers and flush its stdio
            // buffers, printing the parent's pending output twice.
            _exit(code.into())
        }
        ForkResult::Parent { child } => {
            // Close our write end first: the read then sees end-of-file as soon as the
            // child's copy closes, instead of waiting forever for a child that died.
            drop(write_end);
            let report = read_report(&read_end)?;
            drop(read_end);
            // Collect the child so that it leaves no zombie.
            let exit_status = reap(child)?;
            Ok(Forked {
                parent_pid: getpid().as_raw(),
                child_pid: child.as_raw(),
                child: report,
                exit_status,
            })
        }
    }
}

/// Writes all of `bytes` with plain write(2) calls: no allocation, safe in a forked child.
fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) if n > 0 => bytes = &bytes[n..],
            Err(Errno::EINTR) => continue,
            _ => return false,
        }
    }
    true
}

/// Reads the child's report, until all of it is there or the pipe ends.
fn read_report(fd: &OwnedFd) -> Result<Report, ForkError> {
    let mut buf = [0u8; REPORT_LEN];
    let mut got = 0;
    while got < REPORT_LEN {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => return Err(ForkError::ShortRead { got }),
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(ForkError::Read(errno)),
        }
    }
    let [a, b, c, d, e, f, g, h] = buf;
    Ok(Report {
        pid: i32::from_ne_bytes([a, b, c, d]),
        ppid: i32::from_ne_bytes([e, f, g, h]),
    })
}

/// Waits for this one child (never "any child": the caller may have others) and
/// returns its exit status. Once collected, the child leaves no zombie behind.
fn reap(child: Pid) -> Result<i32, ForkError> {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, signal, _)) => return Ok(128 + signal as i32),
            // Without WUNTRACED/WCONTINUED waitpid reports only an end; keep waiting.
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(ForkError::Waitpid(errno)),
        }
    }
}
