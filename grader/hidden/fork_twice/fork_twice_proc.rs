//! Hidden proc suite of kata `fork_twice`: real forks, checked from outside the kata.
//!
//! The grader runs each test in a process of its own. Each test first makes that process a
//! child subreaper (prctl PR_SET_CHILD_SUBREAPER): a grandchild whose parent exits without
//! reaping it is then adopted by the test, not by init, so the test can see it.
//!
//! Every call goes through `kata_testkit::proc::guarded`, bracketed by two probe children
//! (a process forked during the call has a pid between theirs), which catches a child that
//! comes back out of `fork_twice` into the test (it is sent away at once, before it can run
//! any of the test) and waits until every child has ended, without collecting it.
//!
//! Four processes write into one pipe. The ordinary calls run under
//! `kata_testkit::fault::one_writer_at_a_time`: one process writes at a time, so a report
//! written in pieces still arrives whole and only the test that is about mixing sees it
//! mix; that test runs under `writers_meet`, where two processes always write at the same
//! moment. Error paths are made to happen: a process killed at the write of its report, a
//! second fork refused (EAGAIN) in the first child or in the original. The caller's world is
//! made busy with `kata_testkit::busy`: children of its own, output pending in its buffers.

use fork_twice::{fork_twice, ForkError, Report, Side};
use kata_harness::hidden_test;
use kata_testkit::proc::{self, STRAY_STATUS};
use kata_testkit::{busy, fault};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{pipe, Pid};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

use proc::{my_parent, my_pid};
use Side::{Child, Parent};

/// The four processes, in the documented order of the reports.
const ROLES: [(Side, Side); 4] = [
    (Parent, Parent),
    (Parent, Child),
    (Child, Parent),
    (Child, Child),
];

/// Whether two sides are the same (by pattern: never the kata's own `==`).
fn same(a: Side, b: Side) -> bool {
    matches!((a, b), (Parent, Parent) | (Child, Child))
}

/// Whether `report` has these sides.
fn is(report: &Report, first: Side, second: Side) -> bool {
    same(report.first, first) && same(report.second, second)
}

/// Who the process with these sides is, in words.
fn role(first: Side, second: Side) -> &'static str {
    match (first, second) {
        (Parent, Parent) => "the original (first: Parent, second: Parent)",
        (Parent, Child) => "the original's second child (first: Parent, second: Child)",
        (Child, Parent) => "the first child (first: Child, second: Parent)",
        (Child, Child) => "the grandchild (first: Child, second: Child)",
    }
}

fn role_of(report: &Report) -> &'static str {
    role(report.first, report.second)
}

/// A report, for a message.
fn shown(r: &Report) -> String {
    let side = |s: Side| match s {
        Parent => "Parent",
        Child => "Child",
    };
    format!(
        "Report {{ pid: {}, ppid: {}, first: {}, second: {} }}",
        r.pid,
        r.ppid,
        side(r.first),
        side(r.second)
    )
}

fn shown_all(reports: &[Report]) -> String {
    let all: Vec<String> = reports.iter().map(shown).collect();
    format!("[{}]", all.join(", "))
}

fn shown_result(result: &Result<Vec<Report>, ForkError>) -> String {
    match result {
        Ok(reports) => format!("Ok({})", shown_all(reports)),
        Err(e) => format!("Err({e:?})"),
    }
}

/// Every test starts here. Children must be reaped by hand (SIGCHLD to its default), and
/// the test adopts the orphans of its descendants (see the module's doc).
fn setup() {
    proc::setup();
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and changes only this process.
    let made = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(made, 0, "the test could not make itself a child subreaper");
}

/// One guarded call of `fork_twice`.
struct Call {
    result: Result<Vec<Report>, ForkError>,
    /// Pids of the children that came back out of `fork_twice` into the test.
    strays: Vec<i32>,
    /// Pids of the probes forked just before and just after the call.
    before: i32,
    after: i32,
}

