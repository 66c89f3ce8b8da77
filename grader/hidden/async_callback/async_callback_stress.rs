//! Hidden stress suite of kata `async_callback`: real threads, ten thousand jobs with
//! callbacks, hundreds of panics.
//!
//! Verdicts come from results and thread ids, never from timing. Each test lets the pool
//! finish (close and join, or drop) before it looks at the callbacks and results, so
//! what it checks no longer depends on the interleaving: loom checks the interleavings.

use async_callback::{AsyncResult, Pool, PoolError};
use kata_harness::hidden_test;
use kata_testkit::{assert_matches, share};
use kata_testkit::threads::{panic_quietly, together, within, Gate, UntilAsleep};
use std::time::Duration;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use kata_sync::thread::{self, ThreadId};

fn pool(workers: usize) -> Pool {
    match Pool::new(workers) {
        Ok(pool) => pool,
        Err(e) => panic!("Pool::new({workers}) gave Err({e:?}), expected a pool"),
    }
}

/// Closes an idle pool and joins it: first, until its `workers` workers are asleep in
/// their waits (a correct pool's idle workers sleep only once the queue is empty). These
/// tests are about what the jobs and callbacks saw; a job queued just as the pool closes is
/// `async_callback_loom`'s to check, on every run, where here it would be luck.
fn close_and_join(pool: &Pool, workers: usize) {
    UntilAsleep::new().others(workers);
    pool.close();
    assert_matches!(pool.join(), Ok(()), "join() after close()");
}

/// The payload of the deliberate panics, raised with `panic_quietly` (no panic hook): a
/// correct pool catches these quietly.
const ON_PURPOSE: &str = "a hidden test panics on purpose";

const ON_CALLER: &str = "a callback ran on the thread that called apply_async: the callback \
    runs on the pool's side, on the worker that ran the job, right after the job (never \
    later, in get() or wait(), on the caller's thread)";

/// Per-job records of the callbacks: how many times each ran, and with what value.
struct Calls {
    count: Vec<AtomicUsize>,
    value: Vec<AtomicU64>,
    on_caller: AtomicBool,
}

impl Calls {
    fn new(jobs: usize) -> Arc<Calls> {
        Arc::new(Calls {
            count: (0..jobs).map(|_| AtomicUsize::new(0)).collect(),
            value: (0..jobs).map(|_| AtomicU64::new(u64::MAX)).collect(),
            on_caller: AtomicBool::new(false),
        })
    }

    fn record(&self, job: usize, value: u64, caller: ThreadId) {
        if thread::current().id() == caller {
            self.on_caller.store(true, Ordering::SeqCst);
        }
        self.count[job].fetch_add(1, Ordering::SeqCst);
        self.value[job].store(value, Ordering::SeqCst);
    }

    fn count(&self, job: usize) -> usize {
        self.count[job].load(Ordering::SeqCst)
    }
}

/// Every job's callback ran once with `expected(job)`; every result is ready.
fn check_every_callback_once<T>(
    calls: &Calls,
    results: &[AsyncResult<T>],
    expected: impl Fn(usize) -> u64,
    when: &str,
) {
    assert!(!calls.on_caller.load(Ordering::SeqCst), "{ON_CALLER}");
    for (job, result) in results.iter().enumerate() {
        let count = calls.count(job);
        assert_eq!(
            count, 1,
            "{when}, job #{job}'s callback had run {count} times: it runs exactly once, on \
             the worker, right after its job and before the result is ready (and not later, \
             in get())"
        );
        let value = calls.value[job].load(Ordering::SeqCst);
        assert_eq!(
            value,
            expected(job),
            "job #{job}'s callback was called with {value}, not with its own job's value"
        );
        assert!(
            result.ready(),
            "{when}, job #{job}'s result is not ready although its job and callback have run"
        );
    }
}

hidden_test! {
    /// 10 000 jobs on 4 workers, each with a callback; close, join: every callback has
    /// run exactly once with its own job's value, on a pool thread, and get gives each
    /// value.
    fn ten_thousand_callbacks_each_once_with_their_own_result() {
        kata_sync::chaos::enable();
        const JOBS: usize = 10_000;
        let pool = pool(4);
        let caller = thread::current().id();
        let calls = Calls::new(JOBS);
        let results: Vec<_> = (0..JOBS)
            .map(|job| {
                let calls = Arc::clone(&calls);
                let n = job as u64;
                pool.apply_async(move || n * n + 1, move |v: &u64| calls.record(job, *v, caller))
                    .expect("apply_async on an open pool")
            })
            .collect();
        close_and_join(&pool, 4);
        check_every_callback_once(&calls, &results, |j| (j * j + 1) as u64, "after close() and join()");
        for (job, result) in results.into_iter().enumerate() {
            let expected = (job * job + 1) as u64;
            assert_matches!(result.get(), Ok(v) if v == expected, "get() of job #{job}, expected Ok({expected})");
            let count = calls.count(job);
            assert_eq!(count, 1, "job #{job}'s callback ran again in get(): it runs exactly once");
        }
    }
}

