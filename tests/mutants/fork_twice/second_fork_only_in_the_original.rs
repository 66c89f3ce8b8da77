//! Mutant: two forks, three processes: only the original forks a second time, the first child does not, so there are three reports and no grandchild.
//! expect-fail: fork_twice_proc::two_forks_make_four_processes, fork_twice_proc::only_its_own_children_are_reaped, fork_twice_proc::a_process_that_dies_before_reporting_gives_short_read, fork_twice_proc::a_process_that_dies_before_reporting_leaves_no_zombie, fork_twice_proc::a_second_fork_that_fails_in_the_first_child_gives_short_read, fork_twice_proc::reports_never_mix_when_written_at_the_same_moment

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{getpid, getppid, pipe2, ForkResult, Pid};
use std::fmt;
use std::os::fd::OwnedFd;
use kata_sync::process::{_exit, fork};

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
                "read() from the reports' pipe got {got} of {ALL_LEN} bytes: a process \
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

/// Two forks: three processes (the original, and one child per fork).
const PROCESSES: usize = 3;
/// One report on the pipe: pid and ppid (4 native-endian bytes each), then one byte per
/// side (0 Parent, 1 Child). Far below PIPE_BUF (4096), so each report goes into the pipe
/// in one piece, never interleaved with another process's.
const REPORT_LEN: usize = 10;
const ALL_LEN: usize = PROCESSES * REPORT_LEN;

fn side_of(result: ForkResult) -> (Side, Option<Pid>) {
    match result {
        ForkResult::Parent { child } => (Side::Parent, Some(child)),
        ForkResult::Child => (Side::Child, None),
    }
}

/// Runs the course's program: fork; fork again; every one of the four processes reports.
/// Returns the four reports sorted by `(first, second)`, Parent before Child: the original
/// (the caller itself), its second child, its first child, the grandchild.
///
/// Every child ends with `_exit` and never returns into the caller. Before returning, the
/// original has reaped its two children, and the first child has reaped the grandchild.
pub fn fork_twice() -> Result<Vec<Report>, ForkError> {
    // One pipe, made before the first fork, so that all four processes have its write end.
    // O_CLOEXEC: a program another thread spawns meanwhile does not hold it open.
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).map_err(ForkError::Pipe)?;

    // pid = os.fork()
    // SAFETY: until they _exit, the children run only async-signal-safe code (fork,
    // getpid, getppid, write, close, waitpid, _exit): the caller may have other threads,
    // and in a child they are gone, perhaps holding a lock (the allocator's, stdout's).
    let (first, first_child) = side_of(fork().map_err(ForkError::Fork)?);

    // pid = os.fork() again: BOTH processes run this line, the original and its child.
    // SAFETY: as above.
    let (second, second_child) = if first_child.is_none() {
        // The first fork's child has been forked already: only the original forks again.
        (Side::Parent, None)
    } else {
        match fork() {
            Ok(result) => side_of(result),
            Err(errno) => match first_child {
                // The first child cannot hand an error to the caller (it is not the caller):
                // it leaves without a report, and the original finds that report missing.
                None => exit_child(false),
                // The original: the first child is running (it reports and reaps its own
                // child); close our ends and reap it before giving up.
                Some(first_child) => {
                    drop(read_end);
                    drop(write_end);
                    let _ = reap(first_child);
                    return Err(ForkError::Fork(errno));
                }
            },
        }
    };

    // print('哈哈…'): every one of the four processes runs this line. A process asks for
    // its pid and its parent's pid now, after both forks: values read earlier would
    // describe the process it was copied from.
    let report = Report {
        pid: getpid().as_raw(),
        ppid: getppid().as_raw(),
        first,
        second,
    };
    let sent = write_all(&write_end, &encode(&report));

    if first == Side::Child || second == Side::Child {
        // The three children. Their part is done; close the pipe.
        drop(read_end);
        drop(write_end);
        // The first child made a child of its own at the second fork (the grandchild):
        // it must reap it before exiting. This also keeps the grandchild's parent alive
        // while the grandchild asks getppid(); were its parent gone, it would have been
        // adopted and would report its adopter's pid.
        let reaped = match second_child {
            Some(grandchild) => reap(grandchild).is_ok(),
            None => true,
        };
        // _exit, never a return (the child would run the rest of the caller's code as a
        // second copy of the program) nor `exit` (it would run the atexit handlers of its
        // copy of the parent and flush its stdio buffers a second time).
        exit_child(sent && reaped);
    }

    // The original, with both its children's pids: first_child and second_child.
    // Close its write end first: should a child die without reporting, the read below then
    // ends (end-of-file once every child's copy is closed) instead of waiting forever.
    // (Had the original's own report failed to go in, the read comes up short: an error.)
    drop(write_end);
    let received = read_reports(&read_end);
    drop(read_end);
    // Reap both children even if the reading failed: an unreaped child stays a zombie.
    let mut reaped = Ok(());
    for child in [second_child, first_child].into_iter().flatten() {
        let result = reap(child);
        if reaped.is_ok() {
            reaped = result;
        }
    }
    let mut reports = received?;
    reaped?;
    reports.sort_by_key(|r| (r.first, r.second));
    Ok(reports)
}

/// Ends a child at once, without running anything of the caller's.
fn exit_child(ok: bool) -> ! {
    _exit(if ok { 0 } else { 1 })
}

fn encode(report: &Report) -> [u8; REPORT_LEN] {
    let mut bytes = [0u8; REPORT_LEN];
    bytes[0..4].copy_from_slice(&report.pid.to_ne_bytes());
    bytes[4..8].copy_from_slice(&report.ppid.to_ne_bytes());
    bytes[8] = (report.first == Side::Child) as u8;
    bytes[9] = (report.second == Side::Child) as u8;
    bytes
}

fn decode(bytes: &[u8]) -> Report {
    let side = |b: u8| if b == 0 { Side::Parent } else { Side::Child };
    Report {
        pid: i32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        ppid: i32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        first: side(bytes[8]),
        second: side(bytes[9]),
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

/// Reads exactly four reports, or fails when the pipe ends first.
fn read_reports(fd: &OwnedFd) -> Result<Vec<Report>, ForkError> {
    let mut buf = [0u8; ALL_LEN];
    let mut got = 0;
    while got < ALL_LEN {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => return Err(ForkError::ShortRead { got }),
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(ForkError::Read(errno)),
        }
    }
    Ok(buf.chunks_exact(REPORT_LEN).map(decode).collect())
}

/// Waits for this one child (never "any child": the caller may have others) and collects
/// it, so that it leaves no zombie behind.
fn reap(child: Pid) -> Result<(), ForkError> {
    loop {
        match waitpid(child, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(ForkError::Waitpid(errno)),
        }
    }
}
