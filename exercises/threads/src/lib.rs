//! Kata `threads` — 多线程-threading, 注意点, 查看线程数量. See README.md.
//!
//! Take threads, locks, condition variables and atomics from `kata_sync` (never
//! `std::thread`, `std::sync` or parking_lot directly): the grader swaps in loom's models to
//! try every interleaving of two threads that start threads, or wait for them, at once.

use kata_sync::thread;
use kata_sync::{Arc, Mutex};
use std::any::Any;
use std::io;

/// What [`Handle::join`] gives: the thread's value, or the payload it panicked with.
pub type JoinResult<T> = Result<T, Box<dyn Any + Send + 'static>>;

/// The name `enumerate` lists first: the thread that owns the group.
pub const MAIN_THREAD: &str = "MainThread";

/// The group's book of started threads.
struct Registry {
    /// Each thread's key in `threads`; names need not be unique, keys are.
    next_key: u64,
    /// Threads started, in start order.
    threads: Vec<(u64, String)>,
}

/// A group of threads, like Python's `threading` module for the threads it started.
pub struct ThreadGroup {
    registry: Arc<Mutex<Registry>>,
}

impl ThreadGroup {
    pub fn new() -> ThreadGroup {
        ThreadGroup {
            registry: Arc::new(Mutex::new(Registry {
                next_key: 0,
                threads: Vec::new(),
            })),
        }
    }

    /// Starts `target` on a new thread named `Thread-N`: N counts 1, 2, 3, … over the
    /// threads of this group started without a name.
    pub fn start<F, T>(&self, target: F) -> io::Result<Handle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // TODO: every unnamed thread is called just "Thread". Number them like Python:
        // Thread-1, Thread-2, … in start order, counted per group; a named thread takes no
        // number, and a number is never handed out twice.
        self.spawn("Thread".to_string(), target)
    }

    /// Starts `target` on a new thread named `name`. A name with a NUL byte cannot name
    /// an OS thread: `InvalidInput`, and nothing is started.
    pub fn start_named<F, T>(&self, name: &str, target: F) -> io::Result<Handle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // TODO: refuse a name containing '\0' with io::ErrorKind::InvalidInput.
        self.spawn(name.to_string(), target)
    }

    fn spawn<F, T>(&self, name: String, target: F) -> io::Result<Handle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let key = {
            let mut registry = self.registry.lock();
            let key = registry.next_key;
            registry.next_key += 1;
            registry.threads.push((key, name.clone()));
            key
        };
        // TODO: the OS thread has no name: inside the body, thread::current().name() is
        // None. Start it with thread::Builder::new().name(…).spawn(…), which returns an
        // io::Result.
        // TODO: the thread stays in the registry forever, even after its body has ended.
        // Take it out when the body ends, however it ends (a panic too): a guard value
        // moved into the closure, whose Drop removes the entry, does exactly that.
        let inner = thread::spawn(target);
        Ok(Handle {
            name,
            key,
            registry: Arc::clone(&self.registry),
            inner,
        })
    }

    /// Python's `threading.enumerate()`: "MainThread", then the names of this group's
    /// threads whose body has not ended yet, in start order.
    pub fn enumerate(&self) -> Vec<String> {
        let registry = self.registry.lock();
        std::iter::once(MAIN_THREAD.to_string())
            .chain(registry.threads.iter().map(|(_, name)| name.clone()))
            .collect()
    }

    /// `len(threading.enumerate())`: the live threads plus the main thread.
    pub fn active_count(&self) -> usize {
        1 + self.registry.lock().threads.len()
    }

    /// Waits until the body of every thread of the group has ended, also threads started
    /// while it waits.
    pub fn join_all(&self) {
        // TODO: this returns at once. Wait (with a Condvar, notified whenever a thread
        // leaves the registry) until no thread of the group is left.
    }
}

impl Default for ThreadGroup {
    fn default() -> ThreadGroup {
        ThreadGroup::new()
    }
}

/// Like Python's main thread, a group does not go away before its threads: dropping it
/// waits for all of them.
impl Drop for ThreadGroup {
    fn drop(&mut self) {
        // TODO: wait for every thread of the group, as join_all does.
    }
}

/// One started thread.
pub struct Handle<T> {
    name: String,
    key: u64,
    registry: Arc<Mutex<Registry>>,
    inner: thread::JoinHandle<T>,
}

impl<T> Handle<T> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True from `start` until the thread's body has ended.
    pub fn is_alive(&self) -> bool {
        let registry = self.registry.lock();
        registry.threads.iter().any(|(key, _)| *key == self.key)
    }

    /// Waits for the thread to end: its value, or `Err(payload)` if it panicked.
    pub fn join(self) -> JoinResult<T> {
        self.inner.join()
    }
}
