//! Hidden proc suite of kata `process_pool`: real worker processes, checked from outside.
//!
//! No verdict depends on timing. Jobs that must be running when the test looks wait at a
//! gate in a page of memory shared by the test and every process it forks (mapped before
//! the pool is made, so every worker inherits it); the test waits for them to arrive
//! there (an event, not a delay), looks, then opens the gate. A worker that has died is
//! waited for with `waitid(WEXITED | WNOWAIT)`, which does not reap it.
//!
//! Every pool call goes through `Test::call`, which catches a worker that comes back
//! out of the pool into the test (it finds that `getpid()` changed): such a worker notes
//! its pid in the shared page and leaves with `_exit` at once. Every job first checks
//! that it runs in a worker: run in the test's own process (no fork), it returns at once
//! with the test's pid instead of waiting at a gate nobody opens. The job and its gates
//! are the test kit's (`kata_testkit::proc::jobs`), and so is `Test`
//! (`kata_testkit::process_pool::PoolTest`). When a test ends, however it ends, `Test`'s
//! drop (its `kata_testkit::proc::Family`'s) opens every gate, then kills and reaps any
//! child still there, so a failing test leaves no process behind.

use kata_harness::hidden_test;
// The job, its gates in the shared page, and the guard that opens them if a test fails.
use kata_testkit::proc::jobs::{
    job, wait_until, Unblock, CRASH, GATED, MEET, PANIC, PANIC_MESSAGE,
};
use kata_testkit::proc::{
    children_of, in_child, my_pid, page, proc_state, still_ours, wait_until_ended,
};
// The test's bookkeeping: its calls guarded, the workers checked, every child reaped.
use kata_testkit::process_pool::{check, check_value, PoolTest};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use process_pool::{Pool, PoolError};
use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};

type JobPool = Pool<u64, (i32, u64)>;

/// One test's bookkeeping (the kit's: see the module's doc), for pools of the kit's job.
type Test = PoolTest<JobPool, PoolError>;

fn setup() -> Test {
    PoolTest::new(|workers| Pool::new(workers, job as fn(u64) -> (i32, u64)))
}

hidden_test! {
    /// Pool::new forks the workers at once: pids() gives that many distinct live children
    /// of the caller before any job. Pool::new(0) is ZeroWorkers and forks nothing.
    /// close + join reaps them all.
    fn workers_are_forked_when_the_pool_is_created() {
        let t = setup();
        let zero = t.call(|| Pool::new(0, job as fn(u64) -> (i32, u64)).map(|_| ()));
        assert_eq!(zero, Err(PoolError::ZeroWorkers), "Pool::new(0, job)");
        for workers in [1, 3] {
            let pool = t.pool(workers);
            assert_eq!(pool.workers(), workers, "workers() of Pool::new({workers}, job)");
            let pids = t.real_workers(|| pool.pids(), workers, "right after Pool::new");
            let children: Vec<i32> = children_of(t.me).into_iter().map(|(p, _)| p).collect();
            assert_eq!(
                children.len(),
                workers,
                "right after Pool::new({workers}, job) the test has the children {children:?}, \
                 but pids() says {pids:?}: the pool forks exactly its workers"
            );
            t.call(|| pool.close());
            assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
            t.all_reaped(&pids, "close() and join()");
            assert_eq!(t.call(|| pool.pids()), Vec::<i32>::new(), "pids() after join()");
            t.call(|| drop(pool));
        }
        t.finish();
    }
}

