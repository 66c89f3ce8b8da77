//! Hidden stress suite of kata `process_pool`: many jobs, many crashes, many pools.
//!
//! The helpers are those of the proc suite (see its doc): a page of memory shared with
//! every worker, gates and rendezvous in it, [`Test::call`] to catch a worker that comes
//! back into the test, and a drop that kills and reaps any child left. No verdict
//! depends on timing: waits are for events, and the checks are on results, pids and the
//! process table.

use kata_harness::hidden_test;
use kata_testkit::proc::{self, children_of, my_pid, proc_state, still_ours};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use process_pool::{Pool, PoolError};
use std::collections::HashSet;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

/// Exit status of a worker that came back into the test and was sent away.
const STRAY_STATUS: i32 = 86;

/// The test's own pid, set by [`setup`]: jobs compare it with theirs.
static TEST_PID: AtomicI32 = AtomicI32::new(0);

/// True in a worker, false when a job is run by the test's own process.
fn in_worker() -> bool {
    my_pid() != TEST_PID.load(Ordering::SeqCst)
}

fn pause() {
    // SAFETY: sleeps 200 microseconds.
    unsafe { libc::usleep(200) };
}

/// The page shared by the test and every process it forks.
#[repr(C)]
struct Page {
    strays: AtomicI32,
    stray_pid: AtomicI32,
    /// Gated jobs that have started (and wait at the gate).
    started: AtomicI32,
    /// Gated jobs wait until this is not 0.
    gate: AtomicI32,
    /// Jobs that have arrived at the rendezvous.
    arrived: AtomicI32,
    /// Busy jobs running right now, and the most that ever ran at once.
    running: AtomicI32,
    most: AtomicI32,
    /// Set when a test fails: waiting jobs give up, so that the pool can be joined.
    bail: AtomicI32,
}

/// Declared right after a pool, so dropped before it: if the test fails, it releases
/// every job waiting at a gate or a rendezvous, and the pool's drop can join its workers.
struct Unblock;

impl Drop for Unblock {
    fn drop(&mut self) {
        if std::thread::panicking() {
            page().bail.store(1, Ordering::SeqCst);
            page().gate.store(1, Ordering::SeqCst);
        }
    }
}

fn page() -> &'static Page {
    static PAGE: OnceLock<usize> = OnceLock::new();
    let addr = *PAGE.get_or_init(|| {
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            addr != libc::MAP_FAILED,
            "the test could not map its shared page"
        );
        addr as usize
    });
    // SAFETY: the mapping is zeroed, page-aligned, never unmapped, and Page is atomics only.
    unsafe { &*(addr as *const Page) }
}

/// Waits until `done()` (an event in another process), looking every 200 µs.
fn wait_until(mut done: impl FnMut() -> bool) {
    while !done() {
        pause();
    }
}

/// Job arguments with this bit set wait at the gate, then return themselves.
const GATED: u64 = 1 << 40;
/// `MEET | n`: the job arrives at the rendezvous and waits until `n` jobs in all have
/// arrived, then returns itself.
const MEET: u64 = 1 << 41;
/// `BUSY | x`: the job counts itself running for a moment, then returns itself.
const BUSY: u64 = 1 << 42;
/// This argument makes the job abort (SIGABRT): it crashes its worker.
const CRASH: u64 = u64::MAX;
/// This argument makes the job panic.
const PANIC: u64 = u64::MAX - 1;
const PANIC_MESSAGE: &str = "a hidden test's job panics on purpose";

/// The pool's function in most tests: (the pid it ran in, x * x), or see the constants.
fn job(x: u64) -> (i32, u64) {
    if !in_worker() {
        return (my_pid(), x.wrapping_mul(x));
    }
    match x {
        CRASH => {
            // SAFETY: ends the worker with SIGABRT.
            unsafe { libc::abort() }
        }
        PANIC => resume_unwind(Box::new(PANIC_MESSAGE.to_string())),
        _ if x & MEET != 0 => {
            let page = page();
            page.arrived.fetch_add(1, Ordering::SeqCst);
            let all = (x & !MEET) as i32;
            wait_until(|| {
                page.arrived.load(Ordering::SeqCst) >= all || page.bail.load(Ordering::SeqCst) != 0
            });
            (my_pid(), x)
        }
        _ if x & BUSY != 0 => {
            let page = page();
            let now = page.running.fetch_add(1, Ordering::SeqCst) + 1;
            page.most.fetch_max(now, Ordering::SeqCst);
            for _ in 0..3 {
                pause();
            }
            page.running.fetch_sub(1, Ordering::SeqCst);
            (my_pid(), x)
        }
        _ if x & GATED != 0 => {
            let page = page();
            page.started.fetch_add(1, Ordering::SeqCst);
            wait_until(|| page.gate.load(Ordering::SeqCst) != 0);
            (my_pid(), x)
        }
        _ => (my_pid(), x * x),
    }
}

type JobPool = Pool<u64, (i32, u64)>;

/// One test's bookkeeping: see the module's doc.
struct Test {
    me: i32,
}

