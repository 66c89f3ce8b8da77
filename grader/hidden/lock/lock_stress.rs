//! Hidden stress suite of kata `lock`: real threads, millions of acquire/release pairs,
//! timeouts, and the course's three-lock relay.
//!
//! Verdicts come from results, never from timing. A lock that waits where it must not (a
//! timeout it ignores, an acquire(false) that blocks, a waiter nobody wakes) makes its
//! test hang, and the grader's time limit reports it.

use kata_harness::hidden_test;
use kata_testkit::threads::UntilAsleep;
use lock::{Lock, ReleaseError};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kata_sync::mpsc;
use std::sync::{Arc, Barrier};
use kata_sync::thread;
use std::time::{Duration, Instant};

/// Shared data that nothing but the student's lock protects: a plain `Cell`, read and
/// written in two steps, with no synchronisation of its own.
struct Unguarded {
    count: Cell<u64>,
    /// How many threads are between a successful acquire and their release.
    inside: AtomicUsize,
    /// How many times a thread got in while another was still inside.
    overlaps: AtomicUsize,
}

// SAFETY: `count` is only touched between `acquire` and `release` of the lock under test;
// a lock that lets two threads in is what this suite detects (see `overlaps`).
unsafe impl Sync for Unguarded {}

impl Unguarded {
    fn new() -> Arc<Unguarded> {
        Arc::new(Unguarded {
            count: Cell::new(0),
            inside: AtomicUsize::new(0),
            overlaps: AtomicUsize::new(0),
        })
    }

