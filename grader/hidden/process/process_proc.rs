//! Hidden proc suite of kata `process`: real children, checked from outside the kata.
//!
//! The grader runs each test in a process of its own, so the first `Process` a test creates
//! is the first of its program (`Process-1`).
//!
//! No verdict depends on timing. A child that must still be running when the test looks
//! is blocked reading a pipe (a gate) that only the test writes to; a child that must have
//! ended is waited for with `waitid(WEXITED | WNOWAIT)`, which waits without reaping it.
//!
//! Every `start` goes through [`Test::start`], which catches a child that comes back out of
//! `start` into the test (it finds that `getpid()` changed): such a child notes its pid in
//! a page of memory shared by every process of the test and leaves with `_exit` at once, so
//! it never runs the rest of the test. The test checks that page after each join. Every
//! target first checks that it runs in a child: run in the test's own process (no fork),
//! it returns [`RAN_IN_CALLER`] at once instead of waiting at a gate that nobody opens.
//! When a test ends, however it ends, [`Test`]'s drop (its `kata_testkit::proc::Family`'s)
//! kills and reaps any child still there, so a failing test leaves no process behind.

use kata_harness::hidden_test;
use kata_testkit::busy::Gate;
use kata_testkit::proc::{
    children_of, in_child, my_pid, proc_state, still_ours, wait_until_ended, Family, STRAY_STATUS,
};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::{pipe, Pid};
use process::{Process, ProcessError, Run};
use std::os::fd::{AsRawFd, RawFd};
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// What a target returns when it finds itself running in the test's own process.
const RAN_IN_CALLER: i32 = 99;

/// A target that waits at the gate, then exits with `code`.
fn gated(fd: RawFd, code: i32) -> impl FnOnce() -> i32 {
    move || {
        if !in_child() {
            return RAN_IN_CALLER;
        }
        Gate::wait(fd);
        code
    }
}

/// A target that blocks at the gate until a signal ends it.
fn blocked_forever(fd: RawFd) -> impl FnOnce() -> i32 {
    move || {
        if !in_child() {
            return RAN_IN_CALLER;
        }
        loop {
            Gate::wait(fd);
        }
    }
}

/// A target that exits at once with `code`.
fn exits_with(code: i32) -> impl FnOnce() -> i32 {
    move || if in_child() { code } else { RAN_IN_CALLER }
}

/// One test's bookkeeping: see the module's doc.
struct Test {
    /// The test's pid.
    me: i32,
    /// Catches the strays, and kills and reaps every child left when the test ends.
    family: Family,
}

fn setup() -> Test {
    // SIGCHLD to its default, the shared page mapped before the first fork, the test's
    // pid noted for `in_child`.
    let family = Family::new();
    Test {
        me: family.me,
        family,
    }
}

impl Test {
    /// `p.start()`, catching a child that comes back out of it.
    fn start(&self, p: &mut Process) -> Result<(), ProcessError> {
        self.family.call(|| p.start())
    }

    /// Starts `p`, checks that it forked a real child of this process, returns its pid.
    fn start_child(&self, p: &mut Process, what: &str) -> i32 {
        if let Err(e) = self.start(p) {
            panic!("start() on {what} gave Err({e:?}) (\"{e}\")");
        }
        self.real_child(p, what)
    }

    /// Checks that `p.pid()` names a child of this process, and returns it.
    fn real_child(&self, p: &Process, what: &str) -> i32 {
        let pid = match p.pid() {
            Some(pid) => pid,
            None => panic!("after start(), pid() of {what} is None: it must be the child's pid"),
        };
        assert!(
            pid != self.me,
            "after start(), pid() of {what} is {pid}, the test's own pid: start() ran the \
             target in the caller's process. start() must fork a child to run it"
        );
        match proc_state(pid) {
            Some((_, ppid)) if ppid == self.me => {}
            Some((_, ppid)) => panic!(
                "after start(), pid() of {what} is {pid}, but that process's parent is \
                 {ppid}, not the test ({}): pid() must be the pid fork() gave the parent",
                self.me
            ),
            None => panic!(
                "after start(), pid() of {what} is {pid}, but no such process exists (not \
                 even a zombie): pid() must be the pid fork() gave the parent"
            ),
        }
        pid
    }

