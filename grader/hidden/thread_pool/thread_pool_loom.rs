//! Hidden loom suite of kata `thread_pool`: every interleaving of a caller and one or two
//! workers, on one or two jobs.
//!
//! Every job reports whether it ran on a thread other than the caller's: a pool that runs
//! jobs on the calling thread gets the right values but is not a pool. The tests' own data
//! lives in `std::sync::Arc` (only the atomics inside are loom's), out of loom's leak
//! checks. A deadlock inside the pool (a lost wake-up, a join that never returns) makes
//! loom panic with "deadlock" and then abort, since the pool's blocked threads hold loom
//! `Arc`s (loom issue 291): the grader reports that as a deadlock.
#![cfg(feature = "loom")]

use kata_harness::hidden_test;
use kata_testkit::{assert_matches, share};
use kata_testkit::threads::panic_quietly;
// For checks made after the pool is gone: a worker that outlived its pool may still run,
// and a panic then makes loom abort the whole process, so those bodies return their
// complaint instead.
use kata_testkit::loom::model_checked;
use kata_sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kata_sync::{model, thread};
use std::sync::Arc;
use thread_pool::{PoolError, ThreadPool};

/// True when called on a thread other than `caller`.
fn on_worker(caller: &thread::Thread) -> bool {
    thread::current().id() != caller.id()
}

/// The payload of the jobs' deliberate panics, raised with `panic_quietly` (no panic hook,
/// so a correct pool's caught panics print nothing).
const JOB_PANIC: &str = "a hidden test's job panics on purpose";

/// `model`, but a job's deliberate panic that escapes the pool (and so ends the model)
/// becomes a failure that says so.
fn model_with_panicking_jobs<F>(preemption_bound: usize, body: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let run = std::panic::AssertUnwindSafe(|| model(preemption_bound, body));
    if let Err(payload) = std::panic::catch_unwind(run) {
        if payload.downcast_ref::<&str>() == Some(&JOB_PANIC) {
            panic!(
                "a job's panic escaped the pool and ended the worker thread that ran it: \
                 catch it on the worker (std::panic::catch_unwind), give JobPanicked to \
                 the caller, and keep the worker running"
            );
        }
        std::panic::resume_unwind(payload);
    }
}

const ON_CALLER: &str = "the job ran on the thread that called the pool, not on a worker: \
    a pool hands every job to one of its own worker threads";

hidden_test! {
    /// One worker, one apply: the caller gets the job's value, computed on the worker.
    fn apply_returns_the_jobs_value() {
        model(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let caller = thread::current();
            match pool.apply(move || (on_worker(&caller), 6 * 7)) {
                Ok((true, 42)) => {}
                Ok((false, _)) => panic!("apply: {ON_CALLER}"),
                other => panic!(
                    "apply(|| 6 * 7) on an open pool of 1 worker returned {other:?}, \
                     expected Ok(42)"
                ),
            }
            drop(pool);
        });
    }
}

hidden_test! {
    /// Two workers, two apply_async: get waits for each job and returns its value.
    fn apply_async_get_returns_the_value() {
        model(2, || {
            let pool = ThreadPool::new(2).expect("ThreadPool::new(2) on a fresh pool");
            let results: Vec<_> = (1..=2)
                .map(|i| {
                    let caller = thread::current();
                    pool.apply_async(move || (on_worker(&caller), i * 10))
                        .expect("apply_async on an open pool")
                })
                .collect();
            for (i, result) in (1..=2).zip(results) {
                match result.get() {
                    Ok((true, v)) if v == i * 10 => {}
                    Ok((false, _)) => panic!("apply_async: {ON_CALLER}"),
                    other => panic!(
                        "job #{i} returned {}, but its AsyncResult's get() gave {other:?}",
                        i * 10
                    ),
                }
            }
            drop(pool);
        });
    }
}

hidden_test! {
    /// ready() turns true only once the job has run, and then get returns its value.
    fn ready_is_true_once_the_job_has_run() {
        model(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let ran = Arc::new(AtomicBool::new(false));
            let caller = thread::current();
            let result = {
                let ran = Arc::clone(&ran);
                pool.apply_async(move || {
                    ran.store(true, Ordering::SeqCst);
                    (on_worker(&caller), 7)
                })
                .expect("apply_async on an open pool")
            };
            while !result.ready() {
                thread::yield_now();
            }
            assert!(
                ran.load(Ordering::SeqCst),
                "ready() returned true before the job had run: a result is ready only \
                 once its job has finished"
            );
            match result.get() {
                Ok((true, 7)) => {}
                Ok((false, _)) => panic!("apply_async: {ON_CALLER}"),
                other => panic!("the job returned 7; get() after ready() gave {other:?}"),
            }
            drop(pool);
        });
    }
}