    /// The critical section: count in, increment in two steps, count out.
    fn visit(&self) {
        if self.inside.fetch_add(1, Ordering::SeqCst) != 0 {
            self.overlaps.fetch_add(1, Ordering::Relaxed);
        }
        let seen = self.count.get();
        std::hint::black_box(&seen);
        self.count.set(seen + 1);
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Runs `threads` threads that start together at a barrier and returns what each returned.
fn together<T: Send + 'static>(
    threads: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (work, start) = (Arc::clone(&work), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                work(i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("a thread of the test panicked"))
        .collect()
}

hidden_test! {
    /// 8 threads started together, 250 000 acquire / increment / release each, on one
    /// lock: the count is exactly 2 000 000 and no thread ever got in beside another.
    fn eight_threads_count_exactly() {
        const THREADS: usize = 8;
        const EACH: u64 = 250_000;
        let lock = Arc::new(Lock::new());
        let data = Unguarded::new();
        let (l, d) = (Arc::clone(&lock), Arc::clone(&data));
        let counts: Vec<(usize, usize)> = together(THREADS, move |_| {
            let (mut refused, mut failed_releases) = (0, 0);
            for _ in 0..EACH {
                if !l.acquire(true, None) {
                    refused += 1;
                    continue;
                }
                d.visit();
                if l.release().is_err() {
                    failed_releases += 1;
                }
            }
            (refused, failed_releases)
        });
        let refused: usize = counts.iter().map(|c| c.0).sum();
        let failed_releases: usize = counts.iter().map(|c| c.1).sum();
        assert_eq!(
            refused, 0,
            "acquire(true, None) returned false {refused} times: a blocking acquire without \
             a timeout waits for the lock and returns true"
        );
        let overlaps = data.overlaps.load(Ordering::SeqCst);
        let count = data.count.get();
        let want = THREADS as u64 * EACH;
        assert!(
            overlaps == 0 && count == want && failed_releases == 0,
            "{THREADS} threads x {EACH} acquire/increment/release gave a count of {count} \
             (want {want}); {overlaps} times a thread's acquire returned true while another \
             thread was still inside, before its release(); {failed_releases} times a thread \
             released the lock it held and got Err (another thread holding it at the same \
             time had released it first). The lock must let one thread in at a time (check \
             the flag in a `while` loop: a wake-up does not mean the lock is yours)"
        );
        assert!(!lock.locked(), "locked() after every thread released the lock");
    }
}

hidden_test! {
    /// acquire(false, …) of a held lock returns false at once, from the holder itself
    /// and from other threads, whatever the timeout; of a free lock it takes it.
    fn nonblocking_acquire_never_waits() {
        let lock = Arc::new(Lock::new());
        assert!(lock.acquire(false, None), "acquire(false, None) of a new, free lock");
        assert!(lock.locked(), "locked() after acquire(false, None) took the lock");
        // The holder tries again: a Python Lock is not re-entrant, so this is false, and
        // an acquire(false) that waits would wait for itself forever.
        assert!(
            !lock.acquire(false, None),
            "acquire(false, None) by the thread holding the lock returned true: the lock \
             is held, so without blocking acquire must return false at once"
        );
        assert!(
            !lock.acquire(false, Some(Duration::from_secs(3600))),
            "acquire(false, Some(1 hour)) of a held lock returned true: with blocking \
             false, the timeout is ignored and acquire returns false at once"
        );
        let other = Arc::clone(&lock);
        let results: Vec<bool> = together(4, move |_| {
            (0..1000).all(|_| !other.acquire(false, None))
        });
        assert!(
            results.iter().all(|&refused| refused),
            "4 threads called acquire(false, None) 1000 times each while the main thread \
             held the lock, and some call returned true: a held lock is taken by nobody else"
        );
        assert_eq!(lock.release(), Ok(()), "release() of the held lock");
        assert!(lock.acquire(false, None), "acquire(false, None) once the lock was released");
        assert_eq!(lock.release(), Ok(()), "release() of the held lock");
    }
}

hidden_test! {
    /// A timed acquire of a lock that nobody releases gives up and returns false, and the
    /// lock stays with its holder. (A timeout that is ignored waits here forever.)
    fn timed_acquire_of_a_held_lock_gives_up() {
        let lock = Arc::new(Lock::new());
        assert!(lock.acquire(true, None), "acquire(true, None) of a free lock");
        for ms in [0, 1, 20] {
            let got = lock.acquire(true, Some(Duration::from_millis(ms)));
            assert!(
                !got,
                "acquire(true, Some({ms} ms)) by the thread holding the lock returned true: \
                 the lock was held the whole time, so acquire must give up after the \
                 timeout and return false"
            );
        }
        let other = Arc::clone(&lock);
        let results = together(3, move |i| other.acquire(true, Some(Duration::from_millis(10 + 5 * i as u64))));
        assert!(
            results.iter().all(|&got| !got),
            "3 threads called acquire(true, Some(10..20 ms)) while the main thread held \
             the lock and never released it; they returned {results:?}, but each must give \
             up after its timeout and return false"
        );
        assert!(lock.locked(), "locked(): the timed-out acquires must leave the lock held");
        assert_eq!(lock.release(), Ok(()), "release() by the holder after the timeouts");
        assert!(
            lock.acquire(true, Some(Duration::from_millis(20))),
            "acquire(true, Some(20 ms)) of a free lock must take it and return true"
        );
        assert_eq!(lock.release(), Ok(()), "release() of the held lock");
    }
}

hidden_test! {
    /// A timed acquire that gives up has waited its whole timeout first, counted from the
    /// call: never less, sub-second timeouts included (Some(500 ms) is half a second, not
    /// zero seconds). Checked on the holder's own thread and on two others.
    fn timed_acquire_waits_out_its_whole_timeout() {
        let lock = Arc::new(Lock::new());
        assert!(lock.acquire(true, None), "acquire(true, None) of a free lock");
        let timed = |lock: &Lock, ms: u64| {
            let timeout = Duration::from_millis(ms);
            let called = Instant::now();
            let got = lock.acquire(true, Some(timeout));
            (ms, got, called.elapsed())
        };
        let mut results: Vec<(u64, bool, Duration)> =
            [1, 30, 500].iter().map(|&ms| timed(&lock, ms)).collect();
        let other = Arc::clone(&lock);
        results.extend(together(2, move |i| timed(&other, [250, 600][i])));
        for (ms, got, waited) in results {
            assert!(
                !got,
                "acquire(true, Some({ms} ms)) returned true while the lock was held the \
                 whole time (nobody released it): a timed acquire gives up and returns false"
            );
            assert!(
                waited >= Duration::from_millis(ms),
                "acquire(true, Some({ms} ms)) of a lock held the whole time returned false \
                 after only {waited:?}: it must wait the whole timeout, counted from the \
                 call, before it gives up. (Duration::as_secs() drops the fraction: \
                 {ms} ms is {} whole seconds.)",
                ms / 1000
            );
        }
        assert!(lock.locked(), "locked(): the timed-out acquires must leave the lock held");
        assert_eq!(lock.release(), Ok(()), "release() by the holder after the timeouts");
    }
}

hidden_test! {
    /// Zero and huge timeouts: acquire(true, Some(0)) takes a free lock and gives up at
    /// once on a held one; acquire(true, Some(Duration::MAX)) is as good as no timeout: it
    /// takes a free lock, and waits for a held one until it is released.
    fn zero_and_endless_timeouts() {
        let lock = Arc::new(Lock::new());
        assert!(
            lock.acquire(true, Some(Duration::ZERO)),
            "acquire(true, Some(Duration::ZERO)) of a free lock returned false: a free lock \
             is taken whatever the timeout (look at the lock before you look at the clock)"
        );
        assert!(
            !lock.acquire(true, Some(Duration::ZERO)),
            "acquire(true, Some(Duration::ZERO)) of a held lock returned true: with no time \
             to wait it must give up at once and return false"
        );
        assert_eq!(lock.release(), Ok(()), "release() of the held lock");
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            lock.acquire(true, Some(Duration::MAX))
        }));
        assert!(
            matches!(got, Ok(true)),
            "acquire(true, Some(Duration::MAX)) of a free lock {}: any Duration is a valid \
             timeout, and one too long to add to Instant::now() is as good as none \
             (Instant::checked_add says when that is)",
            if got.is_err() { "panicked".to_string() } else { format!("returned {got:?}") }
        );
        let mut until_asleep = UntilAsleep::new();
        for round in 0..20 {
            let (about_to_wait, waiting) = mpsc::channel();
            let other = Arc::clone(&lock);
            let waiter = thread::spawn(move || {
                about_to_wait.send(kata_sync::hang::tid()).unwrap();
                let got = other.acquire(true, Some(Duration::MAX));
                (got, if got { other.release() } else { Ok(()) })
            });
            let tid = waiting.recv().unwrap();
            // Until the waiter is asleep in acquire, so that a release that wakes nobody
            // leaves it there on every run (a correct lock passes whatever the order).
            until_asleep.these(&[tid]);
            assert_eq!(lock.release(), Ok(()), "round {round}: release() by the holder");
            let (got, released) = waiter.join().unwrap_or_else(|_| {
                panic!(
                    "round {round}: acquire(true, Some(Duration::MAX)) panicked (its message \
                     is above): a timeout too long to add to Instant::now() is as good as none"
                )
            });
            assert!(
                got,
                "round {round}: acquire(true, Some(Duration::MAX)) returned false, though the \
                 lock was released soon after the call"
            );
            assert_eq!(released, Ok(()), "round {round}: release() by the waiter");
            assert!(lock.acquire(false, None), "round {round}: acquire(false, None) of the free lock");
        }
        assert_eq!(lock.release(), Ok(()), "release() of the held lock");
    }
}