impl Call {
    /// The reports, after checking that the call returned them and forked at all.
    fn reports(&self) -> &[Report] {
        let reports = match &self.result {
            Ok(reports) => reports,
            Err(e) => panic!("fork_twice() returned the error {e:?} (\"{e}\")"),
        };
        let me = my_pid();
        assert!(
            reports.iter().any(|r| r.pid != me),
            "fork_twice() returned {} report(s), none from a process other than the caller \
             (pid {me}): {}. Did it fork at all? Two forks make four processes, and each of \
             them reports",
            reports.len(),
            shown_all(reports)
        );
        reports
    }

    /// The first report with these sides, if any.
    fn find(&self, first: Side, second: Side) -> Option<Report> {
        self.reports().iter().find(|r| is(r, first, second)).copied()
    }
}

/// Calls `fork_twice` with one writer at a time (see the module's doc), guarded.
fn call() -> Call {
    let before = proc::probe_pid();
    let ((result, strays), _) = fault::one_writer_at_a_time(|| proc::guarded(fork_twice));
    let after = proc::probe_pid();
    Call {
        result,
        strays,
        before,
        after,
    }
}

/// Whether `pid` is (still) a child of this process: not yet reaped, or adopted.
/// Collects it if so, so that nothing is left behind.
fn still_mine(pid: i32) -> Option<WaitStatus> {
    if pid <= 0 || pid == my_pid() {
        return None;
    }
    match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
        Ok(status) => {
            let _ = proc::reap(pid);
            Some(status)
        }
        Err(_) => None,
    }
}

/// The caller's children left after a call (pid, state), all reaped now.
fn leftovers() -> Vec<(i32, char)> {
    let left = proc::children_of(my_pid());
    proc::kill_and_reap_children();
    left
}

hidden_test! {
    /// One report per process: four, with four pids, each (first, second) once, in order.
    fn two_forks_make_four_processes() {
        setup();
        for _ in 0..2 {
            let call = call();
            let reports = call.reports();
            let why = if reports.len() == 3 {
                ". Three is the course's trap (2 forks, 3 processes?): the second fork runs \
                 in both processes the first fork left, the original and its first child, \
                 so the first child forks too and has a child of its own"
            } else {
                ""
            };
            assert_eq!(
                reports.len(),
                4,
                "fork_twice() returned {} reports, expected one from each of the four \
                 processes: {reports:?}{why}",
                reports.len()
            );
            for (first, second) in ROLES {
                let n = reports.iter().filter(|r| is(r, first, second)).count();
                assert_eq!(
                    n,
                    1,
                    "{n} of the reports came from {}, expected exactly one: {reports:?}. \
                     Each process records which way each fork went for it (Child where \
                     fork returned 0)",
                    role(first, second)
                );
            }
            for (i, a) in reports.iter().enumerate() {
                for b in &reports[i + 1..] {
                    assert_ne!(
                        a.pid,
                        b.pid,
                        "{} and {} both reported pid {}: {reports:?}. Four processes have \
                         four pids; each must ask getpid() itself, after both forks (a pid \
                         read before a fork is that of the process it was copied from)",
                        role_of(a),
                        role_of(b),
                        a.pid
                    );
                }
            }
            let in_order = reports
                .iter()
                .zip(ROLES)
                .all(|(r, (first, second))| is(r, first, second));
            assert!(
                in_order,
                "the reports are not in the documented order, sorted by (first, second) \
                 with Parent before Child: {}",
                shown_all(reports)
            );
        }
    }
}

