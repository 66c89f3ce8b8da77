//! A pool of worker processes, checked from outside: the bookkeeping of one test of the
//! process-pool suites (proc and stress).
//!
//! Every pool call goes through [`PoolTest::call`], which catches a worker that comes back
//! out of the pool into the test (its [`Family`]'s strays). The checks look at the pool
//! as the kernel sees it: the pids it gives are live children of the test
//! ([`PoolTest::real_workers`]), the workers it ended are reaped
//! ([`PoolTest::all_reaped`]), and nothing is left when the test is over
//! ([`PoolTest::finish`]). When a test ends, however it ends, the [`Family`]'s drop opens
//! every gate, then kills and reaps any child still there.
//!
//! The kit does not know the kata's types: a suite gives the constructor (`Pool::new` with
//! the kit's [`job`](crate::proc::jobs::job)), and any error type that prints. Every check
//! is `#[track_caller]`: a failure points at the test's line, not at the kit.
//!
//! ```ignore
//! use kata_testkit::process_pool::{check, PoolTest};
//!
//! type Test = PoolTest<Pool<u64, (i32, u64)>, PoolError>;
//! let t: Test = PoolTest::new(|workers| Pool::new(workers, job as fn(u64) -> (i32, u64)));
//! let pool = t.pool(3);
//! let pids = t.real_workers(|| pool.pids(), 3, "right after Pool::new(3, job)");
//! check(t.call(|| pool.apply(4)), &pids, 16, "apply(4)");
//! t.call(|| pool.close());
//! t.call(|| pool.join()).unwrap();
//! t.all_reaped(&pids, "close() and join()");
//! t.finish();
//! ```

use crate::proc::{children_of, my_pid, proc_state, still_ours, Family};
use std::collections::HashSet;
use std::fmt::{Debug, Display};

/// One test of a pool `P` whose constructor fails with `E`: see the module's doc.
pub struct PoolTest<P, E> {
    /// The test's pid.
    pub me: i32,
    /// Catches the strays; when the test ends, opens every gate, then kills and reaps
    /// every child left.
    family: Family,
    /// The suite's `Pool::new(workers, job)`.
    new_pool: fn(usize) -> Result<P, E>,
}

impl<P, E> PoolTest<P, E> {
    /// Starts a test: SIGCHLD to its default, the shared page mapped before the first fork
    /// (so that every worker shares it), the test's pid noted for `in_child`. `new_pool`
    /// is the suite's `Pool::new(workers, job)`, as [`PoolTest::pool`]'s message says.
    pub fn new(new_pool: fn(usize) -> Result<P, E>) -> Self {
        let family = Family::new();
        PoolTest {
            me: family.me,
            family,
            new_pool,
        }
    }

    /// Runs one call into the pool, catching a worker that comes back out of it.
    pub fn call<T>(&self, f: impl FnOnce() -> T) -> T {
        self.family.call(f)
    }

    /// A pool of `workers` made with `new_pool`, which must succeed.
    #[track_caller]
    pub fn pool(&self, workers: usize) -> P
    where
        E: Debug,
    {
        match self.call(|| (self.new_pool)(workers)) {
            Ok(pool) => pool,
            Err(e) => panic!("Pool::new({workers}, job) gave Err({e:?}), expected a pool"),
        }
    }

    /// `pids()` (the pool's), checked: `workers` distinct live children of the test.
    #[track_caller]
    pub fn real_workers(
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
    #[track_caller]
    pub fn no_strays(&self) {
        if let Some((pid, _)) = self.family.stray() {
            panic!(
                "the worker {pid} came back out of the pool into the test's code when its \
                 job pipe ended: it would have run the rest of the caller's program as a \
                 second copy. A worker's loop ends with libc::_exit: it never returns from \
                 the function that forked it"
            );
        }
    }

    /// Checks that every one of `pids` has been reaped.
    #[track_caller]
    pub fn all_reaped(&self, pids: &[i32], after: &str) {
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
    #[track_caller]
    pub fn finish(&self) {
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

/// Checks that `result`, a result of the kit's [`job`](crate::proc::jobs::job), is
/// `Ok((a pid in pids, expected))`.
#[track_caller]
pub fn check<E: Debug + Display>(
    result: Result<(i32, u64), E>,
    pids: &[i32],
    expected: u64,
    what: &str,
) {
    match result {
        Ok(value) => check_value(value, pids, expected, what),
        Err(e) => panic!("{what} gave Err({e:?}) (\"{e}\"), expected Ok"),
    }
}

/// Checks that `(pid, value)`, a value of the kit's [`job`](crate::proc::jobs::job) (one of
/// `map`'s), is `(a pid in pids, expected)`.
#[track_caller]
pub fn check_value((pid, value): (i32, u64), pids: &[i32], expected: u64, what: &str) {
    assert!(
        pids.contains(&pid),
        "{what} ran in process {pid}, which is not one of the pool's workers {pids:?}{}",
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
