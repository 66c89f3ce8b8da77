//! Hidden loom suite of kata `lock`: every interleaving of two or three threads around
//! one or two locks.
//!
//! Each critical section goes through a `Room`: a thread entering counts itself in, and
//! must find the room empty. The locks live in `std::sync::Arc`s (only the atomics inside
//! the room are loom's). A thread that sleeps in `acquire` while nobody will ever wake it
//! (a lost wake-up) makes loom report a "deadlock": every thread is then waiting.
//!
//! Loom has no clock: a timed `acquire` never times out under it. So these models use
//! timeouts only where the lock is released anyway; what the timeout itself does is left
//! to the stress suite.
#![cfg(feature = "loom")]

use kata_harness::hidden_test;
use kata_sync::atomic::{AtomicUsize, Ordering};
use kata_sync::{model, thread};
use lock::{Lock, ReleaseError};
use std::sync::Arc;
use std::time::Duration;

/// A critical section that knows who is in it.
struct Room {
    inside: AtomicUsize,
    /// Incremented with a load and a store: only the lock keeps increments from being lost.
    count: AtomicUsize,
}

impl Room {
    fn new() -> Arc<Room> {
        Arc::new(Room {
            inside: AtomicUsize::new(0),
            count: AtomicUsize::new(0),
        })
    }

    /// Enters, increments the count, leaves. `who` says which call got the thread in.
    fn visit(&self, who: &str) {
        let already = self.inside.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            already, 0,
            "{who} returned true while another thread still held the lock (it had not \
             called release() yet): two threads were inside the critical section at once. \
             A lock may be held by one thread at a time"
        );
        let seen = self.count.load(Ordering::SeqCst);
        self.count.store(seen + 1, Ordering::SeqCst);
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

fn acquire_blocking(lock: &Lock) {
    assert!(
        lock.acquire(true, None),
        "acquire(true, None) returned false: a blocking acquire without a timeout waits \
         until it has the lock, and then returns true"
    );
}

/// The holder releases the lock it acquired.
fn release_held(lock: &Lock) {
    let released = lock.release();
    assert_eq!(
        released,
        Ok(()),
        "a thread released the lock it had acquired, and release() did not return Ok(()): \
         the lock was already unlocked, so another thread that held it at the same time \
         released it first. Only one thread may hold the lock at once; after a wake-up, \
         check the flag again (a `while` loop) before taking the lock"
    );
}

hidden_test! {
    /// Two threads, each acquire / increment / release: never both inside, count 2.
    fn two_threads_are_never_inside_together() {
        model(3, || {
            let lock = Arc::new(Lock::new());
            let room = Room::new();
            let t = {
                let (lock, room) = (Arc::clone(&lock), Arc::clone(&room));
                thread::spawn(move || {
                    acquire_blocking(&lock);
                    room.visit("acquire(true, None)");
                    release_held(&lock);
                })
            };
            acquire_blocking(&lock);
            room.visit("acquire(true, None)");
            release_held(&lock);
            t.join().unwrap();
            let count = room.count();
            assert_eq!(
                count, 2,
                "two threads each incremented the count once under the lock, yet it is \
                 {count}: an increment was lost, so the lock let both threads in"
            );
            assert!(!lock.locked(), "locked() after both threads released the lock");
        });
    }
}

hidden_test! {
    /// The main thread holds the lock while another calls acquire(false): false, at once.
    fn nonblocking_acquire_of_a_held_lock_is_false() {
        model(3, || {
            let lock = Arc::new(Lock::new());
            acquire_blocking(&lock);
            let other = Arc::clone(&lock);
            // Joined before the lock is released: an acquire(false) that waits for the
            // lock waits forever (loom reports a deadlock).
            let got = thread::spawn(move || other.acquire(false, None)).join().unwrap();
            assert!(
                !got,
                "acquire(false, None) returned true while another thread held the lock: \
                 without blocking, acquire returns false at once when the lock is taken"
            );
            assert!(lock.locked(), "locked() while the main thread holds the lock");
            release_held(&lock);
            assert!(!lock.locked(), "locked() after release()");
        });
    }
}

hidden_test! {
    /// A thread blocked in acquire is woken by the release of the thread holding the lock
    /// (a lost wake-up shows as a deadlock), and gets in only after that release.
    fn release_wakes_a_blocked_acquire() {
        model(3, || {
            let lock = Arc::new(Lock::new());
            let room = Room::new();
            acquire_blocking(&lock);
            let t = {
                let (lock, room) = (Arc::clone(&lock), Arc::clone(&room));
                thread::spawn(move || {
                    acquire_blocking(&lock);
                    room.visit("acquire(true, None) in the waiting thread");
                    release_held(&lock);
                })
            };
            room.visit("acquire(true, None)");
            release_held(&lock);
            t.join().unwrap();
            assert_eq!(room.count(), 2, "both threads must have been inside once");
        });
    }
}

hidden_test! {
    /// Two threads wait for the lock; one release lets exactly one of them in, the other
    /// goes on waiting until that one releases too.
    fn one_release_lets_one_waiter_in() {
        model(2, || {
            let lock = Arc::new(Lock::new());
            let room = Room::new();
            acquire_blocking(&lock);
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let (lock, room) = (Arc::clone(&lock), Arc::clone(&room));
                    thread::spawn(move || {
                        acquire_blocking(&lock);
                        room.visit(
                            "acquire(true, None) after a wake-up (check the flag again in a \
                             `while` loop: a release wakes every waiter, but only one of them \
                             may take the lock)",
                        );
                        release_held(&lock);
                    })
                })
                .collect();
            room.visit("acquire(true, None)");
            release_held(&lock);
            for w in waiters {
                w.join().unwrap();
            }
            let count = room.count();
            assert_eq!(
                count, 3,
                "three threads each incremented the count once under the lock, yet it is \
                 {count}: two waiters were let in by one release"
            );
        });
    }
}