    /// Blocks until child `pid` has ended (see [`wait_until_ended`]), then checks that it
    /// did not come back into the test.
    fn wait_until_ended(&self, pid: i32) {
        wait_until_ended(pid);
        self.no_strays();
    }

    /// Panics if a child came back out of `start` into the test.
    fn no_strays(&self) {
        if let Some((pid, panicked)) = self.family.stray() {
            if panicked {
                panic!(
                    "the child {pid} came back out of start() into the test by a panic: its \
                     target panicked, and the panic unwound out of start() into the caller's \
                     code, which would have run on as a second copy of the program. Catch \
                     the panic in the child (std::panic::catch_unwind), exit with code 1 as \
                     Python does, and end the child with libc::_exit"
                );
            }
            panic!(
                "the child {pid} returned from start() into the test after its target \
                 returned: it would have run the rest of the caller's code as a second copy \
                 of the program. The child must end with libc::_exit(code) right after the \
                 target: it never returns from start()"
            );
        }
    }

    /// `p.join(timeout)`, then the check that no child came back into the test.
    fn join(
        &self,
        p: &mut Process,
        timeout: Option<Duration>,
    ) -> Result<Option<i32>, ProcessError> {
        let result = p.join(timeout);
        self.no_strays();
        result
    }

    /// `p.join(None)`, which must give the exit code.
    fn join_code(&self, p: &mut Process, what: &str) -> i32 {
        match self.join(p, None) {
            Ok(Some(code)) => code,
            Ok(None) => panic!(
                "join(None) on {what} returned Ok(None): without a timeout join waits until \
                 the child has ended and returns Ok(Some(exit code))"
            ),
            Err(e) => panic!("join(None) on {what} gave Err({e:?}) (\"{e}\")"),
        }
    }

    /// The end of a test that passed so far: no stray, and no child left running.
    fn finish(&self) {
        self.no_strays();
        let running: Vec<String> = children_of(self.me)
            .into_iter()
            .filter(|&(_, state)| state != 'Z')
            .map(|(pid, state)| format!("{pid} (state {state})"))
            .collect();
        assert!(
            running.is_empty(),
            "the test is over, yet child process(es) {running:?} are still running: every \
             started Process was joined or dropped, and neither may leave a child behind"
        );
    }
}

/// Describes an exit code in the student's terms.
fn explain(code: i32) -> &'static str {
    match code {
        RAN_IN_CALLER => " (the target ran in the test's own process, not in a child)",
        STRAY_STATUS => " (the status the test gives a child that came back into it)",
        137 | 143 | 134 | 138 => {
            " (that is 128 + a signal's number, the shell's convention: exitcode() is \
             MINUS the signal's number, as in Python)"
        }
        6 | 9 | 10 | 15 => {
            " (that is the signal's number: exitcode() is MINUS the signal's number for a \
             child killed by a signal, as in Python)"
        }
        _ => "",
    }
}

hidden_test! {
    /// The course's example: start forks a child that runs the target (it reports its own
    /// pid and its parent's through a pipe), join waits for it, the exit code is 0.
    fn start_forks_a_child_that_runs_the_target() {
        let t = setup();
        let (read_end, write_end) = pipe().expect("the test could not create a pipe");
        let fd = write_end.as_raw_fd();
        let mut p = Process::new(move || {
            // SAFETY: getppid has no preconditions.
            let ids = [my_pid(), unsafe { libc::getppid() }];
            let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_ne_bytes()).collect();
            // SAFETY: writes our own buffer.
            unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
            0
        });
        assert_eq!(p.pid(), None, "pid() before start()");
        assert_eq!(p.exitcode(), None, "exitcode() before start()");
        assert!(!p.is_alive(), "is_alive() before start() must be false");
        let pid = t.start_child(&mut p, "Process::new(target)");
        drop(write_end);
        let mut bytes = Vec::new();
        use std::io::Read;
        std::fs::File::from(read_end)
            .read_to_end(&mut bytes)
            .expect("the test could not read its pipe");
        let code = t.join_code(&mut p, "the started process");
        assert_eq!(
            bytes.len(),
            8,
            "the target writes its pid and its parent's pid into a pipe; the test read {} \
             bytes instead of 8: did the target run at all?",
            bytes.len()
        );
        let child = i32::from_ne_bytes(bytes[..4].try_into().unwrap());
        let parent = i32::from_ne_bytes(bytes[4..].try_into().unwrap());
        assert_eq!(
            child, pid,
            "the target ran in process {child}, but pid() says {pid}"
        );
        assert_eq!(
            parent, t.me,
            "the target's parent (getppid) was {parent}, not the test ({})",
            t.me
        );
        assert_eq!(code, 0, "the target returned 0, so join must give Some(0){}", explain(code));
        assert_eq!(p.exitcode(), Some(0), "exitcode() after join");
        assert_eq!(p.pid(), Some(pid), "pid() after join keeps the child's pid");
        t.finish();
    }
}

