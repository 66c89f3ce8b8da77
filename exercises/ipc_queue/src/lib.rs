//! Kata `ipc_queue` — 进程间通信-Queue, 进程池中的Queue. See README.md.
//!
//! Use `nix` (pipe2, poll, read, write) and `libc` (PIPE_BUF, ioctl FIONREAD); items go
//! through `serde_json`.

use nix::errno::Errno;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

/// The largest `maxsize`: the free slots are bytes in a pipe, and PIPE_BUF (4096) bytes
/// always fit in an empty pipe with one write.
pub const MAXSIZE_LIMIT: usize = libc::PIPE_BUF;

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

/// A bounded FIFO queue between processes, in the manner of Python's
/// `multiprocessing.Queue`. Create it before `fork`: the processes forked after `new`
/// share it (by inheritance; there is no other way to share it).
#[derive(Debug)]
pub struct IpcQueue {
    maxsize: usize,
    // TODO: this VecDeque lives in this process's memory. After fork the parent and the
    // child each have their own copy, so a message one of them puts never reaches the
    // other. Keep the queue in pipes made by `new` (the forked processes inherit them): a
    // data pipe for the length-prefixed messages, a pipe of `maxsize` one-byte tokens for
    // the free slots, and one-token pipes as the writers' and the readers' locks.
    items: Mutex<VecDeque<Vec<u8>>>,
}

impl IpcQueue {
    /// A queue that holds at most `maxsize` messages, `1..=MAXSIZE_LIMIT`.
    pub fn new(maxsize: usize) -> Result<IpcQueue, QueueError> {
        if maxsize == 0 || maxsize > MAXSIZE_LIMIT {
            return Err(QueueError::InvalidMaxsize(maxsize));
        }
        // TODO: create the pipes here (pipe2 with O_CLOEXEC; O_NONBLOCK on the token
        // pipes), fill the slots pipe with `maxsize` bytes and each lock pipe with one.
        // A failing pipe (EMFILE) is `QueueError::Os { call: "pipe", errno }`, and the
        // descriptors already made must not leak: hold each in an OwnedFd.
        Ok(IpcQueue {
            maxsize,
            items: Mutex::new(VecDeque::new()),
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
        // TODO: `block` and `timeout` are ignored: a full queue is always Full at once.
        // Take a slot token (poll(2) the slots pipe for as long as block/timeout allow),
        // then the writer lock, then write the 8-byte length and the body into the data
        // pipe. A write of more than PIPE_BUF bytes is not atomic: hold the writer lock
        // for the whole message, or two writers' pieces interleave.
        let _ = (block, timeout);
        let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        if items.len() >= self.maxsize {
            return Err(QueueError::Full);
        }
        items.push_back(body);
        Ok(())
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
        // TODO: `block` and `timeout` are ignored: an empty queue is always Empty at once.
        // Take the reader lock, poll(2) the data pipe for as long as block/timeout allow,
        // read the 8-byte length and then the whole body (one read(2) returns at most what
        // the pipe holds at that moment: loop until every byte is there), release the
        // lock and give the message's slot back.
        let _ = (block, timeout);
        let body = self
            .items
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
            .ok_or(QueueError::Empty)?;
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
        // TODO: only this process's copy: count the free-slot tokens in the slots pipe
        // instead (ioctl FIONREAD tells how many bytes a pipe holds).
        self.items.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True if no byte of any message is waiting in the pipe (a put that has its slot but
    /// has not written yet is not seen). Exact whenever no put or get is under way.
    pub fn empty(&self) -> bool {
        // TODO: only this process's copy: poll(2) the data pipe with a zero timeout.
        self.qsize() == 0
    }

    /// True if no slot is free. Exact whenever no put or get is under way.
    pub fn full(&self) -> bool {
        // TODO: only this process's copy: no slot token left in the slots pipe.
        self.qsize() >= self.maxsize
    }
}
