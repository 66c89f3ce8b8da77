//! Hidden proc suite of kata `fork_basics`: real forks, checked from outside the kata.
//!
//! The grader runs each test in a process of its own.
//!
//! Every call goes through [`call`], which
//! - proves the child was real: pids are handed out in increasing order (until they wrap
//!   around at pid_max), so a child forked during the call has a pid between those of two
//!   probe children the test forks just before and just after it;
//! - catches a child that comes back out of the kata into the test: such a child finds
//!   that `getpid()` changed, writes its pid into a pipe and leaves with `_exit` at once,
//!   so it never runs the rest of the test (nor the harness's proof of a pass). The
//!   parent reads that pipe to its end, which comes only once every copy of its write end,
//!   the kata child's included, is closed: the verdict does not depend on timing;
//! - then waits until the child has ended (without collecting it), so that a child the kata
//!   did not reap is a zombie by the time the test checks it or ends.

use fork_basics::{fork_and_report, fork_with_exit_code, ForkError, Forked};
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

fn my_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

fn my_parent() -> i32 {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() }
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
fn reap(child: Pid) -> Result<WaitStatus, Errno> {
    loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// Forks a child that exits at once with `code`, and returns its pid; not reaped.
fn fork_exiting(code: i32) -> Pid {
    // SAFETY: the child calls only _exit.
    match unsafe { fork() }.expect("the test could not fork a process of its own") {
        ForkResult::Child => unsafe { libc::_exit(code) },
        ForkResult::Parent { child } => child,
    }
}

/// Forks a child that exits at once, reaps it, and returns its pid.
fn probe_pid() -> i32 {
    let child = fork_exiting(0);
    let _ = reap(child);
    child.as_raw()
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

/// One guarded call of the kata.
struct Call {
    text: String,
    result: Result<Forked, ForkError>,
    /// The pid of a child that came back out of the kata into the test.
    stray: Option<i32>,
    /// Pids of the probes forked just before and just after the call.
    before: i32,
    after: i32,
}

impl Call {
    /// The result, after checking that `child_pid` names a child forked during the call.
    fn real(&self) -> Forked {
        let call = &self.text;
        let forked = match self.result {
            Ok(forked) => forked,
            Err(e) => panic!("{call} returned the error {e:?} (\"{e}\")"),
        };
        let pid = forked.child_pid;
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
        forked
    }
}

/// Calls the kata (`f`, described by `text`), catching a child that returns from it (see
/// the module's doc).
fn call(text: &str, f: impl FnOnce() -> Result<Forked, ForkError>) -> Call {
    let me = my_pid();
    let before = probe_pid();
    let (marker_read, marker_write) = pipe().expect("the test could not create a pipe");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    if my_pid() != me {
        // A child came back into the test. Tell the parent who, and leave at once:
        // nothing of the test or of the harness may run here.
        raw_write(marker_write.as_raw_fd(), &my_pid().to_ne_bytes());
        // SAFETY: ends this stray process at once.
        unsafe { libc::_exit(STRAY_STATUS) };
    }
    drop(marker_write);
    let marker = read_to_end(marker_read);
    settle_children();
    let stray = marker
        .get(..4)
        .map(|pid| i32::from_ne_bytes(pid.try_into().unwrap()));
    let after = probe_pid();
    let result = match result {
        Ok(result) => result,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    Call {
        text: text.to_string(),
        result,
        stray,
        before,
        after,
    }
}

fn report() -> Call {
    call("fork_and_report()", fork_and_report)
}

fn with_code(code: u8) -> Call {
    call(&format!("fork_with_exit_code({code})"), || {
        fork_with_exit_code(code)
    })
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

/// Waits until every child of this process that is still running has ended, without
/// collecting it. A child the kata left unreaped is then a zombie, not a process on its way
/// out when the test ends (which the grader would count as left running). The marker pipe
/// has already shown that every kata process closed its descriptors: they are exiting.
fn settle_children() {
    let me = my_pid();
    let running: Vec<i32> = std::fs::read_dir("/proc")
        .expect("the test could not list /proc")
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&pid| matches!(proc_state(pid), Some((state, ppid)) if ppid == me && state != 'Z'))
        .collect();
    for pid in running {
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

hidden_test! {
    /// child_pid is that of a real child, forked during the call; a new one every call.
    fn child_is_a_real_forked_process() {
        setup();
        let me = my_pid();
        let mut pids = Vec::new();
        for call in [report(), with_code(5), report()] {
            let forked = call.real();
            assert!(
                !pids.contains(&forked.child_pid),
                "{} returned child_pid {}, the same as an earlier call: every call forks a \
                 new child",
                call.text,
                forked.child_pid
            );
            pids.push(forked.child_pid);
        }
        assert_eq!(my_pid(), me, "getpid() changed across the calls");
    }
}

hidden_test! {
    /// The child's own getpid() is the pid fork() gave the parent.
    fn child_reports_its_own_pid() {
        setup();
        let me = my_pid();
        for call in [report(), with_code(9)] {
            let forked = call.real();
            let why = if forked.child.pid == me {
                ": that is the parent's pid. Was getpid() called before fork()? Each \
                 process must ask for its own pid after the fork"
            } else if forked.child.pid == 0 {
                ": 0 is what fork() returns in the child, not a pid. The child learns its \
                 own pid from getpid()"
            } else {
                ""
            };
            assert_eq!(
                forked.child.pid,
                forked.child_pid,
                "after {}, the child reported pid {}, but fork() gave the parent {} as \
                 the child's pid{why}",
                call.text,
                forked.child.pid,
                forked.child_pid
            );
        }
    }
}

hidden_test! {
    /// The child's getppid() is the caller's pid, and so is parent_pid.
    fn child_reports_the_caller_as_its_parent() {
        setup();
        let me = my_pid();
        for call in [report(), with_code(4)] {
            let forked = call.real();
            let why = if forked.child.ppid == my_parent() {
                ": that is the caller's own parent. Was getppid() called before fork(), or \
                 in the parent? The child must call getppid() itself, after the fork"
            } else if forked.child.ppid == forked.child_pid {
                ": that is the child's own pid (getpid(), not getppid())"
            } else if forked.child.ppid == 1 {
                ": that is init, which adopts orphans: the parent must wait for the child, \
                 not leave before the child has reported"
            } else {
                ""
            };
            assert_eq!(
                forked.child.ppid,
                me,
                "after {} in process {me}, the child (pid {}) reported ppid {}, expected \
                 {me}: the caller is the child's parent{why}",
                call.text,
                forked.child_pid,
                forked.child.ppid
            );
            assert_eq!(
                forked.parent_pid,
                me,
                "{} returned parent_pid {}, but the caller's getpid() is {me}: parent_pid \
                 is the parent's own pid",
                call.text,
                forked.parent_pid
            );
        }
    }
}

hidden_test! {
    /// After the call the child is gone: reaped by the parent, not left a zombie.
    fn child_is_reaped() {
        setup();
        let me = my_pid();
        for call in [report(), with_code(7)] {
            let pid = call.real().child_pid;
            let state = proc_state(pid);
            let status = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
            if status.is_ok() {
                let _ = reap(Pid::from_raw(pid));
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
                call.text
            );
            if let Some((state, ppid)) = proc_state(pid) {
                assert!(
                    ppid != me,
                    "after {} returned, /proc/{pid} still shows a child of this process, in \
                     state {state}: the parent must reap its child before returning",
                    call.text
                );
            }
        }
    }
}

hidden_test! {
    /// The caller has a child of its own, already ended: the kata reaps its own child only,
    /// with waitpid(child_pid), and leaves the caller's child for the caller.
    fn only_its_own_child_is_reaped() {
        setup();
        for code in [0u8, 3] {
            // The caller's own child, ended and waiting to be collected (WNOWAIT: the test
            // waits until it is a zombie without collecting it).
            let mine = fork_exiting(21);
            let ended = waitid(Id::Pid(mine), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
            assert!(
                matches!(ended, Ok(WaitStatus::Exited(_, 21))),
                "the test's own child did not end as expected: {ended:?}"
            );
            let call = with_code(code);
            let theirs = call.result.map(|forked| forked.child_pid).unwrap_or(0);
            let status = waitpid(mine, Some(WaitPidFlag::WNOHANG));
            if theirs > 0 {
                let _ = waitpid(Pid::from_raw(theirs), Some(WaitPidFlag::WNOHANG));
            }
            assert_eq!(
                status,
                Ok(WaitStatus::Exited(mine, 21)),
                "the caller had a child of its own (pid {mine}), ended and not yet \
                 collected. After {}, waitpid({mine}) gave {status:?}: the kata collected \
                 the caller's child instead of (or besides) its own. wait() and \
                 waitpid(-1) take any child; wait for exactly the pid fork() returned",
                call.text
            );
            call.real();
        }
    }
}

hidden_test! {
    /// The code the child passes to _exit comes back as exit_status.
    fn exit_status_is_forwarded() {
        setup();
        for code in [0u8, 1, 42, 255] {
            let call = with_code(code);
            let forked = call.real();
            let why = if call.stray.is_some() && forked.exit_status == STRAY_STATUS {
                ": the child never reached its _exit: it returned into the caller, and the \
                 test ended it (with status 86)"
            } else if forked.exit_status == i32::from(code) << 8 {
                ": that is the raw status word of wait(), with the exit code in its second \
                 byte. Decode it (nix's WaitStatus::Exited, or WEXITSTATUS)"
            } else {
                ""
            };
            assert_eq!(
                forked.exit_status,
                i32::from(code),
                "the child of {} ended with _exit({code}), yet exit_status is {}{why}. The \
                 parent learns the child's exit code from the waitpid() that reaps it",
                call.text,
                forked.exit_status
            );
        }
    }
}

hidden_test! {
    /// The kata returns once, in the parent: the child never comes back into the caller.
    fn child_never_returns_into_the_caller() {
        setup();
        let me = my_pid();
        for call in [report(), with_code(2), report()] {
            if let Some(stray) = call.stray {
                panic!(
                    "{} returned twice: in the parent (pid {me}) and in the child (pid \
                     {stray}), which came back into the caller's code and would have run the \
                     rest of it as a second copy of the program. The child must end with \
                     libc::_exit right after writing its report: never return",
                    call.text
                );
            }
            call.real();
            assert_eq!(my_pid(), me, "getpid() changed across {}", call.text);
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
        for code in [None, Some(6)] {
            let (mark_read, mark_write) = pipe().expect("the test could not create a pipe");
            EXIT_MARK_FD.store(mark_write.as_raw_fd(), Ordering::SeqCst);
            let call = match code {
                None => report(),
                Some(code) => with_code(code),
            };
            EXIT_MARK_FD.store(-1, Ordering::SeqCst);
            drop(mark_write);
            let marks = read_to_end(mark_read);
            call.real();
            assert!(
                marks.is_empty(),
                "the child of {} ran the atexit handlers of its copy of the parent: it \
                 ended with exit() or std::process::exit. Those run the parent's exit-time \
                 cleanup a second time (buffered output is printed twice, files flushed \
                 twice); end the child with libc::_exit",
                call.text
            );
        }
    }
}

hidden_test! {
    /// Ten calls leave exactly the descriptors that were open before.
    fn no_descriptor_is_left_open() {
        setup();
        let before = open_fds();
        for i in 0..10 {
            if i % 2 == 0 {
                report().real();
            } else {
                with_code(1).real();
            }
        }
        let after = open_fds();
        let new: Vec<String> = after
            .iter()
            .filter(|fd| !before.contains(fd))
            .map(|(fd, target)| format!("{fd} -> {target}"))
            .collect();
        assert!(
            after.len() <= before.len(),
            "{} descriptors were open before 10 calls and {} after: {} left open by the \
             calls, new: {new:?}. The parent must close both ends of its pipe: the write \
             end right after fork, the read end once the report is read",
            before.len(),
            after.len(),
            after.len() - before.len()
        );
    }
}

hidden_test! {
    /// With no descriptor left, pipe() fails: the kata returns ForkError::Pipe(EMFILE),
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
        let result = std::panic::catch_unwind(|| fork_with_exit_code(3));
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
                "with every descriptor in use, fork_with_exit_code(3) returned \
                 ForkError::Pipe({errno:?}): pipe() fails with EMFILE there; pass on the \
                 errno it gave"
            ),
            other => panic!(
                "with every descriptor in use (RLIMIT_NOFILE reached), pipe() fails with \
                 EMFILE, yet fork_with_exit_code(3) returned {other:?}: it must return \
                 Err(ForkError::Pipe(EMFILE)) from the failing pipe() call"
            ),
        }
    }
}
