//! Visible tests: run them with `cargo test -p fork_twice`. The grader's hidden tests go
//! further (real pids, the grandchild reaped, a child that returns into the caller, exit
//! handlers, leaked descriptors, errors).

use fork_twice::{fork_twice, Report, Side};
use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

fn my_pid() -> i32 {
    nix::unistd::getpid().as_raw()
}

/// Calls fork_twice; a child that comes back out of it is stopped here, with a note.
fn call() -> Vec<Report> {
    let me = my_pid();
    let result = fork_twice();
    if my_pid() != me {
        let note = b"\n*** a child process returned from fork_twice into the test: \
                     end every child with kata_sync::process::_exit ***\n";
        // write and _exit are all a forked child of a threaded process may call.
        let _ = nix::unistd::write(std::io::stderr(), note);
        kata_sync::process::_exit(86);
    }
    result.unwrap_or_else(|e| panic!("fork_twice() failed: {e}"))
}

fn sides(reports: &[Report]) -> Vec<(Side, Side)> {
    reports.iter().map(|r| (r.first, r.second)).collect()
}

#[test]
fn course_example_two_forks_make_four_processes() {
    // pid = os.fork(); 哈哈1 or 哈哈2; pid = os.fork(); 哈哈3 or 哈哈4: not 3 processes, 4.
    let reports = call();
    use Side::{Child, Parent};
    assert_eq!(
        sides(&reports),
        [
            (Parent, Parent),
            (Parent, Child),
            (Child, Parent),
            (Child, Child)
        ],
        "one report per process, sorted by (first, second): {reports:?}"
    );
    let mut pids: Vec<i32> = reports.iter().map(|r| r.pid).collect();
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 4, "four processes, four pids: {reports:?}");
}

#[test]
fn the_original_is_the_caller_and_the_parent_of_two() {
    let reports = call();
    assert_eq!(reports.len(), 4, "four reports: {reports:?}");
    let [original, second_child, first_child, grandchild] = [0, 1, 2, 3].map(|i| reports[i]);
    assert_eq!(
        original.pid,
        my_pid(),
        "(Parent, Parent) is the caller itself"
    );
    assert_eq!(
        first_child.ppid, original.pid,
        "the first fork's child is the original's child: {reports:?}"
    );
    assert_eq!(
        second_child.ppid, original.pid,
        "the original's second fork made its second child: {reports:?}"
    );
    assert_eq!(
        grandchild.ppid, first_child.pid,
        "the first child ran the second fork too: the grandchild is its child: {reports:?}"
    );
}

#[test]
fn the_originals_children_are_reaped() {
    let reports = call();
    assert_eq!(reports.len(), 4, "four reports: {reports:?}");
    for child in &reports[1..3] {
        let status = waitpid(Pid::from_raw(child.pid), Some(WaitPidFlag::WNOHANG));
        assert_eq!(
            status,
            Err(Errno::ECHILD),
            "the child {child:?} could still be waited for: waitpid() it before returning"
        );
    }
}
