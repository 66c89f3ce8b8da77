//! Mutant: the `Priority` store is a sorted `Vec` kept in order with `binary_search`, and an item equal to one already stored is not inserted (the `Ok` case of the search is ignored).
//! expect-fail: blocking_queue_prop::priority_queue_agrees_with_a_min_heap, blocking_queue_stress::lifo_and_priority_queues_deliver_every_item_once
//!
//! Blind mutant: the `Priority` store is a sorted `Vec` kept in order with `binary_search`, and an item equal to one already stored is not inserted (the `Ok` case of the search is ignored).
//! Breaks: "every call agrees with a plain `VecDeque` / `Vec` / min-heap model" (README): a min-heap keeps equal items; here `put` says `Ok` but the item is lost.
//! Shows when: a `PriorityQueue` gets the same item twice, e.g. `put((1, "a"))` twice, or two equal priorities as bare numbers: `qsize()` is 1 and the second `get` says `Empty`.
//! Evidence: ws-queues/blocking_queue/tests/blind.rs::priority_queue_keeps_equal_items: after putting [3,1,3,2,1] qsize() is 3, not 5; fails 3/3 runs, passes on the reference (5/5 runs of the whole file). All visible tests pass on it.

//! One queue type, `BlockingQueue<S>`, does all the locking and waiting; what differs
//! between Python's `Queue`, `LifoQueue` and `PriorityQueue` is only which item comes out
//! next, and that is the job of the store `S` (a `VecDeque`, a `Vec` or a sorted `Vec`). The
//! store sits behind one `Mutex`; two `Condvar`s say "an item was put" (`not_empty`, for
//! blocked getters) and "an item was taken" (`not_full`, for blocked putters), as in
//! CPython's queue.py.

use kata_sync::{Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;
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
/// Kept sorted from the greatest down to the smallest, so the smallest pops off the end.
pub struct Priority<T: Ord>(Vec<T>);

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
        Priority(Vec::new())
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
        // Descending order: search with the comparison reversed.
        if let Err(at) = self.0.binary_search_by(|probe| item.cmp(probe)) {
            self.0.insert(at, item);
        }
    }
    /// The smallest item sits at the end.
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
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
        let item = store.pop().ok_or(Empty)?;
        // One free place, so one putter can use it.
        self.not_full.notify_one();
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
