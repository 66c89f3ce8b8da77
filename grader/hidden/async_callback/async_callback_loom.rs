//! Hidden loom suite of kata `async_callback`: every interleaving of a caller and one or
//! two workers, on one or two jobs with callbacks.
//!
//! Every job returns the id of the thread it ran on, and every callback logs the thread
//! it ran on and the value it got: a callback that runs on the caller's thread, runs
//! twice, or has not yet run when the result is ready is seen in the log. The log lives
//! in a `std::sync::Mutex` in a `std::sync::Arc` (out of loom's sight; only ever held
//! for a moment). A wait that never ends (a lost wake-up) makes loom panic with
//! "deadlock" and then abort, since the waiting threads hold loom `Arc`s (loom issue
//! 291): the grader reports that as a deadlock.
#![cfg(feature = "loom")]

use async_callback::{Pool, PoolError};
use kata_harness::hidden_test;
use kata_testkit::{assert_matches, share};
use kata_testkit::threads::panic_quietly;
use kata_sync::thread::ThreadId;
use kata_sync::{model, thread};
use std::sync::{Arc, Mutex};

/// What one callback saw: the thread it ran on, the job's thread and the job's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Call {
    on: ThreadId,
    job_ran_on: ThreadId,
    value: u32,
}

type Log = Arc<Mutex<Vec<Call>>>;

fn new_log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn calls(log: &Log) -> Vec<Call> {
    log.lock().unwrap().clone()
}

/// Queues a job that returns `(its thread, value)` and a callback that logs what it saw.
fn submit(pool: &Pool, log: &Log, value: u32) -> async_callback::AsyncResult<(ThreadId, u32)> {
    let log = Arc::clone(log);
    pool.apply_async(
        move || (thread::current().id(), value),
        move |&(job_ran_on, value): &(ThreadId, u32)| {
            // A callback that takes a moment: the caller may run meanwhile. (Without a
            // loom operation here, loom could not pause the worker inside the callback.)
            thread::yield_now();
            log.lock().unwrap().push(Call {
                on: thread::current().id(),
                job_ran_on,
                value,
            })
        },
    )
    .expect("apply_async on an open pool")
}

/// The callbacks in `log` must be exactly one for each of `values`, none on `caller`.
fn check_calls(log: &Log, caller: ThreadId, values: &[u32], when: &str) {
    let mut calls = calls(log);
    for call in &calls {
        assert!(
            call.on != caller,
            "a callback ran on the thread that called apply_async (and get): the callback \
             runs on the pool's side, on the worker that ran the job, right after the job"
        );
    }
    calls.sort_by_key(|c| c.value);
    let seen: Vec<u32> = calls.iter().map(|c| c.value).collect();
    assert_eq!(
        seen, values,
        "{when}, the callbacks had been called with {seen:?}, expected {values:?}: each \
         job's callback runs exactly once, with that job's value, and has returned before \
         the job's result is ready"
    );
}

/// The payload of the deliberate panics, raised with `panic_quietly` (no panic hook, so a
/// correct pool's caught panics print nothing).
const ON_PURPOSE: &str = "a hidden test panics on purpose";

/// `model`, but a deliberate panic that escapes the pool (and so ends the model) becomes
/// a failure that says so.
fn model_with_panics<F>(preemption_bound: usize, body: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let run = std::panic::AssertUnwindSafe(|| model(preemption_bound, body));
    if let Err(payload) = std::panic::catch_unwind(run) {
        if payload.downcast_ref::<&str>() == Some(&ON_PURPOSE) {
            panic!(
                "a panic in a job or a callback escaped the pool and ended the worker \
                 thread that ran it: catch both on the worker (std::panic::catch_unwind), \
                 give JobPanicked / CallbackPanicked to the caller, and keep the worker \
                 running"
            );
        }
        std::panic::resume_unwind(payload);
    }
}