hidden_test! {
    /// A thread in a timed acquire (with a timeout far longer than the test) is woken by
    /// the release, gets the lock and returns true.
    fn timed_acquire_is_woken_by_release() {
        model(3, || {
            let lock = Arc::new(Lock::new());
            let room = Room::new();
            acquire_blocking(&lock);
            let t = {
                let (lock, room) = (Arc::clone(&lock), Arc::clone(&room));
                thread::spawn(move || {
                    let got = lock.acquire(true, Some(Duration::from_secs(3600)));
                    assert!(
                        got,
                        "acquire(true, Some(1 hour)) returned false although the lock was \
                         released long before the hour was up"
                    );
                    room.visit("acquire(true, Some(1 hour))");
                    release_held(&lock);
                })
            };
            room.visit("acquire(true, None)");
            release_held(&lock);
            t.join().unwrap();
            assert_eq!(room.count(), 2, "both threads must have been inside once");
        });
    }
}

hidden_test! {
    /// The course's relay with two locks: lock2 starts locked; thread 1 takes lock1,
    /// steps, and releases lock2; thread 2 takes lock2, steps, and releases lock1. Every
    /// release comes from a thread that did not acquire that lock.
    fn relay_releases_from_another_thread() {
        model(3, || {
            let lock1 = Arc::new(Lock::new());
            let lock2 = Arc::new(Lock::new());
            acquire_blocking(&lock2); // "创建另外一把锁，并且锁上"
            let steps = Arc::new(AtomicUsize::new(0));
            let task1 = {
                let (lock1, lock2, steps) = (Arc::clone(&lock1), Arc::clone(&lock2), Arc::clone(&steps));
                thread::spawn(move || {
                    acquire_blocking(&lock1);
                    steps.fetch_add(1, Ordering::SeqCst);
                    lock2.release()
                })
            };
            let task2 = {
                let (lock1, lock2, steps) = (Arc::clone(&lock1), Arc::clone(&lock2), Arc::clone(&steps));
                thread::spawn(move || {
                    acquire_blocking(&lock2);
                    let before = steps.fetch_add(1, Ordering::SeqCst);
                    (before, lock1.release())
                })
            };
            let released2 = task1.join().unwrap();
            assert_eq!(
                released2,
                Ok(()),
                "task 1 called lock2.release() on lock2, which the main thread had locked; \
                 it must return Ok(()): unlike a Rust MutexGuard, a Python Lock may be \
                 released by any thread, not only by the one that acquired it"
            );
            let (before, released1) = task2.join().unwrap();
            assert_eq!(
                before, 1,
                "task 2 got through lock2.acquire() before task 1 had released lock2: \
                 acquire must wait while the lock is held"
            );
            assert_eq!(
                released1,
                Ok(()),
                "task 2 called lock1.release() on lock1, which task 1 had acquired; it \
                 must return Ok(()): any thread may release a Python Lock"
            );
            assert!(!lock1.locked(), "lock1.locked() after task 2 released it");
            assert!(
                lock2.locked(),
                "lock2 is unlocked at the end, although task 2 acquired it and never \
                 released it: task 2's acquire returned while lock2 was still locked, and \
                 task 1's release came after it. acquire must wait while the lock is held"
            );
        });
    }
}

hidden_test! {
    /// Two threads release the same hold at once (the lock was acquired once): exactly one
    /// release is Ok, the other is Err(ReleaseError), and the lock ends up unlocked.
    fn two_releases_of_one_hold_one_is_refused() {
        model(3, || {
            let lock = Arc::new(Lock::new());
            acquire_blocking(&lock);
            let releasers: Vec<_> = (0..2)
                .map(|_| {
                    let lock = Arc::clone(&lock);
                    thread::spawn(move || lock.release())
                })
                .collect();
            let results: Vec<Result<(), ReleaseError>> =
                releasers.into_iter().map(|r| r.join().unwrap()).collect();
            let ok = results.iter().filter(|r| matches!(r, Ok(()))).count();
            let refused = results.iter().filter(|r| matches!(r, Err(ReleaseError))).count();
            assert!(
                ok == 1 && refused == 1,
                "the lock was acquired once, then two threads called release() at the same \
                 time and got {results:?}: exactly one must be Ok(()) and the other \
                 Err(ReleaseError), since only one release finds the lock locked. Look at \
                 the flag and clear it under one hold of its mutex"
            );
            assert!(!lock.locked(), "locked() after the lock was released");
        });
    }
}
