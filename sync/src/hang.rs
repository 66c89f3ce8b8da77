//! Hang detection on real threads: a deadlock or a lost wake-up is reported within about
//! half a second, with each thread and the line where it is stuck, instead of being
//! waited out by the grader's time limit.
//!
//! The facade sees every lock, every wait and every join that goes through it. While a
//! thread is inside one of those calls (and the call has no timeout), its slot below says
//! so, with the caller's `#[track_caller]` location. A watchdog thread, started by
//! [`watch`] (the hidden tests' harness calls it when a test begins), looks every 100 ms.
//! It calls the test hung only when all of these hold, on three looks in a row with
//! nothing changed in between:
//!
//! - every thread of the process (but the watchdog itself, and libtest's main thread,
//!   which only waits for the test's result) is inside such a call: a thread that never
//!   went through the facade, or that is doing anything else (running, sleeping, a timed
//!   wait, reading a pipe), could still wake the others, so it vetoes;
//! - the kernel has every one of them asleep (`S` in `/proc/self/task/*/stat`): a thread
//!   that has just been woken is runnable (`R`) until it has run;
//! - no thread has left its call and entered another since the first look (a counter per
//!   thread).
//!
//! Then each thread was inside its call, asleep, at one common moment, and only another
//! thread of the process could wake it: none is left to do so. That is a hang whatever
//! the load on the machine, so the verdict does not depend on timing. A wait with a
//! timeout is never part of a hang (its timeout may be the intended behaviour), unless the
//! timeout is longer than any test lives (`LONG_WAIT`, 5 minutes); nor is a thread that spins.
//!
//! Without [`watch`] (a plain `cargo test`, or loom) nothing is recorded and the facade
//! costs one relaxed load per blocking call.

/// Marks the calling thread as the test's and starts the watchdog (once per process).
/// A hang is reported on stderr and as a panic (through whatever panic hook is set), and
/// the process then exits with status 101, as a failed test does.
pub fn watch() {
    #[cfg(not(feature = "loom"))]
    imp::watch(None);
}

/// Like [`watch`], but a hang is reported by calling `report` with the text (and on
/// stderr), not through the panic hook, which a test may have replaced. The hidden
/// tests' harness calls this when a test body begins.
pub fn watch_reporting_to(report: fn(&str)) {
    #[cfg(not(feature = "loom"))]
    imp::watch(Some(report));
    #[cfg(feature = "loom")]
    let _ = report;
}

/// Runs `f`, a wait for other threads of the test (a join, a receive with a generous
/// fallback timeout, a test's own gate), with the calling thread counted as blocked while
/// it waits: `waits` says for what ("for the other task to arrive"). Use it only where
/// the thread can do nothing until another thread acts, and where its timeout is a hang
/// guard rather than the behaviour under test.
#[track_caller]
pub fn waiting_for_others<R>(waits: &'static str, f: impl FnOnce() -> R) -> R {
    #[cfg(not(feature = "loom"))]
    return imp::blocked(imp::Kind::Others(waits), f);
    #[cfg(feature = "loom")]
    {
        let _ = waits;
        f()
    }
}

/// Returns once at least `n` threads other than the caller are asleep inside an untimed
/// wait of the facade for another thread's signal (a condition variable wait, or a receive
/// on the facade's channel: where a queue's idle workers sleep), or after `fallback` if
/// that never happens.
/// Returns whether it happened.
///
/// A stress test calls this before the event that must wake those threads (a close, a
/// drop, a goodbye): then a submission that loses the wake-up leaves them asleep on every
/// run, and the hang watch reports it, instead of only on runs where the threads happened
/// to be asleep in time. `fallback` is only for submissions whose threads never sleep in
/// the facade's wait (they spin, or poll with a timeout); the test then goes on as it
/// would have without the gate. Without the hang watch (a plain `cargo test`) the slots
/// are not kept, so it waits a moment and returns false. It returns false at once when
/// fewer than `n` other threads are left in the process (the threads to wait for ended
/// without sleeping, or were never started).
pub fn until_asleep_in_waits(n: usize, fallback: std::time::Duration) -> bool {
    #[cfg(not(feature = "loom"))]
    return imp::until_asleep_in(
        &imp::WAITS,
        |me, tid| tid != me,
        n,
        fallback,
        || imp::other_threads() < n,
    );
    #[cfg(feature = "loom")]
    {
        let _ = (n, fallback);
        false
    }
}

