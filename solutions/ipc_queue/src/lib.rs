//! Reference solution of kata `ipc_queue`.
//!
//! After `fork` the two processes share no memory, but they share every descriptor that was
//! open at the fork. So the whole queue lives in pipes created by `new`, before the fork:
//!
//! - the **data pipe** carries the messages, each framed as an 8-byte length and the item's
//!   JSON;
//! - the **slots pipe** holds one byte per free place: a counting semaphore. `put` takes a
//!   byte before writing a message, `get` gives one back after reading one, so no more
//!   than `maxsize` messages are ever in the queue;
//! - the **writer pipe** and the **reader pipe** hold one byte each: two mutexes. A write
//!   of more than PIPE_BUF bytes is not atomic (a 200 kB message goes into the 64 KiB pipe
//!   in pieces, as the reader makes room), so a writer holds the writer byte for its whole
//!   message, and a reader the reader byte for its whole message.
//!
//! The token pipes' ends are non-blocking: a process waits for a token with poll(2), which
//! takes the timeout, then reads it; if another process was quicker the read says EAGAIN
//! and it waits again. An `flock` on a file opened before the fork would NOT do as a
//! mutex: the processes share that open file, and flock locks belong to the open file, so
//! every process "holds" the lock at once.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::pipe2;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

/// The largest `maxsize`: the free slots are bytes in a pipe, and PIPE_BUF (4096) bytes
/// always fit in an empty pipe with one write.
pub const MAXSIZE_LIMIT: usize = libc::PIPE_BUF;

/// Bytes of the length that precedes every message in the data pipe.
const PREFIX_LEN: usize = 8;

/// A body is read in steps of at most this many bytes, so that a length that is not one
/// (a corrupted stream) cannot make one huge allocation.
const READ_STEP: usize = 1 << 20;

/// Why a queue operation did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueError {
    /// `put` could not place the item: every slot was taken (at once with `block = false`,
    /// or until the timeout ran out), or another writer held the queue that long.
    Full,
    /// `get` found no message: at once with `block = false`, or until the timeout ran out.
    Empty,
    /// `new` was given a maxsize outside `1..=MAXSIZE_LIMIT`.
    InvalidMaxsize(usize),
    /// `put`: the item could not be turned into JSON.
    Encode(String),
    /// `get`: the message read is not JSON of the type asked for, or the pipe broke off in
    /// the middle of a message. The message is consumed.
    Corrupt(String),
    /// A system call failed.
    Os { call: &'static str, errno: Errno },
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::Full => write!(f, "the queue is full (Queue.Full)"),
            QueueError::Empty => write!(f, "the queue is empty (Queue.Empty)"),
            QueueError::InvalidMaxsize(n) => {
                write!(f, "maxsize {n} is not between 1 and {MAXSIZE_LIMIT}")
            }
            QueueError::Encode(why) => write!(f, "the item could not be encoded as JSON: {why}"),
            QueueError::Corrupt(why) => write!(f, "the message read is not valid: {why}"),
            QueueError::Os { call, errno } => write!(f, "{call}() failed: {errno}"),
        }
    }
}

impl std::error::Error for QueueError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            QueueError::Os { errno, .. } => Some(errno),
            _ => None,
        }
    }
}

fn os(call: &'static str) -> impl Fn(Errno) -> QueueError {
    move |errno| QueueError::Os { call, errno }
}

/// How long an operation may wait, from Python's `block` and `timeout`.
#[derive(Debug, Clone, Copy)]
enum Wait {
    /// `block = false`: look once, never sleep (the timeout is ignored, as in Python).
    Never,
    /// `block = true` with a timeout: until this instant.
    Until(Instant),
    /// `block = true`, no timeout.
    Forever,
}

impl Wait {
    fn new(block: bool, timeout: Option<Duration>) -> Wait {
        match (block, timeout) {
            (false, _) => Wait::Never,
            (true, None) => Wait::Forever,
            // A timeout too far away to be an Instant is as good as none.
            (true, Some(t)) => Instant::now()
                .checked_add(t)
                .map_or(Wait::Forever, Wait::Until),
        }
    }

    /// The poll(2) timeout for the time left: whole milliseconds, rounded up, so that a
    /// poll that times out has really reached the deadline.
    fn poll_timeout(self) -> PollTimeout {
        match self {
            Wait::Never => PollTimeout::ZERO,
            Wait::Forever => PollTimeout::NONE,
            Wait::Until(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                let ms = left.as_nanos().div_ceil(1_000_000);
                PollTimeout::try_from(ms.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
            }
        }
    }

    fn is_over(self) -> bool {
        match self {
            Wait::Never => true,
            Wait::Until(deadline) => Instant::now() >= deadline,
            Wait::Forever => false,
        }
    }
}

/// Waits until `fd` has something to read, or the wait is over. True if it has.
fn wait_readable(fd: &OwnedFd, wait: Wait) -> Result<bool, QueueError> {
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, wait.poll_timeout()) {
            // POLLIN, or POLLHUP/POLLERR: the read that follows tells which.
            Ok(n) if n > 0 => return Ok(true),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(os("poll")(errno)),
        }
        if wait.is_over() {
            return Ok(false);
        }
    }
}