hidden_test! {
    /// The original's report is the caller itself; the three others are processes forked
    /// during the call, new ones at every call.
    fn every_pid_is_a_real_process() {
        setup();
        let me = my_pid();
        let mut seen: Vec<i32> = Vec::new();
        for _ in 0..3 {
            let call = call();
            let reports = call.reports();
            let original = call.find(Parent, Parent).unwrap_or_else(|| {
                panic!(
                    "no report from the original (first: Parent, second: Parent), the caller \
                     itself: {reports:?}"
                )
            });
            assert_eq!(
                (original.pid, original.ppid),
                (me, my_parent()),
                "the original's report says (pid, ppid) = ({}, {}), but the caller of \
                 fork_twice() has pid {me} and ppid {}: the original is the caller itself",
                original.pid,
                original.ppid,
                my_parent()
            );
            for report in reports.iter().filter(|r| !is(r, Parent, Parent)) {
                let pid = report.pid;
                let why = if pid == me {
                    ": that is the caller's pid. Was getpid() asked before a fork? Each \
                     process must ask for its own pid after both forks"
                } else {
                    ""
                };
                assert!(
                    pid > 0 && pid != me && proc::forked_between(call.before, pid, call.after),
                    "{} reported pid {pid}, but no process with that pid was forked during \
                     the call (the pids handed out just before and just after it were {} and \
                     {}){why}: {reports:?}",
                    role_of(report),
                    call.before,
                    call.after
                );
                assert!(
                    !seen.contains(&pid),
                    "{} reported pid {pid}, the pid of a process from an earlier call: every \
                     call forks new processes",
                    role_of(report)
                );
                seen.push(pid);
            }
        }
    }
}

hidden_test! {
    /// The original is the parent of its two children; the first child is the parent of
    /// the grandchild, and stays so until the grandchild has ended.
    fn parent_links_are_right() {
        setup();
        let me = my_pid();
        for _ in 0..2 {
            let call = call();
            let reports = call.reports();
            let first_child = call.find(Child, Parent);
            if let Some(grandchild) = call.find(Child, Child) {
                let parent = first_child.map(|r| r.pid).unwrap_or(0);
                if let Some(status) = still_mine(grandchild.pid) {
                    panic!(
                        "the grandchild (pid {}) was orphaned: its parent, the first child \
                         (pid {parent}), exited without waiting for it, so the grandchild was \
                         adopted (here by the caller, which the test made a subreaper; \
                         normally by init), and the caller collected it ({status:?}). Once \
                         orphaned, its getppid() names its adopter, not its parent. The \
                         first child must waitpid() the grandchild before its own _exit: \
                         {reports:?}",
                        grandchild.pid
                    );
                }
                let why = if grandchild.ppid == me {
                    ": that is the original. The grandchild was made by the first child's \
                     fork (the second fork ran in the first child too), so its parent is \
                     the first child. Each process must ask getppid() itself, after both \
                     forks"
                } else {
                    ""
                };
                assert!(
                    first_child.is_some() && grandchild.ppid == parent,
                    "the grandchild reported ppid {}, expected the first child's pid {}{why}: \
                     {reports:?}",
                    grandchild.ppid,
                    first_child.map_or("(no report from the first child)".to_string(), |r| r
                        .pid
                        .to_string())
                );
            }
            for (first, second) in [(Child, Parent), (Parent, Child)] {
                if let Some(child) = call.find(first, second) {
                    assert_eq!(
                        child.ppid,
                        me,
                        "{} reported ppid {}, expected the original's pid {me} (the caller \
                         of fork_twice): one of the original's two forks made it: \
                         {reports:?}",
                        role(first, second),
                        child.ppid
                    );
                }
            }
        }
    }
}

