//! Hidden stress suite of kata `thread_pool`: real threads, many jobs, rendezvous.
//!
//! Verdicts come from results and rendezvous, never from timing. A job that would wait at
//! a rendezvous first checks that it runs on a worker thread: run on the caller's thread,
//! it returns at once instead of waiting for jobs that could never join it.
//!
//! Every test turns on the facade's chaos (`kata_sync::chaos`) first, so that threads
//! meet in every order a scheduler could give them. An idle pool is ended only once its
//! workers are asleep (`settle`): a close that comes while a worker is between its check
//! and its wait is for `thread_pool_loom` to explore, on every run, not for luck here.

use kata_harness::hidden_test;
use kata_testkit::{assert_matches, share};
use kata_testkit::threads::{panic_quietly, together, within, Gate, UntilAsleep};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use kata_sync::thread::{self, ThreadId};
use std::time::Duration;
use thread_pool::{PoolError, ThreadPool};

/// True when called on a thread other than `caller`.
fn on_worker(caller: ThreadId) -> bool {
    thread::current().id() != caller
}

/// The payload of the jobs' deliberate panics, raised with `panic_quietly` (no panic hook):
/// a correct pool catches these quietly.
const JOB_PANIC: &str = "a hidden test's job panics on purpose";

fn pool(workers: usize) -> ThreadPool {
    match ThreadPool::new(workers) {
        Ok(pool) => pool,
        Err(e) => panic!("ThreadPool::new({workers}) gave Err({e:?}), expected a pool"),
    }
}

/// Until the `workers` idle workers of the pool are asleep in their waits, before the test
/// ends an idle pool. A pool whose worker is caught between its check and its wait when the
/// pool closes (a close that notifies without the queue's lock loses that wake-up) is
/// `thread_pool_loom`'s to check, on every run; here it would be luck, so these endings
/// wait for it to pass. Once a wait has been in vain (a pool whose workers poll instead of
/// sleeping), later ones in the same test do not wait, as with [`UntilAsleep`].
fn settle(workers: usize) {
    static GAVE_UP: AtomicBool = AtomicBool::new(false);
    if !GAVE_UP.load(Ordering::SeqCst)
        && !kata_sync::hang::until_asleep_in_waits(workers, UntilAsleep::FALLBACK)
    {
        GAVE_UP.store(true, Ordering::SeqCst);
    }
}

const ON_CALLER: &str = "the job ran on the thread that called the pool, not on a worker: \
    a pool hands every job to one of its own worker threads";

hidden_test! {
    /// 120 jobs on 3 workers: never more than 3 run at once, and all run on at most 3
    /// threads (a pool reuses its workers; it does not start a thread per job).
    fn never_runs_more_jobs_than_workers() {
        kata_sync::chaos::enable();
        const WORKERS: usize = 3;
        const JOBS: usize = 120;
        let pool = pool(WORKERS);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let results: Vec<_> = (0..JOBS)
            .map(|_| {
                let (running, most) = (Arc::clone(&running), Arc::clone(&most));
                pool.apply_async(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    for _ in 0..20 {
                        thread::yield_now();
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                    thread::current().id()
                })
                .expect("apply_async on an open pool")
            })
            .collect();
        let caller = thread::current().id();
        let mut threads = HashSet::new();
        for (i, result) in results.into_iter().enumerate() {
            match result.get() {
                Ok(id) if id == caller => panic!("apply_async: {ON_CALLER}"),
                Ok(id) => threads.insert(id),
                Err(e) => panic!("job #{i} returns normally, yet its result was Err({e:?})"),
            };
        }
        settle(WORKERS);
        drop(pool);
        let most = most.load(Ordering::SeqCst);
        assert!(
            most <= WORKERS,
            "a pool of {WORKERS} workers ran {most} jobs at the same time: a pool runs at \
             most one job per worker at once, and the other jobs wait in its queue"
        );
        assert!(
            threads.len() <= WORKERS,
            "{JOBS} jobs on a pool of {WORKERS} workers ran on {} different threads: a pool \
             starts its {WORKERS} worker threads once and reuses them for every job, it \
             does not start a thread per job",
            threads.len()
        );
    }
}

