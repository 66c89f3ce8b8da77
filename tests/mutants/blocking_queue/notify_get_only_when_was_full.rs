//! Mutant: `get` wakes a putter only when the queue goes from full to not full ("putters only wait while it is full").
//! expect-fail: blocking_queue_loom::two_gets_in_a_row_wake_both_waiting_producers, blocking_queue_stress::four_producers_four_consumers_every_item_once, blocking_queue_stress::lifo_and_priority_queues_deliver_every_item_once
//!
//! Blind mutant: `get` wakes a putter only when the queue goes from full to not full ("putters only wait while it is full").
//! Breaks: "no lost wake-up: ... or two producers and one consumer, every item is delivered and nobody sleeps forever" (README).
//! Shows when: capacity 2, full, two producers waiting; the consumer gets twice before either producer runs: the first get (queue was full) wakes P1, the second (queue was not full) wakes nobody; P1 puts one item, the consumer takes it, and P2 sleeps forever on a queue with room.
//! Evidence: ws-queues/blocking_queue/tests/blind_loom.rs::loom_two_producers_capacity_two (loom) reports a deadlock; blind.rs::slow_store_two_gets_wake_two_producers (slow pop) fails 5/5 runs, "a producer slept on although the queue had room (9/10 rounds)"; both passes on the reference. All visible tests pass on it.

//! One queue type, `BlockingQueue<S>`, does all the locking and waiting; what differs
//! between Python's `Queue`, `LifoQueue` and `PriorityQueue` is only which item comes out
//! next, and that is the job of the store `S` (a `VecDeque`, a `Vec` or a min-heap). The
//! store sits behind one `Mutex`; two `Condvar`s say "an item was put" (`not_empty`, for
//! blocked getters) and "an item was taken" (`not_full`, for blocked putters), as in
//! CPython's queue.py.

use kata_sync::{Condvar, Mutex, MutexGuard};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::{Duration, Instant};

/// `put` found the queue full (Python's `queue.Full`). The item that could not be put
/// comes back in the error, so that nothing is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full<T>(pub T);

impl<T> Full<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::fmt::Display for Full<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("queue full")
    }
}

impl<T: std::fmt::Debug> std::error::Error for Full<T> {}

/// `get` found the queue empty (Python's `queue.Empty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Empty;

impl std::fmt::Display for Empty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("queue empty")
    }
}

impl std::error::Error for Empty {}

/// Where a queue keeps its items; decides which item `get` hands out next.
pub trait Store: Default {
    type Item;
    /// Adds an item.
    fn push(&mut self, item: Self::Item);
    /// Removes and returns the next item, `None` if there is none.
    fn pop(&mut self) -> Option<Self::Item>;
    /// How many items are stored.
    fn len(&self) -> usize;
    /// Whether no item is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// First in, first out (Python's `Queue`).
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out: a stack (Python's `LifoQueue`).
pub struct Lifo<T>(Vec<T>);

/// Lowest first (Python's `PriorityQueue`, whose `get` returns the smallest item).
pub struct Priority<T: Ord>(BinaryHeap<Reverse<T>>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T> Store for Fifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T> Store for Lifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    /// The newest item: the end the last push went to.
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> Store for Priority<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    /// `BinaryHeap` is a max-heap; `Reverse` makes the smallest item the greatest.
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// A thread-safe queue with an optional bound, in the style of Python's `queue.Queue`.
pub struct BlockingQueue<S: Store> {
    store: Mutex<S>,
    /// Most items the queue holds; 0 means no limit.
    maxsize: usize,
    /// Notified when an item is put: wakes one thread blocked in `get`.
    not_empty: Condvar,
    /// Notified when an item is taken: wakes one thread blocked in `put`.
    not_full: Condvar,
}

/// Python's `queue.Queue`: first in, first out.
pub type Queue<T> = BlockingQueue<Fifo<T>>;
/// Python's `queue.LifoQueue`: last in, first out.
pub type LifoQueue<T> = BlockingQueue<Lifo<T>>;
/// Python's `queue.PriorityQueue`: lowest first.
pub type PriorityQueue<T> = BlockingQueue<Priority<T>>;

/// Waits on `cv` while `blocked(store)`; false if the deadline passed first. `None`
/// waits without a deadline.
fn wait_while<S>(
    cv: &Condvar,
    store: &mut MutexGuard<'_, S>,
    deadline: Option<Instant>,
    blocked: impl Fn(&S) -> bool,
) -> bool {
    // A loop, not an `if`: the thread that was woken may find that another thread took
    // the item (or the free place) first, and must wait again.
    while blocked(store) {
        match deadline {
            None => cv.wait(store),
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    return false;
                }
                cv.wait_for(store, deadline - now);
            }
        }
    }
    true
}

/// The deadline of a wait of `timeout` from now; `None` for no timeout (or one too far
/// away to represent).
fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

impl<S: Store> BlockingQueue<S> {
    /// An empty queue that holds at most `maxsize` items; 0 means no limit.
    pub fn new(maxsize: usize) -> Self {
        BlockingQueue {
            store: Mutex::new(S::default()),
            maxsize,
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        }
    }

    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    fn is_full(&self, store: &S) -> bool {
        self.maxsize > 0 && store.len() >= self.maxsize
    }