hidden_test! {
    /// Five children exit with 0, 1, 3, 42 and 255; each join gives its own child's code.
    fn exitcode_is_what_the_target_returned() {
        let t = setup();
        let codes = [0, 1, 3, 42, 255];
        let gate = Gate::new();
        let mut ps: Vec<Process> = codes
            .iter()
            .map(|&code| Process::new(gated(gate.fd(), code)))
            .collect();
        for (p, code) in ps.iter_mut().zip(codes) {
            t.start_child(p, &format!("the process whose target returns {code}"));
            assert_eq!(
                p.exitcode(),
                None,
                "exitcode() of a child that is still running (blocked) must be None"
            );
        }
        for _ in &codes {
            gate.open(1);
        }
        // Joined in reverse order: each join must wait for its own child.
        for (p, code) in ps.iter_mut().zip(codes).rev() {
            let what = format!("the process whose target returns {code}");
            let got = t.join_code(p, &what);
            assert_eq!(
                got,
                code,
                "join(None) on {what} gave Some({got}){}: the exit code is the value the \
                 target returned",
                explain(got)
            );
            assert_eq!(p.exitcode(), Some(code), "exitcode() after join on {what}");
            assert!(!p.is_alive(), "is_alive() after join on {what} must be false");
        }
        t.finish();
    }
}

hidden_test! {
    /// A child killed by a signal has exitcode MINUS the signal's number: SIGKILL gives
    /// -9, SIGUSR1 -10, and a child that calls abort() gives -6 (SIGABRT).
    fn exitcode_is_minus_the_signal_that_killed_the_child() {
        let t = setup();
        let gate = Gate::new();
        for (signal, expected) in [(Signal::SIGKILL, -9), (Signal::SIGUSR1, -10)] {
            let mut p = Process::new(blocked_forever(gate.fd()));
            let pid = t.start_child(&mut p, "a blocked process");
            kill(Pid::from_raw(pid), signal).expect("the test could not signal its child");
            let got = t.join_code(&mut p, &format!("a child killed by {signal:?}"));
            assert_eq!(
                got,
                expected,
                "a child killed by {signal:?} (signal {}) must have exitcode {expected}, \
                 got {got}{}",
                -expected,
                explain(got)
            );
            assert_eq!(p.exitcode(), Some(expected), "exitcode() after join");
        }
        let mut p = Process::new(|| {
            if in_child() {
                // SAFETY: ends the child with SIGABRT.
                unsafe { libc::abort() }
            }
            RAN_IN_CALLER
        });
        t.start_child(&mut p, "a process whose target calls abort()");
        let got = t.join_code(&mut p, "a child that called abort()");
        assert_eq!(
            got,
            -6,
            "a child that called abort() died of SIGABRT (signal 6): its exitcode must be \
             -6, got {got}{}",
            explain(got)
        );
        t.finish();
    }
}

