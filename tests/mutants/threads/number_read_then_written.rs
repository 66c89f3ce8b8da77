//! Mutant: the default-name counter is an `AtomicU64` that is read (`load`) to make the name and written back (`store`) afterwards, instead of one `fetch_add`.
//! expect-fail: threads_loom::two_starts_at_once_take_two_numbers_in_list_order, threads_stress::a_hundred_threads_started_at_once
//!
//! Blind mutant: the default-name counter is an `AtomicU64` that is read (`load`) to make the name and written back (`store`) afterwards, instead of one `fetch_add`.
//! Breaks: "no number is handed out twice, also when two threads call `start` at once" (README, The rules).
//! Shows when: two threads call `start` on the same group at the same moment: both load the same value, and two threads are called, e.g., `Thread-7`.
//! Evidence: ws-queues/threads/tests/blind.rs::concurrent_starts_never_share_a_number: 2 threads x 200 starts on one group, 20 rounds: 9 to 43 duplicate names per run; fails 5/5 (and 3/3) runs, passes on the reference (5/5 runs of the whole file). All visible tests pass on it.


use kata_sync::thread;
use kata_sync::atomic::{AtomicU64, Ordering};
use kata_sync::{Arc, Condvar, Mutex};
use std::any::Any;
use std::io;

/// What [`Handle::join`] gives: the thread's value, or the payload it panicked with.
pub type JoinResult<T> = Result<T, Box<dyn Any + Send + 'static>>;

/// The name `enumerate` lists first: the thread that owns the group.
pub const MAIN_THREAD: &str = "MainThread";

/// The group's book of live threads.
struct Registry {
    /// Each thread's key in `live`; names need not be unique, keys are.
    next_key: u64,
    /// Threads started and whose body has not ended yet, in start order.
    live: Vec<(u64, String)>,
}

struct Shared {
    registry: Mutex<Registry>,
    /// The number of the last default name handed out (`Thread-N`).
    last_number: AtomicU64,
    /// Notified each time a thread leaves `live`.
    left: Condvar,
}

/// Takes a thread out of `live` when dropped. It is moved into the thread's closure, so
/// it is dropped when the body ends: by returning, by panicking (unwinding drops it), or
/// when the closure is dropped unrun because the thread could not be started.
struct Leave {
    shared: Arc<Shared>,
    key: u64,
}

impl Drop for Leave {
    fn drop(&mut self) {
        let mut registry = self.shared.registry.lock();
        registry.live.retain(|(key, _)| *key != self.key);
        self.shared.left.notify_all();
    }
}

/// A group of threads, like Python's `threading` module for the threads it started.
pub struct ThreadGroup {
    shared: Arc<Shared>,
}

impl ThreadGroup {
    pub fn new() -> ThreadGroup {
        ThreadGroup {
            shared: Arc::new(Shared {
                registry: Mutex::new(Registry {
                    next_key: 0,
                    live: Vec::new(),
                }),
                left: Condvar::new(),
                last_number: AtomicU64::new(0),
            }),
        }
    }

    /// Starts `target` on a new thread named `Thread-N`: N counts 1, 2, 3, … over the
    /// threads of this group started without a name.
    pub fn start<F, T>(&self, target: F) -> io::Result<Handle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn(None, target)
    }

    /// Starts `target` on a new thread named `name`. A name with a NUL byte cannot name
    /// an OS thread: `InvalidInput`, and nothing is started.
    pub fn start_named<F, T>(&self, name: &str, target: F) -> io::Result<Handle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.spawn(Some(name), target)
    }

    fn spawn<F, T>(&self, name: Option<&str>, target: F) -> io::Result<Handle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if name.is_some_and(|name| name.contains('\0')) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a thread name cannot contain a NUL byte",
            ));
        }
        let name = match name {
            Some(name) => name.to_string(),
            None => {
                // The counter is atomic, so no lock is needed for the number.
                let number = self.shared.last_number.load(Ordering::SeqCst) + 1;
                let name = format!("Thread-{number}");
                self.shared.last_number.store(number, Ordering::SeqCst);
                name
            }
        };
        // Registration in one critical section: the thread is listed before start
        // returns.
        let (key, name) = {
            let mut registry = self.shared.registry.lock();
            let key = registry.next_key;
            registry.next_key += 1;
            registry.live.push((key, name.clone()));
            (key, name)
        };
        let leave = Leave {
            shared: Arc::clone(&self.shared),
            key,
        };
        // Builder::name names the OS thread: thread::current().name() in the body.
        let inner = thread::Builder::new().name(name.clone()).spawn(move || {
            let _leave = leave; // dropped when the body ends, however it ends
            target()
        })?;
        Ok(Handle {
            name,
            key,
            shared: Arc::clone(&self.shared),
            inner,
        })
    }

    /// Python's `threading.enumerate()`: "MainThread", then the names of this group's
    /// threads whose body has not ended yet, in start order.
    pub fn enumerate(&self) -> Vec<String> {
        let registry = self.shared.registry.lock();
        std::iter::once(MAIN_THREAD.to_string())
            .chain(registry.live.iter().map(|(_, name)| name.clone()))
            .collect()
    }

    /// `len(threading.enumerate())`: the live threads plus the main thread.
    pub fn active_count(&self) -> usize {
        1 + self.shared.registry.lock().live.len()
    }

    /// Waits until the body of every thread of the group has ended, also threads started
    /// while it waits. (Called from one of the group's own threads, it would wait for
    /// itself forever.)
    pub fn join_all(&self) {
        let mut registry = self.shared.registry.lock();
        while !registry.live.is_empty() {
            self.shared.left.wait(&mut registry);
        }
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
        self.join_all();
    }
}

/// One started thread.
pub struct Handle<T> {
    name: String,
    key: u64,
    shared: Arc<Shared>,
    inner: thread::JoinHandle<T>,
}

impl<T> Handle<T> {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// True from `start` until the thread's body has ended.
    pub fn is_alive(&self) -> bool {
        let registry = self.shared.registry.lock();
        registry.live.iter().any(|(key, _)| *key == self.key)
    }

    /// Waits for the thread to end: its value, or `Err(payload)` if it panicked.
    pub fn join(self) -> JoinResult<T> {
        self.inner.join()
    }
}
