//! Visible tests: run them with `cargo test -p fork_isolation`. The grader's hidden tests go
//! further (a child that returns into the caller, exit handlers, leaked descriptors, errors).

use fork_isolation::{fork_and_add, Observation, COUNTER};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// The tests share COUNTER, and cargo runs them on several threads: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Calls fork_and_add; a child that comes back out of it is stopped here, with a note.
fn call(parent_delta: i64, child_delta: i64) -> Observation {
    // SAFETY: getpid has no preconditions.
    let me = nix::unistd::getpid().as_raw();
    let result = fork_and_add(parent_delta, child_delta);
    if nix::unistd::getpid().as_raw() != me {
        let note = b"\n*** a child process returned from fork_and_add into the test: \
                     end the child with kata_sync::process::_exit(0) ***\n";
        // write and _exit are all a forked child of a threaded process may call.
        let _ = nix::unistd::write(std::io::stderr(), note);
        kata_sync::process::_exit(86);
    }
    result.unwrap_or_else(|e| panic!("fork_and_add({parent_delta}, {child_delta}) failed: {e}"))
}

fn assert_is_a_child(obs: &Observation) {
    assert!(
        obs.child_pid > 0 && obs.child_pid != nix::unistd::getpid().as_raw(),
        "child_pid {} is not a child's pid: return the pid fork() gave the parent",
        obs.child_pid
    );
}

#[test]
fn course_example_each_process_has_its_own_copy() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // num = 0; fork; the child adds 1 and prints 哈哈1---num=1, the parent adds 1 too and
    // prints 哈哈2---num=1.
    COUNTER.store(0, Ordering::SeqCst);
    let obs = call(1, 1);
    assert_eq!(obs.child_saw, 1, "the child added 1 to 0");
    assert_eq!(
        obs.parent_saw, 1,
        "the parent added 1 to its own copy, still 0 after the child's change"
    );
    assert_eq!(COUNTER.load(Ordering::SeqCst), 1, "the parent's COUNTER");
    assert_is_a_child(&obs);
}

#[test]
fn repeated_calls_change_only_the_parents_copy() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    COUNTER.store(100, Ordering::SeqCst);
    let first = call(1, 50);
    assert_eq!(
        (first.parent_saw, first.child_saw),
        (101, 150),
        "(parent_saw, child_saw) of fork_and_add(1, 50) with COUNTER at 100"
    );
    let second = call(1, 50);
    assert_eq!(
        (second.parent_saw, second.child_saw),
        (102, 151),
        "the first child's +50 must not survive into the parent"
    );
    assert_is_a_child(&first);
    assert_is_a_child(&second);
    assert_ne!(
        first.child_pid, second.child_pid,
        "each call forks a new child"
    );
}

#[test]
fn child_is_reaped() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let obs = call(2, 3);
    assert_is_a_child(&obs);
    let status = waitpid(Pid::from_raw(obs.child_pid), Some(WaitPidFlag::WNOHANG));
    assert_eq!(
        status,
        Err(Errno::ECHILD),
        "the child {} could still be waited for: waitpid() it before returning",
        obs.child_pid
    );
}