/// A pipe holding one byte per token: a counting semaphore shared by every process that
/// inherited it. Both ends are non-blocking.
#[derive(Debug)]
struct Tokens {
    take_end: OwnedFd,
    give_end: OwnedFd,
}

impl Tokens {
    fn new(count: usize) -> Result<Tokens, QueueError> {
        // O_CLOEXEC: a program this process starts with exec does not inherit the queue.
        let (take_end, give_end) =
            pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).map_err(os("pipe"))?;
        let tokens = Tokens { take_end, give_end };
        // At most PIPE_BUF bytes: one write puts them all in, or fails.
        let written =
            nix::unistd::write(&tokens.give_end, &vec![0u8; count]).map_err(os("write"))?;
        if written != count {
            return Err(os("write")(Errno::EAGAIN));
        }
        Ok(tokens)
    }

    /// Takes one token, waiting as `wait` allows. False if none came in time.
    fn take(&self, wait: Wait) -> Result<bool, QueueError> {
        loop {
            if !wait_readable(&self.take_end, wait)? {
                return Ok(false);
            }
            let mut token = [0u8; 1];
            match nix::unistd::read(&self.take_end, &mut token) {
                Ok(1) => return Ok(true),
                Ok(_) => return Err(QueueError::Corrupt("a token pipe was closed".into())),
                // Another process took the token between our poll and our read.
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                Err(errno) => return Err(os("read")(errno)),
            }
        }
    }

    /// Gives a token back. Never blocks: there are never more tokens than were created.
    fn give(&self) -> Result<(), QueueError> {
        loop {
            match nix::unistd::write(&self.give_end, &[0u8]) {
                Ok(_) => return Ok(()),
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(os("write")(errno)),
            }
        }
    }

    /// How many tokens are in the pipe now.
    fn available(&self) -> usize {
        kata_sync::process::bytes_in_pipe(&self.take_end).unwrap_or(0)
    }
}

/// A token taken as a mutex, given back when dropped (also on an early return).
struct Held<'a>(&'a Tokens);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let _ = self.0.give();
    }
}

/// Writes all of `bytes`, however many write(2) calls that takes.
fn write_all(fd: &OwnedFd, mut bytes: &[u8]) -> Result<(), QueueError> {
    while !bytes.is_empty() {
        match nix::unistd::write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(os("write")(errno)),
        }
    }
    Ok(())
}

/// Fills `buf`, however many read(2) calls that takes: a read returns what the pipe holds
/// at that moment, at most its capacity (64 KiB), never "the rest of the message".
fn read_exact(fd: &OwnedFd, mut buf: &mut [u8]) -> Result<(), QueueError> {
    while !buf.is_empty() {
        match nix::unistd::read(fd, buf) {
            Ok(0) => {
                return Err(QueueError::Corrupt(
                    "the pipe ended in the middle of a message".into(),
                ))
            }
            Ok(n) => buf = &mut buf[n..],
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(os("read")(errno)),
        }
    }
    Ok(())
}

/// A bounded FIFO queue between processes, in the manner of Python's
/// `multiprocessing.Queue`. Create it before `fork`: the processes forked after `new`
/// share it (by inheritance; there is no other way to share it).
///
/// Several processes may put and several may get at once: every message arrives whole,
/// exactly once, and the messages of one writer in the order it put them.
#[derive(Debug)]
pub struct IpcQueue {
    maxsize: usize,
    /// Read end of the data pipe (blocking).
    data_out: OwnedFd,
    /// Write end of the data pipe (blocking).
    data_in: OwnedFd,
    /// One token per free slot.
    slots: Tokens,
    /// One token while no process is writing a message.
    writer: Tokens,
    /// One token while no process is reading a message.
    reader: Tokens,
}

impl IpcQueue {
    /// A queue that holds at most `maxsize` messages, `1..=MAXSIZE_LIMIT`.
    pub fn new(maxsize: usize) -> Result<IpcQueue, QueueError> {
        if maxsize == 0 || maxsize > MAXSIZE_LIMIT {
            return Err(QueueError::InvalidMaxsize(maxsize));
        }
        // Every descriptor is an OwnedFd from the moment it exists: if a later pipe fails
        // (EMFILE), the earlier ones are closed as this function returns the error.
        let (data_out, data_in) = pipe2(OFlag::O_CLOEXEC).map_err(os("pipe"))?;
        Ok(IpcQueue {
            maxsize,
            data_out,
            data_in,
            slots: Tokens::new(maxsize)?,
            writer: Tokens::new(1)?,
            reader: Tokens::new(1)?,
        })
    }

