//! Visible tests: run them with `cargo test -p lock`. The grader's hidden tests go further
//! (loom tries every interleaving of two or three threads; stress tests run millions of
//! acquire/release pairs, timeouts and the course's three-lock relay).

use lock::{Lock, ReleaseError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

#[test]
fn acquire_release_and_locked() {
    let lock = Lock::new();
    assert!(!lock.locked(), "a new lock is unlocked");
    assert!(lock.acquire(true, None), "acquire() of a free lock");
    assert!(lock.locked(), "locked() after acquire()");
    assert_eq!(lock.release(), Ok(()));
    assert!(!lock.locked(), "locked() after release()");
}

#[test]
fn acquire_without_blocking_fails_on_a_held_lock() {
    let lock = Lock::new();
    assert!(lock.acquire(true, None));
    assert!(
        !lock.acquire(false, None),
        "acquire(false, None) on a held lock must return false at once"
    );
    assert_eq!(lock.release(), Ok(()));
    assert!(
        lock.acquire(false, None),
        "acquire(false, None) on a free lock"
    );
}

#[test]
fn releasing_an_unlocked_lock_is_an_error() {
    let lock = Lock::new();
    assert_eq!(lock.release(), Err(ReleaseError));
    assert!(lock.acquire(true, None));
    assert_eq!(lock.release(), Ok(()));
    assert_eq!(lock.release(), Err(ReleaseError), "a second release()");
}

#[test]
fn timeout_gives_up_on_a_held_lock() {
    let lock = Lock::new();
    assert!(lock.acquire(true, None));
    assert!(
        !lock.acquire(true, Some(Duration::from_millis(20))),
        "acquire(true, Some(20ms)) on a lock that nobody releases must give up and return false"
    );
    assert!(lock.locked());
}

#[test]
fn another_thread_may_release() {
    // The course's relay: a lock made "locked" by one thread is opened by another.
    let lock = Arc::new(Lock::new());
    assert!(lock.acquire(true, None));
    let other = Arc::clone(&lock);
    let released = thread::spawn(move || other.release()).join().unwrap();
    assert_eq!(released, Ok(()), "release() from another thread");
    assert!(!lock.locked());
}

/// Shared data that only the student's lock protects: a load then a store, like
/// `num += 1`, so that two threads inside at once lose increments.
struct Unguarded(AtomicU64);

impl Unguarded {
    fn add_one(&self) {
        let now = self.0.load(Ordering::Relaxed);
        self.0.store(now + 1, Ordering::Relaxed);
    }
}

#[test]
fn four_threads_count_under_the_lock() {
    let lock = Arc::new(Lock::new());
    let count = Arc::new(Unguarded(AtomicU64::new(0)));
    let start = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lock, count, start) = (Arc::clone(&lock), Arc::clone(&count), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                for _ in 0..100_000 {
                    assert!(lock.acquire(true, None));
                    count.add_one();
                    lock.release().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        count.0.load(Ordering::Relaxed),
        400_000,
        "increments were lost: the lock let two threads in"
    );
}
