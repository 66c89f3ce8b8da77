//! Hidden proc suite of kata `fork_twice`: real forks, checked from outside the kata.
//!
//! The grader runs each test in a process of its own. Each test first makes that process a
//! child subreaper (prctl PR_SET_CHILD_SUBREAPER): a grandchild whose parent exits without
//! reaping it is then adopted by the test, not by init, so the test can see it.
//!
//! Every call goes through [`call`], which
//! - brackets it with two probe children: pids are handed out in increasing order (until
//!   they wrap around at pid_max), so a process forked during the call has a pid between
//!   the probes' pids;
//! - catches a child that comes back out of `fork_twice` into the test: such a child finds
//!   that `getpid()` changed, writes its pid into a pipe and leaves with `_exit` at once,
//!   so it never runs the rest of the test (nor the harness's proof of a pass). The test
//!   reads that pipe to its end, which comes only once every copy of its write end (those
//!   of all three kata children) is closed: the verdict does not depend on timing;
//! - then waits until every child of the test has ended (without collecting it), so that a
//!   process the kata did not reap is a zombie by the time the test checks it or ends.

use fork_twice::{fork_twice, ForkError, Report, Side};
use kata_harness::hidden_test;
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult, Pid};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

/// Exit status of a child that came back into the test and was sent away.
const STRAY_STATUS: i32 = 86;

use Side::{Child, Parent};

/// The four processes, in the documented order of the reports.
const ROLES: [(Side, Side); 4] = [
    (Parent, Parent),
    (Parent, Child),
    (Child, Parent),
    (Child, Child),
];

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

fn my_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

fn my_parent() -> i32 {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() }
}

/// Every test starts here. Children must be reaped by hand, not by an inherited
/// `SIGCHLD = SIG_IGN` (which would make the kernel reap them and waitpid fail); and the
/// test adopts the orphans of its descendants (see the module's doc).
fn setup() {
    // SAFETY: restoring the default action of SIGCHLD installs no handler.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag and changes only this process.
    let made = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    assert_eq!(made, 0, "the test could not make itself a child subreaper");
}

/// Writes all of `bytes` to `fd` with write(2) only: safe in a forked child.
fn raw_write(fd: RawFd, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for `bytes.len()` bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = &bytes[n as usize..];
        } else if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        } else {
            return;
        }
    }
}

/// Blocks until `child` has ended and collects it.
fn reap(child: Pid) {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// Forks a child that exits at once, reaps it, and returns its pid.
fn probe_pid() -> i32 {
    // SAFETY: the child calls only _exit.
    match unsafe { fork() }.expect("the test could not fork its probe process") {
        ForkResult::Child => unsafe { libc::_exit(0) },
        ForkResult::Parent { child } => {
            reap(child);
            child.as_raw()
        }
    }
}

/// Whether `pid` was handed out after `before` and before `after`.
fn forked_between(before: i32, pid: i32, after: i32) -> bool {
    if before < after {
        before < pid && pid < after
    } else {
        // The pids wrapped around pid_max in between.
        pid > before || (pid > 0 && pid < after)
    }
}

/// Reads `fd` to its end.
fn read_to_end(fd: OwnedFd) -> Vec<u8> {
    let mut bytes = Vec::new();
    File::from(fd)
        .read_to_end(&mut bytes)
        .expect("the test could not read its own pipe");
    bytes
}

/// State and parent of `pid` from /proc, if such a process exists.
fn proc_state(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The children of this process that /proc shows, with their states (zombies included).
fn my_children() -> Vec<(i32, char)> {
    let me = my_pid();
    std::fs::read_dir("/proc")
        .expect("the test could not list /proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter_map(|pid| match proc_state(pid) {
            Some((state, ppid)) if ppid == me => Some((pid, state)),
            _ => None,
        })
        .collect()
}

/// Waits until every child of this process that is still running has ended, without
/// collecting it. A child left unreaped is then a zombie, not a process on its way out
/// when the test ends (which the grader would count as left running). The marker pipe has
/// already shown that every kata process closed its descriptors: they are all exiting.
fn settle_children() {
    for (pid, state) in my_children() {
        if state == 'Z' {
            continue;
        }
        loop {
            match waitid(
                Id::Pid(Pid::from_raw(pid)),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
            ) {
                Err(Errno::EINTR) => continue,
                _ => break,
            }
        }
    }
}

/// Open descriptors of this process, with what each one is.
fn open_fds() -> Vec<(i32, String)> {
    let mut fds: Vec<(i32, String)> = std::fs::read_dir("/proc/self/fd")
        .expect("the test could not list /proc/self/fd")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            Some((fd, target))
        })
        .collect();
    fds.sort();
    fds
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
             (pid {me}): {reports:?}. Did it fork at all? Two forks make four processes, \
             and each of them reports",
            reports.len()
        );
        reports
    }

    /// The first report with these sides, if any.
    fn find(&self, first: Side, second: Side) -> Option<Report> {
        self.reports()
            .iter()
            .find(|r| r.first == first && r.second == second)
            .copied()
    }
}