hidden_test! {
    /// 40 threads queue for a held lock, then a 41st calls acquire(true, Some(400 ms)).
    /// From then on the lock changes hands every 100 ms or more, and each release wakes the
    /// timed waiter, which finds it taken again: its timeout still counts from the call, so
    /// it returns (true or false) before the lock has changed hands 16 times (1.6 s).
    fn timed_acquire_gives_up_however_often_the_lock_changes_hands() {
        const COMPETITORS: usize = 40;
        const HOLD: Duration = Duration::from_millis(100);
        const TIMEOUT: Duration = Duration::from_millis(400);
        const MOST_HOLDS: usize = 16;
        let lock = Arc::new(Lock::new());
        assert!(lock.acquire(true, None), "acquire(true, None) of a free lock");
        let holds = Arc::new(AtomicUsize::new(0));
        // Competitors inside at once: more than one means the lock let several in.
        let inside = Arc::new(AtomicUsize::new(0));
        let overlaps = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready) = mpsc::channel();
        let competitors: Vec<_> = (0..COMPETITORS)
            .map(|_| {
                let (lock, holds, stop, ready_tx) =
                    (Arc::clone(&lock), Arc::clone(&holds), Arc::clone(&stop), ready_tx.clone());
                let (inside, overlaps) = (Arc::clone(&inside), Arc::clone(&overlaps));
                thread::Builder::new()
                    .stack_size(128 * 1024)
                    .spawn(move || -> Result<(), String> {
                        ready_tx.send(()).unwrap();
                        loop {
                            if !lock.acquire(true, None) {
                                return Err("acquire(true, None) returned false".into());
                            }
                            if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                                overlaps.fetch_add(1, Ordering::SeqCst);
                            }
                            let quit = stop.load(Ordering::SeqCst);
                            if !quit {
                                holds.fetch_add(1, Ordering::SeqCst);
                                thread::sleep(HOLD);
                            }
                            inside.fetch_sub(1, Ordering::SeqCst);
                            lock.release().map_err(|e| {
                                format!("release() of the lock it held returned Err({e:?})")
                            })?;
                            if quit {
                                return Ok(());
                            }
                        }
                    })
                    .expect("the test could not start a thread")
            })
            .collect();
        for _ in 0..COMPETITORS {
            ready.recv().unwrap();
        }
        // A chance for the competitors to be asleep in acquire before the timed waiter
        // comes (never a verdict: a correct lock passes whatever the order).
        thread::sleep(Duration::from_millis(200));
        let (lock2, holds2) = (Arc::clone(&lock), Arc::clone(&holds));
        let waiter = thread::spawn(move || {
            let got = lock2.acquire(true, Some(TIMEOUT));
            let during = holds2.load(Ordering::SeqCst);
            if got {
                lock2.release().expect("release() by the timed waiter that got the lock");
            }
            (got, during)
        });
        thread::sleep(Duration::from_millis(50));
        assert_eq!(lock.release(), Ok(()), "release() by the first holder");
        let (got, during) = waiter.join().expect("the timed waiter panicked");
        stop.store(true, Ordering::SeqCst);
        for c in competitors {
            if let Err(why) = c.join().expect("a competing thread panicked") {
                panic!("a thread competing for the lock: {why}");
            }
        }
        let overlaps = overlaps.load(Ordering::SeqCst);
        assert_eq!(
            overlaps, 0,
            "{overlaps} times a thread's acquire(true, None) returned true while another \
             thread held the lock: the lock must let one thread in at a time"
        );
        assert!(
            during <= MOST_HOLDS,
            "acquire(true, Some(400 ms)) returned {got} only after the lock had changed \
             hands {during} times, each holder keeping it at least 100 ms: the timed acquire \
             waited {during}00 ms or more instead of giving up after 400 ms. Every release \
             wakes the waiter, which finds the lock taken again and waits again: compute the \
             deadline once, at the call, and wait only for what is left of it, not for the \
             whole timeout after every wake-up"
        );
    }
}