hidden_test! {
    /// 600 jobs on 3 workers: each callback runs on the very thread that ran its job,
    /// and all of them on the 3 pool threads.
    fn callbacks_run_on_the_worker_that_ran_the_job() {
        kata_sync::chaos::enable();
        const JOBS: usize = 600;
        const WORKERS: usize = 3;
        let pool = pool(WORKERS);
        let caller = thread::current().id();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let results: Vec<_> = (0..JOBS)
            .map(|job| {
                let seen = Arc::clone(&seen);
                pool.apply_async(
                    || thread::current().id(),
                    move |job_ran_on: &ThreadId| {
                        seen.lock()
                            .unwrap()
                            .push((job, *job_ran_on, thread::current().id()));
                    },
                )
                .expect("apply_async on an open pool")
            })
            .collect();
        close_and_join(&pool, WORKERS);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(
            seen.len(),
            JOBS,
            "after close() and join(), {} of {JOBS} callbacks had run: each runs exactly \
             once, on the worker, right after its job",
            seen.len()
        );
        let mut threads = HashSet::new();
        for &(job, job_ran_on, callback_ran_on) in &seen {
            assert!(callback_ran_on != caller, "{ON_CALLER}");
            assert_eq!(
                callback_ran_on, job_ran_on,
                "job #{job}'s callback ran on another thread than the job: it runs on the \
                 worker that ran the job, right after the job (not on a thread of its own)"
            );
            threads.insert(callback_ran_on);
        }
        assert!(
            threads.len() <= WORKERS,
            "the callbacks of a pool of {WORKERS} workers ran on {} different threads: they \
             run on the pool's own worker threads",
            threads.len()
        );
        for result in results {
            assert_matches!(result.get(), Ok(id) if id != caller, "get() after join()");
        }
    }
}

hidden_test! {
    /// 300 jobs on 3 workers, every other one panicking: a panicking job's callback never
    /// runs and its get is JobPanicked; every other job's callback runs once, and its get
    /// is its value (the workers survive every panic).
    fn panicking_jobs_never_call_back() {
        kata_sync::chaos::enable();
        const JOBS: usize = 300;
        let pool = pool(3);
        let caller = thread::current().id();
        let calls = Calls::new(JOBS);
        let results: Vec<_> = (0..JOBS)
            .map(|job| {
                let calls = Arc::clone(&calls);
                pool.apply_async(
                    move || {
                        if job % 2 == 0 && thread::current().id() != caller {
                            panic_quietly(ON_PURPOSE);
                        }
                        job as u64
                    },
                    move |v: &u64| calls.record(job, *v, caller),
                )
                .expect("apply_async on an open pool")
            })
            .collect();
        close_and_join(&pool, 3);
        assert!(!calls.on_caller.load(Ordering::SeqCst), "{ON_CALLER}");
        for (job, result) in results.into_iter().enumerate() {
            assert!(
                result.ready(),
                "after close() and join(), job #{job}'s result is not ready: did a panicking \
                 job end its worker (so that the jobs after it never ran), or leave its \
                 result unfilled? Catch the job's panic on the worker (catch_unwind), and \
                 complete its result with JobPanicked"
            );
            let count = calls.count(job);
            if job % 2 == 0 {
                assert_eq!(
                    count, 0,
                    "job #{job} panicked, yet its callback ran: a job that panicked has no \
                     value, and its callback is never called"
                );
                assert_matches!(result.get(), Err(PoolError::JobPanicked), "get() of panicking job #{job}");
            } else {
                assert_eq!(count, 1, "job #{job}'s callback ran {count} times, expected once");
                assert_matches!(result.get(), Ok(v) if v == job as u64, "get() of job #{job}, expected Ok({job})");
            }
        }
    }
}

hidden_test! {
    /// 300 jobs on 3 workers, every other callback panicking: those results are
    /// CallbackPanicked, every other result is its value, and all 3 workers survive.
    fn panicking_callbacks_keep_every_worker() {
        kata_sync::chaos::enable();
        const JOBS: usize = 300;
        let pool = pool(3);
        let caller = thread::current().id();
        let calls = Calls::new(JOBS);
        let results: Vec<_> = (0..JOBS)
            .map(|job| {
                let calls = Arc::clone(&calls);
                pool.apply_async(
                    move || job as u64,
                    move |v: &u64| {
                        calls.record(job, *v, caller);
                        if job % 2 == 0 && thread::current().id() != caller {
                            panic_quietly(ON_PURPOSE);
                        }
                    },
                )
                .expect("apply_async on an open pool")
            })
            .collect();
        close_and_join(&pool, 3);
        check_every_callback_once(&calls, &results, |j| j as u64, "after close() and join()");
        for (job, result) in results.into_iter().enumerate() {
            if job % 2 == 0 {
                assert_matches!(
                    result.get(),
                    Err(PoolError::CallbackPanicked),
                    "get() of job #{job}, whose callback panicked (its job returned normally)"
                );
            } else {
                assert_matches!(
                    result.get(),
                    Ok(v) if v == job as u64,
                    "get() of job #{job}, whose callback returned normally, expected Ok({job})"
                );
            }
        }
    }
}

