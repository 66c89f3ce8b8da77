//! Mutant: the child sends COUNTER as it was before its own addition, then adds.
//! expect-fail: fork_isolation_proc::child_sees_only_its_own_delta, fork_isolation_proc::repeated_calls_accumulate_only_in_the_parent, fork_isolation_proc::counter_wraps_around_at_the_edges, fork_isolation_proc::another_threads_additions_are_kept

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::waitpid;
use nix::unistd::{pipe2, ForkResult, Pid};
use std::fmt;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicI64, Ordering};
use kata_sync::process::{_exit, fork};

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
                "read() from the child's pipe got {got} of {VALUE_LEN} bytes: the child \
                 exited without sending its value"
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

/// The child sends its COUNTER as 8 native-endian bytes: less than PIPE_BUF, so one
/// `write` puts them in the pipe all at once.
const VALUE_LEN: usize = std::mem::size_of::<i64>();

/// Forks once. The child adds `child_delta` to COUNTER, sends the value it then sees to the
/// parent through a pipe, and exits at once: it never returns into the caller's code. The
/// parent waits for and reaps the child, then adds `parent_delta` and returns what each saw.
pub fn fork_and_add(parent_delta: i64, child_delta: i64) -> Result<Observation, ForkError> {
    // O_CLOEXEC: if another thread of this process spawns a program meanwhile, the program
    // does not inherit (and hold open) our pipe.
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).map_err(ForkError::Pipe)?;

    // The child runs only async-signal-safe code (an atomic add, write, close,
    // _exit): the caller may have other threads, and in the child they are gone, possibly
    // in the middle of holding a lock (the allocator's, stdout's) that nobody will release.
    match fork().map_err(ForkError::Fork)? {
        ForkResult::Child => {
            drop(read_end);
            let seen = COUNTER.load(Ordering::SeqCst);
            let sent = write_all(&write_end, &seen.to_ne_bytes());
            COUNTER.fetch_add(child_delta, Ordering::SeqCst);
            drop(write_end);
            // _exit, never `exit` nor a return: the child is a copy of the caller, so
            // returning would run the rest of the caller's code (a second test, a second
            // `main`) in the child; `exit` would run the copy's atexit handlers and flush
            // its stdio buffers, printing the parent's pending output a second time.
            _exit(if sent { 0 } else { 1 })
        }
        ForkResult::Parent { child } => {
            // Close our write end first: the read then sees end-of-file as soon as the
            // child's copy closes, instead of waiting forever for a child that died.
            drop(write_end);
            let received = read_value(&read_end);
            drop(read_end);
            // Reap the child even if the read failed: an unreaped child stays a zombie.
            let reaped = reap(child);
            let child_saw = received?;
            reaped?;
            let parent_saw = COUNTER
                .fetch_add(parent_delta, Ordering::SeqCst)
                .wrapping_add(parent_delta);
            Ok(Observation {
                parent_saw,
                child_saw,
                child_pid: child.as_raw(),
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

/// Reads the child's 8 bytes, until they are all there or the pipe ends.
fn read_value(fd: &OwnedFd) -> Result<i64, ForkError> {
    let mut buf = [0u8; VALUE_LEN];
    let mut got = 0;
    while got < VALUE_LEN {
        match nix::unistd::read(fd, &mut buf[got..]) {
            Ok(0) => return Err(ForkError::ShortRead { got }),
            Ok(n) => got += n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(ForkError::Read(errno)),
        }
    }
    Ok(i64::from_ne_bytes(buf))
}

/// Waits for this one child to end and collects its status, so it leaves no zombie.
fn reap(child: Pid) -> Result<(), ForkError> {
    loop {
        match waitpid(child, None) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(ForkError::Waitpid(errno)),
        }
    }
}
