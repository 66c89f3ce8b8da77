//! Hidden proc suite of kata `fork_isolation`: real forks, checked from outside the kata.
//!
//! The grader runs each test in a process of its own; each test also stands alone (it
//! measures COUNTER relative to its value before the call).
//!
//! Every call goes through `kata_testkit::proc::call` (or `guarded`), which proves the
//! child real (its pid lies between those of two probe children forked just before and
//! after), catches a child that comes back out of `fork_and_add` into the test (it is sent
//! away at once, before it can run any of the test), and waits until every child has
//! ended, without collecting it.
//!
//! Error paths are made to happen, not waited for: `kata_testkit::fault` stops the child
//! in a chosen system call (the write of its value) and kills it there, makes that write
//! fail, or adds to the parent's COUNTER while the child is stopped (as another thread of
//! the caller would); a fork is refused with EAGAIN. The caller's world is made busy with
//! `kata_testkit::busy`: children of its own, another thread holding stdout's lock,
//! output pending in its buffers.

use fork_isolation::{fork_and_add, ForkError, Observation, COUNTER};
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

use proc::my_pid;

/// One guarded call of `fork_and_add`.
struct Call {
    parent_delta: i64,
    child_delta: i64,
    call: proc::Call<Result<Observation, ForkError>>,
}

impl Call {
    fn text(&self) -> String {
        format!("fork_and_add({}, {})", self.parent_delta, self.child_delta)
    }

    fn stray(&self) -> Option<i32> {
        self.call.stray()
    }

    /// The observation, after checking that it names a child forked during the call.
    fn real(&self) -> Observation {
        let call = self.text();
        let obs = match self.call.value {
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
            self.call.forked(pid),
            "{call} returned child_pid {pid}, but no process with that pid was forked \
             during the call (the pids handed out just before and just after it were {} \
             and {}): return the pid that fork() gave the parent",
            self.call.before,
            self.call.after
        );
        obs
    }
}

/// Calls `fork_and_add`, guarded (see the module's doc).
fn call(parent_delta: i64, child_delta: i64) -> Call {
    Call {
        parent_delta,
        child_delta,
        call: proc::call(|| fork_and_add(parent_delta, child_delta)),
    }
}

/// A result, for a message.
fn shown(result: &Result<Observation, ForkError>) -> String {
    match result {
        Ok(o) => format!(
            "Ok(Observation {{ parent_saw: {}, child_saw: {}, child_pid: {} }})",
            o.parent_saw, o.child_saw, o.child_pid
        ),
        Err(e) => format!("Err({e:?})"),
    }
}

/// `fork_and_add(p, c)` whose child is killed at the write of its value: the result, the
/// children that came back, the pids killed.
fn child_dies_before_reporting(p: i64, c: i64) -> (Result<Observation, ForkError>, Vec<i32>, Vec<i32>) {
    let ((result, strays), killed) =
        fault::kill_children_when(&[libc::SYS_write], fault::writes_to_a_pipe, || {
            proc::guarded(|| fork_and_add(p, c))
        });
    assert!(
        !killed.is_empty(),
        "fork_and_add({p}, {c}): the test meant to kill the child at the write of its value, \
         but no child wrote into a pipe ({})",
        shown(&result)
    );
    (result, strays, killed)
}

