//! Hidden proc suite of kata `fork_basics`: real forks, checked from outside the kata.
//!
//! The grader runs each test in a process of its own. Every call goes through
//! `kata_testkit::proc::call` (or `guarded`), which proves the child real (its pid lies
//! between those of two probe children forked just before and after), catches a child that
//! comes back out of the kata into the test (it is sent away at once, before it can run any
//! of the test), and waits until every child has ended, without collecting it, so that a
//! child the kata did not reap is a zombie when the test looks.
//!
//! Error paths are made to happen, not waited for: `kata_testkit::fault` stops the kata's
//! child in a chosen system call (its report's write, its `_exit`, its `getppid`, a wait on
//! a lock) and kills it there or looks around; a fork is refused with EAGAIN as at the
//! process limit. The caller's world is made busy with `kata_testkit::busy`: children and
//! zombies of its own, another thread holding stdout's lock, output pending in its buffers.

use fork_basics::{fork_and_report, fork_with_exit_code, ForkError, Forked};
use kata_harness::hidden_test;
use kata_testkit::proc::{self, Call, STRAY_STATUS};
use kata_testkit::{busy, fault};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::{pipe, Pid};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

use proc::my_pid;

/// A guarded call, with the text that names it.
struct Guarded {
    text: String,
    call: Call<Result<Forked, ForkError>>,
}

impl Guarded {
    /// The result, after checking that `child_pid` names a child forked during the call.
    fn real(&self) -> Forked {
        let call = &self.text;
        let forked = match self.call.value {
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
            self.call.forked(pid),
            "{call} returned child_pid {pid}, but no process with that pid was forked \
             during the call (the pids handed out just before and just after it were {} \
             and {}): return the pid that fork() gave the parent",
            self.call.before,
            self.call.after
        );
        forked
    }
}

fn report() -> Guarded {
    Guarded {
        text: "fork_and_report()".to_string(),
        call: proc::call(fork_and_report),
    }
}

fn with_code(code: u8) -> Guarded {
    Guarded {
        text: format!("fork_with_exit_code({code})"),
        call: proc::call(|| fork_with_exit_code(code)),
    }
}

/// Describes a kata's result for a message.
fn shown(result: &Result<Forked, ForkError>) -> String {
    match result {
        Ok(f) => format!(
            "Ok(Forked {{ child_pid: {}, child: Report {{ pid: {}, ppid: {} }}, exit_status: {} }})",
            f.child_pid, f.child.pid, f.child.ppid, f.exit_status
        ),
        Err(e) => format!("Err({e:?})"),
    }
}

