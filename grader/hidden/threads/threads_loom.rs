//! Hidden loom suite of kata `threads`: every interleaving of two threads that start
//! threads on one group, or wait for them, at the same time.
//!
//! The group lives in a `std::sync::Arc` (the test's own); a thread of the group that must
//! stay alive waits at a gate made of the facade's (loom's) Mutex and Condvar. A wait that never ends (a lost wake-up in `join_all`)
//! makes loom report a deadlock, which the grader reports as such. (Loom cannot model a
//! panicking thread: panics are checked by the stress suite.)
#![cfg(feature = "loom")]

use kata_harness::hidden_test;
// A panic while a thread of the group still runs (or waits at its gate) makes loom abort
// the whole process: bodies let every thread end, then return their complaint.
use kata_testkit::loom::model_checked;
use kata_sync::atomic::{AtomicBool, Ordering};
use kata_sync::{model, thread, Condvar, Mutex};
use std::sync::Arc;
use threads::{Handle, ThreadGroup};

/// A gate the group's threads wait at until the test opens it (a loom Mutex and Condvar,
/// so that loom sees a waiting thread as blocked, not as spinning).
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn new() -> Arc<Gate> {
        Arc::new(Gate {
            open: Mutex::new(false),
            opened: Condvar::new(),
        })
    }

    fn open(&self) {
        *self.open.lock() = true;
        self.opened.notify_all();
    }
}

/// A body that runs until `gate` is opened.
fn held(gate: &Arc<Gate>) -> impl FnOnce() + Send + 'static {
    let gate = Arc::clone(gate);
    move || {
        let mut open = gate.open.lock();
        while !*open {
            gate.opened.wait(&mut open);
        }
    }
}

/// `Err(message)` unless `ok`.
fn check(ok: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(message())
    }
}

fn start(group: &ThreadGroup, body: impl FnOnce() + Send + 'static) -> Handle<()> {
    match group.start(body) {
        Ok(handle) => handle,
        Err(e) => panic!("start() failed: {e}"),
    }
}

hidden_test! {
    /// A thread calls start() while the main thread calls start() on the same group: the
    /// two threads get two different numbers, Thread-1 and Thread-2, and while both run the
    /// list shows them in the order of their numbers.
    fn two_starts_at_once_take_two_numbers_in_list_order() {
        model_checked(2, || {
            let group = Arc::new(ThreadGroup::new());
            let gate = Gate::new();
            let starter = {
                let (group, gate) = (Arc::clone(&group), Arc::clone(&gate));
                thread::spawn(move || start(&group, held(&gate)).name().to_string())
            };
            let mine = start(&group, held(&gate)).name().to_string();
            let theirs = starter.join().expect("the starting thread panicked");
            let listed = group.enumerate();
            gate.open();
            group.join_all();
            let mut names = [mine.clone(), theirs.clone()];
            names.sort();
            check(names == ["Thread-1", "Thread-2"], || {
                format!(
                    "two threads called start() on one group at the same time and got the \
                     names {mine:?} and {theirs:?}: each start takes the next number, \
                     Thread-1 and Thread-2, never the same one twice. Take the number and \
                     list the thread in one critical section: a number read, then written \
                     back, can be handed out twice"
                )
            })?;
            check(listed == ["MainThread", "Thread-1", "Thread-2"], || {
                format!(
                    "two threads started at the same time, named Thread-1 and Thread-2, were \
                     both still running, yet enumerate() gave {listed:?}: the list is in start \
                     order, and the lower number was handed out first (number and list entry \
                     are made in the same step)"
                )
            })?;
            let after = group.enumerate();
            check(after == ["MainThread"], || {
                format!("join_all() returned, yet enumerate() gave {after:?}")
            })
        });
    }
}

hidden_test! {
    /// start() returns while the new thread may not have run at all: it is listed already,
    /// and is_alive() is true, until its body has ended.
    fn a_thread_is_listed_as_soon_as_start_returns() {
        model_checked(2, || {
            let group = ThreadGroup::new();
            let gate = Gate::new();
            let handle = start(&group, held(&gate));
            let listed = group.enumerate();
            let count = group.active_count();
            let alive = handle.is_alive();
            gate.open();
            group.join_all();
            check(listed == ["MainThread", "Thread-1"] && count == 2 && alive, || {
                format!(
                    "right after start() returned, enumerate() gave {listed:?}, \
                     active_count() {count} and is_alive() {alive}: a thread is listed from \
                     the moment start() returns, even if it has not run yet, so start must \
                     list it before it spawns it (the new thread may run much later)"
                )
            })?;
            let (alive, after) = (handle.is_alive(), group.enumerate());
            check(!alive && after == ["MainThread"], || {
                format!(
                    "join_all() returned, yet enumerate() gave {after:?} (is_alive() {alive})"
                )
            })?;
            check(handle.join().is_ok(), || "join() of a body that returned normally gave Err".to_string())
        });
    }
}

hidden_test! {
    /// Another thread and the main thread both call join_all() while the group's one
    /// thread still runs: when it ends, both join_alls must return (its leaving must wake
    /// every waiter, not one).
    fn two_join_alls_at_once_both_return() {
        model_checked(2, || {
            let group = Arc::new(ThreadGroup::new());
            let gate = Gate::new();
            let handle = start(&group, held(&gate));
            let other = {
                let group = Arc::clone(&group);
                thread::spawn(move || {
                    group.join_all();
                    group.enumerate()
                })
            };
            gate.open();
            group.join_all();
            let listed_here = group.enumerate();
            let listed_there = other.join().expect("the other thread in join_all panicked");
            check(listed_here == ["MainThread"] && listed_there == ["MainThread"], || {
                format!(
                    "two threads called join_all() at once; when they returned, enumerate() \
                     gave {listed_here:?} and {listed_there:?}: join_all returns only once \
                     every body has ended"
                )
            })?;
            check(handle.join().is_ok(), || "join() of a body that returned normally gave Err".to_string())
        });
    }
}

hidden_test! {
    /// The group is dropped while its thread may still run: the drop returns only once the
    /// thread's body has ended.
    fn dropping_the_group_waits_for_its_thread() {
        model_checked(2, || {
            let group = ThreadGroup::new();
            let done = Arc::new(AtomicBool::new(false));
            let handle = {
                let done = Arc::clone(&done);
                start(&group, move || {
                    thread::yield_now();
                    done.store(true, Ordering::SeqCst);
                })
            };
            drop(group);
            let done_then = done.load(Ordering::SeqCst);
            let joined = handle.join().is_ok();
            check(done_then, || {
                "dropping the ThreadGroup returned before its thread's body had ended: a \
                 group does not go away before its threads (its Drop waits, like join_all)"
                    .to_string()
            })?;
            check(joined, || "join() of a body that returned normally gave Err".to_string())
        });
    }
}
