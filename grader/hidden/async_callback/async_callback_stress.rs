//! Hidden stress suite of kata `async_callback`: real threads, ten thousand jobs with
//! callbacks, hundreds of panics.
//!
//! Verdicts come from results and thread ids, never from timing. Each test lets the pool
//! finish (close and join, or drop) before it looks at the callbacks and results, so
//! what it checks no longer depends on the interleaving: loom checks the interleavings.

use async_callback::{AsyncResult, Pool, PoolError};
use kata_harness::hidden_test;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};

fn pool(workers: usize) -> Pool {
    match Pool::new(workers) {
        Ok(pool) => pool,
        Err(e) => panic!("Pool::new({workers}) gave Err({e:?}), expected a pool"),
    }
}

fn close_and_join(pool: &Pool) {
    pool.close();
    assert_eq!(pool.join(), Ok(()), "join() after close()");
}

/// Panics without calling the panic hook: a correct pool catches these quietly.
fn panic_quietly() -> ! {
    std::panic::resume_unwind(Box::new("a hidden test panics on purpose"))
}

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
        close_and_join(&pool);
        check_every_callback_once(&calls, &results, |j| (j * j + 1) as u64, "after close() and join()");
        for (job, result) in results.into_iter().enumerate() {
            let expected = (job * job + 1) as u64;
            assert_eq!(result.get(), Ok(expected), "get() of job #{job}");
            let count = calls.count(job);
            assert_eq!(count, 1, "job #{job}'s callback ran again in get(): it runs exactly once");
        }
    }
}

hidden_test! {
    /// 600 jobs on 3 workers: each callback runs on the very thread that ran its job,
    /// and all of them on the 3 pool threads.
    fn callbacks_run_on_the_worker_that_ran_the_job() {
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
        close_and_join(&pool);
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
            assert!(matches!(result.get(), Ok(id) if id != caller), "get() after join()");
        }
    }
}

hidden_test! {
    /// 300 jobs on 3 workers, every other one panicking: a panicking job's callback never
    /// runs and its get is JobPanicked; every other job's callback runs once, and its get
    /// is its value (the workers survive every panic).
    fn panicking_jobs_never_call_back() {
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
                            panic_quietly();
                        }
                        job as u64
                    },
                    move |v: &u64| calls.record(job, *v, caller),
                )
                .expect("apply_async on an open pool")
            })
            .collect();
        close_and_join(&pool);
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
                assert_eq!(result.get(), Err(PoolError::JobPanicked), "get() of panicking job #{job}");
            } else {
                assert_eq!(count, 1, "job #{job}'s callback ran {count} times, expected once");
                assert_eq!(result.get(), Ok(job as u64), "get() of job #{job}");
            }
        }
    }
}

hidden_test! {
    /// 300 jobs on 3 workers, every other callback panicking: those results are
    /// CallbackPanicked, every other result is its value, and all 3 workers survive.
    fn panicking_callbacks_keep_every_worker() {
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
                            panic_quietly();
                        }
                    },
                )
                .expect("apply_async on an open pool")
            })
            .collect();
        close_and_join(&pool);
        check_every_callback_once(&calls, &results, |j| j as u64, "after close() and join()");
        for (job, result) in results.into_iter().enumerate() {
            let expected = if job % 2 == 0 {
                Err(PoolError::CallbackPanicked)
            } else {
                Ok(job as u64)
            };
            assert_eq!(
                result.get(),
                expected,
                "get() of job #{job}, whose callback {}",
                if job % 2 == 0 { "panicked" } else { "returned normally" }
            );
        }
    }
}

hidden_test! {
    /// 200 jobs with callbacks, then the pool is dropped without close or join: when the
    /// drop returns, every callback has run once and every result is ready.
    fn dropping_the_pool_runs_every_callback() {
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
            assert_eq!(result.get(), Ok(job as u64 * 3), "get() of job #{job}");
        }
    }
}