/// Like [`until_asleep_in_waits`], for the threads `tids` ([`tid`] of each), where other
/// threads (a pool's idle workers) may be asleep in waits too and must not be counted. A
/// join of a facade thread counts too here (a group's `join_all` may join its threads),
/// and so does a wait for a facade lock (a second `join` waits for the first to finish).
/// Returns false at once if one of them has ended.
pub fn until_these_asleep_in_waits(tids: &[i32], fallback: std::time::Duration) -> bool {
    #[cfg(not(feature = "loom"))]
    return imp::until_these_asleep_in_waits(tids, fallback);
    #[cfg(feature = "loom")]
    {
        let _ = (tids, fallback);
        false
    }
}

/// The calling thread's kernel id, as [`until_these_asleep_in_waits`] takes it.
pub fn tid() -> i32 {
    #[cfg(not(feature = "loom"))]
    return nix::unistd::gettid().as_raw();
    #[cfg(feature = "loom")]
    0
}

/// Whether the thread `tid` ([`tid`]) of this process has ended (or was never one of its
/// threads). A thread's own code, thread-local destructors included, has all run by then.
pub fn thread_ended(tid: i32) -> bool {
    !std::path::Path::new(&format!("/proc/self/task/{tid}")).exists()
}

#[cfg(not(feature = "loom"))]
pub(crate) use imp::{blocked, Kind};

/// A timed wait at least this long is, for the hang watch, an untimed one: no test lives
/// that long (the grader's time limits are a minute or less), so when nobody is left to
/// end it early, it is a hang.
#[cfg(not(feature = "loom"))]
pub(crate) const LONG_WAIT: std::time::Duration = std::time::Duration::from_secs(300);

#[cfg(not(feature = "loom"))]
mod imp {
    use std::cell::Cell;
    use std::fmt::Write as _;
    use std::panic::Location;
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    /// What a blocked thread waits for.
    #[derive(Clone, Copy)]
    pub enum Kind {
        Lock,
        Wait,
        Join,
        /// A receive on the facade's channel.
        Receive,
        Others(&'static str),
    }

    /// More threads than any test runs at once; a thread that finds no free slot is
    /// simply not watched (it then vetoes every verdict of hang, which is safe).
    const SLOTS: usize = 1024;
    const RUNNING: u32 = 0;
    const LOCK: u32 = 1;
    const WAIT: u32 = 2;
    const JOIN: u32 = 3;
    const OTHERS: u32 = 4;
    const RECEIVE: u32 = 5;
    /// Waits for another thread's signal, which a lost wake-up leaves asleep. (Not a join,
    /// for `until_asleep_in_waits`: a test's own threads join the code under test.)
    pub const WAITS: [u32; 2] = [WAIT, RECEIVE];
    const LOOK_EVERY: Duration = Duration::from_millis(100);
    /// Looks in a row that must agree before a hang is called.
    const LOOKS: usize = 3;

    /// One thread's record. Written only by its thread (lock-free, so a forked child that
    /// inherits the table half-written cannot deadlock on it), read by the watchdog.
    struct Slot {
        /// The kernel's thread id; 0 when the slot is free.
        tid: AtomicI32,
        state: AtomicU32,
        /// Counts the blocking calls this thread has entered.
        entered: AtomicU32,
        /// Where the current blocking call was made.
        location: AtomicPtr<Location<'static>>,
        /// For `OTHERS`: what the thread waits for (a `&'static str`, as pointer and
        /// length).
        waits: AtomicPtr<u8>,
        waits_len: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const FREE: Slot = Slot {
        tid: AtomicI32::new(0),
        state: AtomicU32::new(RUNNING),
        entered: AtomicU32::new(0),
        location: AtomicPtr::new(std::ptr::null_mut()),
        waits: AtomicPtr::new(std::ptr::null_mut()),
        waits_len: AtomicUsize::new(0),
    };
    static TABLE: [Slot; SLOTS] = [FREE; SLOTS];
    static WATCHING: AtomicBool = AtomicBool::new(false);
    static STARTED: Mutex<bool> = Mutex::new(false);
    /// Names of watched threads by tid, for the report. Only `try_lock`ed by the threads
    /// themselves: a forked child may inherit it locked.
    static NAMES: Mutex<Vec<(i32, String)>> = Mutex::new(Vec::new());
    /// The thread that called [`watch`]: the test's own.
    static TEST_TID: AtomicI32 = AtomicI32::new(0);
    static WATCHDOG_TID: AtomicI32 = AtomicI32::new(0);
    static REPORTER: std::sync::OnceLock<fn(&str)> = std::sync::OnceLock::new();