hidden_test! {
    /// terminate() sends SIGTERM: a child blocked for good ends, and its exitcode is -15.
    /// terminate() on a child that has already ended changes nothing.
    fn terminate_ends_a_blocked_child_with_sigterm() {
        let t = setup();
        let gate = Gate::new();
        let mut never = Process::new(exits_with(0));
        assert_eq!(
            never.terminate(),
            Err(ProcessError::NotStarted),
            "terminate() before start()"
        );
        let mut p = Process::new(blocked_forever(gate.fd()));
        t.start_child(&mut p, "a process blocked for good");
        assert!(p.is_alive(), "is_alive() of a child blocked reading a pipe must be true");
        assert_eq!(p.terminate(), Ok(()), "terminate() on a running child");
        let got = t.join_code(&mut p, "a terminated child");
        assert_eq!(
            got,
            -15,
            "after terminate(), join gave Some({got}){}: terminate sends SIGTERM (signal \
             15), so the exitcode must be -15{}",
            explain(got),
            if got == -9 { " (-9 is SIGKILL: terminate must send SIGTERM)" } else { "" }
        );
        assert!(!p.is_alive(), "is_alive() after terminate and join must be false");
        assert_eq!(
            p.terminate(),
            Ok(()),
            "terminate() on a child that has ended and was joined must do nothing and \
             return Ok(())"
        );
        assert_eq!(p.exitcode(), Some(-15), "exitcode() after a second terminate()");

        // A child that has already exited (a zombie, not joined yet): terminate may not
        // change how it ended.
        let mut q = Process::new(exits_with(7));
        let pid = t.start_child(&mut q, "a process that exits with 7");
        t.wait_until_ended(pid);
        assert_eq!(q.terminate(), Ok(()), "terminate() on a child that has exited");
        let got = t.join_code(&mut q, "a child that exited with 7 before terminate()");
        assert_eq!(
            got,
            7,
            "the child had already exited with 7 when terminate() was called, yet join gave \
             Some({got}): exitcode() reports how the child really ended{}",
            explain(got)
        );
        t.finish();
    }
}

hidden_test! {
    /// join(Some(timeout)) on a child blocked at a gate returns Ok(None) and leaves the
    /// child running (it never kills it); once the gate opens, join(None) gives its code.
    fn join_with_a_timeout_returns_while_the_child_runs() {
        let t = setup();
        let gate = Gate::new();
        let mut p = Process::new(gated(gate.fd(), 5));
        let pid = t.start_child(&mut p, "a process blocked at a gate");
        for timeout in [
            Duration::ZERO,
            Duration::from_millis(20),
            Duration::from_millis(50),
            Duration::from_millis(1100),
        ] {
            let called = Instant::now();
            let result = t.join(&mut p, Some(timeout));
            let waited = called.elapsed();
            if let Ok(Some(code)) = result {
                panic!(
                    "join(Some({timeout:?})) on a child blocked at a gate that was never \
                     opened returned Ok(Some({code})): the child ended, so join killed it. \
                     join with a timeout only waits: once the timeout has passed it returns \
                     Ok(None) and leaves the child running"
                );
            }
            assert_eq!(
                result,
                Ok(None),
                "join(Some({timeout:?})) on a child that is blocked reading a pipe must \
                 return Ok(None) once the timeout has passed: the child is still running"
            );
            assert!(
                waited >= timeout,
                "join(Some({timeout:?})) on a child that is still running returned Ok(None) \
                 after only {waited:?}: it gave up before its timeout had passed. join waits \
                 the whole timeout (a child that ends within it is joined); a timeout is not \
                 whole seconds (as_secs() drops the fraction), nor a count of fixed sleeps"
            );
            match proc_state(pid) {
                Some((state, ppid)) if ppid == t.me && state != 'Z' => {}
                Some((state, _)) => panic!(
                    "after join(Some({timeout:?})) returned, the child is in state {state}: \
                     it was blocked and should still be running. join with a timeout only \
                     waits, it never kills the child"
                ),
                None => panic!(
                    "after join(Some({timeout:?})) returned, the child {pid} is gone (reaped): \
                     it was blocked and should still be running. join with a timeout only \
                     waits, it never kills the child"
                ),
            }
            assert!(
                p.is_alive(),
                "is_alive() after join(Some({timeout:?})) timed out must be true"
            );
            assert_eq!(p.exitcode(), None, "exitcode() while the child still runs");
        }
        gate.open(1);
        let result = t.join(&mut p, Some(Duration::from_secs(600)));
        assert_eq!(
            result,
            Ok(Some(5)),
            "once the gate opened, the child exits with 5: join(Some(600s)) must return \
             Ok(Some(5)) as soon as it has ended"
        );
        assert!(!p.is_alive(), "is_alive() after the child was joined");
        t.finish();
    }
}

