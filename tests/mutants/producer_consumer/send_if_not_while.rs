//! Mutant: `send` waits for room with an `if`: once woken it pushes without checking that the place it was woken for is still free.
//! expect-fail: producer_consumer_loom::two_senders_never_overfill_a_bound_of_1, producer_consumer_stress::queue_never_exceeds_its_bound
//!
//! Blind mutant: `send` waits for room with an `if`: once woken it pushes without checking that the place it was woken for is still free.
//! Breaks: "the queue never holds more than `bound` items: `send` waits while it is full" (README) and `len`'s "never more than the bound".
//! Shows when: two senders on a full channel of bound 1: a receive wakes sender A, but sender B (just arriving) takes the lock first and fills the place; A then pushes too, and the queue holds 2 items.
//! Evidence: ws-queues/producer_consumer/tests/blind.rs::two_senders_never_overfill_bound_one: rx.len() > 1 seen 53218 times over 20 rounds of 4000 items; fails 5/5 runs, passes on the reference (5/5 runs of the whole file). All visible tests pass on it.

//! One bounded queue behind a `Mutex`, two `Condvar`s ("not empty" wakes receivers,
//! "not full" wakes senders), and a count of the live `Sender`s and `Receiver`s: the
//! last `Sender` to go closes the channel for the receivers, the last `Receiver` to go
//! closes it for the senders. `run` is the course's program: producer threads and
//! consumer threads that only ever meet in the channel.

use kata_sync::{thread, Arc, Condvar, Mutex};
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

struct State<T> {
    items: VecDeque<T>,
    senders: usize,
    receivers: usize,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Notified when an item is queued, and (to all) when the last Sender is dropped.
    not_empty: Condvar,
    /// Notified when an item is taken, and (to all) when the last Receiver is dropped.
    not_full: Condvar,
    bound: usize,
}

/// A bounded channel holding at most `bound` items. Panics if `bound` is 0.
pub fn channel<T>(bound: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        bound > 0,
        "channel(0): a channel's bound must be at least 1"
    );
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            items: VecDeque::with_capacity(bound),
            senders: 1,
            receivers: 1,
        }),
        not_empty: Condvar::new(),
        not_full: Condvar::new(),
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
        let mut state = self.shared.state.lock();
        if state.receivers > 0 && state.items.len() >= self.shared.bound {
            // Full: wait until a receiver takes an item (or the last one goes).
            self.shared.not_full.wait(&mut state);
        }
        // Checked after the wait: the receivers may have gone while we slept.
        if state.receivers == 0 {
            return Err(SendError(item));
        }
        state.items.push_back(item);
        // One item, one receiver to wake. Notified under the lock: a receiver is either
        // waiting already (and woken) or has not looked yet (and will find the item).
        self.shared.not_empty.notify_one();
        Ok(())
    }

    /// Queues `item` only if there is room right now (Python's `put_nowait`).
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let mut state = self.shared.state.lock();
        if state.receivers == 0 {
            return Err(TrySendError::Disconnected(item));
        }
        if state.items.len() >= self.shared.bound {
            return Err(TrySendError::Full(item));
        }
        state.items.push_back(item);
        self.shared.not_empty.notify_one();
        Ok(())
    }

    /// How many items are queued now (Python's `qsize`); never more than the bound.
    pub fn len(&self) -> usize {
        self.shared.state.lock().items.len()
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
        self.shared.state.lock().senders += 1;
        Sender {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        state.senders -= 1;
        if state.senders == 0 {
            // Closed: every waiting receiver must wake to see it, not just one.
            self.shared.not_empty.notify_all();
        }
    }
}

/// The consumers' end. Clone it for every consumer.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Receiver<T> {
    /// Takes the oldest item, waiting while the queue is empty (Python's `get`). `Err`
    /// only once every `Sender` is gone and the queue is empty: items sent before the
    /// last `Sender` was dropped are all still received.
    pub fn recv(&self) -> Result<T, RecvError> {
        let mut state = self.shared.state.lock();
        loop {
            // The queue first, the senders second: a closed channel is drained first.
            if let Some(item) = state.items.pop_front() {
                self.shared.not_full.notify_one();
                return Ok(item);
            }
            if state.senders == 0 {
                return Err(RecvError);
            }
            self.shared.not_empty.wait(&mut state);
        }
    }

    /// Takes the oldest item only if there is one right now (Python's `get_nowait`).
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let mut state = self.shared.state.lock();
        if let Some(item) = state.items.pop_front() {
            self.shared.not_full.notify_one();
            return Ok(item);
        }
        if state.senders == 0 {
            Err(TryRecvError::Disconnected)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// How many items are queued now (Python's `qsize`); never more than the bound.
    pub fn len(&self) -> usize {
        self.shared.state.lock().items.len()
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
        self.shared.state.lock().receivers += 1;
        Receiver {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock();
        state.receivers -= 1;
        if state.receivers == 0 {
            // Every sender waiting for room must wake and give up.
            self.shared.not_full.notify_all();
        }
    }
}

/// The course's program. Starts one thread per producer, which sends the items of its
/// iterator in order, and `consumers` threads, which each receive until the channel is
/// closed and call `consume` on every item they get. Returns what each consumer got, in
/// the order it got it, once every thread has finished. If `consume` panics, the panic
/// reaches the caller once the other threads have stopped.
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
    if consumers == 0 {
        return Err(RunError::NoConsumers);
    }
    if bound == 0 {
        return Err(RunError::ZeroBound);
    }
    let (tx, rx) = channel(bound);
    let producing: Vec<_> = producers
        .into_iter()
        .map(|items| {
            let tx = tx.clone();
            thread::spawn(move || {
                for item in items {
                    if tx.send(item).is_err() {
                        break; // every consumer is gone (each one panicked)
                    }
                }
            })
        })
        .collect();
    // Our own Sender must go too: the channel closes when the *last* Sender is dropped,
    // and while we held one the consumers would wait for items that never come.
    drop(tx);
    let consume = Arc::new(consume);
    let consuming: Vec<_> = (0..consumers)
        .map(|_| {
            let rx = rx.clone();
            let consume = Arc::clone(&consume);
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(item) = rx.recv() {
                    consume(&item);
                    got.push(item);
                }
                got
            })
        })
        .collect();
    // Likewise our Receiver: if every consumer panicked, the producers must see that.
    drop(rx);
    let mut panic = None;
    for handle in producing {
        if let Err(payload) = handle.join() {
            panic.get_or_insert(payload);
        }
    }
    let mut got = Vec::with_capacity(consumers);
    for handle in consuming {
        match handle.join() {
            Ok(items) => got.push(items),
            Err(payload) => {
                panic.get_or_insert(payload);
            }
        }
    }
    if let Some(payload) = panic {
        std::panic::resume_unwind(payload);
    }
    Ok(got)
}