hidden_test! {
    /// 4 workers, 4 jobs that all must be running at once to finish (a Barrier of 4),
    /// 25 rounds: every worker takes a job, none runs two jobs in turn.
    fn runs_as_many_jobs_at_once_as_workers() {
        kata_sync::chaos::enable();
        const WORKERS: usize = 4;
        let pool = pool(WORKERS);
        let caller = thread::current().id();
        for round in 0..25 {
            let meet = Arc::new(Barrier::new(WORKERS));
            let results: Vec<_> = (0..WORKERS)
                .map(|_| {
                    let meet = Arc::clone(&meet);
                    pool.apply_async(move || {
                        if !on_worker(caller) {
                            return false;
                        }
                        meet.wait();
                        true
                    })
                    .expect("apply_async on an open pool")
                })
                .collect();
            for result in results {
                match result.get() {
                    Ok(true) => {}
                    Ok(false) => panic!("apply_async: {ON_CALLER}"),
                    Err(e) => panic!(
                        "round {round}: a job that meets the others at a barrier gave Err({e:?})"
                    ),
                }
            }
        }
        settle(WORKERS);
        drop(pool);
    }
}

/// Counts the worker threads that have exited (their thread-locals were destroyed).
static EXITED_WORKERS: AtomicUsize = AtomicUsize::new(0);

struct ExitWatch;

