//! Visible tests: run them with `cargo test -p thread_pool`. The grader's hidden tests go
//! further (loom tries every interleaving of a caller and its workers; stress tests push
//! hundreds of jobs, panics and rendezvous through real threads).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use thread_pool::{PoolError, ThreadPool};

#[test]
fn zero_workers_is_refused() {
    assert!(matches!(ThreadPool::new(0), Err(PoolError::ZeroWorkers)));
    assert_eq!(ThreadPool::new(3).unwrap().workers(), 3);
}

#[test]
fn apply_runs_on_a_worker_and_returns_the_value() {
    let pool = ThreadPool::new(2).unwrap();
    let caller = thread::current().id();
    let (value, worker) = pool.apply(|| (6 * 7, thread::current().id())).unwrap();
    assert_eq!(value, 42);
    assert_ne!(
        worker, caller,
        "the job ran on the caller's thread, not on a worker"
    );
}

#[test]
fn the_course_example_close_then_join() {
    // Python: po = Pool(3); po.apply_async(worker, (i,)) for i in 0..10; po.close(); po.join()
    let pool = ThreadPool::new(3).unwrap();
    let done = Arc::new(AtomicUsize::new(0));
    let caller = thread::current().id();
    let results: Vec<_> = (0..10)
        .map(|i| {
            let done = Arc::clone(&done);
            pool.apply_async(move || {
                done.fetch_add(1, Ordering::SeqCst);
                (i, thread::current().id())
            })
            .unwrap()
        })
        .collect();
    pool.close();
    assert_eq!(pool.join(), Ok(()));
    assert_eq!(
        done.load(Ordering::SeqCst),
        10,
        "join returned before every job had run"
    );
    for (i, result) in results.into_iter().enumerate() {
        assert!(result.ready());
        let (value, worker) = result.get().unwrap();
        assert_eq!(value, i);
        assert_ne!(worker, caller, "job {i} ran on the caller's thread");
    }
    assert_eq!(pool.execute(|| {}), Err(PoolError::Closed));
}

#[test]
fn workers_run_jobs_at_the_same_time() {
    // Three jobs that can only finish if all three are running at once.
    let pool = ThreadPool::new(3).unwrap();
    let caller = thread::current().id();
    let meet = Arc::new(Barrier::new(3));
    let results: Vec<_> = (0..3)
        .map(|_| {
            let meet = Arc::clone(&meet);
            pool.apply_async(move || {
                if thread::current().id() == caller {
                    return false; // on the caller's thread: waiting would hang this test
                }
                meet.wait();
                true
            })
            .unwrap()
        })
        .collect();
    for result in results {
        assert_eq!(result.get(), Ok(true), "a job ran on the caller's thread");
    }
}

#[test]
fn a_panicking_job_gives_job_panicked_and_the_worker_survives() {
    let pool = ThreadPool::new(1).unwrap();
    let caller = thread::current().id();
    let outcome = pool.apply(move || {
        if thread::current().id() != caller {
            panic!("this job panics on purpose");
        }
    });
    assert_eq!(outcome, Err(PoolError::JobPanicked));
    assert_eq!(
        pool.apply(|| 5),
        Ok(5),
        "the only worker died with the panic"
    );
}

#[test]
fn join_before_close_is_still_running() {
    let pool = ThreadPool::new(1).unwrap();
    assert_eq!(pool.join(), Err(PoolError::StillRunning));
    pool.terminate();
    assert_eq!(pool.join(), Ok(()));
}