    /// The `maxsize` given to `new`.
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Puts `item` at the end of the queue (Python's `put(item, block, timeout)`).
    ///
    /// With `block = false`, `Err(Full)` at once if no slot is free (`timeout` is ignored).
    /// With `block = true`, waits for a free slot: forever, or `Err(Full)` once `timeout`
    /// has passed. Once it has a slot, the message is written whole; if the pipe has no
    /// room for all of it, that waits for a reader to make room.
    ///
    /// The writers' lock is waited for like the slot: not at all with `block = false`
    /// (another process in the middle of writing a message makes it `Err(Full)` at once),
    /// and within the same timeout, which counts from the call across every wait. A put
    /// that gives up after taking its slot gives the slot back. A signal that interrupts a
    /// wait (EINTR) neither ends it nor restarts the timeout; a wait sleeps in `poll(2)`
    /// for the time left, never spinning.
    pub fn put<T: Serialize + ?Sized>(
        &self,
        item: &T,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<(), QueueError> {
        let body = serde_json::to_vec(item).map_err(|e| QueueError::Encode(e.to_string()))?;
        // Prefix and body in one buffer: a small message goes in with one write(2).
        let mut frame = Vec::with_capacity(PREFIX_LEN + body.len());
        frame.extend_from_slice(&(body.len() as u64).to_le_bytes());
        frame.extend_from_slice(&body);

        let wait = Wait::new(block, timeout);
        if !self.slots.take(wait)? {
            return Err(QueueError::Full);
        }
        // The writer token for the whole frame: a write of more than PIPE_BUF bytes is not
        // atomic, and without it two writers' pieces would interleave in the pipe.
        let writing = match self.writer.take(wait) {
            Ok(true) => Held(&self.writer),
            Ok(false) => {
                self.slots.give()?;
                return Err(QueueError::Full);
            }
            Err(e) => {
                let _ = self.slots.give();
                return Err(e);
            }
        };
        let written = write_all(&self.data_in, &frame);
        drop(writing);
        written
    }

    /// `put(item, false, None)`: never waits for a slot.
    pub fn put_nowait<T: Serialize + ?Sized>(&self, item: &T) -> Result<(), QueueError> {
        self.put(item, false, None)
    }

    /// Takes the message at the front of the queue (Python's `get(block, timeout)`).
    ///
    /// With `block = false`, `Err(Empty)` at once if no message is there (`timeout` is
    /// ignored). With `block = true`, waits for a message: forever, or `Err(Empty)` once
    /// `timeout` has passed.
    ///
    /// The timeout counts from the call across every wait (for the readers' lock, then for
    /// a message). Only a get that has read a whole message gives a slot back; one that
    /// finds nothing gives none. A signal that interrupts a wait (EINTR) neither ends it nor
    /// restarts the timeout; a wait sleeps in `poll(2)` for the time left, never spinning.
    pub fn get<T: DeserializeOwned>(
        &self,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<T, QueueError> {
        let wait = Wait::new(block, timeout);
        // The reader token first, then the message: once this process sees the data pipe
        // readable, no other reader can take those bytes away from under it.
        if !self.reader.take(wait)? {
            return Err(QueueError::Empty);
        }
        let reading = Held(&self.reader);
        if !wait_readable(&self.data_out, wait)? {
            return Err(QueueError::Empty);
        }
        let mut prefix = [0u8; PREFIX_LEN];
        read_exact(&self.data_out, &mut prefix)?;
        let len = usize::try_from(u64::from_le_bytes(prefix))
            .map_err(|_| QueueError::Corrupt("a message length does not fit in memory".into()))?;
        let mut body = Vec::new();
        while body.len() < len {
            let start = body.len();
            let end = len.min(start + READ_STEP);
            body.resize(end, 0);
            read_exact(&self.data_out, &mut body[start..end])?;
        }
        drop(reading);
        // The message is out of the pipe: its slot is free again.
        self.slots.give()?;
        serde_json::from_slice(&body).map_err(|e| QueueError::Corrupt(e.to_string()))
    }

    /// `get(false, None)`: never waits for a message.
    pub fn get_nowait<T: DeserializeOwned>(&self) -> Result<T, QueueError> {
        self.get(false, None)
    }

    /// How many messages are in the queue: `maxsize` minus the free slots. A `put` counts
    /// from the moment it takes its slot, a `get` until it has read its whole message.
    /// Exact whenever no put or get is under way in any process.
    pub fn qsize(&self) -> usize {
        self.maxsize.saturating_sub(self.slots.available())
    }

    /// True if no byte of any message is waiting in the pipe (a put that has its slot but
    /// has not written yet is not seen). Exact whenever no put or get is under way.
    pub fn empty(&self) -> bool {
        loop {
            let mut fds = [PollFd::new(self.data_out.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::ZERO) {
                Ok(n) => return n == 0,
                Err(Errno::EINTR) => continue,
                Err(_) => return true,
            }
        }
    }

    /// True if no slot is free. Exact whenever no put or get is under way.
    pub fn full(&self) -> bool {
        self.slots.available() == 0
    }
}

// No `impl Drop`: each of the eight descriptors is an OwnedFd, closed when the queue is
// dropped. The other processes keep their own copies, so the queue lives on in them.