hidden_test! {
    /// After the call every process is gone: the original reaped its two children, the
    /// first child reaped the grandchild, and no zombie is left.
    fn every_process_is_reaped() {
        setup();
        let me = my_pid();
        for _ in 0..2 {
            let call = call();
            let reports = call.reports();
            for (first, second) in [(Parent, Child), (Child, Parent)] {
                let Some(child) = call.find(first, second) else {
                    continue;
                };
                let state = proc::proc_state(child.pid);
                if let Some(status) = still_mine(child.pid) {
                    let seen = match state {
                        Some((state, ppid)) if ppid == me => {
                            format!(" (/proc/{}/stat showed it in state {state})", child.pid)
                        }
                        _ => String::new(),
                    };
                    let why = if first == Child {
                        " The course's program keeps one `pid` variable, and the second \
                         fork overwrites the first child's pid in it: keep both pids"
                    } else {
                        ""
                    };
                    panic!(
                        "after fork_twice() returned, {} (pid {}) was still the caller's to \
                         reap{seen}: waitpid(pid, WNOHANG) gave {status:?}, not ECHILD. The \
                         original must waitpid() both of its children before returning, or \
                         they stay zombies.{why} {reports:?}",
                        role(first, second),
                        child.pid
                    );
                }
            }
            if let Some(grandchild) = call.find(Child, Child) {
                if let Some(status) = still_mine(grandchild.pid) {
                    let parent = call
                        .find(Child, Parent)
                        .map_or("?".to_string(), |r| r.pid.to_string());
                    panic!(
                        "the grandchild (pid {}) was never reaped by its parent, the first \
                         child (pid {parent}): when the first child exited, the grandchild \
                         was orphaned and adopted (here by the caller, which the test made a \
                         subreaper; normally by init), and the caller collected it \
                         ({status:?}). The first child must waitpid() the grandchild before \
                         its own _exit: {reports:?}",
                        grandchild.pid
                    );
                }
            }
            let left = leftovers();
            assert!(
                left.is_empty(),
                "after fork_twice() returned, the caller still had children (pid, state): \
                 {left:?}; every process fork_twice makes must be reaped: {reports:?}"
            );
        }
    }
}

hidden_test! {
    /// fork_twice returns once, in the original: no child comes back into the caller.
    fn children_never_return_into_the_caller() {
        setup();
        let me = my_pid();
        for _ in 0..3 {
            let call = call();
            if !call.strays.is_empty() {
                let who: Vec<String> = call
                    .strays
                    .iter()
                    .map(|&pid| {
                        let report = call
                            .result
                            .as_ref()
                            .ok()
                            .and_then(|reports| reports.iter().find(|r| r.pid == pid));
                        match report {
                            Some(report) => format!("{} (pid {pid})", role_of(report)),
                            None => format!("pid {pid}"),
                        }
                    })
                    .collect();
                panic!(
                    "fork_twice() returned more than once: in the original (pid {me}) and in \
                     {}, which came back into the caller's code and would have run the rest \
                     of it as more copies of the program. Every child must end with \
                     libc::_exit once its part is done (the first child after reaping the \
                     grandchild): never return",
                    who.join(", ")
                );
            }
            call.reports();
            assert_eq!(my_pid(), me, "getpid() changed across fork_twice()");
        }
    }
}

hidden_test! {
    /// The caller has children of its own: two that have ended and wait to be collected,
    /// one still running. fork_twice reaps its own processes only (waitpid on the pids fork
    /// returned), and leaves the caller's for the caller. Its children are held back at
    /// their exit for a moment (the test kit's supervisor lets them go once nothing else
    /// happens), so that the original reaps while they still run: a wait for "any child"
    /// would then take one of the caller's.
    fn only_its_own_children_are_reaped() {
        setup();
        let own = busy::OwnChildren::new(&[21, 22], 1);
        let ((result, strays), _) = fault::supervised(
            &[libc::SYS_exit_group],
            |n, _| {
                if n.from_caller {
                    fault::Reply::Continue
                } else {
                    fault::Reply::Hold
                }
            },
            || proc::guarded(fork_twice),
        );
        let left: Vec<(i32, char)> = proc::children_of(my_pid())
            .into_iter()
            .filter(|(pid, _)| !own.pids().contains(pid))
            .collect();
        for &(pid, _) in &left {
            let _ = proc::reap(pid);
        }
        assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
        own.check("fork_twice()");
        assert!(
            matches!(&result, Ok(reports) if reports.len() == 4),
            "fork_twice() returned {}, expected the four reports",
            shown_result(&result)
        );
        assert!(
            left.is_empty(),
            "with children of its own waiting to be collected, the caller called \
             fork_twice(): afterwards it still had the children (pid, state) {left:?} of \
             fork_twice. Each parent reaps exactly the children it forked, with waitpid on \
             their pids: {}",
            shown_result(&result)
        );
    }
}

