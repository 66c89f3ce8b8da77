//! Kata `blocking_queue` — 生产者与消费者: 队列 / 栈, Queue的说明. See README.md.
//!
//! Take every lock and condition variable from `kata_sync` (never `std::sync`,
//! `std::thread` or parking_lot directly): the grader swaps in loom's models to try every
//! interleaving. (`std::collections`, `std::cmp::Reverse` and `std::time` are fine: they
//! are not synchronisation.)
//!
//! This stub is thread-safe, but it never waits and never refuses: `put` accepts every
//! item whatever the `maxsize`, and `get` of an empty queue fails at once even when asked
//! to block. Its LIFO and priority stores hand out the oldest item, like a FIFO.

use kata_sync::Mutex;
use std::collections::VecDeque;
use std::time::Duration;

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

/// First in, first out (Python's `Queue`). This one is done: copy its shape.
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out: a stack (Python's `LifoQueue`).
pub struct Lifo<T>(VecDeque<T>);

/// Lowest first (Python's `PriorityQueue`, whose `get` returns the smallest item).
// TODO: keep the items so that the smallest comes out first and cheaply: a
// `std::collections::BinaryHeap` is a max-heap, so store `std::cmp::Reverse(item)`.
pub struct Priority<T: Ord>(VecDeque<T>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(VecDeque::new())
    }
}

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(VecDeque::new())
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
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        // TODO: this hands out the oldest item, as a FIFO does. A stack hands out the
        // newest one: the item that was pushed last.
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl<T: Ord> Store for Priority<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        // TODO: this hands out the oldest item, as a FIFO does. A priority queue hands out
        // the smallest one (Python's PriorityQueue gets `(1, "urgent")` before `(5, …)`).
        self.0.pop_front()
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
    // TODO: a thread that must wait (a `get` of an empty queue, a `put` to a full one)
    // needs somewhere to sleep until another thread changes the queue: add condition
    // variables (`kata_sync::Condvar`). Two, `not_empty` for getters and `not_full` for
    // putters, let each `notify_one` wake a thread that can use the change.
}

/// Python's `queue.Queue`: first in, first out.
pub type Queue<T> = BlockingQueue<Fifo<T>>;
/// Python's `queue.LifoQueue`: last in, first out.
pub type LifoQueue<T> = BlockingQueue<Lifo<T>>;
/// Python's `queue.PriorityQueue`: lowest first.
pub type PriorityQueue<T> = BlockingQueue<Priority<T>>;

impl<S: Store> BlockingQueue<S> {
    /// An empty queue that holds at most `maxsize` items; 0 means no limit.
    pub fn new(maxsize: usize) -> Self {
        BlockingQueue {
            store: Mutex::new(S::default()),
            maxsize,
        }
    }

    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Puts `item` in the queue. If it is full: with `block == false`, `Err(Full(item))` at
    /// once; with `block == true` and no timeout, waits until there is room; with a
    /// timeout, waits until there is room or the timeout has run out, whichever comes
    /// first, then `Err(Full(item))`. With `block == false` the timeout is ignored.
    pub fn put(
        &self,
        item: S::Item,
        block: bool,
        timeout: Option<Duration>,
    ) -> Result<(), Full<S::Item>> {
        // TODO: this accepts every item, however full the queue is. A queue with a
        // `maxsize` (0 means no limit) holding `maxsize` items is full: refuse at once
        // with `Err(Full(item))` when `!block`; otherwise wait on a condvar, in a `while`
        // loop, until there is room (with a timeout: `wait_for` what is left until a
        // deadline computed once, and give up only once the deadline has passed). After
        // putting, wake a thread waiting in `get`.
        let _ = (block, timeout);
        self.store.lock().push(item);
        Ok(())
    }

    /// Takes the next item. If the queue is empty: with `block == false`, `Err(Empty)` at
    /// once; with `block == true` and no timeout, waits until there is an item; with a
    /// timeout, waits until there is an item or the timeout has run out, whichever comes
    /// first, then `Err(Empty)`. With `block == false` the timeout is ignored.
    pub fn get(&self, block: bool, timeout: Option<Duration>) -> Result<S::Item, Empty> {
        // TODO: this never waits: on an empty queue it fails at once, even when `block`
        // is true. Wait on a condvar, in a `while` loop, until there is an item (with a
        // timeout: give up only once its deadline has passed). After taking one, wake a
        // thread waiting in `put`.
        let _ = (block, timeout);
        self.store.lock().pop().ok_or(Empty)
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
        // TODO: a queue with a limit is full when it holds `maxsize` items (an unbounded
        // one, maxsize 0, is never full). This stub has no limit at all.
        false
    }
}

impl<S: Store> Default for BlockingQueue<S> {
    /// An unbounded queue.
    fn default() -> Self {
        BlockingQueue::new(0)
    }
}