impl Drop for ExitWatch {
    fn drop(&mut self) {
        EXITED_WORKERS.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static EXIT_WATCH: ExitWatch = const { ExitWatch };
}

hidden_test! {
    /// 100 panicking jobs through apply on 3 workers: each gives JobPanicked, no worker
    /// thread exits, and afterwards 3 jobs meet at a Barrier of 3 (all workers are alive).
    fn survives_a_hundred_panicking_jobs() {
        kata_sync::chaos::enable();
        const WORKERS: usize = 3;
        let pool = pool(WORKERS);
        let caller = thread::current().id();
        for i in 0..100 {
            let exited = EXITED_WORKERS.load(Ordering::SeqCst);
            assert_eq!(
                exited, 0,
                "after {i} panicking job(s), {exited} of the threads that ran them had exited \
                 although the pool is still open: a pool keeps its worker threads for its \
                 whole life, and a panic must not end one. Catch it on the worker \
                 (std::panic::catch_unwind) and keep the worker looping"
            );
            let outcome = pool.apply(move || {
                if on_worker(caller) {
                    // Watch this worker: its thread-locals are destroyed when it exits.
                    EXIT_WATCH.with(|_| {});
                    panic_quietly(JOB_PANIC);
                }
            });
            match outcome {
                Err(PoolError::JobPanicked) => {}
                Ok(()) => panic!("apply: {ON_CALLER}"),
                other => panic!(
                    "panicking job #{i}: apply gave {other:?}, expected Err(JobPanicked)"
                ),
            }
        }
        let meet = Arc::new(Barrier::new(WORKERS));
        let results: Vec<_> = (0..WORKERS)
            .map(|_| {
                let meet = Arc::clone(&meet);
                pool.apply_async(move || {
                    if !on_worker(caller) {
                        return false;
                    }
                    meet.wait();
                    true
                })
                .expect("apply_async on an open pool after jobs panicked")
            })
            .collect();
        for result in results {
            assert_matches!(
                result.get(), Ok(true),
                "after 100 panicking jobs, {WORKERS} jobs that must all run at once on the \
                 {WORKERS} workers did not all succeed"
            );
        }
        let exited = EXITED_WORKERS.load(Ordering::SeqCst);
        assert_eq!(
            exited, 0,
            "{exited} of the threads that ran panicking jobs exited although the pool was \
             still open: a panic must not end a worker"
        );
        settle(WORKERS);
        drop(pool);
    }
}

hidden_test! {
    /// ThreadPool::new(0) is Err(ZeroWorkers); new(n) for n in 1..=4 has n workers.
    fn zero_workers_is_an_error() {
        kata_sync::chaos::enable();
        assert_matches!(
            ThreadPool::new(0), Err(PoolError::ZeroWorkers),
            "ThreadPool::new(0) must be Err(ZeroWorkers): a pool without workers would \
             accept jobs and never run them"
        );
        for n in 1..=4 {
            let pool = pool(n);
            assert_eq!(pool.workers(), n, "ThreadPool::new({n}).workers()");
            settle(n);
        }
    }
}

hidden_test! {
    /// After close, and after terminate, execute and apply_async are refused with Closed,
    /// and the refused jobs never run.
    fn closed_after_close_and_after_terminate() {
        kata_sync::chaos::enable();
        for ending in ["close", "terminate"] {
            let pool = pool(2);
            assert_matches!(pool.execute(|| {}), Ok(()), "execute on an open pool");
            settle(2);
            if ending == "close" {
                pool.close();
            } else {
                pool.terminate();
            }
            let ran = Arc::new(AtomicBool::new(false));
            let refused = {
                let ran = Arc::clone(&ran);
                pool.execute(move || ran.store(true, Ordering::SeqCst))
            };
            assert_matches!(
                refused, Err(PoolError::Closed),
                "execute after {ending}() must be refused with Err(Closed)"
            );
            let refused = {
                let ran = Arc::clone(&ran);
                pool.apply_async(move || ran.store(true, Ordering::SeqCst))
            };
            assert_matches!(
                refused, Err(PoolError::Closed),
                "apply_async after {ending}() must be refused with Err(Closed)"
            );
            assert_matches!(pool.join(), Ok(()), "join() after {ending}()");
            drop(pool);
            assert!(
                !ran.load(Ordering::SeqCst),
                "a job refused after {ending}() ran anyway"
            );
        }
    }
}

hidden_test! {
    /// apply after close gives Closed at once (it neither runs the job nor waits forever).
    fn apply_after_close_is_closed() {
        kata_sync::chaos::enable();
        let pool = pool(2);
        let caller = thread::current().id();
        assert_matches!(
            pool.apply(move || on_worker(caller)), Ok(true),
            "apply on an open pool must run the job on a worker and return its value"
        );
        settle(2);
        pool.close();
        let ran = Arc::new(AtomicBool::new(false));
        let refused = {
            let ran = Arc::clone(&ran);
            pool.apply(move || ran.store(true, Ordering::SeqCst))
        };
        assert_matches!(
            refused, Err(PoolError::Closed),
            "apply after close() must be refused with Err(Closed)"
        );
        assert_matches!(pool.join(), Ok(()), "join() after close()");
        drop(pool);
        assert!(!ran.load(Ordering::SeqCst), "a job refused by apply after close() ran anyway");
    }
}

hidden_test! {
    /// 500 apply_async on 4 workers, then get in order: result #i is job #i's value.
    fn many_apply_async_results_in_order() {
        kata_sync::chaos::enable();
        let pool = pool(4);
        let caller = thread::current().id();
        let results: Vec<_> = (0..500u64)
            .map(|i| {
                pool.apply_async(move || (on_worker(caller), i * i))
                    .expect("apply_async on an open pool")
            })
            .collect();
        for (i, result) in (0..500u64).zip(results) {
            match result.get() {
                Ok((true, v)) if v == i * i => {}
                Ok((false, _)) => panic!("apply_async: {ON_CALLER}"),
                other => panic!(
                    "job #{i} returns {}, but get() on its AsyncResult gave {other:?}: \
                     every AsyncResult must hold its own job's value",
                    i * i
                ),
            }
        }
        settle(4);
        drop(pool);
    }
}

hidden_test! {
    /// 40 queued jobs, then the pool is dropped without close or join: when the drop
    /// returns, all 40 have run (Drop closes, and joins every worker).
    fn dropping_the_pool_waits_for_its_workers() {
        kata_sync::chaos::enable();
        const JOBS: usize = 40;
        let pool = pool(3);
        let done = Arc::new(AtomicUsize::new(0));
        let on_caller = Arc::new(AtomicBool::new(false));
        let caller = thread::current().id();
        for _ in 0..JOBS {
            let (done, on_caller) = (Arc::clone(&done), Arc::clone(&on_caller));
            pool.execute(move || {
                if !on_worker(caller) {
                    on_caller.store(true, Ordering::SeqCst);
                }
                // A job that takes a moment (never a verdict: only a chance for the drop
                // to return early if it does not wait).
                thread::sleep(Duration::from_millis(2));
                done.fetch_add(1, Ordering::SeqCst);
            })
            .expect("execute on an open pool");
        }
        drop(pool);
        assert!(!on_caller.load(Ordering::SeqCst), "execute: {ON_CALLER}");
        let done = done.load(Ordering::SeqCst);
        assert_eq!(
            done, JOBS,
            "{JOBS} jobs were queued and the pool was dropped; when the drop returned only \
             {done} had run. Dropping a pool closes it (queued jobs still run) and waits for \
             every worker: no worker outlives the pool"
        );
    }
}

hidden_test! {
    /// Both workers are held inside jobs, 5 more jobs are queued, then terminate: the
    /// 5 never run and their results are Closed; the 2 running jobs finish normally.
    fn terminate_drops_unstarted_jobs() {
        kata_sync::chaos::enable();
        const WORKERS: usize = 2;
        let pool = pool(WORKERS);
        let caller = thread::current().id();
        let started = Arc::new(Barrier::new(WORKERS + 1));
        let release = Arc::new(Barrier::new(WORKERS + 1));
        let on_caller = Arc::new(AtomicBool::new(false));
        let holding: Vec<_> = (0..WORKERS)
            .map(|i| {
                let (started, release) = (Arc::clone(&started), Arc::clone(&release));
                let on_caller = Arc::clone(&on_caller);
                pool.apply_async(move || {
                    if !on_worker(caller) {
                        on_caller.store(true, Ordering::SeqCst);
                        return i;
                    }
                    started.wait();
                    release.wait();
                    i
                })
                .expect("apply_async on an open pool")
            })
            .collect();
        assert!(!on_caller.load(Ordering::SeqCst), "apply_async: {ON_CALLER}");
        started.wait(); // both workers are now inside a job
        let ran: Vec<_> = (0..5).map(|_| Arc::new(AtomicBool::new(false))).collect();
        let queued: Vec<_> = ran
            .iter()
            .map(|ran| {
                let ran = Arc::clone(ran);
                pool.apply_async(move || ran.store(true, Ordering::SeqCst))
                    .expect("apply_async on an open pool")
            })
            .collect();
        pool.terminate();
        release.wait(); // let the two running jobs finish
        assert_matches!(pool.join(), Ok(()), "join() after terminate()");
        drop(pool);
        for (i, result) in holding.into_iter().enumerate() {
            assert_matches!(
                result.get(),
                Ok(v) if v == i,
                "a job that was already running when terminate() was called must finish \
                 and give its value Ok({i})"
            );
        }
        for (i, result) in queued.into_iter().enumerate() {
            let was_run = ran[i].load(Ordering::SeqCst);
            assert!(
                !was_run,
                "queued job #{i} had not started when terminate() was called, yet it ran: \
                 terminate drops every job that has not started"
            );
            assert!(
                result.ready(),
                "queued job #{i} was dropped by terminate(), but after join() and dropping \
                 the pool its AsyncResult is still not ready: get() would wait forever. A \
                 dropped job's result must become Err(Closed)"
            );
            assert_matches!(
                result.get(), Err(PoolError::Closed),
                "the result of queued job #{i}, dropped by terminate()"
            );
        }
    }
}

hidden_test! {
    /// A job held on a worker: ready() is false while it runs; once it has finished,
    /// three threads ask ready() on the same result a million times each, at once, and it
    /// must say true every time (ready never waits for the job, and a busy lock is no
    /// reason to say false).
    fn ready_never_lies_about_a_finished_job() {
        kata_sync::chaos::enable();
        const POLLERS: usize = 3;
        const POLLS: usize = 1_000_000;
        let pool = pool(2);
        let caller = thread::current().id();
        let gate = Arc::new(Gate::new());
        let _open_at_the_end = Gate::open_on_drop(&gate);
        let result = {
            let gate = Arc::clone(&gate);
            pool.apply_async(move || {
                if !on_worker(caller) {
                    return false;
                }
                gate.wait();
                true
            })
            .expect("apply_async on an open pool")
        };
        assert!(
            !result.ready(),
            "ready() returned true while the job was still held inside its body: a result is \
             ready only once its job has finished"
        );
        gate.open();
        let result = share!(result, "AsyncResult");
        let finished = within(Duration::from_secs(20), {
            let result = result.clone();
            move || {
                while !result.ready() {
                    thread::yield_now();
                }
            }
        });
        if finished.is_none() {
            panic!("the job's gate was opened, yet ready() was still false 20 s later");
        }
        let lies: Vec<usize> = {
            let result = result.clone();
            together(POLLERS, move |_| (0..POLLS).filter(|_| !result.ready()).count())
        };
        let lies: usize = lies.iter().sum();
        assert!(
            lies == 0,
            "the job had finished and ready() had said so; then {POLLERS} threads asked \
             ready() {POLLS} times each, at once, and {lies} answers were false: once the job \
             has finished, ready() is true every time it is asked (take the slot's lock and \
             look: a lock that another thread holds for a moment is no reason to say false)"
        );
        let result = result.try_unwrap().expect("the pollers are done with the result");
        assert_matches!(result.get(), Ok(true), "get() of the job that ran on a worker");
        settle(2);
        drop(pool);
    }
}

hidden_test! {
    /// 30 jobs queued with execute panic on 3 workers; then 3 jobs that must all run at once
    /// (a Barrier of 3) still all succeed: no panicking job ended its worker.
    fn panicking_execute_jobs_keep_every_worker() {
        kata_sync::chaos::enable();
        const WORKERS: usize = 3;
        let pool = pool(WORKERS);
        let caller = thread::current().id();
        for _ in 0..30 {
            assert_matches!(
                pool.execute(move || {
                    if on_worker(caller) {
                        panic_quietly(JOB_PANIC);
                    }
                }),
                Ok(()),
                "execute on an open pool"
            );
        }
        let meet = Arc::new(Barrier::new(WORKERS));
        let results: Vec<_> = (0..WORKERS)
            .map(|_| {
                let meet = Arc::clone(&meet);
                pool.apply_async(move || {
                    if !on_worker(caller) {
                        return false;
                    }
                    meet.wait();
                    true
                })
                .expect("apply_async on an open pool after jobs panicked")
            })
            .collect();
        let got = within(Duration::from_secs(20), move || {
            results.into_iter().map(|r| r.get()).collect::<Vec<_>>()
        });
        let Some(got) = got else {
            panic!(
                "after 30 jobs queued with execute() panicked, {WORKERS} jobs that must all run \
                 at once on the {WORKERS} workers had not finished 20 s later: a panicking job \
                 ended its worker. Run every job under catch_unwind on the worker, whichever \
                 call (execute, apply, apply_async) queued it"
            );
        };
        for r in got {
            assert_matches!(r, Ok(true), "a job meeting the others at a barrier, after 30 panicking jobs");
        }
        settle(WORKERS);
        drop(pool);
    }
}

hidden_test! {
    /// 40 rounds: a pool of 4 workers runs one round of jobs, goes idle, then is closed
    /// (even rounds) or terminated (odd rounds): join returns, since every idle worker is
    /// woken and exits.
    fn an_idle_pool_closed_or_terminated_joins() {
        kata_sync::chaos::enable();
        let until_asleep = Arc::new(Mutex::new(UntilAsleep::new()));
        for round in 0..40 {
            let until_asleep = Arc::clone(&until_asleep);
            let ending = if round % 2 == 0 { "close" } else { "terminate" };
            let joined = within(Duration::from_secs(20), move || {
                let pool = pool(4);
                let caller = thread::current().id();
                let results: Vec<_> = (0..4)
                    .map(|_| pool.apply_async(move || on_worker(caller)).expect("apply_async"))
                    .collect();
                let on_workers = results.into_iter().all(|r| matches!(r.get(), Ok(true)));
                // Until all 4 idle workers are asleep again (the caller of join, waiting
                // for this thread, is not counted): an ending that wakes only some leaves
                // the others asleep on every run.
                until_asleep.lock().unwrap().others(4);
                if round % 2 == 0 {
                    pool.close();
                } else {
                    pool.terminate();
                }
                let joined = pool.join();
                std::mem::forget(pool);
                (on_workers, joined)
            });
            let Some((on_workers, joined)) = joined else {
                panic!(
                    "round {round}: an idle pool of 4 workers, {ending}(), then join(): join \
                     had not returned 20 s later. {ending} must wake every idle worker \
                     (notify_all), so that each one sees the pool is no longer open and exits"
                );
            };
            assert!(on_workers, "apply_async: {ON_CALLER}");
            assert_matches!(joined, Ok(()), "round {round}: join() after {ending}()");
        }
    }
}

hidden_test! {
    /// 10 rounds: two jobs are held on the 2 workers and a third, held too once it runs,
    /// waits in the queue; the pool is closed and two threads call join at once; when each
    /// join returns, all three jobs must have finished.
    fn two_joins_at_once_both_wait_for_the_workers() {
        kata_sync::chaos::enable();
        let mut until_asleep = UntilAsleep::new();
        for round in 0..10 {
            let pool = share!(pool(2), "ThreadPool");
            let gate = Arc::new(Gate::new());
            let _open_at_the_end = Gate::open_on_drop(&gate);
            let last_gate = Arc::new(Gate::new());
            let _open_last_at_the_end = Gate::open_on_drop(&last_gate);
            let finished = Arc::new(AtomicUsize::new(0));
            let on_caller = Arc::new(AtomicBool::new(false));
            let caller = thread::current().id();
            let (started_tx, started) = std::sync::mpsc::channel();
            let (last_started_tx, last_started) = std::sync::mpsc::channel();
            for first in [true, true, false] {
                let gate = Arc::clone(if first { &gate } else { &last_gate });
                let finished = Arc::clone(&finished);
                let on_caller = Arc::clone(&on_caller);
                let started_tx = if first { started_tx.clone() } else { last_started_tx.clone() };
                assert_matches!(
                    pool.execute(move || {
                        if !on_worker(caller) {
                            on_caller.store(true, Ordering::SeqCst);
                        } else {
                            let _ = started_tx.send(());
                            gate.wait();
                        }
                        finished.fetch_add(1, Ordering::SeqCst);
                    }),
                    Ok(()),
                    "execute on an open pool"
                );
            }
            assert!(!on_caller.load(Ordering::SeqCst), "execute: {ON_CALLER}");
            // Both workers are inside a held job, so the third job is still queued when
            // the pool closes, and no worker is between its check and its wait.
            for _ in 0..2 {
                if started.recv_timeout(Duration::from_secs(20)).is_err() {
                    panic!(
                        "round {round}: two jobs that wait at a gate were given to a pool of \
                         2 workers, and they were not both running 20 s later: each worker \
                         takes the next queued job"
                    );
                }
            }
            pool.close();
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            let joiners: Vec<_> = (0..2)
                .map(|_| {
                    let (pool, finished) = (pool.clone(), Arc::clone(&finished));
                    let tid_tx = tid_tx.clone();
                    thread::spawn(move || {
                        let _ = tid_tx.send(kata_sync::hang::tid());
                        let joined = pool.join();
                        (joined.is_ok(), finished.load(Ordering::SeqCst))
                    })
                })
                .collect();
            // Until both joins are asleep (or one has returned, too early): a join that does
            // not wait has returned by then on every run.
            let tids: Vec<i32> = tid_rx.iter().take(2).collect();
            until_asleep.these(&tids);
            gate.open();
            // The queued job is held too once it runs, until this thread sees it has
            // started: a join that returns once the queue is empty has returned by then.
            // (If it never runs, the joins end without it.)
            for _ in 0..20_000 {
                if last_started.try_recv().is_ok() || joiners.iter().all(|j| j.is_finished()) {
                    break;
                }
                thread::sleep(Duration::from_millis(1));
            }
            last_gate.open();
            for joiner in joiners {
                let (ok, finished_then) = joiner.join().expect("a joining thread panicked");
                assert!(ok, "round {round}: join() after close() returned Err");
                assert!(
                    finished_then == 3,
                    "round {round}: two jobs were running on the 2 workers and a third was \
                     queued when the pool was closed; two threads called join() at once, and \
                     one join returned when {finished_then} of the 3 jobs had finished. close \
                     lets every queued job run, and join waits until every worker has exited, \
                     in every thread that calls it (a join that finds the handles taken by the \
                     other join must still wait)"
                );
            }
            drop(pool);
        }
    }
}