/// `fork_twice()` whose grandchild is killed at the write of its report: the result, the
/// children that came back, the pids killed. Until then the children's exits are held
/// back, so that the grandchild's parent is still alive when it writes (were the first
/// child gone, the grandchild would be adopted by the test, and could not be told apart).
fn grandchild_dies_before_reporting() -> (Result<Vec<Report>, ForkError>, Vec<i32>, Vec<i32>) {
    let me = my_pid();
    // Room made now: the policy may not allocate (only a child's ppid is looked up, in
    // /proc, while the caller's thread is not stopped).
    let mut killed: Vec<i32> = Vec::with_capacity(fault::HELD_MAX);
    let ((result, strays), _) = fault::supervised(
        &[libc::SYS_write, libc::SYS_exit_group],
        |n, desk| {
            if n.from_caller {
                return fault::Reply::Continue;
            }
            if n.nr == libc::SYS_exit_group {
                return if killed.is_empty() {
                    fault::Reply::Hold
                } else {
                    fault::Reply::Continue
                };
            }
            // The grandchild: a process of the call whose parent is not the caller.
            if fault::writes_to_a_pipe(n) && n.ppid().is_some_and(|ppid| ppid != me) {
                if killed.len() < killed.capacity() {
                    killed.push(n.pid);
                }
                desk.release_all();
                return fault::Reply::Kill;
            }
            fault::Reply::Continue
        },
        || proc::guarded(fork_twice),
    );
    assert!(
        !killed.is_empty(),
        "the test meant to kill the grandchild at the write of its report, but no process \
         whose parent is not the caller wrote into a pipe: {}",
        shown_result(&result)
    );
    (result, strays, killed)
}

hidden_test! {
    /// A process dies before it reports (the grandchild, killed at the write of its
    /// report): fork_twice returns Err(ShortRead { got }) with fewer than 40 bytes, at once.
    fn a_process_that_dies_before_reporting_gives_short_read() {
        setup();
        for _ in 0..2 {
            let (result, strays, killed) = grandchild_dies_before_reporting();
            leftovers();
            assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
            match result {
                Err(ForkError::ShortRead { got }) if got < 40 => {}
                other => panic!(
                    "the grandchild (pid {killed:?}) was killed before it wrote its report, so \
                     three reports of four came: fork_twice() returned {}, expected \
                     Err(ForkError::ShortRead {{ got }}) with got < 40",
                    shown_result(&other)
                ),
            }
        }
    }
}

hidden_test! {
    /// A process dies before it reports: fork_twice fails, and still every process is
    /// reaped (the original reaps both its children, the first child the grandchild).
    fn a_process_that_dies_before_reporting_leaves_no_zombie() {
        setup();
        for _ in 0..2 {
            let (result, _, killed) = grandchild_dies_before_reporting();
            let left = leftovers();
            assert!(
                left.is_empty(),
                "the grandchild (pid {killed:?}) died before its report and fork_twice() \
                 returned {}; afterwards the caller still had the children (pid, state) \
                 {left:?} (Z: a zombie). The original reaps both its children even when the \
                 read failed: waitpid first, then return the error",
                shown_result(&result)
            );
        }
    }
}