hidden_test! {
    /// The pid in the observation is that of a real child, forked during the call.
    fn child_is_a_real_forked_process() {
        proc::setup();
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
        proc::setup();
        let me = my_pid();
        for (p, c) in [(2, 5), (7, 1)] {
            let call = call(p, c);
            let pid = call.real().child_pid;
            let state = proc::proc_state(pid);
            let status = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
            if status == Ok(WaitStatus::StillAlive) {
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
                call.text()
            );
            if let Some((state, ppid)) = proc::proc_state(pid) {
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
        proc::setup();
        let me = my_pid();
        for (p, c) in [(1, 1), (4, 9), (-2, 3)] {
            let call = call(p, c);
            if let Some(stray) = call.stray() {
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
        for (p, c) in [(3, 8), (1, -6)] {
            let (mark_read, mark_write) = pipe().expect("the test could not create a pipe");
            EXIT_MARK_FD.store(mark_write.as_raw_fd(), Ordering::SeqCst);
            let pending = busy::PendingOutput::start("pending;");
            let call = call(p, c);
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
                 twice); end the child with kata_sync::process::_exit(0)",
                call.text()
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
                    call.text()
                );
            }
        }
    }
}

hidden_test! {
    /// The child's change does not reach the parent: only parent_delta is added there.
    fn parent_counter_sees_only_its_own_delta() {
        proc::setup();
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
        proc::setup();
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
        proc::setup();
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
    /// The caller has children of its own: two that have ended and wait to be collected,
    /// one still running. fork_and_add reaps its own child only, and leaves the caller's.
    fn only_its_own_child_is_reaped() {
        proc::setup();
        for (p, c) in [(1, 2), (3, 4)] {
            let own = busy::OwnChildren::new(&[21, 22], 1);
            let call = call(p, c);
            if let Ok(obs) = call.call.value {
                if obs.child_pid > 0 && proc::still_ours(obs.child_pid) {
                    let _ = proc::reap(obs.child_pid);
                }
            }
            own.check(&call.text());
            call.real();
        }
    }
}

hidden_test! {
    /// The child dies before it sends its value (killed at that write): fork_and_add
    /// returns Err(ShortRead { got }) with fewer than 8 bytes, at once.
    fn a_child_that_dies_before_reporting_gives_short_read() {
        proc::setup();
        for (p, c) in [(2, 3), (-4, 1)] {
            let (result, strays, _) = child_dies_before_reporting(p, c);
            assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
            match result {
                Err(ForkError::ShortRead { got }) if got < 8 => {}
                other => panic!(
                    "fork_and_add({p}, {c}): the child was killed before it wrote its value \
                     (the pipe ends with 0 bytes), and the call returned {}: expected \
                     Err(ForkError::ShortRead {{ got: 0 }})",
                    shown(&other)
                ),
            }
        }
    }
}

hidden_test! {
    /// The child dies before it sends its value: the call fails, and still reaps the dead
    /// child (no zombie is left behind by the error path).
    fn a_child_that_dies_before_reporting_is_still_reaped() {
        proc::setup();
        let me = my_pid();
        for (p, c) in [(1, 1), (6, 0)] {
            let (result, _, _) = child_dies_before_reporting(p, c);
            let left = proc::children_of(me);
            proc::kill_and_reap_children();
            assert!(
                left.is_empty(),
                "the child of fork_and_add({p}, {c}) died before sending its value, the call \
                 returned {}, and the caller still has the child(ren) (pid, state) {left:?} \
                 (Z: a zombie). Reap the child even when the read failed: waitpid first, \
                 then return the error",
                shown(&result)
            );
        }
    }
}

hidden_test! {
    /// A call that fails changes nothing: the child died before sending its value, or
    /// fork() was refused; the parent's COUNTER is what it was, and nothing stays open.
    fn a_failed_call_leaves_counter_unchanged() {
        proc::setup();
        let fds = proc::open_fds();
        COUNTER.store(10, Ordering::SeqCst);
        let (result, _, _) = child_dies_before_reporting(5, 1);
        let now = COUNTER.load(Ordering::SeqCst);
        assert!(
            result.is_err(),
            "fork_and_add(5, 1) whose child died before sending its value returned {}",
            shown(&result)
        );
        assert_eq!(
            now, 10,
            "COUNTER was 10; fork_and_add(5, 1) failed (its child died before sending its \
             value: {}), yet the parent's COUNTER is now {now}. The parent adds parent_delta \
             only once the child has reported and been reaped: a call that fails changes \
             nothing",
            shown(&result)
        );
        let ((result, _), refused) =
            fault::forks_fail(|| proc::guarded(|| fork_and_add(7, 1)));
        let now = COUNTER.load(Ordering::SeqCst);
        assert!(refused > 0, "fork_and_add(7, 1) never forked ({})", shown(&result));
        match result {
            Err(ForkError::Fork(Errno::EAGAIN)) => {}
            other => panic!(
                "fork() failed with EAGAIN (too many processes), and fork_and_add(7, 1) \
                 returned {}: expected Err(ForkError::Fork(EAGAIN))",
                shown(&other)
            ),
        }
        assert_eq!(
            now, 10,
            "COUNTER was 10; fork_and_add(7, 1) failed at fork(), yet the parent's COUNTER is \
             now {now}: a call that fails changes nothing"
        );
        let new = proc::new_fds(&fds, &proc::open_fds());
        assert!(
            new.is_empty(),
            "two failed calls of fork_and_add left the descriptors {new:?} open: every path \
             closes the pipe, the error paths too"
        );
    }
}

hidden_test! {
    /// The child's write fails (EIO): the child still ends at once with _exit (it must not
    /// panic back into the caller's code), and the call returns Err(ShortRead { got: 0 }).
    fn a_child_whose_write_fails_still_exits() {
        proc::setup();
        for (p, c) in [(1, 2), (3, 4)] {
            let ((result, strays), failed) =
                fault::fail_children(libc::SYS_write, Errno::EIO, || {
                    proc::guarded(|| fork_and_add(p, c))
                });
            assert!(
                failed > 0,
                "fork_and_add({p}, {c}): the test meant to make the child's write fail, but no \
                 child wrote ({})",
                shown(&result)
            );
            if let Some(stray) = strays.first() {
                panic!(
                    "the child (pid {stray}) of fork_and_add({p}, {c}) could not write its value \
                     (write failed with EIO), and it came back into the caller's code instead \
                     of exiting: an unwrap or expect panicked, and the panic unwound out of \
                     fork_and_add in the child. In the child nothing may panic: when the \
                     write fails, give up quietly and _exit"
                );
            }
            match result {
                Err(ForkError::ShortRead { got: 0 }) => {}
                other => panic!(
                    "fork_and_add({p}, {c}): the child's write failed, so nothing came through \
                     the pipe; the call returned {}, expected Err(ForkError::ShortRead {{ got: \
                     0 }})",
                    shown(&other)
                ),
            }
        }
    }
}

hidden_test! {
    /// COUNTER is an AtomicI64, and its additions wrap around: at i64::MAX, + 1 gives
    /// i64::MIN, in the child and in the parent; nothing panics.
    fn counter_wraps_around_at_the_edges() {
        proc::setup();
        for (start, p, c, child, parent) in [
            (i64::MAX, 0, 1, i64::MIN, i64::MAX),
            (i64::MIN, -1, 0, i64::MIN, i64::MAX),
        ] {
            COUNTER.store(start, Ordering::SeqCst);
            let call = call(p, c);
            if let Some(stray) = call.stray() {
                panic!(
                    "COUNTER was {start}; the child (pid {stray}) of {} came back into the \
                     caller's code instead of exiting: it panicked (an addition that \
                     overflowed, with a plain +?), and the panic unwound out of fork_and_add. \
                     COUNTER's additions wrap around, as fetch_add does: compute what a \
                     process sees with wrapping_add",
                    call.text()
                );
            }
            let obs = call.real();
            assert_eq!(
                (obs.child_saw, obs.parent_saw),
                (child, parent),
                "COUNTER was {start}; {} returned (child_saw, parent_saw) = ({}, {}), expected \
                 ({child}, {parent}): an AtomicI64's fetch_add wraps around, and each side \
                 reports the value its COUNTER then holds",
                call.text(),
                obs.child_saw,
                obs.parent_saw
            );
        }
    }
}

hidden_test! {
    /// Another thread of the caller adds to COUNTER while the child runs: its addition is
    /// kept (fork_and_add adds to the parent's COUNTER; it never stores a value computed
    /// before the fork).
    fn another_threads_additions_are_kept() {
        proc::setup();
        let before = COUNTER.load(Ordering::SeqCst);
        // The 1000 is added once both have happened: the child is about to send its value
        // (its write is held until then), and the caller has made a system call after its
        // fork returned. So it comes after anything the parent does between its fork and
        // its first call (a parent that adds its delta at once has done so), and before
        // the parent can have read the child's value: on every run, whichever runs first.
        let (mut forked, mut moved, mut added) = (false, false, false);
        let mut held: Option<u64> = None;
        let calls = [
            libc::SYS_write,
            libc::SYS_clone,
            libc::SYS_fork,
            libc::SYS_vfork,
            libc::SYS_close,
            libc::SYS_read,
            libc::SYS_wait4,
            libc::SYS_waitid,
        ];
        let ((result, strays), _) = fault::supervised(
            &calls,
            |n, desk| {
                if n.from_caller {
                    if fault::forks(n) {
                        forked = true;
                    } else if forked && !moved {
                        moved = true;
                        if let Some(id) = held.take() {
                            added = true;
                            COUNTER.fetch_add(1000, Ordering::SeqCst);
                            desk.release(id);
                        }
                    }
                    fault::Reply::Continue
                } else if fault::writes_to_a_pipe(n) && !added && held.is_none() {
                    if moved {
                        // Another thread of the caller adds 1000 now.
                        added = true;
                        COUNTER.fetch_add(1000, Ordering::SeqCst);
                        fault::Reply::Continue
                    } else {
                        held = Some(n.id);
                        fault::Reply::Hold
                    }
                } else {
                    fault::Reply::Continue
                }
            },
            || proc::guarded(|| fork_and_add(5, 7)),
        );
        assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
        assert!(
            added,
            "fork_and_add(5, 7): the test meant to add 1000 to COUNTER while the child sends \
             its value, but no child wrote into a pipe, or the caller made no system call \
             after its fork ({})",
            shown(&result)
        );
        let obs = match result {
            Ok(obs) => obs,
            Err(e) => panic!("fork_and_add(5, 7) returned Err({e:?}) (\"{e}\")"),
        };
        let now = COUNTER.load(Ordering::SeqCst);
        let why = if now == before + 5 {
            ": the other thread's +1000 was lost. Was COUNTER read before the fork and \
             start + parent_delta stored afterwards? Add parent_delta to COUNTER (fetch_add)"
        } else {
            ""
        };
        assert_eq!(
            now,
            before + 1000 + 5,
            "COUNTER was {before}; while fork_and_add(5, 7) waited for its child, another \
             thread of the caller added 1000. Afterwards the parent's COUNTER is {now}, \
             expected {before} + 1000 + 5{why}"
        );
        assert_eq!(
            obs.parent_saw, now,
            "fork_and_add(5, 7) returned parent_saw {}, but the parent's COUNTER is {now}: \
             parent_saw is the value COUNTER held right after the parent's addition, which \
             comes once the child has reported and been reaped",
            obs.parent_saw
        );
        assert_eq!(
            obs.child_saw,
            before + 7,
            "COUNTER was {before} at the fork; the child reported {}, expected {before} + 7 \
             (the other thread's addition came after the fork, in the parent only)",
            obs.child_saw
        );
    }
}

hidden_test! {
    /// Another thread of the caller holds stdout's and stderr's locks across the fork: the
    /// child, which has only the forking thread, must not wait for them.
    fn the_child_never_waits_for_a_lock_another_thread_holds() {
        proc::setup();
        let before = proc::probe_pid();
        let held = busy::hold_stdio();
        let ((result, strays), locked) = fault::kill_children_when(
            &[libc::SYS_futex, libc::SYS_futex_waitv],
            fault::waits_on_a_futex,
            || proc::guarded(|| fork_and_add(1, 2)),
        );
        drop(held);
        let after = proc::probe_pid();
        assert!(strays.is_empty(), "a child came back into the caller: {strays:?}");
        assert!(
            locked.is_empty(),
            "another thread of the caller held stdout's and stderr's locks while \
             fork_and_add(1, 2) forked, and the child (pid {:?}) went to wait for a lock: it \
             would have waited for ever (the test killed it; the call gave {}). fork copies \
             only the calling thread: a lock another thread held stays locked in the child. \
             The child may call only async-signal-safe functions: an atomic add, write, _exit",
            locked,
            shown(&result)
        );
        match result {
            Ok(obs) if proc::forked_between(before, obs.child_pid, after) => {}
            other => panic!(
                "fork_and_add(1, 2) returned {} while another thread held stdout's lock: \
                 expected Ok, with the child_pid of a child forked during the call",
                shown(&other)
            ),
        }
    }
}

hidden_test! {
    /// Ten calls leave exactly the descriptors that were open before.
    fn no_descriptor_is_left_open() {
        proc::setup();
        let before = proc::open_fds();
        for _ in 0..10 {
            call(1, 1).real();
        }
        let after = proc::open_fds();
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