hidden_test! {
    /// execute twice, close, join: join returns Ok after both queued jobs have run.
    fn close_then_join_runs_every_queued_job() {
        model(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let done = Arc::new(AtomicUsize::new(0));
            let on_caller = Arc::new(AtomicBool::new(false));
            for _ in 0..2 {
                let (done, on_caller) = (Arc::clone(&done), Arc::clone(&on_caller));
                let caller = thread::current();
                pool.execute(move || {
                    if !on_worker(&caller) {
                        on_caller.store(true, Ordering::SeqCst);
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                })
                .expect("execute on an open pool");
            }
            pool.close();
            let joined = pool.join();
            assert_matches!(joined, Ok(()), "join() after close() must return Ok(())");
            let done = done.load(Ordering::SeqCst);
            assert_eq!(
                done, 2,
                "two jobs were queued, then close() and join() returned, yet {done} of them \
                 had run: close stops new jobs only, the queued ones still run, and join \
                 returns after the workers have drained the queue and exited"
            );
            assert!(!on_caller.load(Ordering::SeqCst), "execute: {ON_CALLER}");
            assert_matches!(
                pool.execute(|| {}), Err(PoolError::Closed),
                "execute after close() must be refused with Closed"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// terminate, join, drop: each result is its job's value (it had started) or Closed
    /// (it never ran), and none waits forever.
    fn terminate_then_join_gives_values_or_closed() {
        model_checked(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let ran: Vec<_> = (0..2).map(|_| Arc::new(AtomicBool::new(false))).collect();
            let results: Vec<_> = (0..2)
                .map(|i| {
                    let ran = Arc::clone(&ran[i]);
                    let caller = thread::current();
                    pool.apply_async(move || {
                        ran.store(true, Ordering::SeqCst);
                        (on_worker(&caller), i)
                    })
                    .expect("apply_async on an open pool")
                })
                .collect();
            pool.terminate();
            assert_matches!(
                pool.apply_async(|| 0), Err(PoolError::Closed),
                "apply_async after terminate() must be refused with Closed"
            );
            assert_matches!(pool.join(), Ok(()), "join() after terminate() must return Ok(())");
            drop(pool);
            for (i, result) in results.into_iter().enumerate() {
                if !result.ready() {
                    return Err(format!(
                        "after terminate(), join() and dropping the pool, job #{i}'s \
                         AsyncResult is still not ready: get() would wait forever. A job \
                         dropped by terminate must leave its result as Err(Closed), and a \
                         job that had started must have finished once join() returned"
                    ));
                }
                let ran = ran[i].load(Ordering::SeqCst);
                match result.get() {
                    Ok((true, v)) if v == i && ran => {}
                    Ok((false, _)) => return Err(format!("apply_async: {ON_CALLER}")),
                    Err(PoolError::Closed) if !ran => {}
                    Err(PoolError::Closed) => {
                        return Err(format!(
                            "job #{i} ran, yet its result is Closed: Closed means terminate \
                             dropped the job before it started"
                        ))
                    }
                    other => {
                        return Err(format!(
                            "after terminate(), job #{i}'s get() gave {other:?}: expected \
                             its value Ok({i}) if it had started, or Err(Closed) if \
                             terminate dropped it"
                        ))
                    }
                }
            }
            Ok(())
        });
    }
}

hidden_test! {
    /// join on an open pool is refused at once with StillRunning, and the pool still works.
    fn join_before_close_is_still_running() {
        model(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let joined = pool.join();
            assert_matches!(
                joined, Err(PoolError::StillRunning),
                "join() before close() or terminate() must return Err(StillRunning) at \
                 once (the workers of an open pool never exit)"
            );
            let caller = thread::current();
            match pool.apply(move || on_worker(&caller)) {
                Ok(true) => {}
                Ok(false) => panic!("apply: {ON_CALLER}"),
                other => panic!("apply after a refused join() returned {other:?}"),
            }
            drop(pool);
        });
    }
}

hidden_test! {
    /// A job that panics gives JobPanicked, and its worker lives on to run the next job.
    fn panicking_job_gives_job_panicked() {
        model_with_panicking_jobs(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let caller = thread::current();
            match pool.apply(move || {
                if on_worker(&caller) {
                    panic_quietly(JOB_PANIC);
                }
            }) {
                Err(PoolError::JobPanicked) => {}
                Ok(()) => panic!("apply: {ON_CALLER}"),
                other => panic!("apply of a job that panics gave {other:?}, expected \
                                 Err(JobPanicked)"),
            }
            let caller = thread::current();
            let after = pool.apply(move || on_worker(&caller));
            assert_matches!(
                after, Ok(true),
                "after a job panicked, the pool's only worker must still run jobs: catch \
                 the panic on the worker (catch_unwind) so that it survives"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// A job queued with execute panics: no result reports it, but its worker must live
    /// on: the pool's only worker then runs the next job.
    fn a_panicking_execute_job_keeps_its_worker() {
        model_with_panicking_jobs(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let caller = thread::current();
            assert_matches!(
                pool.execute(move || {
                    if on_worker(&caller) {
                        panic_quietly(JOB_PANIC);
                    }
                }),
                Ok(()),
                "execute on an open pool"
            );
            let caller = thread::current();
            assert_matches!(
                pool.apply(move || on_worker(&caller)),
                Ok(true),
                "after a job queued with execute() panicked, the pool's only worker must \
                 still run jobs: every job runs under catch_unwind on the worker, whichever \
                 call queued it"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// Two idle workers, then close: both must wake up and exit, or join waits forever.
    fn close_wakes_every_idle_worker() {
        model(2, || {
            let pool = ThreadPool::new(2).expect("ThreadPool::new(2) on a fresh pool");
            pool.close();
            assert_matches!(
                pool.join(), Ok(()),
                "join() after close() must return Ok(())"
            );
            assert_matches!(
                pool.execute(|| {}), Err(PoolError::Closed),
                "execute after close() and join() must be refused with Closed"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// Two idle workers, then terminate: both must wake up and exit, or join waits forever.
    fn terminate_wakes_every_idle_worker() {
        model(2, || {
            let pool = ThreadPool::new(2).expect("ThreadPool::new(2) on a fresh pool");
            pool.terminate();
            assert_matches!(pool.join(), Ok(()), "join() after terminate() must return Ok(())");
            assert_matches!(
                pool.execute(|| {}),
                Err(PoolError::Closed),
                "execute after terminate() and join() must be refused with Closed"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// One queued job, close, then two threads call join at once: neither join may return
    /// before the worker has run the job and exited.
    fn two_joins_at_once_both_wait_for_the_workers() {
        model(2, || {
            let pool = share!(ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool"), "ThreadPool");
            let done = Arc::new(AtomicBool::new(false));
            let ran_on_worker = Arc::new(AtomicBool::new(false));
            {
                let (done, ran_on_worker) = (Arc::clone(&done), Arc::clone(&ran_on_worker));
                let caller = thread::current();
                pool.execute(move || {
                    ran_on_worker.store(on_worker(&caller), Ordering::SeqCst);
                    done.store(true, Ordering::SeqCst);
                })
                .expect("execute on an open pool");
            }
            pool.close();
            let other = {
                let (pool, done) = (pool.clone(), Arc::clone(&done));
                thread::spawn(move || {
                    let joined = pool.join();
                    (joined.is_ok(), done.load(Ordering::SeqCst))
                })
            };
            let joined = pool.join();
            let done_here = done.load(Ordering::SeqCst);
            let (other_ok, done_there) = other.join().expect("the other joining thread panicked");
            assert!(ran_on_worker.load(Ordering::SeqCst), "execute: {ON_CALLER}");
            assert!(
                joined.is_ok() && other_ok,
                "join() after close() must return Ok(()) in both threads that call it"
            );
            assert!(
                done_here && done_there,
                "two threads called join() after close(), and one of them returned before the \
                 queued job had run: join waits until every worker has exited, in every thread \
                 that calls it (a join that finds the handles already taken by another join \
                 must still wait for those workers)"
            );
        });
    }
}

hidden_test! {
    /// execute, then drop the pool: the drop waits until the worker has run the job.
    fn dropping_the_pool_waits_for_its_workers() {
        model_checked(2, || {
            let pool = ThreadPool::new(1).expect("ThreadPool::new(1) on a fresh pool");
            let ran = Arc::new(AtomicBool::new(false));
            let ran_on_worker = Arc::new(AtomicBool::new(false));
            {
                let (ran, ran_on_worker) = (Arc::clone(&ran), Arc::clone(&ran_on_worker));
                let caller = thread::current();
                pool.execute(move || {
                    ran_on_worker.store(on_worker(&caller), Ordering::SeqCst);
                    ran.store(true, Ordering::SeqCst);
                })
                .expect("execute on an open pool");
            }
            drop(pool);
            if !ran.load(Ordering::SeqCst) {
                return Err("a job was queued, then the pool was dropped, and the job had not \
                            run when the drop returned: dropping a pool closes it (queued \
                            jobs still run) and joins every worker"
                    .to_string());
            }
            if !ran_on_worker.load(Ordering::SeqCst) {
                return Err(format!("execute: {ON_CALLER}"));
            }
            Ok(())
        });
    }
}