hidden_test! {
    /// The second fork fails in the first child (EAGAIN): that child cannot return an
    /// error (it is not the caller), so it _exits without a report; the original gets
    /// Err(ShortRead { got }), every process is reaped, and no child comes back.
    fn a_second_fork_that_fails_in_the_first_child_gives_short_read() {
        setup();
        let before = proc::probe_pid();
        let ((result, strays), refused) = fault::children_cannot_fork(|| proc::guarded(fork_twice));
        let after = proc::probe_pid();
        let left = leftovers();
        assert!(
            refused > 0,
            "the test refused the forks of fork_twice's children, but none of them forked \
             ({}; probes {before}, {after})",
            shown_result(&result)
        );
        if let Some(stray) = strays.first() {
            panic!(
                "the first child's second fork failed (EAGAIN), and the first child (pid \
                 {stray}) came back into the caller's code (with the error?): it would run the \
                 rest of the caller's program as a second copy. A child cannot hand an error \
                 to the caller: it _exits without a report"
            );
        }
        match result {
            Err(ForkError::ShortRead { got }) if got < 40 => {}
            other => panic!(
                "the first child's second fork failed (EAGAIN), so the first child could not \
                 report and there is no grandchild: fork_twice() returned {}, expected \
                 Err(ForkError::ShortRead {{ got }}) with got < 40",
                shown_result(&other)
            ),
        }
        assert!(
            left.is_empty(),
            "the first child's second fork failed; afterwards the caller still had the \
             children (pid, state) {left:?} (Z: a zombie): the original reaps both its \
             children even when the read failed"
        );
    }
}

hidden_test! {
    /// The second fork fails in the original (EAGAIN; the first child's fails too): the
    /// original reaps its first child and returns Err(ForkError::Fork(EAGAIN)); no child
    /// comes back into the caller and none is left.
    fn a_second_fork_that_fails_in_the_original_gives_a_fork_error() {
        setup();
        let mut forks = 0usize;
        let ((result, strays), _) = fault::supervised(
            &fault::FORK_CALLS,
            |n, _| {
                if n.from_caller {
                    forks += 1;
                    if forks == 1 {
                        return fault::Reply::Continue;
                    }
                }
                fault::Reply::Fail(Errno::EAGAIN)
            },
            || proc::guarded(fork_twice),
        );
        let left = leftovers();
        assert!(
            forks >= 2,
            "the test meant to refuse the original's second fork, but the original forked \
             {forks} time(s): {}",
            shown_result(&result)
        );
        if let Some(stray) = strays.first() {
            panic!(
                "the second fork failed everywhere (EAGAIN), and a child (pid {stray}) came \
                 back into the caller's code: only the original may return; the first child \
                 _exits without a report"
            );
        }
        match result {
            Err(ForkError::Fork(Errno::EAGAIN)) => {}
            other => panic!(
                "the original's second fork failed with EAGAIN: fork_twice() returned {}, \
                 expected Err(ForkError::Fork(EAGAIN))",
                shown_result(&other)
            ),
        }
        assert!(
            left.is_empty(),
            "the original's second fork failed and fork_twice() returned its error; the \
             caller still had the children (pid, state) {left:?} (Z: a zombie): before \
             returning the error, the original reaps the first child it did fork"
        );
    }
}

/// `fault::writers_meet`, with the children's exits held back until the four reports
/// have been written: every process is alive while the others ask getppid() (a process
/// whose parent had exited would be adopted by the test, and report it as its parent).
fn writers_meet_children_kept<T: Send>(body: impl FnOnce() -> T + Send) -> (T, usize) {
    let mut met = 0usize;
    let mut writes = 0usize;
    let (value, _) = fault::supervised(
        &[libc::SYS_write, libc::SYS_exit_group],
        |n, desk| {
            if n.nr == libc::SYS_exit_group {
                return if n.from_caller || writes >= 4 {
                    fault::Reply::Continue
                } else {
                    fault::Reply::Hold
                };
            }
            if !fault::writes_to_a_pipe(n) {
                return fault::Reply::Continue;
            }
            writes += 1;
            if writes >= 4 {
                // Every report is in: let the held exits go (held writes go with the next
                // writer, as below).
                while let Some(exit) =
                    desk.held().iter().find(|h| h.nr == libc::SYS_exit_group).copied()
                {
                    desk.release(exit.id);
                }
            }
            match desk
                .held()
                .iter()
                .find(|h| h.nr == libc::SYS_write && h.pid != n.pid)
                .copied()
            {
                Some(other) => {
                    met += 1;
                    desk.release(other.id);
                    fault::Reply::Continue
                }
                None => fault::Reply::Hold,
            }
        },
        body,
    );
    (value, met)
}