hidden_test! {
    /// is_alive() is true while the child runs and false as soon as it has ended, joined
    /// or not (a zombie is not alive); exitcode() then already has its code.
    fn is_alive_is_false_once_the_child_has_ended() {
        let t = setup();
        let gate = Gate::new();
        let mut p = Process::new(gated(gate.fd(), 3));
        let pid = t.start_child(&mut p, "a process blocked at a gate");
        assert!(p.is_alive(), "is_alive() of a child blocked at a gate must be true");
        gate.open(1);
        t.wait_until_ended(pid);
        assert!(
            !p.is_alive(),
            "the child has exited (it is a zombie, waiting to be reaped), yet is_alive() is \
             true: a zombie is not alive. kill(pid, 0) succeeds on a zombie; look with \
             waitpid(pid, WNOHANG) instead, and record the exit code it gives"
        );
        assert_eq!(
            p.exitcode(),
            Some(3),
            "exitcode() of a child that has exited with 3 (before any join)"
        );
        assert!(
            !still_ours(pid),
            "is_alive() found the child ended but did not reap it: it is left a zombie. \
             waitpid(pid, WNOHANG) reaps an ended child and gives its status"
        );
        assert_eq!(t.join(&mut p, None), Ok(Some(3)), "join after is_alive() saw the end");
        t.finish();
    }
}

hidden_test! {
    /// After join the child is gone: reaped, not left a zombie. The same after a timed join
    /// that saw the child end.
    fn join_reaps_the_child() {
        let t = setup();
        for timeout in [None, Some(Duration::from_secs(600))] {
            let mut p = Process::new(exits_with(0));
            let pid = t.start_child(&mut p, "a process that exits at once");
            t.wait_until_ended(pid);
            let result = t.join(&mut p, timeout);
            assert_eq!(result, Ok(Some(0)), "join({timeout:?}) on a child that exited with 0");
            let state = proc_state(pid).map(|(state, _)| state);
            assert!(
                !still_ours(pid),
                "after join({timeout:?}) returned, the child {pid} could still be waited for \
                 (state {state:?}): join must reap the child with waitpid, or it stays a \
                 zombie"
            );
        }
        t.finish();
    }
}

hidden_test! {
    /// A target that panics: the child exits with code 1 (Python's code for a run() that
    /// raised) and the panic never reaches the caller.
    fn a_panicking_target_exits_with_code_1_in_the_child() {
        let t = setup();
        let mut p = Process::new(|| {
            if !in_child() {
                return RAN_IN_CALLER;
            }
            resume_unwind(Box::new("a hidden test's target panics on purpose"))
        });
        t.start_child(&mut p, "a process whose target panics");
        let got = t.join_code(&mut p, "a child whose target panicked");
        assert_eq!(
            got,
            1,
            "the target panicked: the child must exit with code 1, as Python's does when \
             run() raises, got {got}{}",
            explain(got)
        );
        t.finish();
    }
}

hidden_test! {
    /// Three children whose targets return: none of them comes back into the caller.
    fn child_never_returns_into_the_caller() {
        let t = setup();
        for code in [0, 4, 9] {
            let mut p = Process::new(exits_with(code));
            t.start_child(&mut p, &format!("a process that exits with {code}"));
            let got = t.join_code(&mut p, &format!("a process that exits with {code}"));
            assert_eq!(got, code, "join on a process that exits with {code}{}", explain(got));
        }
        t.finish();
    }
}

struct Counter {
    n: i32,
}

impl Run for Counter {
    fn run(&mut self) -> i32 {
        if !in_child() {
            return RAN_IN_CALLER;
        }
        self.n += 1;
        self.n
    }
}

