//! Mutant: the new thread puts itself into the registry as the first thing its body does ("a thread says itself that it is alive"), instead of `start` listing it before returning.
//! expect-fail: threads_loom::a_thread_is_listed_as_soon_as_start_returns, threads_loom::dropping_the_group_waits_for_its_thread, threads_loom::two_join_alls_at_once_both_return, threads_loom::two_starts_at_once_take_two_numbers_in_list_order, threads_stress::started_threads_are_listed_until_they_end
//! Passes threads_stress::joining_one_thread_removes_exactly_that_one and threads_stress::the_list_keeps_start_order_when_an_early_thread_ends on every run: they are about leaving, so they start each thread only once the one before runs its body, and self-listed threads are then in start order; out of order only by the scheduler's luck, they would catch this bug now and then, a score that changes from run to run. The tests above catch it on every run.
//!
//! Blind mutant: the new thread puts itself into the registry as the first thing its body does ("a thread says itself that it is alive"), instead of `start` listing it before returning.
//! Breaks: "A thread is listed from the moment `start` returns until its body has ended" and "`enumerate()`: ... the names of this group's threads whose body has not ended yet, in start order" (README).
//! Shows when: `enumerate()` / `active_count()` / `is_alive()` right after `start` returns, before the new thread has been scheduled: it is missing; `join_all()` called then returns at once; threads started back to back may be listed out of start order.
//! Evidence: ws-queues/threads/tests/blind.rs::listed_as_soon_as_start_returns: not listed right after start in 196/200 rounds (fails 5/5 runs); enumerate_keeps_start_order_after_an_early_thread_ends also lists [C, D, B]; passes on the reference (5/5 runs of the whole file). All visible tests pass on it.


use kata_sync::thread;
use kata_sync::{Arc, Condvar, Mutex};
use std::any::Any;
use std::io;

/// What [`Handle::join`] gives: the thread's value, or the payload it panicked with.
pub type JoinResult<T> = Result<T, Box<dyn Any + Send + 'static>>;

/// The name `enumerate` lists first: the thread that owns the group.
pub const MAIN_THREAD: &str = "MainThread";

/// The group's book of live threads.
struct Registry {
    /// The number of the last default name handed out (`Thread-N`).
    last_number: u64,
    /// Each thread's key in `live`; names need not be unique, keys are.
    next_key: u64,
    /// Threads started and whose body has not ended yet, in start order.
    live: Vec<(u64, String)>,
}

struct Shared {
    registry: Mutex<Registry>,
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
                    last_number: 0,
                    next_key: 0,
                    live: Vec::new(),
                }),
                left: Condvar::new(),
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
        // Name and registration in one critical section: two threads starting threads at
        // once never get the same number, and the thread is listed before start returns.
        let (key, name) = {
            let mut registry = self.shared.registry.lock();
            let name = match name {
                Some(name) => name.to_string(),
                None => {
                    registry.last_number += 1;
                    format!("Thread-{}", registry.last_number)
                }
            };
            let key = registry.next_key;
            registry.next_key += 1;
            (key, name)
        };
        let shared = Arc::clone(&self.shared);
        let listed = name.clone();
        // Builder::name names the OS thread: thread::current().name() in the body.
        let inner = thread::Builder::new().name(name.clone()).spawn(move || {
            // Alive from now on: list this thread, and take it out when the body ends,
            // however it ends.
            shared.registry.lock().live.push((key, listed));
            let _leave = Leave { shared, key };
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