    /// The calling thread's slot, claimed at its first blocking call and given back when
    /// the thread ends.
    struct Claim(Cell<Option<usize>>);

    impl Drop for Claim {
        fn drop(&mut self) {
            if let Some(i) = self.0.get() {
                TABLE[i].state.store(RUNNING, Ordering::Release);
                TABLE[i].tid.store(0, Ordering::Release);
            }
        }
    }

    thread_local! {
        static CLAIM: Claim = const { Claim(Cell::new(None)) };
    }

    fn my_slot() -> Option<&'static Slot> {
        CLAIM
            .try_with(|claim| {
                if let Some(i) = claim.0.get() {
                    return Some(&TABLE[i]);
                }
                let tid = nix::unistd::gettid().as_raw();
                let i = TABLE.iter().position(|slot| {
                    slot.tid
                        .compare_exchange(0, tid, Ordering::AcqRel, Ordering::Relaxed)
                        .is_ok()
                })?;
                claim.0.set(Some(i));
                if let Ok(mut names) = NAMES.try_lock() {
                    names.retain(|(t, _)| *t != tid);
                    if let Some(name) = std::thread::current().name() {
                        names.push((tid, name.to_string()));
                    }
                }
                Some(&TABLE[i])
            })
            .ok()
            .flatten()
    }

