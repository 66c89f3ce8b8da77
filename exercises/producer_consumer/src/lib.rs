//! Kata `producer_consumer` — 生产者消费者模式. See README.md.
//!
//! Take every thread, lock, condition variable and `Arc` from `kata_sync` (never
//! `std::sync`, `std::thread`, parking_lot or crossbeam directly): the grader swaps in
//! loom's models to try every interleaving. (`std::collections::VecDeque` is fine: it is
//! not synchronisation.)
//!
//! This stub's channel is a plain queue behind a lock: it has no bound (a fast producer
//! fills memory), it never waits (an empty queue reads as "the end", although the
//! producers are still at work), and it never notices that the other side is gone. And
//! `run` is not a pipeline: it runs every producer, then one consumer, on the caller's
//! thread.

use kata_sync::{Arc, Mutex};
use std::collections::VecDeque;

/// `send` failed because every `Receiver` is gone; the item comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

/// `recv` failed because every `Sender` is gone and the queue is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

/// Why `try_send` did not queue the item; the item comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The queue holds `bound` items (Python's `queue.Full`).
    Full(T),
    /// Every `Receiver` is gone.
    Disconnected(T),
}

/// Why `try_recv` returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing queued right now, but a `Sender` is still alive (Python's `queue.Empty`).
    Empty,
    /// Nothing queued, and every `Sender` is gone: nothing will ever come.
    Disconnected,
}

/// Why `run` refused to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunError {
    /// `consumers` was 0: the producers would wait forever for room in the queue.
    NoConsumers,
    /// `bound` was 0: a queue that can hold nothing.
    ZeroBound,
}

impl<T> std::fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sending on a channel whose receivers are all gone")
    }
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("receiving on an empty channel whose senders are all gone")
    }
}

impl<T> std::fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "the channel is full",
            TrySendError::Disconnected(_) => "the channel's receivers are all gone",
        })
    }
}

impl std::fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TryRecvError::Empty => "the channel is empty",
            TryRecvError::Disconnected => "the channel is empty and its senders are all gone",
        })
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RunError::NoConsumers => "a pipeline needs at least one consumer",
            RunError::ZeroBound => "a channel's bound must be at least 1",
        })
    }
}

impl<T: std::fmt::Debug> std::error::Error for SendError<T> {}
impl std::error::Error for RecvError {}
impl<T: std::fmt::Debug> std::error::Error for TrySendError<T> {}
impl std::error::Error for TryRecvError {}
impl std::error::Error for RunError {}

struct Shared<T> {
    // TODO: besides the items, count the live Senders and Receivers (the last Sender to
    // go closes the channel for the receivers; the last Receiver to go closes it for the
    // senders), and add two `Condvar`s: one that receivers wait on while the queue is
    // empty, one that senders wait on while it is full.
    items: Mutex<VecDeque<T>>,
    bound: usize,
}

/// A bounded channel holding at most `bound` items. Panics if `bound` is 0.
pub fn channel<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    // TODO: `channel(0)` must panic: a queue that can hold nothing.
    let shared = Arc::new(Shared {
        items: Mutex::new(VecDeque::new()),
        bound,
    });
    (
        Sender {
            shared: Arc::clone(&shared),
        },
        Receiver { shared },
    )
}