hidden_test! {
    /// 200 jobs with callbacks, then the pool is dropped without close or join: when the
    /// drop returns, every callback has run once and every result is ready. Then 20 times,
    /// one job for an idle pool dropped at once.
    fn dropping_the_pool_runs_every_callback() {
        kata_sync::chaos::enable();
        const JOBS: usize = 200;
        let pool = pool(3);
        let caller = thread::current().id();
        let calls = Calls::new(JOBS);
        let results: Vec<_> = (0..JOBS)
            .map(|job| {
                let calls = Arc::clone(&calls);
                pool.apply_async(
                    move || {
                        thread::yield_now();
                        job as u64 * 3
                    },
                    move |v: &u64| calls.record(job, *v, caller),
                )
                .expect("apply_async on an open pool")
            })
            .collect();
        drop(pool);
        check_every_callback_once(
            &calls,
            &results,
            |j| j as u64 * 3,
            "when dropping the pool returned (dropping a pool closes it and waits for its \
             workers)",
        );
        for (job, result) in results.into_iter().enumerate() {
            assert_matches!(result.get(), Ok(v) if v == job as u64 * 3, "get() of job #{job}, expected Ok({})", job * 3);
        }
        // Then 20 times: a job for an idle pool, whose workers are asleep, and the pool
        // dropped at once. The worker woken for the job may find the pool closed before it
        // gets to the queue (chaos hands its lock to the dropping thread now and then): it
        // must still take the job, and the drop must wait for it.
        let mut until_asleep = UntilAsleep::new();
        for round in 0..20u64 {
            let pool = crate::pool(2);
            until_asleep.others(2);
            let calls = Calls::new(1);
            let result = {
                let calls = Arc::clone(&calls);
                pool.apply_async(move || round, move |v: &u64| calls.record(0, *v, caller))
                    .expect("apply_async on an open pool")
            };
            drop(pool);
            let count = calls.count(0);
            assert_eq!(
                count, 1,
                "round {round}: a job was queued on an idle pool, whose workers were asleep, \
                 and the pool was dropped at once; when the drop returned its callback had run \
                 {count} times, not once. Dropping a pool closes it, and close lets every \
                 queued job run: a worker woken after close must look at the queue once more \
                 before it exits"
            );
            assert_matches!(result.get(), Ok(v) if v == round, "round {round}: get() of the job queued just before the drop");
        }
    }
}

hidden_test! {
    /// A job held on a worker: ready() is false meanwhile; once the job and its callback
    /// are done, three threads ask ready() on the same result a million times each, at
    /// once: it must say true every time.
    fn ready_never_lies_about_a_complete_result() {
        kata_sync::chaos::enable();
        const POLLERS: usize = 3;
        const POLLS: usize = 1_000_000;
        let pool = pool(2);
        let caller = thread::current().id();
        let gate = Arc::new(Gate::new());
        let _open_at_the_end = Gate::open_on_drop(&gate);
        let result = {
            let gate = Arc::clone(&gate);
            pool.apply_async(
                move || {
                    if thread::current().id() != caller {
                        gate.wait();
                    }
                    7u32
                },
                |_: &u32| {},
            )
            .expect("apply_async on an open pool")
        };
        assert!(
            !result.ready(),
            "ready() returned true while the job was still held inside its body (or the job \
             ran on the caller's thread): a result is ready only once its job and callback \
             have run, on a worker"
        );
        gate.open();
        let result = share!(result, "AsyncResult");
        let complete = within(Duration::from_secs(20), {
            let result = result.clone();
            move || {
                while !result.ready() {
                    thread::yield_now();
                }
            }
        });
        assert!(
            complete.is_some(),
            "the job's gate was opened, yet ready() was still false 20 s later"
        );
        let lies: usize = {
            let result = result.clone();
            together(POLLERS, move |_| (0..POLLS).filter(|_| !result.ready()).count())
        }
        .into_iter()
        .sum();
        assert!(
            lies == 0,
            "the result was complete and ready() had said so; then {POLLERS} threads asked \
             ready() {POLLS} times each, at once, and {lies} answers were false: once the \
             result is complete, ready() is true every time it is asked (take the slot's lock \
             and look: a lock that another thread holds for a moment is no reason to say false)"
        );
        let result = result.try_unwrap().expect("the pollers are done with the result");
        assert_matches!(result.get(), Ok(7), "get() of a job that returned 7");
        close_and_join(&pool, 2);
    }
}