    pub fn watch(report: Option<fn(&str)>) {
        if let Some(report) = report {
            let _ = REPORTER.set(report);
        }
        // The test's own thread is known from the start, so that it never passes for
        // libtest's main thread.
        WATCHING.store(true, Ordering::SeqCst);
        if my_slot().is_some() {
            TEST_TID.store(nix::unistd::gettid().as_raw(), Ordering::SeqCst);
        }
        let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
        if !*started {
            let spawned = std::thread::Builder::new()
                .name("kata-hang-watch".into())
                .spawn(watchdog);
            *started = spawned.is_ok();
            // Until the watchdog runs its own code. Before that, std's thread start holds
            // a lock of its own (the stack-overflow handler's `thread_info::LOCK`), and a
            // test that forks at once would copy it held: a child that then leaves with
            // `std::process::exit` (whose cleanup takes that lock) would hang now and
            // then, and a verdict would depend on when the fork came.
            if *started {
                while WATCHDOG_TID.load(Ordering::SeqCst) == 0 {
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Runs `f` with the calling thread marked as blocked in `kind` at the caller's line.
    #[track_caller]
    pub fn blocked<R>(kind: Kind, f: impl FnOnce() -> R) -> R {
        if !WATCHING.load(Ordering::Relaxed) {
            return f();
        }
        let Some(slot) = my_slot() else {
            return f();
        };
        let location: &'static Location<'static> = Location::caller();
        slot.location
            .store(location as *const _ as *mut _, Ordering::Relaxed);
        let state = match kind {
            Kind::Lock => LOCK,
            Kind::Wait => WAIT,
            Kind::Join => JOIN,
            Kind::Receive => RECEIVE,
            Kind::Others(waits) => {
                slot.waits
                    .store(waits.as_ptr() as *mut u8, Ordering::Relaxed);
                slot.waits_len.store(waits.len(), Ordering::Relaxed);
                OTHERS
            }
        };
        // A blocking call inside another (a test's wait around a facade receive) puts
        // back the outer one's state when it returns.
        let outer = slot.state.load(Ordering::Relaxed);
        slot.entered.fetch_add(1, Ordering::Relaxed);
        slot.state.store(state, Ordering::Release);
        // Marked back even if `f` unwinds.
        struct Back(&'static Slot, u32);
        impl Drop for Back {
            fn drop(&mut self) {
                self.0.state.store(self.1, Ordering::Release);
            }
        }
        let _back = Back(slot, outer);
        f()
    }

    /// The kernel ids of the process's threads; `None` if /proc cannot tell.
    fn task_ids() -> Option<Vec<i32>> {
        std::fs::read_dir("/proc/self/task")
            .ok()?
            .map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
            .collect()
    }

    /// Threads of the process besides the caller, the watchdog and libtest's main thread.
    pub fn other_threads() -> usize {
        let me = nix::unistd::gettid().as_raw();
        let (pid, watchdog) = (
            std::process::id() as i32,
            WATCHDOG_TID.load(Ordering::SeqCst),
        );
        let Some(tasks) = task_ids() else {
            return usize::MAX; // cannot tell: never hopeless
        };
        tasks
            .into_iter()
            .filter(|tid| ![me, pid, watchdog].contains(tid))
            .count()
    }

    pub fn until_these_asleep_in_waits(tids: &[i32], fallback: Duration) -> bool {
        // A thread that has ended will never sleep: no use waiting for it.
        let ended = || tids.iter().any(|&tid| super::thread_ended(tid));
        let counts = |_, tid| tids.contains(&tid);
        until_asleep_in(
            &[WAIT, RECEIVE, JOIN, LOCK],
            counts,
            tids.len(),
            fallback,
            ended,
        )
    }

    /// Whether `n` threads that `counts(me, tid)` are asleep in one of the `states`, on two
    /// looks in a row with none of them having entered another call in between (a thread
    /// that meets a busy lock on its way to its wait is not there yet); false after
    /// `fallback`, or as soon as `hopeless()`.
    pub fn until_asleep_in(
        states: &[u32],
        counts: impl Fn(i32, i32) -> bool,
        n: usize,
        fallback: Duration,
        hopeless: impl Fn() -> bool,
    ) -> bool {
        if !WATCHING.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            return false;
        }
        let me = nix::unistd::gettid().as_raw();
        let began = std::time::Instant::now();
        let mut last: Option<Vec<(i32, u32)>> = None;
        loop {
            let asleep_now: Vec<(i32, u32)> = TABLE
                .iter()
                .filter_map(|s| {
                    let tid = s.tid.load(Ordering::Acquire);
                    let counted = tid != 0
                        && counts(me, tid)
                        && states.contains(&s.state.load(Ordering::Acquire))
                        && asleep(tid);
                    counted.then(|| (tid, s.entered.load(Ordering::Acquire)))
                })
                .collect();
            if asleep_now.len() >= n {
                if last.as_ref() == Some(&asleep_now) {
                    return true;
                }
                last = Some(asleep_now);
            } else {
                last = None;
            }
            if began.elapsed() >= fallback || hopeless() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// One blocked thread, as one look saw it.
    #[derive(PartialEq, Eq)]
    struct Stuck {
        tid: i32,
        state: u32,
        entered: u32,
        location: *mut Location<'static>,
        waits: (*mut u8, usize),
    }

    fn watchdog() {
        let me = nix::unistd::gettid().as_raw();
        WATCHDOG_TID.store(me, Ordering::SeqCst);
        let pid = std::process::id() as i32;
        let mut agreeing: Vec<Vec<Stuck>> = Vec::new();
        loop {
            std::thread::sleep(LOOK_EVERY);
            match look(me, pid) {
                Some(stuck) if agreeing.last().is_none_or(|last| *last == stuck) => {
                    agreeing.push(stuck);
                    if agreeing.len() >= LOOKS {
                        report(&agreeing[0]);
                    }
                }
                Some(stuck) => agreeing = vec![stuck],
                None => agreeing.clear(),
            }
        }
    }

    /// Every thread of the process but `me` (and libtest's main thread), if each is
    /// asleep inside a blocking call of the facade; `None` if any is not.
    fn look(me: i32, pid: i32) -> Option<Vec<Stuck>> {
        // Cheap first: a watched thread that is running ends the look.
        if TABLE.iter().any(|s| {
            s.tid.load(Ordering::Acquire) != 0 && s.state.load(Ordering::Acquire) == RUNNING
        }) {
            return None;
        }
        let mut stuck = Vec::new();
        for tid in task_ids()? {
            if tid == me {
                continue;
            }
            let Some(slot) = TABLE.iter().find(|s| s.tid.load(Ordering::Acquire) == tid) else {
                if tid == pid {
                    continue; // libtest's main thread, waiting for the test's result
                }
                return None; // a thread the facade knows nothing of
            };
            let state = slot.state.load(Ordering::Acquire);
            if state == RUNNING || !asleep(tid) {
                return None;
            }
            stuck.push(Stuck {
                tid,
                state,
                entered: slot.entered.load(Ordering::Acquire),
                location: slot.location.load(Ordering::Acquire),
                waits: (
                    slot.waits.load(Ordering::Acquire),
                    slot.waits_len.load(Ordering::Acquire),
                ),
            });
        }
        stuck.sort_by_key(|s| s.tid);
        (!stuck.is_empty()).then_some(stuck)
    }

    /// Whether the kernel has the thread asleep (state `S`): not runnable, not stopped.
    fn asleep(tid: i32) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")) else {
            return false;
        };
        // The state follows the command name, which is in parentheses and may hold any
        // character: look after the last ')'.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next())
            == Some('S')
    }

    fn thread_name(tid: i32) -> String {
        let name = NAMES.lock().ok().and_then(|names| {
            names
                .iter()
                .find(|(t, _)| *t == tid)
                .map(|(_, n)| n.clone())
        });
        match name {
            Some(name) if TEST_TID.load(Ordering::SeqCst) == tid => {
                format!("the test's thread ('{name}')")
            }
            Some(name) => format!("thread '{name}'"),
            None if TEST_TID.load(Ordering::SeqCst) == tid => "the test's thread".into(),
            None => "an unnamed thread".into(),
        }
    }

    /// The location as a student reads it: a kata's file from its `src/`, a hidden
    /// suite's by its name alone.
    fn short(file: &str) -> &str {
        if let Some(at) = file.find("/katas/") {
            let rest = &file[at + "/katas/".len()..];
            if let Some(slash) = rest.find('/') {
                return &rest[slash + 1..];
            }
        }
        if file.contains("/hidden/") || file.contains("/testkit/") {
            return file.rsplit('/').next().unwrap_or(file);
        }
        file
    }

    fn report(stuck: &[Stuck]) -> ! {
        let mut message = String::from(
            "hang: every thread of the test is blocked and none is left to wake another \
             (a deadlock, or a lost wake-up):",
        );
        // Threads stuck at the same line are told once, with their number; lines are
        // sorted by text, not by tid, so that the same hang reads the same on every run.
        let mut lines: Vec<(String, usize)> = Vec::new();
        for s in stuck {
            let what = match s.state {
                LOCK => "waits for a lock".to_string(),
                WAIT => "waits on a condition variable".to_string(),
                JOIN => "waits for a thread to end (join)".to_string(),
                RECEIVE => "waits for a message on a channel".to_string(),
                _ if s.waits.0.is_null() => "waits for other threads".to_string(),
                // SAFETY: a non-null `waits` was stored, with its length, from a
                // `&'static str` (see `blocked`), which is never freed.
                _ => format!("waits {}", unsafe {
                    std::str::from_utf8_unchecked(std::slice::from_raw_parts(s.waits.0, s.waits.1))
                }),
            };
            // SAFETY: a non-null `location` was stored from a `&'static Location<'static>`.
            let at = match unsafe { s.location.as_ref() } {
                Some(l) => format!(" at {}:{}", short(l.file()), l.line()),
                None => String::new(),
            };
            let line = format!("{} {what}{at}", thread_name(s.tid));
            match lines.iter_mut().find(|(l, _)| *l == line) {
                Some((_, n)) => *n += 1,
                None => lines.push((line, 1)),
            }
        }
        lines.sort();
        for (line, n) in lines {
            if n == 1 {
                let _ = write!(message, "\n  {line}");
            } else {
                let _ = write!(message, "\n  {line} ({n} threads)");
            }
        }
        match REPORTER.get() {
            Some(report) => {
                eprintln!("{message}");
                report(&message);
            }
            // A panic hook shows it (and prints it); the panic is caught here.
            None => {
                let _ = std::panic::catch_unwind(|| std::panic::panic_any(message));
            }
        }
        // The process ends as a failed test's does.
        crate::process::_exit(101)
    }
}
