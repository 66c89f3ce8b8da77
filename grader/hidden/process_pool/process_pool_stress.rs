//! Hidden stress suite of kata `process_pool`: many jobs, many crashes, many pools.
//!
//! The helpers are those of the proc suite (see its doc), from the test kit: a page of
//! memory shared with every worker, gates and rendezvous in it, `Test::call` to catch a
//! worker that comes back into the test, and a drop that kills and reaps any child left. No verdict
//! depends on timing: waits are for events, and the checks are on results, pids and the
//! process table.

use kata_harness::hidden_test;
// The job, its gates in the shared page, and the guard that opens them if a test fails.
use kata_testkit::proc::jobs::{
    job, wait_until, Unblock, BUSY, CRASH, GATED, MEET, PANIC, PANIC_MESSAGE,
};
use kata_testkit::proc::{children_of, page};
// The test's bookkeeping: its calls guarded, the workers checked, every child reaped.
use kata_testkit::process_pool::{check, check_value, PoolTest};
use process_pool::{Pool, PoolError};
use std::collections::HashSet;
use std::sync::atomic::Ordering;

type JobPool = Pool<u64, (i32, u64)>;

/// One test's bookkeeping (the kit's: see the module's doc), for pools of the kit's job.
type Test = PoolTest<JobPool, PoolError>;

fn setup() -> Test {
    PoolTest::new(|workers| Pool::new(workers, job as fn(u64) -> (i32, u64)))
}

/// `pids` as a set, for membership checks.
fn set(pids: &[i32]) -> HashSet<i32> {
    pids.iter().copied().collect()
}