hidden_test! {
    /// 20 rounds: a thread waits in acquire(true, Some(1 hour)) while the main thread holds
    /// the lock; the main thread releases; the waiter must get the lock, and return true.
    fn timed_acquire_gets_the_lock_once_released() {
        let mut until_asleep = UntilAsleep::new();
        for round in 0..20 {
            let lock = Arc::new(Lock::new());
            assert!(lock.acquire(true, None), "acquire(true, None) of a free lock");
            let (about_to_wait, waiting) = mpsc::channel();
            let (got_it, have) = mpsc::channel();
            let (may_release, release_it) = mpsc::channel::<()>();
            let other = Arc::clone(&lock);
            let waiter = thread::spawn(move || {
                about_to_wait.send(kata_sync::hang::tid()).unwrap();
                let got = other.acquire(true, Some(Duration::from_secs(3600)));
                got_it.send(got).unwrap();
                if got {
                    release_it.recv().unwrap();
                    other.release()
                } else {
                    Ok(())
                }
            });
            let tid = waiting.recv().unwrap();
            // Until the waiter is asleep in acquire, so that a release that wakes nobody
            // leaves it there on every run (a correct lock passes whatever the order).
            until_asleep.these(&[tid]);
            assert_eq!(lock.release(), Ok(()), "round {round}: release() by the holder");
            let got = have.recv().unwrap();
            assert!(
                got,
                "round {round}: acquire(true, Some(1 hour)) returned false, but the lock was \
                 released a few milliseconds after the call: a timed acquire takes the lock \
                 as soon as it is free, and returns true"
            );
            assert!(
                lock.locked() && !lock.acquire(false, None),
                "round {round}: the waiting thread's acquire(true, Some(1 hour)) returned \
                 true, but the lock is not held: the main thread's acquire(false, None) took \
                 it too"
            );
            may_release.send(()).unwrap();
            let released = waiter.join().unwrap();
            assert_eq!(released, Ok(()), "round {round}: release() by the waiter");
            assert!(!lock.locked(), "round {round}: locked() after the waiter released");
        }
    }
}