/// The producers' end. Clone it for every producer.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `item`, waiting while the queue is full (Python's `put`). `Err` with the
    /// item once every `Receiver` is gone, also if this call was waiting.
    pub fn send(&self, item: T) -> Result<(), SendError<T>> {
        // TODO: this never waits: the queue grows past its bound. Wait (in a `while`
        // loop, on a condvar) while it holds `bound` items; give the item back in
        // `Err(SendError(item))` once every Receiver is gone; after queueing, wake a
        // receiver that may be waiting for an item.
        self.shared.items.lock().push_back(item);
        Ok(())
    }

    /// Queues `item` only if there is room right now (Python's `put_nowait`):
    /// `Disconnected(item)` once every `Receiver` is gone (also when the queue is full:
    /// that is looked at first, as crossbeam does), else `Full(item)` if the queue holds
    /// `bound` items.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        // TODO: `Full(item)` when the queue holds `bound` items, `Disconnected(item)`
        // once every Receiver is gone.
        self.shared.items.lock().push_back(item);
        Ok(())
    }

    /// How many items are queued now (Python's `qsize`); never more than the bound.
    pub fn len(&self) -> usize {
        self.shared.items.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound the channel was made with.
    pub fn capacity(&self) -> usize {
        self.shared.bound
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        // TODO: count the new Sender.
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

// TODO: `impl Drop for Sender<T>`: the last Sender to go closes the channel, and every
// receiver waiting for an item must wake up to see that (so `recv` can return Err).

/// The consumers' end. Clone it for every consumer.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the oldest item, waiting while the queue is empty (Python's `get`). `Err`
    /// only once every `Sender` is gone and the queue is empty: items sent before the
    /// last `Sender` was dropped are all still received.
    pub fn recv(&self) -> Result<T, RecvError> {
        // TODO: an empty queue is not the end while a Sender is alive: wait (in a
        // `while` loop, on a condvar) for an item or for the last Sender to go. Return
        // Err only when the queue is empty AND every Sender is gone. After taking an
        // item, wake a sender that may be waiting for room.
        self.shared.items.lock().pop_front().ok_or(RecvError)
    }

    /// Takes the oldest item only if there is one right now (Python's `get_nowait`):
    /// `Empty` if none is queued, `Disconnected` only once every `Sender` is gone and the
    /// queue is empty (a closed channel is drained first, as by `recv`).
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        // TODO: `Disconnected` (not `Empty`) when the queue is empty and every Sender is
        // gone; wake a waiting sender after taking an item.
        self.shared
            .items
            .lock()
            .pop_front()
            .ok_or(TryRecvError::Empty)
    }

    /// How many items are queued now (Python's `qsize`); never more than the bound.
    pub fn len(&self) -> usize {
        self.shared.items.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound the channel was made with.
    pub fn capacity(&self) -> usize {
        self.shared.bound
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        // TODO: count the new Receiver.
        Receiver {
            shared: Arc::clone(&self.shared),
        }
    }
}

// TODO: `impl Drop for Receiver<T>`: once the last Receiver is gone, every sender
// waiting for room must wake up and give its item back in `Err(SendError(item))`.

/// The course's program. Starts one thread per producer, which sends the items of its
/// iterator in order, and `consumers` threads, which each receive until the channel is
/// closed and call `consume` on every item they get. Returns what each consumer got, in
/// the order it got it, once every thread has finished. If `consume` panics, the panic
/// reaches the caller once every other thread has stopped, with consume's own payload.
/// `Err(NoConsumers)` if `consumers` is 0, `Err(ZeroBound)` if `bound` is 0.
pub fn run<P, T, F>(
    producers: Vec<P>,
    consumers: usize,
    bound: usize,
    consume: F,
) -> Result<Vec<Vec<T>>, RunError>
where
    P: IntoIterator<Item = T> + Send + 'static,
    T: Send + 'static,
    F: Fn(&T) + Send + Sync + 'static,
{
    // TODO: refuse `consumers == 0` (NoConsumers) and `bound == 0` (ZeroBound).
    // TODO: this is not a pipeline: every producer runs, then a single consumer, all on
    // the caller's thread (with a real bound, the first producer would wait forever for
    // a consumer that has not started). Spawn one thread per producer, each with its own
    // clone of the Sender, and `consumers` threads, each with its own clone of the
    // Receiver; then drop your own Sender (while you hold it, the channel never closes
    // and the consumers wait forever) and your own Receiver (while you hold it, producers
    // never learn that every consumer has died), and join every thread. If a consumer
    // panicked, raise its payload again (`std::panic::resume_unwind`) once all are joined.
    let (tx, rx) = channel(bound);
    for items in producers {
        for item in items {
            let _ = tx.send(item);
        }
    }
    let mut got: Vec<Vec<T>> = (0..consumers).map(|_| Vec::new()).collect();
    while let Ok(item) = rx.recv() {
        consume(&item);
        if let Some(first) = got.first_mut() {
            first.push(item);
        }
    }
    Ok(got)
}
