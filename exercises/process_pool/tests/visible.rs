//! Visible tests: run them with `cargo test -p process_pool`. The grader's hidden tests go
//! further (large messages, killed workers, panics, terminate, drop, a worker that returns
//! into the caller, many pools, thousands of jobs).

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use process_pool::{Pool, PoolError};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

/// A pool's workers must not be mistaken for another test's: one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn my_pid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// The test process's pid: a job compares it with its own to know where it runs.
static TEST_PID: AtomicI32 = AtomicI32::new(0);

/// The course's worker: (the pid it ran in, msg * msg). Argument 999 crashes the worker.
fn worker(msg: u64) -> (i32, u64) {
    if msg == 999 && my_pid() != TEST_PID.load(Ordering::SeqCst) {
        std::process::abort()
    }
    (my_pid(), msg * msg)
}

fn pool(workers: usize) -> Pool<u64, (i32, u64)> {
    TEST_PID.store(my_pid(), Ordering::SeqCst);
    let pool = Pool::new(workers, worker as fn(u64) -> (i32, u64)).expect("Pool::new");
    if my_pid() != TEST_PID.load(Ordering::SeqCst) {
        let note =
            b"\n*** a worker returned into the test: end it with kata_sync::process::_exit ***\n";
        let _ = nix::unistd::write(std::io::stderr(), note);
        kata_sync::process::_exit(86);
    }
    pool
}

fn reaped(pid: i32) -> bool {
    waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) == Err(Errno::ECHILD)
}

#[test]
fn course_example_apply_runs_in_the_workers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // po = Pool(3); for i in range(0, 10): po.apply(worker, (i,)); po.close(); po.join()
    let po = pool(3);
    let pids = po.pids();
    assert_eq!(
        pids.len(),
        3,
        "Pool::new(3, ..) forks 3 workers: pids() {pids:?}"
    );
    assert!(
        !pids.contains(&my_pid()),
        "pids() {pids:?} holds the test's own pid: the workers are forked children"
    );
    for i in 0..10 {
        let (pid, value) = po.apply(i).expect("apply");
        assert_eq!(value, i * i, "apply({i})");
        assert!(
            pids.contains(&pid),
            "apply({i}) ran in {pid}, not in a worker {pids:?}"
        );
    }
    po.close();
    po.join().expect("join after close");
    for pid in pids {
        assert!(
            reaped(pid),
            "after close and join, the worker {pid} was not reaped"
        );
    }
}

#[test]
fn apply_async_and_map_keep_each_result_with_its_job() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let po = pool(3);
    let pending: Vec<_> = (0..10)
        .map(|i| po.apply_async(i).expect("apply_async"))
        .collect();
    for (i, result) in pending.into_iter().enumerate().rev() {
        let i = i as u64;
        assert_eq!(
            result.get().expect("get").1,
            i * i,
            "apply_async({i}).get()"
        );
    }
    let squares: Vec<u64> = po
        .map(0..20)
        .expect("map")
        .into_iter()
        .map(|r| r.1)
        .collect();
    assert_eq!(
        squares,
        (0..20).map(|i| i * i).collect::<Vec<_>>(),
        "map(0..20), in order"
    );
    assert_eq!(po.join(), Err(PoolError::StillRunning), "join before close");
    po.close();
    assert_eq!(po.apply(1), Err(PoolError::Closed), "apply after close");
    po.join().expect("join after close");
}

#[test]
fn a_crashed_worker_is_replaced() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let po = pool(2);
    let before = po.pids();
    match po.apply(999) {
        Err(PoolError::WorkerDied { pid, exitcode }) => {
            assert!(before.contains(&pid), "WorkerDied names a worker");
            assert_eq!(exitcode, -6, "abort() is SIGABRT (6): exitcode -6");
        }
        other => panic!("a job that aborts crashes its worker: expected WorkerDied, got {other:?}"),
    }
    let after = po.pids();
    assert_eq!(
        after.len(),
        2,
        "the pool replaces a dead worker: pids() {after:?}"
    );
    assert_eq!(po.apply(5).expect("apply after a crash").1, 25);
    po.close();
    po.join().expect("join after close");
}