hidden_test! {
    /// child_pid is that of a real child, forked during the call; a new one every call.
    fn child_is_a_real_forked_process() {
        proc::setup();
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
        proc::setup();
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
        proc::setup();
        let me = my_pid();
        for call in [report(), with_code(4)] {
            let forked = call.real();
            let why = if forked.child.ppid == proc::my_parent() {
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
        proc::setup();
        let me = my_pid();
        for call in [report(), with_code(7)] {
            let pid = call.real().child_pid;
            let state = proc::proc_state(pid);
            let status = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
            if status.is_ok() {
                let _ = proc::reap(pid);
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
            if let Some((state, ppid)) = proc::proc_state(pid) {
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
    /// The caller has children of its own: two that have ended and wait to be collected,
    /// one still running. The kata reaps its own child only, with waitpid(child_pid), and
    /// leaves the caller's for the caller.
    fn only_its_own_child_is_reaped() {
        proc::setup();
        for code in [0u8, 3] {
            let own = busy::OwnChildren::new(&[21, 22], 1);
            let call = with_code(code);
            let theirs = call.call.value.map(|forked| forked.child_pid).unwrap_or(0);
            if theirs > 0 && proc::still_ours(theirs) {
                let _ = proc::reap(theirs);
            }
            own.check(&call.text);
            let forked = call.real();
            assert_eq!(
                forked.exit_status,
                i32::from(code),
                "with children of its own waiting to be collected (exit codes 21 and 22), \
                 the caller called {}: exit_status is {}, not {code}. Was it the status of \
                 another child? waitpid(child_pid) collects exactly the child that was forked",
                call.text,
                forked.exit_status
            );
        }
    }
}

hidden_test! {
    /// The code the child passes to _exit comes back as exit_status.
    fn exit_status_is_forwarded() {
        proc::setup();
        for code in [0u8, 1, 42, 255] {
            let call = with_code(code);
            let forked = call.real();
            let why = if call.call.stray().is_some() && forked.exit_status == STRAY_STATUS {
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
    /// A child killed by signal N after it reported: exit_status is 128 + N, as a shell
    /// shows it (SIGKILL, 9: 137).
    fn a_child_killed_by_a_signal_gives_128_plus_its_number() {
        proc::setup();
        for code in [0u8, 4] {
            // The child is killed (SIGKILL) when it calls _exit, after its report.
            let ((result, strays), killed) =
                fault::kill_children_at(libc::SYS_exit_group, || {
                    proc::guarded(|| fork_with_exit_code(code))
                });
            assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
            assert!(
                !killed.is_empty(),
                "fork_with_exit_code({code}): the test meant to kill the child (SIGKILL) at its \
                 _exit, but no child ever called _exit ({})",
                shown(&result)
            );
            let status = match result {
                Ok(forked) => forked.exit_status,
                Err(e) => panic!(
                    "the child of fork_with_exit_code({code}) reported, then was killed by \
                     SIGKILL (signal 9) at its _exit: the call gave Err({e:?}) (\"{e}\"), \
                     expected Ok with exit_status 137"
                ),
            };
            let why = match status {
                -9 => ": -9 is Python's convention (Process.exitcode, and kata 5's \
                    exitcode()); exit_status here follows the shell's: 128 + the signal",
                9 => ": that is the signal's number; exit_status is 128 + the signal",
                c if c == i32::from(code) => ": that is the code the child meant to exit \
                    with, but it never got there: a signal ended it",
                0 => ": a child killed by a signal has no exit code; waitpid gives \
                    WaitStatus::Signaled(_, signal, _), and exit_status is 128 + signal",
                _ => "",
            };
            assert_eq!(
                status,
                128 + 9,
                "the child of fork_with_exit_code({code}) was killed by SIGKILL (signal 9) \
                 after its report: exit_status is {status}, expected 128 + 9 = 137{why}"
            );
        }
    }
}

hidden_test! {
    /// The child dies before it reports (killed at the write of its report): the call
    /// returns Err(ShortRead { got }) with fewer than 8 bytes, at once, and never makes up
    /// a report.
    fn a_child_that_dies_before_reporting_gives_short_read() {
        proc::setup();
        for call in ["fork_and_report()", "fork_with_exit_code(6)"] {
            let ((result, strays), killed) =
                fault::kill_children_when(&[libc::SYS_write], fault::writes_to_a_pipe, || {
                    proc::guarded(|| {
                        if call == "fork_and_report()" {
                            fork_and_report()
                        } else {
                            fork_with_exit_code(6)
                        }
                    })
                });
            assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
            assert!(
                !killed.is_empty(),
                "{call}: the test meant to kill the child at the write of its report, but no \
                 child wrote into a pipe ({})",
                shown(&result)
            );
            match result {
                Err(ForkError::ShortRead { got }) if got < 8 => {}
                Err(ForkError::ShortRead { got }) => panic!(
                    "{call}: the child died before writing anything, yet the call returned \
                     ShortRead {{ got: {got} }}: got is how many bytes of the report came"
                ),
                Ok(_) => panic!(
                    "{call}: the child was killed before it wrote its report, yet the call \
                     returned {}: a report made of nothing. When the pipe ends before 8 \
                     bytes have come, that is Err(ForkError::ShortRead {{ got }}), not a \
                     report",
                    shown(&result)
                ),
                Err(e) => panic!(
                    "{call}: the child was killed before it wrote its report (the pipe ends \
                     with 0 bytes), and the call returned Err({e:?}): expected \
                     Err(ForkError::ShortRead {{ got: 0 }})"
                ),
            }
        }
    }
}

hidden_test! {
    /// The child dies before it reports: the call fails, and still reaps the dead child
    /// (no zombie is left behind by the error path).
    fn a_child_that_dies_before_reporting_is_still_reaped() {
        proc::setup();
        let me = my_pid();
        for code in [0u8, 2] {
            let ((result, _), killed) =
                fault::kill_children_when(&[libc::SYS_write], fault::writes_to_a_pipe, || {
                    proc::guarded(|| fork_with_exit_code(code))
                });
            assert!(
                !killed.is_empty(),
                "fork_with_exit_code({code}): the test meant to kill the child at the write \
                 of its report, but no child wrote into a pipe ({})",
                shown(&result)
            );
            let left = proc::children_of(me);
            proc::kill_and_reap_children();
            assert!(
                left.is_empty(),
                "the child of fork_with_exit_code({code}) died before its report, the call \
                 returned {}, and the caller still has the child(ren) (pid, state) {left:?} \
                 (Z: a zombie). Reap the child even when the read failed: waitpid first, \
                 then return the error",
                shown(&result)
            );
        }
    }
}

hidden_test! {
    /// While the child runs, the report pipe is close-on-exec in the caller: a program that
    /// another thread of the caller starts meanwhile does not inherit it (pipe2 with
    /// O_CLOEXEC).
    fn the_pipe_is_close_on_exec_while_the_child_runs() {
        proc::setup();
        let me = my_pid();
        let before = proc::open_fds();
        let mut inherited: Vec<String> = Vec::new();
        let mut looked = false;
        let ((result, strays), _) = fault::supervised(
            &[libc::SYS_write],
            |n, _| {
                if !n.from_caller && fault::writes_to_a_pipe(n) && !looked {
                    // The child is stopped at its report: the parent holds the pipe now.
                    looked = true;
                    for (fd, target) in proc::open_fds() {
                        if before.iter().any(|(b, _)| *b == fd) || !target.starts_with("pipe:") {
                            continue;
                        }
                        let flags = proc::fd_flags(me, fd).unwrap_or(libc::O_CLOEXEC);
                        if flags & libc::O_CLOEXEC == 0 {
                            inherited.push(format!("{fd} -> {target}"));
                        }
                    }
                }
                fault::Reply::Continue
            },
            || proc::guarded(fork_and_report),
        );
        assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
        assert!(
            looked,
            "fork_and_report(): the test meant to look at the caller's descriptors while the \
             child writes its report, but no child wrote into a pipe ({})",
            shown(&result)
        );
        assert!(
            inherited.is_empty(),
            "while fork_and_report() ran, the caller held the pipe end(s) {inherited:?} \
             without close-on-exec: a program another thread of the caller started meanwhile \
             (Command::spawn) would inherit them and keep the pipe open. Create the pipe with \
             pipe2(OFlag::O_CLOEXEC)"
        );
        result.expect("fork_and_report() failed");
    }
}

hidden_test! {
    /// fork() fails (EAGAIN, as at the process limit): the call returns
    /// Err(ForkError::Fork(EAGAIN)), and leaves no descriptor open.
    fn a_failed_fork_is_a_fork_error_and_leaves_nothing_open() {
        proc::setup();
        let before = proc::open_fds();
        for _ in 0..3 {
            let ((result, _), refused) = fault::forks_fail(|| proc::guarded(fork_and_report));
            assert!(
                refused > 0,
                "the test refused every fork of fork_and_report(), but it never forked ({})",
                shown(&result)
            );
            match result {
                Err(ForkError::Fork(Errno::EAGAIN)) => {}
                other => panic!(
                    "fork() failed with EAGAIN (too many processes), and fork_and_report() \
                     returned {}: expected Err(ForkError::Fork(EAGAIN)), the errno fork gave",
                    shown(&other)
                ),
            }
        }
        let after = proc::open_fds();
        let new = proc::new_fds(&before, &after);
        assert!(
            new.is_empty(),
            "3 calls of fork_and_report() whose fork() failed left the descriptors {new:?} \
             open: the pipe made before the fork must be closed on that error path too \
             (hold its ends as OwnedFd, and they close themselves)"
        );
    }
}

hidden_test! {
    /// Another thread of the caller holds stdout's and stderr's locks across the fork: the
    /// child, which has only the forking thread, must not wait for them (it may call only
    /// async-signal-safe functions: no println!, no panic message).
    fn the_child_never_waits_for_a_lock_another_thread_holds() {
        proc::setup();
        let before = proc::probe_pid();
        let held = busy::hold_stdio();
        let ((result, strays), locked) = fault::kill_children_when(
            &[libc::SYS_futex, libc::SYS_futex_waitv],
            fault::waits_on_a_futex,
            || proc::guarded(fork_and_report),
        );
        drop(held);
        assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
        assert!(
            locked.is_empty(),
            "another thread of the caller held stdout's and stderr's locks while \
             fork_and_report() forked, and the child (pid {:?}) went to wait for a lock: it \
             would have waited for ever (the test killed it; the call gave {}). fork copies \
             only the calling thread: a lock another thread held stays locked in the child. \
             The child may call only async-signal-safe functions (getpid, getppid, write, \
             _exit): no println!, no format!, no unwrap that could panic",
            locked,
            shown(&result)
        );
        let after = proc::probe_pid();
        match result {
            Ok(forked) if proc::forked_between(before, forked.child_pid, after) => {}
            other => panic!(
                "fork_and_report() returned {} while another thread held stdout's lock:                  expected Ok, with the child_pid of a child forked during the call",
                shown(&other)
            ),
        }
    }
}

hidden_test! {
    /// The kata returns once, in the parent: the child never comes back into the caller.
    fn child_never_returns_into_the_caller() {
        proc::setup();
        let me = my_pid();
        for call in [report(), with_code(2), report()] {
            if let Some(stray) = call.call.stray() {
                panic!(
                    "{} returned twice: in the parent (pid {me}) and in the child (pid \
                     {stray}), which came back into the caller's code and would have run the \
                     rest of it as a second copy of the program. The child must end with \
                     kata_sync::process::_exit right after writing its report: never return",
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
        proc::raw_write(fd, b"E");
    }
}

hidden_test! {
    /// The child ends with _exit: it runs none of the exit handlers of its copy of the
    /// parent, and does not write out the parent's pending output a second time (exit()
    /// and std::process::exit do both).
    fn child_skips_the_parents_exit_handlers() {
        proc::setup();
        TEST_PID.store(my_pid(), Ordering::SeqCst);
        REGISTER.call_once(|| {
            // SAFETY: the handler only reads atomics and calls getpid and write.
            let registered = unsafe { libc::atexit(report_exit_of_a_copy) };
            assert_eq!(registered, 0, "the test could not register its atexit handler");
        });
        for code in [None, Some(6)] {
            let (mark_read, mark_write) = pipe().expect("the test could not create a pipe");
            EXIT_MARK_FD.store(mark_write.as_raw_fd(), Ordering::SeqCst);
            let pending = busy::PendingOutput::start("pending;");
            let call = match code {
                None => report(),
                Some(code) => with_code(code),
            };
            let out = pending.finish();
            EXIT_MARK_FD.store(-1, Ordering::SeqCst);
            drop(mark_write);
            let marks = proc::read_to_end(mark_read);
            call.real();
            assert!(
                marks.is_empty(),
                "the child of {} ran the atexit handlers of its copy of the parent: it \
                 ended with exit() or std::process::exit. Those run the parent's exit-time \
                 cleanup a second time (buffered output is printed twice, files flushed \
                 twice); end the child with kata_sync::process::_exit",
                call.text
            );
            for text in ["rust:pending;", "c:pending;"] {
                let n = out.matches(text).count();
                assert_eq!(
                    n,
                    1,
                    "the caller had {text:?} waiting in its stdout buffer when it called {}; \
                     it came out {n} times (stdout: {out:?}). The child's copy of the buffer \
                     must never be written out: end the child with _exit, which flushes \
                     nothing",
                    call.text
                );
            }
        }
    }
}

hidden_test! {
    /// Ten calls leave exactly the descriptors that were open before.
    fn no_descriptor_is_left_open() {
        proc::setup();
        let before = proc::open_fds();
        for i in 0..10 {
            if i % 2 == 0 {
                report().real();
            } else {
                with_code(1).real();
            }
        }
        let after = proc::open_fds();
        let new = proc::new_fds(&before, &after);
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
        proc::setup();
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
                 EMFILE, yet fork_with_exit_code(3) returned {}: it must return \
                 Err(ForkError::Pipe(EMFILE)) from the failing pipe() call",
                shown(&other)
            ),
        }
    }
}