hidden_test! {
    /// One worker, one job: get returns its value, and by then its callback has run
    /// exactly once, with that value, on the worker that ran the job.
    fn get_returns_the_value_after_the_callback() {
        model(2, || {
            let pool = Pool::new(1).expect("Pool::new(1)");
            let caller = thread::current().id();
            let log = new_log();
            let result = submit(&pool, &log, 42);
            let got = result.get();
            check_calls(&log, caller, &[42], "when get() returned");
            match got {
                Ok((_, 42)) => {}
                other => panic!("the job returned 42; get() gave {other:?}"),
            }
            let call = calls(&log)[0];
            assert_eq!(
                call.on, call.job_ran_on,
                "the callback ran on another thread than its job: it runs on the worker \
                 that ran the job, right after the job"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// The caller asks ready() twice while the worker runs the job and its callback:
    /// whenever ready() is true, the callback has returned; then get gives the value.
    fn ready_only_after_the_callback_has_run() {
        model(2, || {
            let pool = Pool::new(1).expect("Pool::new(1)");
            let caller = thread::current().id();
            let log = new_log();
            let result = submit(&pool, &log, 7);
            // (No spinning on ready(): loom runs a yielding thread again only once the
            // others are stuck, which would hide the moment between "ready" and "called
            // back".)
            for _ in 0..2 {
                if result.ready() {
                    check_calls(&log, caller, &[7], "when ready() returned true");
                }
            }
            match result.get() {
                Ok((_, 7)) => {}
                other => panic!("the job returned 7; get() gave {other:?}"),
            }
            check_calls(&log, caller, &[7], "when get() returned");
            drop(pool);
        });
    }
}

hidden_test! {
    /// Two workers, two jobs; the caller waits on both: when each wait returns, that
    /// job's callback has run; then get gives each value.
    fn wait_returns_once_the_callback_has_run() {
        model(2, || {
            let pool = Pool::new(2).expect("Pool::new(2)");
            let caller = thread::current().id();
            let log = new_log();
            let first = submit(&pool, &log, 1);
            let second = submit(&pool, &log, 2);
            first.wait();
            assert!(first.ready(), "ready() must be true once wait() has returned");
            assert!(
                calls(&log).iter().any(|c| c.value == 1),
                "wait() returned before the job's callback had run: a result completes \
                 only after its callback has returned"
            );
            second.wait();
            check_calls(&log, caller, &[1, 2], "when both wait() calls had returned");
            assert_matches!(
                (first.get(), second.get()), (Ok((_, 1)), Ok((_, 2))),
                "get() after wait() must give each job's own value"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// One result, two threads waiting on it (the caller and another thread, sharing it in
    /// an Arc): when the job and its callback are done, both waits must return.
    fn two_threads_waiting_on_one_result_both_return() {
        model(2, || {
            let pool = Pool::new(1).expect("Pool::new(1)");
            let caller = thread::current().id();
            let log = new_log();
            let result = share!(submit(&pool, &log, 9), "AsyncResult");
            let other = {
                let (result, log) = (result.clone(), Arc::clone(&log));
                thread::spawn(move || {
                    result.wait();
                    let called_back = calls(&log).iter().any(|c| c.value == 9);
                    (result.ready(), called_back)
                })
            };
            result.wait();
            check_calls(&log, caller, &[9], "when wait() returned");
            let (ready_there, called_back_there) =
                other.join().expect("the other waiting thread panicked");
            assert!(
                ready_there && called_back_there,
                "two threads waited on one result; when the other thread's wait() returned, \
                 the result was not ready or its callback had not run"
            );
            let result = result
                .try_unwrap()
                .expect("both waiting threads are done with the result");
            assert_matches!(result.get(), Ok((_, 9)), "get() after both wait() calls returned");
            drop(pool);
        });
    }
}

hidden_test! {
    /// A job that panics: its callback never runs, get gives JobPanicked, and the only
    /// worker lives on to run the next job and callback.
    fn panicking_job_skips_the_callback() {
        model_with_panics(2, || {
            let pool = Pool::new(1).expect("Pool::new(1)");
            let caller = thread::current().id();
            let log = new_log();
            let failed = {
                let log = Arc::clone(&log);
                pool.apply_async(
                    move || {
                        if thread::current().id() != caller {
                            panic_quietly(ON_PURPOSE);
                        }
                        (caller, 0)
                    },
                    move |&(job_ran_on, value): &(ThreadId, u32)| {
                        log.lock().unwrap().push(Call {
                            on: thread::current().id(),
                            job_ran_on,
                            value,
                        })
                    },
                )
                .expect("apply_async on an open pool")
            };
            match failed.get() {
                Err(PoolError::JobPanicked) => {}
                Ok((ran_on, _)) if ran_on == caller => panic!(
                    "the job ran on the thread that called apply_async: a pool hands every \
                     job to one of its own worker threads"
                ),
                other => panic!(
                    "get() on a job that panicked gave {other:?}, expected Err(JobPanicked)"
                ),
            }
            check_calls(&log, caller, &[], "after a job panicked");
            let next = submit(&pool, &log, 5);
            let got = next.get();
            check_calls(&log, caller, &[5], "when get() of the next job returned");
            assert_matches!(
                got, Ok((_, 5)),
                "after a job panicked, the pool's only worker must still run jobs: catch \
                 the job's panic on the worker (catch_unwind)"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// A callback that panics: get gives CallbackPanicked, and the only worker lives on
    /// to run the next job and callback.
    fn panicking_callback_gives_callback_panicked() {
        model_with_panics(2, || {
            let pool = Pool::new(1).expect("Pool::new(1)");
            let caller = thread::current().id();
            let on_caller = Arc::new(Mutex::new(false));
            let failed = {
                let on_caller = Arc::clone(&on_caller);
                pool.apply_async(
                    || 3,
                    move |_: &u32| {
                        if thread::current().id() == caller {
                            *on_caller.lock().unwrap() = true;
                        } else {
                            panic_quietly(ON_PURPOSE);
                        }
                    },
                )
                .expect("apply_async on an open pool")
            };
            let got = failed.get();
            assert!(
                !*on_caller.lock().unwrap(),
                "the callback ran on the thread that called apply_async (and get): it \
                 runs on the pool's side, on the worker that ran the job"
            );
            assert_matches!(
                got, Err(PoolError::CallbackPanicked),
                "get() on a job whose callback panicked"
            );
            let log = new_log();
            let next = submit(&pool, &log, 6);
            let got = next.get();
            check_calls(&log, caller, &[6], "when get() of the next job returned");
            assert_matches!(
                got, Ok((_, 6)),
                "after a callback panicked, the pool's only worker must still run jobs: \
                 catch the callback's panic on the worker (catch_unwind)"
            );
            drop(pool);
        });
    }
}

hidden_test! {
    /// One worker, two jobs, close, join: both callbacks have run and both results are
    /// ready; apply_async after close is Closed.
    fn close_then_join_runs_every_callback() {
        model(2, || {
            let pool = Pool::new(1).expect("Pool::new(1)");
            let caller = thread::current().id();
            let log = new_log();
            let results = [submit(&pool, &log, 1), submit(&pool, &log, 2)];
            pool.close();
            assert_matches!(pool.join(), Ok(()), "join() after close()");
            check_calls(&log, caller, &[1, 2], "after close() and join()");
            assert!(
                results.iter().all(|r| r.ready()),
                "after close() and join(), every queued job has run: its result is ready"
            );
            assert_matches!(
                pool.apply_async(|| 0, |_| {}), Err(PoolError::Closed),
                "apply_async after close() must be refused with Closed"
            );
            for (result, value) in results.into_iter().zip([1, 2]) {
                match result.get() {
                    Ok((_, v)) if v == value => {}
                    other => panic!("job {value}'s get() after join gave {other:?}"),
                }
            }
            drop(pool);
        });
    }
}

hidden_test! {
    /// One idle worker; a job is queued and the pool closed right after: the worker, woken
    /// by the job or by close, must still run it (close stops new jobs, not queued ones).
    fn a_job_queued_just_before_close_still_runs() {
        model(2, || {
            let pool = Pool::new(1).expect("Pool::new(1)");
            let caller = thread::current().id();
            let log = new_log();
            let result = submit(&pool, &log, 4);
            pool.close();
            assert_matches!(pool.join(), Ok(()), "join() after close()");
            check_calls(&log, caller, &[4], "after close() and join()");
            assert!(
                result.ready(),
                "a job queued right before close() had not run when join() returned: a worker \
                 woken by close still takes every queued job before it exits"
            );
            assert_matches!(result.get(), Ok((_, 4)), "get() of the job queued right before close()");
            drop(pool);
        });
    }
}
