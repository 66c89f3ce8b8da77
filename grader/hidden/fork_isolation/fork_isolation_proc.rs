//! Hidden proc suite of kata `fork_isolation`: real forks, checked from outside the kata.
//!
//! The grader runs each test in a process of its own; each test also stands alone (it
//! measures COUNTER relative to its value before the call).
//!
//! Every call goes through [`call`], which
//! - proves the child was real: pids are handed out in increasing order (until they wrap
//!   around at pid_max), so a child forked during the call has a pid between those of two
//!   probe children the test forks just before and just after it;
//! - catches a child that comes back out of `fork_and_add` into the test: such a child
//!   finds that `getpid()` changed, writes its pid into a pipe and leaves with `_exit` at
//!   once, so it never runs the rest of the test (nor the harness's proof of a pass). The
//!   parent reads that pipe to its end, which comes only once every copy of its write end,
//!   the kata child's included, is closed: the verdict does not depend on timing.

use fork_isolation::{fork_and_add, ForkError, Observation, COUNTER};
use kata_harness::hidden_test;
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, pipe, ForkResult, Pid};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

/// Exit status of a child that came back into the test and was sent away.
const STRAY_STATUS: i32 = 86;

fn my_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// Every test starts here: children must be reaped by hand, not by an inherited
/// `SIGCHLD = SIG_IGN` (which would make the kernel reap them and waitpid fail).
fn setup() {
    // SAFETY: restoring the default action of SIGCHLD installs no handler.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
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

/// One guarded call of `fork_and_add`.
struct Call {
    parent_delta: i64,
    child_delta: i64,
    result: Result<Observation, ForkError>,
    /// The pid of a child that came back out of `fork_and_add` into the test.
    stray: Option<i32>,
    /// Pids of the probes forked just before and just after the call.
    before: i32,
    after: i32,
}

impl Call {
    fn text(&self) -> String {
        format!("fork_and_add({}, {})", self.parent_delta, self.child_delta)
    }

    /// The observation, after checking that it names a child forked during the call.
    fn real(&self) -> Observation {
        let call = self.text();
        let obs = match self.result {
            Ok(obs) => obs,
            Err(e) => panic!("{call} returned the error {e:?} (\"{e}\")"),
        };
        let pid = obs.child_pid;
        assert!(
            pid > 0,
            "{call} returned child_pid {pid}, which is nobody's pid: did it fork at all? \
             The parent must return the pid that fork() gave it"
        );
        assert_ne!(
            pid,
            my_pid(),
            "{call} returned child_pid {pid}, the caller's own pid (getpid()): return the \
             child's pid, the one fork() gave the parent"
        );
        assert!(
            forked_between(self.before, pid, self.after),
            "{call} returned child_pid {pid}, but no process with that pid was forked \
             during the call (the pids handed out just before and just after it were {} \
             and {}): return the pid that fork() gave the parent",
            self.before,
            self.after
        );
        obs
    }
}

/// Calls `fork_and_add`, catching a child that returns from it (see the module's doc).
fn call(parent_delta: i64, child_delta: i64) -> Call {
    let me = my_pid();
    let before = probe_pid();
    let (marker_read, marker_write) = pipe().expect("the test could not create a pipe");
    let result = std::panic::catch_unwind(|| fork_and_add(parent_delta, child_delta));
    if my_pid() != me {
        // A child came back into the test. Tell the parent who, and leave at once:
        // nothing of the test or of the harness may run here.
        raw_write(marker_write.as_raw_fd(), &my_pid().to_ne_bytes());
        // SAFETY: ends this stray process at once.
        unsafe { libc::_exit(STRAY_STATUS) };
    }
    drop(marker_write);
    let marker = read_to_end(marker_read);
    let stray = marker
        .get(..4)
        .map(|pid| i32::from_ne_bytes(pid.try_into().unwrap()));
    let after = probe_pid();
    let result = match result {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    Call {
        parent_delta,
        child_delta,
        result,
        stray,
        before,
        after,
    }
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

hidden_test! {
    /// The pid in the observation is that of a real child, forked during the call.
    fn child_is_a_real_forked_process() {
        setup();
        let me = my_pid();
        let mut pids = Vec::new();
        for (p, c) in [(1, 2), (3, 4), (5, 6)] {
            let call = call(p, c);
            let obs = call.real();
            assert!(
                !pids.contains(&obs.child_pid),
                "{} returned child_pid {}, the same as an earlier call: every call forks a \
                 new child",
                call.text(),
                obs.child_pid
            );
            pids.push(obs.child_pid);
        }
        assert_eq!(my_pid(), me, "getpid() changed across fork_and_add");
    }
}

hidden_test! {
    /// After the call the child is gone: reaped by the parent, not left a zombie.
    fn child_is_reaped() {
        setup();
        let me = my_pid();
        for (p, c) in [(2, 5), (7, 1)] {
            let call = call(p, c);
            let pid = call.real().child_pid;
            let state = proc_state(pid);
            let status = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
            if status == Ok(WaitStatus::StillAlive) {
                reap(Pid::from_raw(pid));
            }
            let seen = match state {
                Some((state, ppid)) if ppid == me => {
                    format!(", and /proc/{pid}/stat shows it in state {state}")
                }
                _ => String::new(),
            };
            assert_eq!(
                status,
                Err(Errno::ECHILD),
                "after {} returned, waitpid(child_pid {pid}, WNOHANG) gave {status:?}, not \
                 ECHILD: the child was still this process's to reap{seen}. The parent must \
                 waitpid() its child before returning, or the child stays a zombie",
                call.text()
            );
            if let Some((state, ppid)) = proc_state(pid) {
                assert!(
                    ppid != me,
                    "after {} returned, /proc/{pid} still shows a child of this process, in \
                     state {state}: the parent must reap its child before returning",
                    call.text()
                );
            }
        }
    }
}

hidden_test! {
    /// fork_and_add returns once, in the parent: the child never comes back into the caller.
    fn child_never_returns_into_the_caller() {
        setup();
        let me = my_pid();
        for (p, c) in [(1, 1), (4, 9), (-2, 3)] {
            let call = call(p, c);
            if let Some(stray) = call.stray {
                panic!(
                    "{} returned twice: in the parent (pid {me}) and in the child (pid \
                     {stray}), which came back into the caller's code and would have run the \
                     rest of it as a second copy of the program. The child must end with \
                     libc::_exit(0) right after writing its value: never return from \
                     fork_and_add",
                    call.text()
                );
            }
            call.real();
            assert_eq!(my_pid(), me, "getpid() changed across fork_and_add");
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
        raw_write(fd, b"E");
    }
}

hidden_test! {
    /// The child ends with _exit: it runs none of the exit handlers of its copy of the
    /// parent (which exit() and std::process::exit run, flushing the parent's stdio
    /// buffers a second time).
    fn child_skips_the_parents_exit_handlers() {
        setup();
        TEST_PID.store(my_pid(), Ordering::SeqCst);
        REGISTER.call_once(|| {
            // SAFETY: the handler only reads atomics and calls getpid and write.
            let registered = unsafe { libc::atexit(report_exit_of_a_copy) };
            assert_eq!(registered, 0, "the test could not register its atexit handler");
        });
        for (p, c) in [(3, 8), (1, -6)] {
            let (mark_read, mark_write) = pipe().expect("the test could not create a pipe");
            EXIT_MARK_FD.store(mark_write.as_raw_fd(), Ordering::SeqCst);
            let call = call(p, c);
            EXIT_MARK_FD.store(-1, Ordering::SeqCst);
            drop(mark_write);
            let marks = read_to_end(mark_read);
            call.real();
            assert!(
                marks.is_empty(),
                "the child of {} ran the atexit handlers of its copy of the parent: it \
                 ended with exit() or std::process::exit. Those run the parent's exit-time \
                 cleanup a second time (buffered output is printed twice, files flushed \
                 twice); end the child with libc::_exit(0)",
                call.text()
            );
        }
    }
}

hidden_test! {
    /// The child's change does not reach the parent: only parent_delta is added there.
    fn parent_counter_sees_only_its_own_delta() {
        setup();
        let before = COUNTER.load(Ordering::SeqCst);
        let call = call(5, 1000);
        let obs = call.real();
        let now = COUNTER.load(Ordering::SeqCst);
        let why = if now == before + 5 + 1000 {
            ": the child's +1000 reached the parent's COUNTER. After fork each process has \
             its own copy of every global; the parent must add only its own delta and never \
             take over the child's value"
        } else {
            ""
        };
        assert_eq!(
            now,
            before + 5,
            "COUNTER was {before}; after {} the parent's COUNTER is {now}, expected \
             {before} + 5{why}",
            call.text()
        );
        assert_eq!(
            obs.parent_saw, now,
            "{} returned parent_saw {}, but the parent's COUNTER is {now}: parent_saw is \
             the parent's COUNTER right after it added parent_delta",
            call.text(),
            obs.parent_saw
        );
    }
}

hidden_test! {
    /// The child sees the value from before the fork plus its own delta, nothing else.
    fn child_sees_only_its_own_delta() {
        setup();
        let before = COUNTER.load(Ordering::SeqCst);
        let call = call(1000, 7);
        let obs = call.real();
        let why = if obs.child_saw == before + 1000 + 7 {
            ": the child saw the parent's +1000, so the parent added its delta before the \
             fork. The parent adds only after fork (after reaping the child), so the change \
             stays in its own copy"
        } else if obs.child_saw == before {
            ": that is COUNTER before the child's +7. The child must add first, then send \
             the value it sees"
        } else {
            ""
        };
        assert_eq!(
            obs.child_saw,
            before + 7,
            "COUNTER was {before} when {} was called, and the child reported {}, expected \
             {before} + 7{why}",
            call.text(),
            obs.child_saw
        );
    }
}

hidden_test! {
    /// Five calls in a row: the parent's COUNTER accumulates the parent deltas only, and
    /// each child starts from the parent's value at its fork.
    fn repeated_calls_accumulate_only_in_the_parent() {
        setup();
        let start = COUNTER.load(Ordering::SeqCst);
        let mut parent = start;
        for (i, (p, c)) in [(1, 10), (2, 20), (-3, 30), (4, -40), (5, 50)]
            .into_iter()
            .enumerate()
        {
            let call = call(p, c);
            let obs = call.real();
            assert_eq!(
                obs.child_saw,
                parent + c,
                "call {} of 5, {}: the parent's COUNTER was {parent} at the fork (it started \
                 at {start}), so the child should see {parent} + {c}, yet it reported {}. \
                 Each child gets a copy of the parent's COUNTER as it is at the fork, and \
                 adds only its own delta",
                i + 1,
                call.text(),
                obs.child_saw
            );
            parent += p;
            let now = COUNTER.load(Ordering::SeqCst);
            assert_eq!(
                now,
                parent,
                "call {} of 5, {}: the parent's COUNTER is {now}, expected {parent}: only \
                 the parent deltas accumulate in the parent",
                i + 1,
                call.text()
            );
            assert_eq!(
                obs.parent_saw,
                parent,
                "call {} of 5, {} returned parent_saw {}, expected {parent}",
                i + 1,
                call.text(),
                obs.parent_saw
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
            call(1, 1).real();
        }
        let after = open_fds();
        let new: Vec<String> = after
            .iter()
            .filter(|fd| !before.contains(fd))
            .map(|(fd, target)| format!("{fd} -> {target}"))
            .collect();
        assert!(
            after.len() <= before.len(),
            "{} descriptors were open before 10 calls of fork_and_add(1, 1) and {} after: \
             {} left open by the calls, new: {new:?}. The parent must close both ends of \
             its pipe: the write end right after fork, the read end once the value is read",
            before.len(),
            after.len(),
            after.len() - before.len()
        );
    }
}

hidden_test! {
    /// With no descriptor left, pipe() fails: fork_and_add returns ForkError::Pipe(EMFILE),
    /// whose message names pipe, and changes nothing.
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
        let before = COUNTER.load(Ordering::SeqCst);
        // The lowest free descriptor number becomes the limit: no new descriptor fits.
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).expect("getrlimit failed");
        let lowest_free = File::open("/dev/null")
            .expect("the test could not open /dev/null")
            .as_raw_fd();
        setrlimit(Resource::RLIMIT_NOFILE, lowest_free as libc::rlim_t, hard)
            .expect("setrlimit failed");
        let result = std::panic::catch_unwind(|| fork_and_add(4, 9));
        if my_pid() != me {
            // SAFETY: a child that came back into the test leaves at once.
            unsafe { libc::_exit(STRAY_STATUS) };
        }
        setrlimit(Resource::RLIMIT_NOFILE, soft, hard).expect("setrlimit failed");
        let result = match result {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        let now = COUNTER.load(Ordering::SeqCst);
        match result {
            Err(ForkError::Pipe(Errno::EMFILE)) => {}
            Err(ForkError::Pipe(errno)) => panic!(
                "with every descriptor in use, fork_and_add(4, 9) returned \
                 ForkError::Pipe({errno:?}): pipe() fails with EMFILE there; pass on the \
                 errno it gave"
            ),
            other => panic!(
                "with every descriptor in use (RLIMIT_NOFILE reached), pipe() fails with \
                 EMFILE, yet fork_and_add(4, 9) returned {other:?}: it must return \
                 Err(ForkError::Pipe(EMFILE)) from the failing pipe() call"
            ),
        }
        assert_eq!(
            now, before,
            "fork_and_add(4, 9) failed at pipe(), yet the parent's COUNTER went from \
             {before} to {now}: a call that fails before forking changes nothing"
        );
    }
}