hidden_test! {
    /// Default names are Process-1, Process-2, … in creation order, counting every
    /// Process (a named one too); set_name renames. The names stay after start and join.
    fn default_names_count_every_process_from_1() {
        let t = setup();
        let mut p1 = Process::new(exits_with(0));
        let p2 = Process::with_name("dongGe", exits_with(0));
        let p3 = Process::new(exits_with(0));
        let p4 = Process::from_run(Counter { n: 0 });
        let names = [p1.name(), p2.name(), p3.name(), p4.name()];
        let why = if names[0] == "Process-0" {
            ": Python numbers processes from 1"
        } else if names[0] == names[2] {
            ": every Process takes the next number, so names are unique"
        } else if names[2] == "Process-2" {
            ": a named Process takes a number too (Python's counter counts every Process)"
        } else {
            ""
        };
        assert_eq!(
            names,
            ["Process-1", "dongGe", "Process-3", "Process-4"],
            "the names of the first four Process objects of a program, made by new, \
             with_name(\"dongGe\"), new and from_run{why}"
        );
        t.start_child(&mut p1, "Process-1");
        assert_eq!(t.join_code(&mut p1, "Process-1"), 0, "join on Process-1");
        assert_eq!(p1.name(), "Process-1", "name() after start and join");
        let mut p5 = Process::new(exits_with(0));
        assert_eq!(p5.name(), "Process-5", "the fifth Process of the program");
        p5.set_name("worker");
        assert_eq!(p5.name(), "worker", "name() after set_name(\"worker\")");
        t.finish();
    }
}

hidden_test! {
    /// start twice is AlreadyStarted and forks no second child (also after the child has
    /// ended); join and terminate before start are NotStarted.
    fn start_twice_is_an_error_and_forks_nothing() {
        let t = setup();
        let mut p = Process::new(exits_with(0));
        assert_eq!(p.join(None), Err(ProcessError::NotStarted), "join(None) before start()");
        assert_eq!(
            p.join(Some(Duration::ZERO)),
            Err(ProcessError::NotStarted),
            "join(Some(0)) before start()"
        );
        assert_eq!(p.terminate(), Err(ProcessError::NotStarted), "terminate() before start()");
        let gate = Gate::new();
        let mut q = Process::new(gated(gate.fd(), 0));
        let pid = t.start_child(&mut q, "a process blocked at a gate");
        assert_eq!(
            t.start(&mut q),
            Err(ProcessError::AlreadyStarted),
            "start() a second time on a running process"
        );
        assert_eq!(q.pid(), Some(pid), "pid() after the refused second start()");
        let children: Vec<i32> = children_of(t.me).into_iter().map(|(pid, _)| pid).collect();
        assert_eq!(
            children,
            vec![pid],
            "after start() and a refused second start(), the test must have exactly one \
             child: a refused start forks nothing"
        );
        gate.open(1);
        assert_eq!(t.join_code(&mut q, "the gated process"), 0, "join on the gated process");
        assert_eq!(
            t.start(&mut q),
            Err(ProcessError::AlreadyStarted),
            "start() on a process that has ended: a process is started once"
        );
        assert!(
            children_of(t.me).is_empty(),
            "start() on an ended process forked a child"
        );
        for e in [
            ProcessError::AlreadyStarted,
            ProcessError::NotStarted,
            ProcessError::Fork(Errno::EAGAIN),
        ] {
            let error: &dyn std::error::Error = &e;
            assert!(!error.to_string().is_empty(), "{e:?} displays as an empty string");
        }
        t.finish();
    }
}

/// The parent's copy of a global that the child's run() changes.
static RUNS: AtomicI32 = AtomicI32::new(0);

struct Report {
    fd: RawFd,
    times: i32,
}

impl Run for Report {
    fn run(&mut self) -> i32 {
        if !in_child() {
            return RAN_IN_CALLER;
        }
        for _ in 0..self.times {
            RUNS.fetch_add(1, Ordering::SeqCst);
        }
        let seen = RUNS.load(Ordering::SeqCst).to_ne_bytes();
        // SAFETY: writes our own buffer.
        unsafe { libc::write(self.fd, seen.as_ptr().cast(), seen.len()) };
        20 + self.times
    }
}