fn setup() -> Test {
    proc::setup(); // SIGCHLD to its default: children are reaped by hand
    page(); // mapped before the first fork, so that every worker shares it
    TEST_PID.store(my_pid(), Ordering::SeqCst);
    Test { me: my_pid() }
}

impl Test {
    /// Runs one call into the pool, catching a worker that comes back out of it.
    fn call<T>(&self, f: impl FnOnce() -> T) -> T {
        let result = catch_unwind(AssertUnwindSafe(f));
        if my_pid() != self.me {
            let page = page();
            page.stray_pid.store(my_pid(), Ordering::SeqCst);
            page.strays.fetch_add(1, Ordering::SeqCst);
            // SAFETY: ends this stray process at once.
            unsafe { libc::_exit(STRAY_STATUS) };
        }
        match result {
            Ok(value) => value,
            Err(panic) => resume_unwind(panic),
        }
    }

    fn pool(&self, workers: usize) -> JobPool {
        match self.call(|| Pool::new(workers, job as fn(u64) -> (i32, u64))) {
            Ok(pool) => pool,
            Err(e) => panic!("Pool::new({workers}, job) gave Err({e:?}), expected a pool"),
        }
    }

    /// `pids()` (the pool's), checked: `workers` distinct live children of the test.
    fn real_workers(
        &self,
        pids: impl FnOnce() -> Vec<i32>,
        workers: usize,
        when: &str,
    ) -> Vec<i32> {
        let pids = self.call(pids);
        assert!(
            !pids.contains(&self.me),
            "{when}, pids() {pids:?} holds the test's own pid {}: a pool forks its worker \
             processes when it is created (Pool::new), and pids() gives theirs",
            self.me
        );
        let distinct: HashSet<i32> = pids.iter().copied().collect();
        assert!(
            pids.len() == workers && distinct.len() == workers,
            "{when}, a pool of {workers} workers has pids() {pids:?}: it must always have \
             {workers} distinct workers (a worker that dies is replaced)"
        );
        for &pid in &pids {
            match proc_state(pid) {
                Some((state, ppid)) if ppid == self.me && state != 'Z' => {}
                Some((state, ppid)) if ppid == self.me => panic!(
                    "{when}, pids() {pids:?} holds {pid}, a worker that has exited (state \
                     {state}): pids() gives the live workers; a dead one is reaped and \
                     replaced"
                ),
                Some((_, ppid)) => panic!(
                    "{when}, pids() {pids:?} holds {pid}, whose parent is {ppid}, not the \
                     test ({}): the workers are the children the pool forked",
                    self.me
                ),
                None => panic!(
                    "{when}, pids() {pids:?} holds {pid}, but no such process exists: \
                     pids() gives the pids fork() returned for the live workers"
                ),
            }
        }
        pids
    }

    /// Panics if a worker came back out of the pool into the test.
    fn no_strays(&self) {
        let page = page();
        if page.strays.load(Ordering::SeqCst) > 0 {
            let pid = page.stray_pid.load(Ordering::SeqCst);
            panic!(
                "the worker {pid} came back out of the pool into the test's code when its \
                 job pipe ended: it would have run the rest of the caller's program as a \
                 second copy. A worker's loop ends with libc::_exit: it never returns from \
                 the function that forked it"
            );
        }
    }

    /// Checks that every one of `pids` has been reaped.
    fn all_reaped(&self, pids: &[i32], after: &str) {
        self.no_strays();
        for &pid in pids {
            if still_ours(pid) {
                let state = proc_state(pid).map(|(state, _)| state);
                panic!(
                    "after {after}, the worker {pid} is still this process's child (state \
                     {state:?}, Z is a zombie): every worker must have exited and been \
                     reaped with waitpid"
                );
            }
        }
    }

    /// The end of a test that passed so far: no stray, no child left, running or zombie.
    fn finish(&self) {
        self.no_strays();
        let left = children_of(self.me);
        assert!(
            left.is_empty(),
            "the test is over and its pools were joined, terminated or dropped, yet child \
             process(es) (pid, state) {left:?} are left (Z: a zombie, never reaped): no \
             worker may outlive its pool"
        );
    }
}

impl Drop for Test {
    /// Kills and reaps whatever child is left, so that no test leaves a process behind.
    fn drop(&mut self) {
        page().gate.store(1, Ordering::SeqCst);
        for (pid, _) in children_of(self.me) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }
}

/// Checks that `result` is `(a pid in pids, expected)`.
fn check(result: Result<(i32, u64), PoolError>, pids: &[i32], expected: u64, what: &str) {
    match result {
        Ok((pid, value)) => {
            assert!(
                pids.contains(&pid),
                "{what} ran in process {pid}, which is not one of the pool's workers \
                 {pids:?}{}",
                if pid == my_pid() {
                    " but the test's own process: the job must run in a worker"
                } else {
                    ""
                }
            );
            assert_eq!(
                value, expected,
                "{what} gave {value}, expected {expected}: each result belongs to its own job"
            );
        }
        Err(e) => panic!("{what} gave Err({e:?}) (\"{e}\"), expected Ok"),
    }
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
            check(Ok(result), &pids, i * i, &format!("map(0..3000), result {i}"));
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
                        check(Ok(result), &pids, i * i, &format!("pool {n}: map result {i}"));
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