hidden_test! {
    /// 20 rounds: three threads wait on one result (shared in an Arc) while its job is held
    /// on a worker; once the job goes on, every one of the three waits returns.
    fn many_threads_waiting_on_one_result_all_return() {
        kata_sync::chaos::enable();
        const WAITERS: usize = 3;
        let pool = pool(2);
        let caller = thread::current().id();
        let until_asleep = Arc::new(Mutex::new(UntilAsleep::new()));
        for round in 0..20 {
            let gate = Arc::new(Gate::new());
            let _open_at_the_end = Gate::open_on_drop(&gate);
            let on_caller = Arc::new(AtomicBool::new(false));
            let result = {
                let (gate, on_caller) = (Arc::clone(&gate), Arc::clone(&on_caller));
                share!(
                    pool.apply_async(
                        move || {
                            if thread::current().id() == caller {
                                on_caller.store(true, Ordering::SeqCst);
                            } else {
                                gate.wait();
                            }
                            round
                        },
                        |_: &i32| {},
                    )
                    .expect("apply_async on an open pool"),
                    "AsyncResult"
                )
            };
            assert!(!on_caller.load(Ordering::SeqCst), "{ON_CALLER}");
            let waited = within(Duration::from_secs(20), {
                let (result, gate) = (result.clone(), Arc::clone(&gate));
                let until_asleep = Arc::clone(&until_asleep);
                move || {
                    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
                    let waiters: Vec<_> = (0..WAITERS)
                        .map(|_| {
                            let (result, tid_tx) = (result.clone(), tid_tx.clone());
                            thread::spawn(move || {
                                let _ = tid_tx.send(kata_sync::hang::tid());
                                result.wait();
                            })
                        })
                        .collect();
                    // Until all three are asleep in wait() (not the pool's idle workers):
                    // completing the result must then wake every one, on every run.
                    let tids: Vec<i32> = tid_rx.iter().take(WAITERS).collect();
                    until_asleep.lock().unwrap().these(&tids);
                    gate.open();
                    for w in waiters {
                        w.join().expect("a waiting thread panicked");
                    }
                }
            });
            let Some(()) = waited else {
                panic!(
                    "round {round}: three threads waited on one result; its job and callback \
                     finished, yet not every wait() had returned 20 s later: completing a \
                     result must wake every thread that waits on it (notify_all)"
                );
            };
            // Asked once every wait has returned, not by the three at once: ready() under
            // a busy lock is `ready_never_lies_about_a_complete_result`'s to check.
            assert!(
                result.ready(),
                "round {round}: every wait() returned, yet ready() was false after"
            );
            let result = result.try_unwrap().expect("the waiters are done with the result");
            assert_matches!(result.get(), Ok(r) if r == round, "get() of round {round}'s job");
        }
        close_and_join(&pool, 2);
    }
}

hidden_test! {
    /// Pool::new(0) is Err(ZeroWorkers), new(n) has n workers; join before close is
    /// Err(StillRunning) at once, and the pool still works afterwards.
    fn zero_workers_and_an_early_join_are_refused() {
        kata_sync::chaos::enable();
        assert_matches!(
            Pool::new(0),
            Err(PoolError::ZeroWorkers),
            "Pool::new(0) must be Err(ZeroWorkers): a pool without workers would accept jobs \
             and never run them"
        );
        for n in 1..=3 {
            assert!(pool(n).workers() == n, "Pool::new({n}).workers() must be {n}");
        }
        let early = within(Duration::from_secs(20), || {
            let pool = pool(2);
            let early = pool.join();
            let caller = thread::current().id();
            // get() only once ready(): this test is about join, and a wake-up that get()
            // might miss is `many_threads_waiting_on_one_result_all_return`'s to catch.
            let later = pool
                .apply_async(move || thread::current().id() != caller, |_: &bool| {})
                .map(|r| {
                    while !r.ready() {
                        thread::yield_now();
                    }
                    r.get()
                });
            pool.close();
            let _ = pool.join();
            (early, later)
        });
        let Some((early, later)) = early else {
            panic!(
                "join() on an open pool (or a job after it) had not returned 20 s later: join \
                 before close() returns Err(StillRunning) at once, since the workers of an \
                 open pool never exit"
            );
        };
        assert_matches!(
            early,
            Err(PoolError::StillRunning),
            "join() before close() must return Err(StillRunning) at once"
        );
        assert_matches!(
            later,
            Ok(Ok(true)),
            "apply_async after a refused join(): the pool still runs jobs, on a worker"
        );
    }
}