/// Calls `fork_twice`, catching a child that returns from it (see the module's doc).
fn call() -> Call {
    let me = my_pid();
    let before = probe_pid();
    let (marker_read, marker_write) = pipe().expect("the test could not create a pipe");
    let result = std::panic::catch_unwind(fork_twice);
    if my_pid() != me {
        // A child came back into the test. Tell the test who, and leave at once:
        // nothing of the test or of the harness may run here.
        raw_write(marker_write.as_raw_fd(), &my_pid().to_ne_bytes());
        // SAFETY: ends this stray process at once.
        unsafe { libc::_exit(STRAY_STATUS) };
    }
    drop(marker_write);
    let marker = read_to_end(marker_read);
    settle_children();
    let strays = marker
        .chunks_exact(4)
        .map(|pid| i32::from_ne_bytes(pid.try_into().unwrap()))
        .collect();
    let after = probe_pid();
    let result = match result {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    };
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
            reap(Pid::from_raw(pid));
            Some(status)
        }
        Err(_) => None,
    }
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
                let n = reports
                    .iter()
                    .filter(|r| r.first == first && r.second == second)
                    .count();
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
            let order: Vec<(Side, Side)> = reports.iter().map(|r| (r.first, r.second)).collect();
            assert_eq!(
                order,
                ROLES,
                "the reports are not in the documented order, sorted by (first, second) \
                 with Parent before Child: {reports:?}"
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
            for report in reports.iter().filter(|r| (r.first, r.second) != (Parent, Parent)) {
                let pid = report.pid;
                let why = if pid == me {
                    ": that is the caller's pid. Was getpid() asked before a fork? Each \
                     process must ask for its own pid after both forks"
                } else {
                    ""
                };
                assert!(
                    pid > 0 && pid != me && forked_between(call.before, pid, call.after),
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
                let state = proc_state(child.pid);
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
            let left = my_children();
            for &(pid, _) in &left {
                reap(Pid::from_raw(pid));
            }
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

/// Where the atexit handler below reports a child that ran it (-1: nowhere).
static EXIT_MARK_FD: AtomicI32 = AtomicI32::new(-1);
/// The pid of the test's own process, in which the handler stays silent.
static TEST_PID: AtomicI32 = AtomicI32::new(0);
static REGISTER: Once = Once::new();

extern "C" fn report_exit_of_a_copy() {
    let fd = EXIT_MARK_FD.load(Ordering::SeqCst);
    if fd >= 0 && my_pid() != TEST_PID.load(Ordering::SeqCst) {
        raw_write(fd, &my_pid().to_ne_bytes());
    }
}

hidden_test! {
    /// The children end with _exit: none runs the exit handlers of its copy of the parent
    /// (which exit() and std::process::exit run, flushing the parent's stdio buffers a
    /// second time).
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
            let call = call();
            EXIT_MARK_FD.store(-1, Ordering::SeqCst);
            drop(mark_write);
            let marks = read_to_end(mark_read);
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
                 flushed again); end every child with libc::_exit",
                who.join(", ")
            );
        }
    }
}

hidden_test! {
    /// Ten calls leave exactly the descriptors that were open before.
    fn no_descriptor_is_left_open() {
        setup();
        let before = open_fds();
        for _ in 0..10 {
            call().reports();
        }
        let after = open_fds();
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