hidden_test! {
    /// Two processes write their reports at the same moment, every time: the reports still
    /// arrive whole (each is one write of at most PIPE_BUF bytes), and make up the family.
    fn reports_never_mix_when_written_at_the_same_moment() {
        setup();
        let me = my_pid();
        for round in 0..5 {
            let before = proc::probe_pid();
            let ((result, strays), met) = writers_meet_children_kept(|| proc::guarded(fork_twice));
            let after = proc::probe_pid();
            leftovers();
            assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
            let reports = match result {
                Ok(reports) => reports,
                Err(e) => panic!("round {round}: fork_twice() returned Err({e:?}) (\"{e}\")"),
            };
            assert!(met > 0, "round {round}: no two processes ever wrote at the same moment");
            let find = |first, second| reports.iter().find(|r| is(r, first, second)).copied();
            let whole = reports.len() == 4
                && reports.iter().zip(ROLES).all(|(r, (f, s))| is(r, f, s))
                && find(Parent, Parent).is_some_and(|r| r.pid == me && r.ppid == my_parent())
                && [(Parent, Child), (Child, Parent)].iter().all(|&(f, s)| {
                    find(f, s).is_some_and(|r| {
                        r.ppid == me && proc::forked_between(before, r.pid, after)
                    })
                })
                && find(Child, Child).is_some_and(|r| {
                    proc::forked_between(before, r.pid, after)
                        && find(Child, Parent).is_some_and(|p| p.pid == r.ppid)
                });
            assert!(
                whole,
                "round {round}: the processes wrote their reports at the same moment, two by \
                 two, and fork_twice() returned {}: not the four processes' reports (the \
                 original {me} with ppid {}, its two children, the grandchild). Were the \
                 reports written in pieces (several write calls)? Pieces of different \
                 processes mix in the pipe; one write of at most PIPE_BUF (4096) bytes never \
                 does: write each report with one write",
                shown_all(&reports),
                my_parent()
            );
        }
    }
}

/// Where the atexit handler below reports a child that ran it (-1: nowhere).
static EXIT_MARK_FD: AtomicI32 = AtomicI32::new(-1);
/// The pid of the test's own process, in which the handler stays silent.
static TEST_PID: AtomicI32 = AtomicI32::new(0);
static REGISTER: Once = Once::new();

extern "C" fn report_exit_of_a_copy() {
    let fd = EXIT_MARK_FD.load(Ordering::SeqCst);
    if fd >= 0 && my_pid() != TEST_PID.load(Ordering::SeqCst) {
        proc::raw_write(fd, &my_pid().to_ne_bytes());
    }
}

hidden_test! {
    /// The children end with _exit: none runs the exit handlers of its copy of the parent,
    /// nor writes out the parent's pending output a second time (exit() and
    /// std::process::exit do both).
    fn children_skip_the_parents_exit_handlers() {
        setup();
        TEST_PID.store(my_pid(), Ordering::SeqCst);
        REGISTER.call_once(|| {
            // SAFETY: the handler only reads atomics and calls getpid and write.
            let registered = unsafe { libc::atexit(report_exit_of_a_copy) };
            assert_eq!(registered, 0, "the test could not register its atexit handler");
        });
        for _ in 0..2 {
            let (mark_read, mark_write) = pipe().expect("the test could not create a pipe");
            EXIT_MARK_FD.store(mark_write.as_raw_fd(), Ordering::SeqCst);
            let pending = busy::PendingOutput::start("pending;");
            let call = call();
            let out = pending.finish();
            EXIT_MARK_FD.store(-1, Ordering::SeqCst);
            drop(mark_write);
            let marks = proc::read_to_end(mark_read);
            let reports = call.reports();
            let who: Vec<String> = marks
                .chunks_exact(4)
                .map(|pid| {
                    let pid = i32::from_ne_bytes(pid.try_into().unwrap());
                    match reports.iter().find(|r| r.pid == pid) {
                        Some(report) => format!("{} (pid {pid})", role_of(report)),
                        None => format!("pid {pid}"),
                    }
                })
                .collect();
            assert!(
                marks.is_empty(),
                "children ran the atexit handlers of their copies of the parent: {}. They \
                 ended with exit() or std::process::exit, which run the parent's exit-time \
                 cleanup once more in every copy (buffered output is printed again, files \
                 flushed again); end every child with kata_sync::process::_exit",
                who.join(", ")
            );
            for text in ["rust:pending;", "c:pending;"] {
                let n = out.matches(text).count();
                assert_eq!(
                    n,
                    1,
                    "the caller had {text:?} waiting in its stdout buffer when it called \
                     fork_twice(); it came out {n} times (stdout: {out:?}). No child may write \
                     out its copy of the buffer: end every child with _exit, which flushes \
                     nothing"
                );
            }
        }
    }
}