    /// Puts `item` in the queue. If it is full: with `block == false`, `Err(Full(item))` at
    /// once; with `block == true` and no timeout, waits until there is room; with a
    /// timeout, waits at most that long, then `Err(Full(item))`. With `block == false`
    /// the timeout is ignored.
    pub fn put(
        &self,
        item: S::Item,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<(), Full<S::Item>> {
        let mut store = self.store.lock();
        let room = if block {
            wait_while(&self.not_full, &mut store, deadline(timeout), |s| {
                self.is_full(s)
            })
        } else {
            !self.is_full(&store)
        };
        if !room {
            return Err(Full(item));
        }
        store.push(item);
        // One item, so one getter can use it; notified under the lock, so a getter is
        // either already waiting (and is woken) or will see the item when it looks.
        self.not_empty.notify_one();
        Ok(())
    }

    /// Takes the next item. If the queue is empty: with `block == false`, `Err(Empty)` at
    /// once; with `block == true` and no timeout, waits until there is an item; with a
    /// timeout, waits at most that long, then `Err(Empty)`. With `block == false` the
    /// timeout is ignored.
    pub fn get(&self, block: bool, timeout: Option<Duration>) -> Result<S::Item, Empty> {
        let mut store = self.store.lock();
        let ready = if block {
            wait_while(&self.not_empty, &mut store, deadline(timeout), |s| {
                s.is_empty()
            })
        } else {
            !store.is_empty()
        };
        if !ready {
            return Err(Empty);
        }
        let was_full = self.is_full(&store);
        let item = store.pop().ok_or(Empty)?;
        // Putters only wait while the queue is full, so only the get that ends the
        // fullness needs to wake one.
        if was_full {
            self.not_full.notify_one();
        }
        Ok(item)
    }

    /// `put(item, false, None)`.
    pub fn put_nowait(&self, item: S::Item) -> Result<(), Full<S::Item>> {
        self.put(item, false, None)
    }

    /// `get(false, None)`.
    pub fn get_nowait(&self) -> Result<S::Item, Empty> {
        self.get(false, None)
    }

    /// How many items the queue holds right now.
    pub fn qsize(&self) -> usize {
        self.store.lock().len()
    }

    /// Whether the queue holds no item right now.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether the queue holds `maxsize` items right now; never for an unbounded queue.
    pub fn full(&self) -> bool {
        self.is_full(&self.store.lock())
    }
}

impl<S: Store> Default for BlockingQueue<S> {
    /// An unbounded queue.
    fn default() -> Self {
        BlockingQueue::new(0)
    }
}