hidden_test! {
    /// The "subclass" style: Process::from_run(r) runs r.run() in the child; its return
    /// value is the exit code, and what run() changes stays in the child.
    fn from_run_runs_the_trait_in_the_child() {
        let t = setup();
        let (read_end, write_end) = pipe().expect("the test could not create a pipe");
        let mut p = Process::from_run(Report {
            fd: write_end.as_raw_fd(),
            times: 3,
        });
        t.start_child(&mut p, "Process::from_run(Report { times: 3 })");
        drop(write_end);
        let mut bytes = Vec::new();
        use std::io::Read;
        std::fs::File::from(read_end)
            .read_to_end(&mut bytes)
            .expect("the test could not read its pipe");
        let got = t.join_code(&mut p, "the from_run process");
        assert_eq!(
            got,
            23,
            "run() returned 23: the exit code of a from_run process is what run() \
             returns{}",
            explain(got)
        );
        assert_eq!(bytes.len(), 4, "run() writes 4 bytes into a pipe: did it run?");
        let seen = i32::from_ne_bytes(bytes[..].try_into().unwrap());
        assert_eq!(seen, 3, "run() in the child added 3 to its copy of a global that was 0");
        assert_eq!(
            RUNS.load(Ordering::SeqCst),
            0,
            "run() added 3 to a global in the child, yet the parent's copy changed: run() \
             must run in the child, and only there"
        );
        t.finish();
    }
}

hidden_test! {
    /// Dropping a started Process that was not joined kills and reaps its child: a blocked
    /// child, and one that has exited but was never joined (a zombie). No child outlives
    /// its Process.
    fn dropping_a_process_kills_and_reaps_its_child() {
        let t = setup();
        let gate = Gate::new();
        let mut p = Process::new(blocked_forever(gate.fd()));
        let pid = t.start_child(&mut p, "a process blocked for good");
        drop(p);
        let state = proc_state(pid).map(|(state, _)| state);
        assert!(
            !still_ours(pid),
            "a Process whose child was still running (blocked) was dropped, yet the child \
             {pid} is still there (state {state:?}): dropping a started, unjoined Process \
             must kill its child (SIGKILL) and reap it, so that no child outlives its \
             Process"
        );
        let mut q = Process::new(exits_with(0));
        let pid = t.start_child(&mut q, "a process that exits at once");
        t.wait_until_ended(pid);
        drop(q);
        assert!(
            !still_ours(pid),
            "a Process whose child had exited but was never joined was dropped, yet the \
             child {pid} is still a zombie: the drop must reap it"
        );
        drop(Process::new(exits_with(0))); // never started: nothing to do
        t.finish();
    }
}

hidden_test! {
    /// exitcode() looks at the child itself: asked first, before any join or is_alive,
    /// about a child that has exited, it gives the code and reaps the child.
    fn exitcode_is_known_as_soon_as_the_child_has_ended() {
        let t = setup();
        let mut p = Process::new(exits_with(3));
        let pid = t.start_child(&mut p, "a process that exits with 3");
        t.wait_until_ended(pid);
        let got = p.exitcode();
        assert!(
            matches!(got, Some(3)),
            "the child exited with 3 (it is a zombie, not joined yet) and exitcode() was the \
             first thing asked: it gave {got:?}, expected Some(3). exitcode() must look at \
             the child itself (waitpid(pid, WNOHANG)), not only report what join or \
             is_alive recorded before"
        );
        assert!(
            !still_ours(pid),
            "exitcode() found the child ended but did not reap it: it is left a zombie"
        );
        let joined = t.join(&mut p, None);
        assert!(
            matches!(joined, Ok(Some(3))),
            "join(None) after exitcode() saw the end gave {joined:?}, expected Ok(Some(3))"
        );
        t.finish();
    }
}