hidden_test! {
    /// Ten calls leave exactly the descriptors that were open before.
    fn no_descriptor_is_left_open() {
        setup();
        let before = proc::open_fds();
        for _ in 0..10 {
            call().reports();
        }
        let after = proc::open_fds();
        let new: Vec<String> = after
            .iter()
            .filter(|fd| !before.contains(fd))
            .map(|(fd, target)| format!("{fd} -> {target}"))
            .collect();
        assert!(
            after.len() <= before.len(),
            "{} descriptors were open before 10 calls of fork_twice() and {} after: {} left \
             open by the calls, new: {new:?}. The original must close both ends of its \
             pipe: the write end once its own report is in, the read end once the four \
             reports are read",
            before.len(),
            after.len(),
            after.len() - before.len()
        );
    }
}

hidden_test! {
    /// With no descriptor left, pipe() fails: fork_twice returns ForkError::Pipe(EMFILE),
    /// whose message names pipe.
    fn pipe_failure_is_reported_as_a_pipe_error() {
        setup();
        // The ForkError type is a std::error::Error, and each variant names its call.
        fn as_error(e: &ForkError) -> &dyn std::error::Error {
            e
        }
        for (error, name) in [
            (ForkError::Pipe(Errno::EMFILE), "pipe"),
            (ForkError::Fork(Errno::EAGAIN), "fork"),
            (ForkError::Read(Errno::EIO), "read"),
            (ForkError::ShortRead { got: 3 }, "read"),
            (ForkError::Waitpid(Errno::ECHILD), "waitpid"),
        ] {
            let text = as_error(&error).to_string();
            assert!(
                text.to_lowercase().contains(name),
                "ForkError::{error:?} displays as \"{text}\", which does not name the call \
                 that failed ({name})"
            );
        }

        let me = my_pid();
        // The lowest free descriptor number becomes the limit: no new descriptor fits.
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit failed");
        let lowest_free = File::open("/dev/null")
            .expect("the test could not open /dev/null")
            .as_raw_fd();
        setrlimit(Resource::RLIMIT_NOFILE, lowest_free as libc::rlim_t, hard)
            .expect("setrlimit failed");
        let result = std::panic::catch_unwind(fork_twice);
        if my_pid() != me {
            // SAFETY: a child that came back into the test leaves at once.
            unsafe { libc::_exit(STRAY_STATUS) };
        }
        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("setrlimit failed");
        let result = match result {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match result {
            Err(ForkError::Pipe(Errno::EMFILE)) => {}
            Err(ForkError::Pipe(errno)) => panic!(
                "with every descriptor in use, fork_twice() returned ForkError::Pipe({errno:?}): \
                 pipe() fails with EMFILE there; pass on the errno it gave"
            ),
            other => panic!(
                "with every descriptor in use (RLIMIT_NOFILE reached), pipe() fails with \
                 EMFILE, yet fork_twice() returned {other:?}: it must return \
                 Err(ForkError::Pipe(EMFILE)) from the failing pipe() call"
            ),
        }
    }
}