hidden_test! {
    /// 3 workers, 6 jobs that wait at a gate: exactly 3 start, the pool still has 3
    /// workers, and the test exactly 3 children. Then 300 jobs that count how many run at
    /// once: never more than 3, all on the pool's workers.
    fn never_runs_more_jobs_than_workers() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        let gated: Vec<_> = (0..6u64)
            .map(|i| t.call(|| pool.apply_async(GATED | i)).expect("apply_async"))
            .collect();
        wait_until(|| page().started.load(Ordering::SeqCst) >= 3);
        t.real_workers(|| pool.pids(), 3, "with 6 jobs submitted to 3 busy workers");
        let children = children_of(t.me);
        assert_eq!(
            children.len(),
            3,
            "with 6 jobs submitted to a pool of 3, the test has the children {children:?}: \
             a pool never forks more than its workers; the other jobs wait in its queue"
        );
        let started = page().started.load(Ordering::SeqCst);
        assert_eq!(
            started, 3,
            "6 jobs that wait at a closed gate were submitted to a pool of 3 workers, and \
             {started} of them have started: each worker runs one job at a time"
        );
        page().gate.store(1, Ordering::SeqCst);
        for (i, result) in gated.into_iter().enumerate() {
            let i = i as u64;
            check(t.call(|| result.get()), &pids, GATED | i, "a gated job");
        }
        let results: Vec<_> = (0..300u64)
            .map(|i| t.call(|| pool.apply_async(BUSY | i)).expect("apply_async"))
            .collect();
        for (i, result) in results.into_iter().enumerate() {
            let i = i as u64;
            check(t.call(|| result.get()), &pids, BUSY | i, &format!("busy job {i}"));
        }
        let most = page().most.load(Ordering::SeqCst);
        assert!(
            most <= 3,
            "a pool of 3 workers ran {most} jobs at the same time: at most one per worker"
        );
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// 4 workers, 25 rounds of 4 jobs that can only finish together (a rendezvous): every
    /// round runs on 4 different workers at once.
    fn runs_as_many_jobs_at_once_as_workers() {
        let t = setup();
        let pool = t.pool(4);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 4, "right after Pool::new(4, job)");
        for round in 1..=25u64 {
            let all = MEET | (4 * round);
            let results: Vec<_> = (0..4)
                .map(|_| t.call(|| pool.apply_async(all)).expect("apply_async"))
                .collect();
            let mut ran_on = HashSet::new();
            for result in results {
                match t.call(|| result.get()) {
                    Ok((pid, x)) if x == all => {
                        ran_on.insert(pid);
                    }
                    other => panic!("round {round}: a rendezvous job gave {other:?}"),
                }
            }
            assert!(
                ran_on.is_subset(&set(&pids)) && ran_on.len() == 4,
                "round {round}: 4 jobs that meet at a rendezvous ran in {ran_on:?}, expected 4 \
                 different workers of {pids:?}"
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
    /// map over 3000 arguments on 4 workers, then 500 apply: every result is its own
    /// job's, in order, and ran on one of the 4 workers.
    fn three_thousand_small_jobs_in_order() {
        let t = setup();
        let pool = t.pool(4);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 4, "right after Pool::new(4, job)");
        let results = match t.call(|| pool.map(0..3000)) {
            Ok(results) => results,
            Err(e) => panic!("map(0..3000) gave Err({e:?}) (\"{e}\")"),
        };
        assert_eq!(results.len(), 3000, "map(0..3000) gave {} results", results.len());
        for (i, result) in results.into_iter().enumerate() {
            let i = i as u64;
            check_value(result, &pids, i * i, &format!("map(0..3000), result {i}"));
        }
        for i in 0..500u64 {
            check(t.call(|| pool.apply(i)), &pids, i * i, &format!("apply({i})"));
        }
        t.real_workers(|| pool.pids(), 4, "after 3500 jobs");
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// 50 jobs in a row crash their worker (abort): each gives WorkerDied with exit code
    /// -6, each dead worker is reaped (no zombie piles up) and replaced (always 3 live
    /// workers), and then 3 crashes and 30 good jobs at once all give their own results.
    fn fifty_crashes_in_a_row() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let mut pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        let mut all = set(&pids);
        for i in 0..50 {
            match t.call(|| pool.apply(CRASH)) {
                Err(PoolError::WorkerDied { pid, exitcode: -6 }) if pids.contains(&pid) => {}
                other => panic!(
                    "crash {i}: apply(a job that calls abort()) gave {other:?}, expected \
                     Err(WorkerDied {{ pid: one of {pids:?}, exitcode: -6 }})"
                ),
            }
            pids = t.real_workers(|| pool.pids(), 3, &format!("after {} crash(es)", i + 1));
            all.extend(pids.iter().copied());
            let zombies: Vec<i32> = children_of(t.me)
                .into_iter()
                .filter(|&(_, state)| state == 'Z')
                .map(|(pid, _)| pid)
                .collect();
            assert!(
                zombies.is_empty(),
                "after {} crash(es), the dead workers {zombies:?} are zombies: reap every \
                 worker that dies (waitpid)",
                i + 1
            );
        }
        assert_eq!(all.len(), 53, "3 workers and 50 replacements: 53 different pids");
        let crashes: Vec<_> = (0..3)
            .map(|_| t.call(|| pool.apply_async(CRASH)).expect("apply_async"))
            .collect();
        let good: Vec<_> = (0..30u64)
            .map(|i| t.call(|| pool.apply_async(i)).expect("apply_async"))
            .collect();
        for result in crashes {
            let got = t.call(|| result.get());
            assert!(
                matches!(got, Err(PoolError::WorkerDied { exitcode: -6, .. })),
                "a crashing job among good ones gave {got:?}"
            );
        }
        let now = t.real_workers(|| pool.pids(), 3, "after 53 crashes");
        for (i, result) in good.into_iter().enumerate() {
            let i = i as u64;
            check(
                t.call(|| result.get()),
                &now,
                i * i,
                &format!("good job {i}, submitted along with 3 crashing ones"),
            );
        }
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&now, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// 100 jobs panic: each gives JobPanicked, and the pool keeps the same 3 workers.
    fn a_hundred_panicking_jobs() {
        let t = setup();
        let pool = t.pool(3);
        let _unblock = Unblock;
        let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
        let results: Vec<_> = (0..100)
            .map(|_| t.call(|| pool.apply_async(PANIC)).expect("apply_async"))
            .collect();
        for (i, result) in results.into_iter().enumerate() {
            let got = t.call(|| result.get());
            assert!(
                matches!(&got, Err(PoolError::JobPanicked(m)) if m.contains(PANIC_MESSAGE)),
                "panicking job {i} gave {got:?}, expected Err(JobPanicked(\"{PANIC_MESSAGE}\"))"
            );
        }
        let after = t.real_workers(|| pool.pids(), 3, "after 100 panicking jobs");
        assert_eq!(
            after, pids,
            "100 jobs panicked and the pool's workers changed: a panic must not end a worker"
        );
        t.call(|| pool.close());
        assert_eq!(t.call(|| pool.join()), Ok(()), "join() after close()");
        t.all_reaped(&pids, "close() and join()");
        t.call(|| drop(pool));
        t.finish();
    }
}

hidden_test! {
    /// 20 pools of 3, one after the other, ended in turn by close + join, by a drop, by
    /// terminate, and by terminate while 3 jobs are blocked: after each, the test has no
    /// child left at all, running or zombie.
    fn twenty_pools_leave_no_process() {
        let t = setup();
        for n in 0..20 {
            let pool = t.pool(3);
            let _unblock = Unblock;
            let pids = t.real_workers(|| pool.pids(), 3, &format!("pool {n}: after Pool::new"));
            match t.call(|| pool.map(0..10)) {
                Ok(results) => {
                    for (i, result) in results.into_iter().enumerate() {
                        let i = i as u64;
                        check_value(result, &pids, i * i, &format!("pool {n}: map result {i}"));
                    }
                }
                Err(e) => panic!("pool {n}: map(0..10) gave Err({e:?})"),
            }
            let how = match n % 4 {
                0 => {
                    t.call(|| pool.close());
                    assert_eq!(t.call(|| pool.join()), Ok(()), "pool {n}: join() after close()");
                    t.call(|| drop(pool));
                    "close() and join()"
                }
                1 => {
                    t.call(|| drop(pool));
                    "the pool was dropped"
                }
                2 => {
                    t.call(|| pool.terminate());
                    t.call(|| drop(pool));
                    "terminate()"
                }
                _ => {
                    page().started.store(0, Ordering::SeqCst);
                    let held: Vec<_> = (0..3u64)
                        .map(|i| t.call(|| pool.apply_async(GATED | i)).expect("apply_async"))
                        .collect();
                    wait_until(|| page().started.load(Ordering::SeqCst) == 3);
                    t.call(|| pool.terminate());
                    for result in held {
                        assert_eq!(
                            t.call(|| result.get()),
                            Err(PoolError::Terminated),
                            "pool {n}: a job blocked when terminate() was called"
                        );
                    }
                    t.call(|| drop(pool));
                    "terminate() with every worker blocked in a job"
                }
            };
            t.all_reaped(&pids, &format!("pool {n}: {how}"));
            let left = children_of(t.me);
            assert!(
                left.is_empty(),
                "pool {n}: after {how}, the test still has the children (pid, state) {left:?}: \
                 no worker may outlive its pool"
            );
        }
        t.finish();
    }
}