hidden_test! {
    /// The course's example, 堵塞式: Pool(3), ten apply calls one after the other; each
    /// runs in one of the workers and returns its own value.
    fn apply_runs_the_job_in_a_worker() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        for i in 0..10 {
            check(t.call(|| pool.apply(i)), &pids, i * i, &format!("apply({i})"));
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

type Record = (String, Vec<i64>, Option<bool>, HashMap<String, u32>);
type Summary = (i32, String, i64, Option<bool>, Vec<(String, u32)>);

/// Reverses the text, sums the numbers, negates the flag, sorts the map.
fn summarise(record: Record) -> Summary {
    let (text, numbers, flag, map) = record;
    let mut entries: Vec<(String, u32)> = map.into_iter().collect();
    entries.sort();
    (
        my_pid(),
        text.chars().rev().collect(),
        numbers.iter().sum(),
        flag.map(|f| !f),
        entries,
    )
}

hidden_test! {
    /// Arguments and results of several serde types (text with quotes, escapes and
    /// Chinese, vectors, options, maps) cross the pipes intact.
    fn arguments_and_results_cross_the_pipes_with_serde() {
        let t = setup();
        let pool: Pool<Record, Summary> =
            match t.call(|| Pool::new(2, summarise as fn(Record) -> Summary)) {
                Ok(pool) => pool,
                Err(e) => panic!("Pool::new(2, summarise) gave Err({e:?})"),
            };
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, summarise)");
        let cases: Vec<Record> = vec![
            (String::new(), vec![], None, HashMap::new()),
            (
                "进程池 Pool ✓".to_string(),
                vec![1, -2, 3_000_000_000_000],
                Some(true),
                HashMap::from([("b".to_string(), 2), ("a".to_string(), 1)]),
            ),
            (
                "quote \" backslash \\ newline \n tab \t".to_string(),
                (0..100).collect(),
                Some(false),
                HashMap::from([("键".to_string(), u32::MAX)]),
            ),
        ];
        for record in cases {
            let what = format!("apply({record:?})");
            let expected = summarise(record.clone());
            match t.call(|| pool.apply(record)) {
                Ok(got) => {
                    assert!(
                        pids.contains(&got.0),
                        "{what} ran in process {}, not in one of the workers {pids:?}",
                        got.0
                    );
                    assert_eq!(
                        (got.1, got.2, got.3, got.4),
                        (expected.1, expected.2, expected.3, expected.4),
                        "{what}: the result that came back through the pipe is not the one \
                         the job computed"
                    );
                }
                Err(e) => panic!("{what} gave Err({e:?}) (\"{e}\")"),
            }
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

/// (the pid, the sum of the numbers, a text of `len` letters).
fn big(arg: (Vec<u64>, usize)) -> (i32, u64, String) {
    let (numbers, len) = arg;
    let text = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    (my_pid(), numbers.iter().sum(), text)
}

hidden_test! {
    /// Messages far larger than a pipe's buffer (64 KiB): a 2.8 MB argument and a 300 KB
    /// result arrive whole, in both directions, five times in a row.
    fn large_messages_arrive_whole() {
        let t = setup();
        type Big = Pool<(Vec<u64>, usize), (i32, u64, String)>;
        let pool: Big = match t.call(|| Pool::new(2, big as fn((Vec<u64>, usize)) -> _)) {
            Ok(pool) => pool,
            Err(e) => panic!("Pool::new(2, big) gave Err({e:?})"),
        };
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, big)");
        check_big(&t, &pool, &pids, 3, 5);
        for round in 0..5 {
            check_big(&t, &pool, &pids, 200_000, 300_000 + round);
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

fn check_big(
    t: &Test,
    pool: &Pool<(Vec<u64>, usize), (i32, u64, String)>,
    pids: &[i32],
    count: u64,
    len: usize,
) {
    let numbers: Vec<u64> = (0..count).map(|i| i * 1_000_000 + 7).collect();
    let sum: u64 = numbers.iter().sum();
    let what = format!(
        "apply((a vector of {count} numbers, {len})), whose argument is {} bytes of JSON",
        count * 14
    );
    match t.call(|| pool.apply((numbers, len))) {
        Ok((pid, got_sum, text)) => {
            assert!(
                pids.contains(&pid),
                "{what} ran in {pid}, not in a worker {pids:?}"
            );
            assert_eq!(got_sum, sum, "{what}: the sum the job computed");
            assert_eq!(
                text.len(),
                len,
                "{what}: the job returned a text of {len} letters, {} came back",
                text.len()
            );
            assert!(
                text.bytes()
                    .enumerate()
                    .all(|(i, b)| b == b'a' + (i % 26) as u8),
                "{what}: the text that came back is not the one the job returned"
            );
        }
        Err(e) => panic!(
            "{what} gave Err({e:?}) (\"{e}\"). A pipe holds 64 KiB: a larger message \
             arrives in pieces, so read until the frame's whole length has arrived, and \
             write until every byte is written"
        ),
    }
}

hidden_test! {
    /// map over 0..60 on 3 workers: result i is job i's, in the arguments' order. An
    /// empty map is an empty vector.
    fn map_returns_results_in_argument_order() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        let results = match t.call(|| pool.map(0..60)) {
            Ok(results) => results,
            Err(e) => panic!("map(0..60) gave Err({e:?}) (\"{e}\")"),
        };
        assert_eq!(results.len(), 60, "map(0..60) gave {} results", results.len());
        let values: Vec<u64> = results.iter().map(|&(_, v)| v).collect();
        let expected: Vec<u64> = (0..60).map(|i| i * i).collect();
        assert_eq!(
            values, expected,
            "map(0..60) with job(x) = x * x: result i must be job i's, in the order of the \
             arguments, whatever order the workers finished in"
        );
        for (i, (pid, _)) in results.iter().enumerate() {
            assert!(
                pids.contains(pid),
                "map: job {i} ran in {pid}, not in one of the workers {pids:?}"
            );
        }
        let empty = t.call(|| pool.map(Vec::new()));
        assert_eq!(empty, Ok(Vec::new()), "map over no arguments");
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// A job blocked at a gate and a quick one: once a result has come back it is the
    /// quick job's, and only its AsyncResult is ready. Then 40 apply_async fetched in
    /// reverse order: each gives its own job's value.
    fn apply_async_results_belong_to_their_own_jobs() {
        let t = setup();
        let pool = t.pool(2);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        let slow = t.call(|| pool.apply_async(GATED | 1)).expect("apply_async on an open pool");
        let quick = t.call(|| pool.apply_async(7)).expect("apply_async on an open pool");
        // Only the quick job can end before the gate opens: wait for a result to be ready.
        wait_until(|| t.call(|| quick.ready() || slow.ready()));
        assert!(
            !t.call(|| slow.ready()),
            "apply_async(a job blocked at a gate that is still closed) is ready(): the one \
             result that has come back is the other job's. Each AsyncResult waits for its \
             own job's result"
        );
        assert!(t.call(|| quick.ready()), "the quick job's AsyncResult must be ready()");
        page().gate.store(1, Ordering::SeqCst);
        check(t.call(|| slow.get()), &pids, GATED | 1, "get() on the gated job's AsyncResult");
        check(t.call(|| quick.get()), &pids, 49, "get() on the quick job's AsyncResult");

        let results: Vec<_> = (0..40u64)
            .map(|i| t.call(|| pool.apply_async(i)).expect("apply_async on an open pool"))
            .collect();
        for (i, result) in results.into_iter().enumerate().rev() {
            let i = i as u64;
            check(
                t.call(|| result.get()),
                &pids,
                i * i,
                &format!("get() on apply_async({i}), fetched in reverse order"),
            );
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// A job that aborts crashes its worker: its result is WorkerDied with that worker's
    /// pid and exit code -6 (SIGABRT); the pool reaps the dead worker, forks a new one
    /// (still 2 workers, one new pid), and runs the next jobs.
    fn a_crashing_job_gives_worker_died_and_its_worker_is_replaced() {
        let t = setup();
        let pool = t.pool(2);
        let _unblock = Unblock;
        let before = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        let crashed = match t.call(|| pool.apply(CRASH)) {
            Err(PoolError::WorkerDied { pid, exitcode }) => {
                assert!(
                    before.contains(&pid),
                    "WorkerDied names pid {pid}, not one of the workers {before:?}"
                );
                assert_eq!(
                    exitcode, -6,
                    "the job called abort(): its worker died of SIGABRT (6), so WorkerDied's \
                     exitcode is -6"
                );
                pid
            }
            other => panic!(
                "apply(a job that calls abort()) gave {other:?}: the job crashed its worker, \
                 so its result is Err(WorkerDied {{ pid, exitcode: -6 }})"
            ),
        };
        assert!(
            !still_ours(crashed),
            "the worker {crashed} crashed, yet it was not reaped (it is a zombie): waitpid \
             every worker that dies"
        );
        let after = t.real_workers(|| pool.pids(), 2, "after a job crashed its worker");
        assert!(
            !after.contains(&crashed),
            "after the worker {crashed} crashed, pids() {after:?} still lists it"
        );
        let new: Vec<i32> = after.iter().copied().filter(|p| !before.contains(p)).collect();
        assert_eq!(
            new.len(),
            1,
            "workers before the crash {before:?}, after {after:?}: the dead worker is \
             replaced by one new worker"
        );
        for i in 0..6 {
            check(t.call(|| pool.apply(i)), &after, i * i, &format!("apply({i}) after a crash"));
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&after, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// A worker killed from outside while idle is reaped and replaced: pids() no longer
    /// lists it, the pool has 3 live workers again, and map runs on them.
    fn a_killed_idle_worker_is_replaced() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let before = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        let victim = before[1];
        kill(Pid::from_raw(victim), Signal::SIGKILL).expect("the test could not kill a worker");
        wait_until_ended(victim);
        let after = t.real_workers(|| pool.pids(), 3, "after one idle worker was killed (SIGKILL)");
        assert!(
            !after.contains(&victim),
            "the worker {victim} was killed, yet pids() {after:?} still lists it: notice a \
             dead worker (its result pipe ends) and replace it"
        );
        assert!(
            !still_ours(victim),
            "the killed worker {victim} was replaced but never reaped: it is left a zombie"
        );
        let results = t.call(|| pool.map(0..9));
        match results {
            Ok(results) => {
                for (i, result) in results.into_iter().enumerate() {
                    let i = i as u64;
                    check_value(result, &after, i * i, &format!("map(0..9), job {i}"));
                }
            }
            Err(e) => panic!("map(0..9) after a worker was killed gave Err({e:?})"),
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&after, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// A job that panics gives JobPanicked with its message; its worker catches the panic
    /// and lives on (the same pids), and the next job runs.
    fn a_panicking_job_gives_job_panicked_and_keeps_its_worker() {
        let t = setup();
        let pool = t.pool(2);
        let _unblock = Unblock;
        let before = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        for round in 0..3 {
            match t.call(|| pool.apply(PANIC)) {
                Err(PoolError::JobPanicked(message)) => assert!(
                    message.contains(PANIC_MESSAGE),
                    "JobPanicked({message:?}) should carry the panic's message \
                     {PANIC_MESSAGE:?}"
                ),
                Err(PoolError::WorkerDied { pid, exitcode }) => panic!(
                    "apply(a job that panics), round {round}, gave WorkerDied {{ pid: {pid}, \
                     exitcode: {exitcode} }}: the panic ended the worker. Run the job under \
                     std::panic::catch_unwind in the worker and send back JobPanicked"
                ),
                other => panic!(
                    "apply(a job that panics), round {round}, gave {other:?}, expected \
                     Err(JobPanicked(message))"
                ),
            }
            let after = t.real_workers(|| pool.pids(), 2, "after a job panicked");
            assert_eq!(
                after, before,
                "a job panicked and the pool's workers changed: the panic must not end \
                 the worker"
            );
            check(t.call(|| pool.apply(5)), &before, 25, "apply(5) after a panic");
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&before, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// 3 workers held at a gate and 27 jobs queued behind them; close, then nothing new
    /// is accepted; the gate opens; join runs all 30 and reaps every worker.
    fn close_then_join_runs_every_queued_job_and_reaps_every_worker() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        let held: Vec<_> = (0..3u64)
            .map(|i| t.call(|| pool.apply_async(GATED | i)).expect("apply_async"))
            .collect();
        wait_until(|| page().started.load(Ordering::SeqCst) == 3);
        let queued: Vec<_> = (0..27u64)
            .map(|i| t.call(|| pool.apply_async(i)).expect("apply_async"))
            .collect();
        t.call(|| pool.close());
        assert_eq!(
            t.call(|| pool.apply_async(1)).err(),
            Some(PoolError::Closed),
            "apply_async after close()"
        );
        assert_eq!(t.call(|| pool.apply(1)), Err(PoolError::Closed), "apply after close()");
        assert_eq!(t.call(|| pool.map(0..3)), Err(PoolError::Closed), "map after close()");
        page().gate.store(1, Ordering::SeqCst);
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        for (i, result) in held.into_iter().enumerate() {
            let i = i as u64;
            check(t.call(|| result.get()), &pids, GATED | i, "a job running at close()");
        }
        for (i, result) in queued.into_iter().enumerate() {
            let i = i as u64;
            check(
                t.call(|| result.get()),
                &pids,
                i * i,
                &format!(
                    "queued job {i} (queued before close(); close only stops new jobs, the \
                     queued ones still run before join returns)"
                ),
            );
        }
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// join on an open pool is StillRunning (and the pool works on); after close, join
    /// is Ok, and so is a second join; terminate after join changes nothing.
    fn join_before_close_is_still_running() {
        let t = setup();
        let pool = t.pool(2);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        assert_eq!(
            t.call(|| pool.join()),
            Err(PoolError::StillRunning),
            "join() on an open pool (Python: join must come after close or terminate)"
        );
        check(t.call(|| pool.apply(4)), &pids, 16, "apply(4) after the refused join()");
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        assert_eq!(t.call(|| pool.join()), Ok(()), "a second join()");
        t.call(|| pool.terminate());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after join() and terminate()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// Both workers blocked inside jobs, 3 more jobs queued; terminate kills and reaps
    /// every worker at once: all 5 results are Terminated, join is Ok, and the pool takes
    /// no more jobs.
    fn terminate_kills_every_worker() {
        let t = setup();
        let pool = t.pool(2);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        let results: Vec<_> = [GATED, GATED | 1, 2, 3, 4]
            .into_iter()
            .map(|x| t.call(|| pool.apply_async(x)).expect("apply_async on an open pool"))
            .collect();
        wait_until(|| page().started.load(Ordering::SeqCst) == 2);
        t.call(|| pool.terminate());
        for &pid in &pids {
            if still_ours(pid) {
                let state = proc_state(pid).map(|(state, _)| state);
                panic!(
                    "after terminate(), the worker {pid} is still this process's child \
                     (state {state:?}; it was blocked inside a job that never ends): \
                     terminate kills every worker (SIGTERM) and reaps it"
                );
            }
        }
        for (i, result) in results.into_iter().enumerate() {
            let got = t.call(|| result.get());
            assert_eq!(
                got,
                Err(PoolError::Terminated),
                "job {i} of 5 (2 running, 3 queued when terminate() was called): its \
                 result must be Err(Terminated)"
            );
        }
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after terminate()");
        assert_eq!(
            t.call(|| pool.apply(1)),
            Err(PoolError::Closed),
            "apply after terminate()"
        );
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// A pool dropped without close or join, with 3 jobs running and 9 queued: the drop
    /// runs them all and reaps every worker; the results are still there afterwards.
    fn dropping_the_pool_leaves_no_process() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        let held: Vec<_> = (0..3u64)
            .map(|i| t.call(|| pool.apply_async(GATED | i)).expect("apply_async"))
            .collect();
        wait_until(|| page().started.load(Ordering::SeqCst) == 3);
        let queued: Vec<_> = (0..9u64)
            .map(|i| t.call(|| pool.apply_async(i)).expect("apply_async"))
            .collect();
        page().gate.store(1, Ordering::SeqCst);
        t.call(|| drop(pool));
        t.all_reaped(
            &pids,
            "the pool was dropped (a drop closes the pool, runs the queued jobs, and joins \
             every worker)",
        );
        for (i, result) in held.into_iter().enumerate() {
            let i = i as u64;
            check(t.call(|| result.get()), &pids, GATED | i, "a job running at the drop");
        }
        for (i, result) in queued.into_iter().enumerate() {
            let i = i as u64;
            check(
                t.call(|| result.get()),
                &pids,
                i * i,
                &format!("job {i}, queued when the pool was dropped"),
            );
        }
        t.finish();
    }
}

hidden_test! {
    /// No worker ever comes back into the caller's code: not those forked by Pool::new,
    /// nor one forked later to replace a crashed worker, when close + join ends them.
    fn no_worker_returns_into_the_caller() {
        let t = setup();
        let pool = t.pool(2);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        check(t.call(|| pool.apply(3)), &pids, 9, "apply(3)");
        let crash = t.call(|| pool.apply(CRASH));
        assert!(
            matches!(crash, Err(PoolError::WorkerDied { .. })),
            "apply(a job that calls abort()) gave {crash:?}, expected Err(WorkerDied {{ .. }})"
        );
        let after = t.real_workers(|| pool.pids(), 2, "after a job crashed its worker");
        check(t.call(|| pool.apply(4)), &after, 16, "apply(4) after a crash");
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.no_strays();
        t.all_reaped(&after, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// Two pools at once: the second one's workers are forked while the first one's pipes
    /// are open (they inherit copies of them). Joining the first pool still ends its
    /// workers at once, and the second pool works on.
    fn two_pools_are_independent() {
        let t = setup();
        let first = t.pool(2);
        let _unblock_first = Unblock;
        let first_pids = t.real_workers(|| first.pids(), 2, "right after the first Pool::new(2, job)");
        let second = t.pool(2);
        let _unblock_second = Unblock;
        let second_pids = t.real_workers(|| second.pids(), 2, "right after the second Pool::new(2, job)");
        check(t.call(|| first.apply(3)), &first_pids, 9, "the first pool's apply(3)");
        check(t.call(|| second.apply(4)), &second_pids, 16, "the second pool's apply(4)");
        t.call(|| first.close());
        // If the first pool's workers only stopped at the end of their job pipes, this
        // join would wait for the second pool's workers, which hold copies of those pipes.
        assert_eq!(t.call(|| first.join()), Ok(()), "join() on the first pool after close()");
        t.all_reaped(&first_pids, "close() and join() on the first pool");
        t.real_workers(|| second.pids(), 2, "after the first pool was joined");
        check(t.call(|| second.apply(5)), &second_pids, 25, "the second pool's apply(5)");
        t.call(|| second.close());
        assert_eq!(t.call(|| second.join()), Ok(()), "join() on the second pool after close()");
        t.all_reaped(&second_pids, "close() and join() on the second pool");
        t.call(|| drop(second));
        t.call(|| drop(first));
        t.finish();
    }
}

hidden_test! {
    /// A worker killed while idle, and the next job given before anything else looked at
    /// the pool: the job crashed nothing and never ran, so it runs on the dead worker's
    /// replacement and gives its value (a job that cannot be handed over goes back to the
    /// queue).
    fn a_job_given_to_a_worker_that_died_idle_runs_on_its_replacement() {
        let t = setup();
        let pool = t.pool(1);
        let _unblock = Unblock;
        let before = t.real_workers(|| pool.pids(), 1, "right after Pool::new(1, job)");
        let victim = before[0];
        kill(Pid::from_raw(victim), Signal::SIGKILL).expect("the test could not kill a worker");
        wait_until_ended(victim);
        let result = t.call(|| pool.apply(5));
        match &result {
            Ok((pid, 25)) if *pid != victim && *pid != t.me => {}
            other => panic!(
                "the pool's only worker ({victim}) was killed while idle, then apply(5) was \
                 called: it gave {other:?}, expected Ok((the new worker's pid, 25)). The job \
                 had not run, so its worker's death is not its failure: when a job cannot be \
                 handed to a worker (the write fails with EPIPE: the worker is gone), reap and \
                 replace the worker and give the job to the new one"
            ),
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// The caller has children of its own: two that have ended and wait to be collected,
    /// one still running. join reaps the pool's workers only (waitpid on their pids) and
    /// leaves the caller's for the caller.
    fn join_reaps_only_the_pools_own_workers() {
        let t = setup();
        let own = kata_testkit::busy::OwnChildren::new(&[21, 22], 1);
        let pool = t.pool(2);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        let result = t.call(|| pool.apply(3));
        check(result, &pids, 9, "apply(3)");
        t.call(|| pool.close());
        let joined = t.call(|| pool.join());
        own.check("close() and join() of a pool");
        assert_eq!(joined, Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        drop(own);
        t.finish();
    }
}

hidden_test! {
    /// map hands its jobs to all the workers at once: three jobs that each wait until all
    /// three have started finish on a pool of 3 (run one after the other, the first would
    /// wait for ever).
    fn map_runs_its_jobs_on_all_the_workers_at_once() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        // If this hangs, the grader's time limit ends it: map ran one job at a time.
        let results = t.call(|| pool.map(vec![MEET | 3; 3]));
        match results {
            Ok(results) => {
                assert_eq!(results.len(), 3, "map of 3 arguments gave {results:?}");
                for (i, result) in results.into_iter().enumerate() {
                    check_value(result, &pids, MEET | 3, &format!("map, job {i}"));
                }
            }
            Err(e) => panic!("map of three jobs that meet gave Err({e:?})"),
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// After close, queued jobs still run, even when a worker dies: the worker running a
    /// job is killed, its job gives WorkerDied, and the dead worker is replaced so that
    /// the job queued behind it runs.
    fn a_worker_that_dies_after_close_is_replaced_for_the_queued_jobs() {
        let t = setup();
        let pool = t.pool(1);
        let _unblock = Unblock;
        let before = t.real_workers(|| pool.pids(), 1, "right after Pool::new(1, job)");
        let victim = before[0];
        let running = t.call(|| pool.apply_async(GATED | 1)).expect("apply_async on an open pool");
        wait_until(|| page().started.load(Ordering::SeqCst) >= 1);
        let queued = t.call(|| pool.apply_async(5)).expect("apply_async on an open pool");
        t.call(|| pool.close());
        kill(Pid::from_raw(victim), Signal::SIGKILL).expect("the test could not kill a worker");
        wait_until_ended(victim);
        let first = t.call(|| running.get());
        assert!(
            matches!(first, Err(PoolError::WorkerDied { pid, exitcode: -9 }) if pid == victim),
            "the worker {victim} was killed (SIGKILL) in the middle of its job, after close(): \
             that job gave {first:?}, expected Err(WorkerDied {{ pid: {victim}, exitcode: -9 }})"
        );
        let second = t.call(|| queued.get());
        match &second {
            Ok((pid, 25)) if *pid != victim && *pid != t.me => {}
            other => panic!(
                "after close(), a job was queued behind the job whose worker was killed; it \
                 gave {other:?}, expected Ok((a new worker's pid, 25)). close() stops new \
                 jobs, not queued ones: a worker that dies is replaced as long as jobs wait"
            ),
        }
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// terminate fails the jobs that had not ended with Terminated, but a job whose result
    /// had already come back (ready() said so) keeps its value.
    fn terminate_keeps_the_results_that_had_come_back() {
        let t = setup();
        let pool = t.pool(2);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        let done = t.call(|| pool.apply_async(3)).expect("apply_async on an open pool");
        let stuck = t.call(|| pool.apply_async(GATED | 2)).expect("apply_async on an open pool");
        wait_until(|| t.call(|| done.ready()));
        wait_until(|| page().started.load(Ordering::SeqCst) >= 1);
        t.call(|| pool.terminate());
        t.all_reaped(&pids, "terminate()");
        let got = t.call(|| done.get());
        match &got {
            Ok((pid, 9)) if pids.contains(pid) => {}
            other => panic!(
                "the result of apply_async(3) had come back (ready() was true) before \
                 terminate(); then get() gave {other:?}, expected Ok((a worker's pid, 9)). \
                 terminate stops the jobs that have not ended; a result that is already back \
                 stays what it was"
            ),
        }
        let got = t.call(|| stuck.get());
        assert!(
            matches!(got, Err(PoolError::Terminated)),
            "a job still running when terminate() came gave {got:?}, expected \
             Err(Terminated)"
        );
        t.call(|| drop(pool));
        t.finish();
    }
}

/// Where the atexit handler below reports a worker that ran it (-1: nowhere).
static EXIT_MARK_FD: AtomicI32 = AtomicI32::new(-1);
static REGISTER: std::sync::Once = std::sync::Once::new();

extern "C" fn report_exit_of_a_copy() {
    let fd = EXIT_MARK_FD.load(Ordering::SeqCst);
    if fd >= 0 && in_child() {
        let pid = my_pid().to_ne_bytes();
        // SAFETY: writes our own buffer.
        unsafe { libc::write(fd, pid.as_ptr().cast(), pid.len()) };
    }
}

hidden_test! {
    /// The workers end with _exit: none runs the exit handlers of its copy of the caller,
    /// nor writes out the caller's pending output a second time (exit() and
    /// std::process::exit do both).
    fn workers_skip_the_callers_exit_handlers() {
        let t = setup();
        REGISTER.call_once(|| {
            // SAFETY: the handler only reads atomics and calls getpid and write.
            let registered = unsafe { libc::atexit(report_exit_of_a_copy) };
            assert_eq!(registered, 0, "the test could not register its atexit handler");
        });
        let (mark_read, mark_write) = nix::unistd::pipe().expect("the test could not create a pipe");
        EXIT_MARK_FD.store(std::os::fd::AsRawFd::as_raw_fd(&mark_write), Ordering::SeqCst);
        let pending = kata_testkit::busy::PendingOutput::start("pending;");
        let pool = t.pool(2);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 2, "right after Pool::new(2, job)");
        let results = t.call(|| pool.map(0..4));
        t.call(|| pool.close());
        let joined = t.call(|| pool.join());
        t.call(|| drop(pool));
        let out = pending.finish();
        EXIT_MARK_FD.store(-1, Ordering::SeqCst);
        drop(mark_write);
        let marks = kata_testkit::proc::read_to_end(mark_read);
        assert!(results.is_ok(), "map(0..4) gave {results:?}");
        assert_eq!(joined, Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        let who: Vec<i32> = marks
            .chunks_exact(4)
            .map(|pid| i32::from_ne_bytes(pid.try_into().unwrap()))
            .collect();
        assert!(
            who.is_empty(),
            "the workers {who:?} ran the caller's atexit handlers when they stopped: they \
             ended with exit() or std::process::exit, which run the exit-time cleanup of \
             their copy of the caller once more (buffered output is printed again, files \
             flushed again); end every worker with kata_sync::process::_exit"
        );
        let n = out.matches("c:pending;").count();
        assert_eq!(
            n,
            1,
            "the caller had \"c:pending;\" waiting in C's stdout buffer when it made the \
             pool; it came out {n} times (stdout: {out:?}). No worker may write out its copy \
             of the buffer: end every worker with _exit, which flushes nothing"
        );
        t.finish();
    }
}