hidden_test! {
    /// A child killed by a signal has ended too: before any join, is_alive() is false,
    /// exitcode() is minus the signal's number, and the child is reaped; join then gives
    /// the same code.
    fn a_child_killed_by_a_signal_is_seen_ended_before_join() {
        let t = setup();
        let gate = Gate::new();
        // terminate(), then is_alive() first; SIGKILL from outside, then exitcode() first.
        for (how, expected) in [("terminate()", -15), ("SIGKILL", -9)] {
            let mut p = Process::new(blocked_forever(gate.fd()));
            let pid = t.start_child(&mut p, "a process blocked for good");
            if expected == -15 {
                assert!(
                    matches!(p.terminate(), Ok(())),
                    "terminate() on a running child"
                );
            } else {
                kill(Pid::from_raw(pid), Signal::SIGKILL)
                    .expect("the test could not kill its child");
            }
            t.wait_until_ended(pid);
            let (alive, code) = if expected == -15 {
                let alive = p.is_alive();
                (alive, p.exitcode())
            } else {
                let code = p.exitcode();
                (p.is_alive(), code)
            };
            assert!(
                !alive && code == Some(expected),
                "the child was killed by {how} and has ended (a zombie, not joined yet): \
                 is_alive() gave {alive} and exitcode() {code:?}, expected false and \
                 Some({expected}). A child killed by a signal has ended as surely as one that \
                 exited: waitpid(pid, WNOHANG) gives WaitStatus::Signaled for it, and its \
                 exitcode is minus the signal's number"
            );
            assert!(
                !still_ours(pid),
                "is_alive()/exitcode() saw the child killed by {how} but did not reap it"
            );
            let joined = t.join(&mut p, None);
            assert!(
                matches!(joined, Ok(Some(c)) if c == expected),
                "join(None) on a child killed by {how}, whose end is_alive()/exitcode() had \
                 already seen, gave {joined:?}, expected Ok(Some({expected})): keep the \
                 status the look collected"
            );
        }
        t.finish();
    }
}

hidden_test! {
    /// A signal that interrupts join(None)'s wait (waitpid fails with EINTR, as when a
    /// signal handler without SA_RESTART runs) does not end the join: it waits again, and
    /// returns the child's exit code.
    fn join_is_not_ended_by_a_signal() {
        let t = setup();
        let mut interrupted = 0usize;
        let (result, _) = kata_testkit::fault::supervised(
            &[libc::SYS_wait4, libc::SYS_waitid],
            |n, _| {
                let options = if n.nr == libc::SYS_wait4 { n.args[2] } else { n.args[3] };
                if n.from_caller && options & (libc::WNOHANG as u64) == 0 && interrupted < 3 {
                    interrupted += 1;
                    kata_testkit::fault::Reply::Fail(Errno::EINTR)
                } else {
                    kata_testkit::fault::Reply::Continue
                }
            },
            || {
                let mut p = Process::new(exits_with(4));
                if let Err(e) = t.start(&mut p) {
                    panic!("start() gave Err({e:?}) (\"{e}\")");
                }
                p.join(None)
            },
        );
        t.no_strays();
        assert!(
            matches!(result, Ok(Some(4))),
            "join(None) on a child that exits with 4 gave {result:?}, expected Ok(Some(4)); \
             the test made {interrupted} of its blocking waits fail with EINTR, as a signal \
             arriving during the wait does. EINTR only says that a signal came: wait again \
             (the child is still there, unreaped)"
        );
        t.finish();
    }
}

hidden_test! {
    /// Output the caller wrote before start(), still waiting in its stdout buffers, comes
    /// out once: start() writes it out before it forks, so the child's copy of the buffer
    /// is empty, and the child writes out only what its target wrote.
    fn start_writes_the_callers_pending_output_once() {
        let t = setup();
        let pending = kata_testkit::busy::PendingOutput::start("pending;");
        let mut p = Process::new(exits_with(0));
        let started = t.start(&mut p);
        let joined = p.join(None);
        let out = pending.finish();
        t.no_strays();
        assert!(matches!(started, Ok(())), "start() gave {started:?}");
        assert!(matches!(joined, Ok(Some(0))), "join(None) gave {joined:?}, expected Ok(Some(0))");
        let n = out.matches("rust:pending;").count();
        assert_eq!(
            n,
            1,
            "the caller had \"rust:pending;\" waiting in Rust's stdout buffer when it called \
             start(); it came out {n} times (stdout: {out:?}). The child is a copy of the \
             caller, buffers included: flush stdout and stderr in start() before the fork, so \
             that the child's final flush writes out only its own output"
        );
        let n = out.matches("c:pending;").count();
        assert_eq!(
            n,
            1,
            "the caller had \"c:pending;\" waiting in C's stdout buffer when it called \
             start(); it came out {n} times (stdout: {out:?}): the child must end with _exit, \
             which flushes nothing of C's"
        );
        t.finish();
    }
}