hidden_test! {
    /// release() of a lock that is not locked is Err(ReleaseError): a new lock, a lock
    /// released once already, and from another thread too.
    fn releasing_an_unlocked_lock_is_an_error() {
        let lock = Arc::new(Lock::new());
        let first = lock.release();
        assert!(
            matches!(first, Err(ReleaseError)),
            "release() of a new lock, which nobody acquired, returned {first:?}: it must be \
             Err(ReleaseError) (Python raises RuntimeError: release unlocked lock)"
        );
        assert!(!lock.locked(), "locked() after a refused release()");
        for i in 0..1000 {
            assert!(lock.acquire(false, None), "acquire(false, None) #{i} of a free lock");
            assert_eq!(lock.release(), Ok(()), "release() #{i} of the held lock");
            let again = lock.release();
            assert!(
                matches!(again, Err(ReleaseError)),
                "a second release() after acquire #{i} returned {again:?}: the lock was \
                 already unlocked, so this must be Err(ReleaseError)"
            );
        }
        let other = Arc::clone(&lock);
        let errors = together(4, move |_| other.release());
        assert!(
            errors.iter().all(|r| matches!(r, Err(ReleaseError))),
            "4 threads released the unlocked lock and got {errors:?}: every release() of an \
             unlocked lock must be Err(ReleaseError)"
        );
        assert!(lock.acquire(false, None), "acquire(false, None) after the refused releases");
        assert!(lock.locked(), "locked() after acquire");
    }
}

hidden_test! {
    /// The course's example, 1000 rounds: lock1 starts open, lock2 and lock3 locked; task
    /// i acquires lock i, records i, and releases the next lock. The record is 1, 2, 3, …,
    /// and every release (always of a lock another thread acquired) is Ok.
    fn course_relay_of_three_locks() {
        const ROUNDS: usize = 1000;
        let locks: Arc<[Lock; 3]> = Arc::new([Lock::new(), Lock::new(), Lock::new()]);
        assert!(locks[1].acquire(true, None), "lock2.acquire() of a new lock");
        assert!(locks[2].acquire(true, None), "lock3.acquire() of a new lock");
        let record = Arc::new(std::sync::Mutex::new(Vec::with_capacity(3 * ROUNDS)));
        let tasks: Vec<_> = (0..3)
            .map(|i| {
                let (locks, record) = (Arc::clone(&locks), Arc::clone(&record));
                thread::spawn(move || {
                    for _ in 0..ROUNDS {
                        if !locks[i].acquire(true, None) {
                            return Err(format!("lock{}.acquire(true, None) returned false", i + 1));
                        }
                        record.lock().unwrap().push(i + 1);
                        if let Err(e) = locks[(i + 1) % 3].release() {
                            return Err(format!(
                                "task {} called lock{}.release() and got Err({e:?}): that lock \
                                 was acquired by another thread, and a Python Lock may be \
                                 released by any thread",
                                i + 1,
                                (i + 1) % 3 + 1
                            ));
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            if let Err(why) = task.join().unwrap() {
                panic!("task {}: {why}", i + 1);
            }
        }
        let record = record.lock().unwrap();
        let want = [1, 2, 3].iter().cycle().take(3 * ROUNDS);
        if let Some((at, (got, want))) = record.iter().zip(want).enumerate().find(|(_, (g, w))| g != w) {
            panic!(
                "the relay recorded task {got} at step {} where task {want} was due: a task \
                 got through lock{got}.acquire() before the previous task released that lock",
                at + 1
            );
        }
        assert_eq!(record.len(), 3 * ROUNDS, "steps recorded");
        // Task 3 released lock1 last; lock2 and lock3 were acquired and never released.
        assert!(!locks[0].locked(), "lock1.locked() after the relay");
        assert!(locks[1].locked() && locks[2].locked(), "lock2 and lock3 stay locked");
    }
}
