//! This process and its children as the kernel sees them: pids, `/proc`, descriptors,
//! reaping, and probes that tell a real fork from a fake one; the guards that catch a
//! child coming back out of the kata into the test.
//!
//! The process suites run as PID 2 of a PID namespace of their own, with a fresh `/proc`:
//! every process listed there is the test's or its init's.
//!
//! ```ignore
//! use kata_testkit::proc;
//!
//! proc::setup();                       // SIGCHLD back to its default: children are reaped by hand
//! let before = proc::open_fds();
//! let call = proc::call(|| fork_and_report());   // a guarded call (see `call`)
//! let forked = call.value.unwrap();           // call.strays: children that came back
//! assert!(call.forked(forked.child_pid));        // forked during the call
//! assert!(!proc::still_ours(forked.child_pid));  // reaped
//! assert!(proc::new_fds(&before, &proc::open_fds()).is_empty());
//! ```
//!
//! The API (stable: the process suites depend on it):
//! - who: [`my_pid`], [`my_tid`], [`my_parent`], [`setup`];
//! - `/proc`: [`proc_state`], [`children_of`], [`zombies_of`], [`live_children_of`],
//!   [`open_fds`], [`new_fds`], [`fd_flags`], [`pipe_bytes`];
//! - waiting without reaping: [`wait_until_ended`], [`still_ours`], [`settle_children`];
//!   reaping: [`reap`], [`any_child`], [`kill_and_reap_children`];
//! - raw I/O safe in a forked child: [`raw_write`], [`read_byte`], [`read_to_end`];
//! - forking: [`fork_exiting`], [`fork_child`], [`probe_pid`], [`forked_between`];
//! - guarded calls of a kata that forks: [`call`] (a [`Call`]: the value, a child that came
//!   back, the probes around it), and for katas whose children outlive the call, a
//!   [`Family`] whose strays report in the shared [`Page`];
//! - [`Children`]: children the test forks itself, killed and reaped if the test fails;
//! - [`jobs`]: the job function and its gates that the pool suites share.

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::fs::File;
use std::io::Read;
use std::os::fd::{OwnedFd, RawFd};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

/// Exit status of a child that came back out of the kata into the test and was sent away.
pub const STRAY_STATUS: i32 = 86;

/// This process's pid (getpid).
pub fn my_pid() -> i32 {
    // SAFETY: getpid has no preconditions.
    unsafe { libc::getpid() }
}

/// This thread's id (gettid): what `/proc` and seccomp notices call a thread.
pub fn my_tid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

/// This process's parent (getppid).
pub fn my_parent() -> i32 {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() }
}

/// Every process test starts here: children must be reaped by hand, not by an inherited
/// `SIGCHLD = SIG_IGN` (which would make the kernel reap them and waitpid fail).
pub fn setup() {
    // SAFETY: restoring the default action of SIGCHLD installs no handler.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
}

/// State letter and parent of `pid` from `/proc/<pid>/stat`, if such a process exists.
pub fn proc_state(pid: i32) -> Option<(char, i32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// Pids and states of the processes whose parent is `parent`, sorted by pid.
pub fn children_of(parent: i32) -> Vec<(i32, char)> {
    let mut found: Vec<(i32, char)> = all_pids()
        .into_iter()
        .filter_map(|pid| match proc_state(pid) {
            Some((state, ppid)) if ppid == parent => Some((pid, state)),
            _ => None,
        })
        .collect();
    found.sort();
    found
}

/// The children of `parent` that are zombies (ended, not reaped).
pub fn zombies_of(parent: i32) -> Vec<i32> {
    children_of(parent)
        .into_iter()
        .filter(|&(_, state)| state == 'Z')
        .map(|(pid, _)| pid)
        .collect()
}

/// The children of `parent` that have not ended (any state but zombie or dead).
pub fn live_children_of(parent: i32) -> Vec<(i32, char)> {
    children_of(parent)
        .into_iter()
        .filter(|&(_, state)| state != 'Z' && state != 'X')
        .collect()
}

/// Blocks until child `pid` has ended, without reaping it: it stays a zombie for the kata
/// to collect. Returns at once if `pid` is not (or no longer) a child of this process.
pub fn wait_until_ended(pid: i32) {
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        ) {
            Err(Errno::EINTR) => continue,
            _ => return,
        }
    }
}

/// Whether `pid` is still this process's to reap (running or a zombie). Reaps nothing.
pub fn still_ours(pid: i32) -> bool {
    loop {
        match waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ) {
            Err(Errno::EINTR) => continue,
            Err(_) => return false,
            Ok(_) => return true,
        }
    }
}

/// Blocks until `pid` has ended and collects it: its status (without WUNTRACED, only an
/// end is reported).
pub fn reap(pid: i32) -> Result<WaitStatus, Errno> {
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

/// What `waitpid(-1, WNOHANG)` says: `None` if this process has no child at all (ECHILD);
/// otherwise `Some(status)`: `StillAlive` if no child has ended, or the status of one
/// that had (now reaped).
pub fn any_child() -> Option<WaitStatus> {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Err(Errno::EINTR) => continue,
            Err(_) => return None,
            Ok(status) => return Some(status),
        }
    }
}

/// Waits until every child of this process that is still running has ended, without
/// collecting any. A child the kata left unreaped is then a zombie, not a process on its
/// way out when the test looks (or ends: the grader counts those as left running).
pub fn settle_children() {
    for (pid, _) in live_children_of(my_pid()) {
        wait_until_ended(pid);
    }
}

/// Kills (SIGKILL) and reaps every child of this process, running or zombie. For the
/// drop of a test's guard: a failed test leaves no process behind.
pub fn kill_and_reap_children() {
    for (pid, _) in children_of(my_pid()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        let _ = reap(pid);
    }
}

/// Open descriptors of this process, with what each one is. Leaves out the descriptor
/// that lists them and the test kit's own seccomp listeners (see [`crate::fault`]).
pub fn open_fds() -> Vec<(i32, String)> {
    let listing = format!("/proc/{}/fd", my_pid());
    let mut fds: Vec<(i32, String)> = std::fs::read_dir("/proc/self/fd")
        .expect("the test could not list /proc/self/fd")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            (target != listing && !target.contains("seccomp")).then_some((fd, target))
        })
        .collect();
    // read_dir's own descriptor may show under another name: keep only those still open.
    // SAFETY: F_GETFD only asks about a descriptor number.
    fds.retain(|(fd, _)| unsafe { libc::fcntl(*fd, libc::F_GETFD) } >= 0);
    fds.sort();
    fds
}

/// The descriptors of `after` that were not open `before`, as "fd -> what".
pub fn new_fds(before: &[(i32, String)], after: &[(i32, String)]) -> Vec<String> {
    after
        .iter()
        .filter(|fd| !before.contains(fd))
        .map(|(fd, target)| format!("{fd} -> {target}"))
        .collect()
}

/// The open-file flags of descriptor `fd` of process `pid` (`flags:` of
/// `/proc/<pid>/fdinfo/<fd>`, which include `O_CLOEXEC` for a close-on-exec descriptor).
pub fn fd_flags(pid: i32, fd: i32) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
    let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
    i32::from_str_radix(flags.trim(), 8).ok()
}

/// How many bytes wait in the pipe whose read end is `fd` (FIONREAD); None if `fd` is
/// not a pipe's read end.
pub fn pipe_bytes(fd: RawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let r = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut n) };
    (r == 0).then_some(n as usize)
}

/// Writes all of `bytes` to `fd` with write(2) only: safe in a forked child. False if a
/// write failed.
pub fn raw_write(fd: RawFd, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: `bytes` is valid for `bytes.len()` bytes.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n > 0 {
            bytes = &bytes[n as usize..];
        } else if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        } else {
            return false;
        }
    }
    true
}

/// Reads one byte from a blocking descriptor; None at the end of the pipe.
pub fn read_byte(fd: RawFd) -> Option<u8> {
    let mut byte = [0u8; 1];
    loop {
        // SAFETY: one byte into a valid one-byte buffer.
        let n = unsafe { libc::read(fd, byte.as_mut_ptr().cast(), 1) };
        if n == 1 {
            return Some(byte[0]);
        }
        if n < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return None;
    }
}

/// Reads `fd` to its end (which comes once every copy of the write end is closed).
pub fn read_to_end(fd: OwnedFd) -> Vec<u8> {
    let mut bytes = Vec::new();
    File::from(fd)
        .read_to_end(&mut bytes)
        .expect("the test could not read its own pipe");
    bytes
}

/// Forks a child that exits at once with `code`, and returns its pid; not reaped.
pub fn fork_exiting(code: i32) -> i32 {
    // SAFETY: the child calls only _exit.
    match unsafe { fork() }.expect("the test could not fork a process of its own") {
        ForkResult::Child => unsafe { libc::_exit(code) },
        ForkResult::Parent { child } => child.as_raw(),
    }
}

/// Forks a child that runs `body` and `_exit`s with the code it returns (99 if it
/// panicked). It never returns into the test. Not reaped: see [`Children`] for a guard.
pub fn fork_child(body: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child runs `body` and leaves with _exit.
    match unsafe { fork() }.expect("the test could not fork") {
        ForkResult::Child => {
            let code = catch_unwind(AssertUnwindSafe(body)).unwrap_or(99);
            // SAFETY: ends the child at once: none of the test's code runs in it.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => child.as_raw(),
    }
}

/// Forks a child that exits at once, reaps it, and returns its pid: the pid the kernel
/// handed out at this moment.
pub fn probe_pid() -> i32 {
    let child = fork_exiting(0);
    let _ = reap(child);
    child
}

/// Whether `pid` was handed out after `before` and before `after` (two [`probe_pid`]s).
/// Pids are handed out in increasing order until they wrap around at pid_max.
pub fn forked_between(before: i32, pid: i32, after: i32) -> bool {
    if before < after {
        before < pid && pid < after
    } else {
        // The pids wrapped around pid_max in between.
        pid > before || (pid > 0 && pid < after)
    }
}

/// One guarded call of a kata function that forks children which must end before it
/// returns (fork_basics, fork_isolation, fork_twice). See [`call`].
pub struct Call<T> {
    /// What the call returned in the test's own process.
    pub value: T,
    /// The pids of the children that came back out of the kata into the test (each was
    /// sent away with [`STRAY_STATUS`] before it could run any of the test).
    pub strays: Vec<i32>,
    /// Pids of the probes forked just before and just after the call.
    pub before: i32,
    pub after: i32,
}

impl<T> Call<T> {
    /// Whether `pid` is that of a process forked during the call.
    pub fn forked(&self, pid: i32) -> bool {
        forked_between(self.before, pid, self.after)
    }

    /// The first child that came back into the test, if any.
    pub fn stray(&self) -> Option<i32> {
        self.strays.first().copied()
    }
}

/// Calls `f` (a kata function that forks), and
/// - proves its children real: pids are handed out in increasing order, so a child forked
///   during the call has a pid between those of two probe children forked just before
///   and just after it ([`Call::forked`]);
/// - catches a child that comes back out of the kata into the test (returning or
///   unwinding): such a child finds that `getpid()` changed, notes its pid in the shared
///   [`Page`] and leaves with `_exit` at once, so it never runs the rest of the test (nor
///   the harness's proof of a pass). The test then reads a pipe to its end, which comes
///   only once every copy of its write end, the kata's children's included, is closed:
///   the verdict does not depend on timing;
/// - then waits until every child forked during the call that is still running has ended
///   (without collecting it), so that a child the kata did not reap is a zombie by the
///   time the test looks. Children the caller had before are left alone.
///
/// A panic of `f` in the test's own process is raised again after all that.
pub fn call<T>(f: impl FnOnce() -> T) -> Call<T> {
    let before = probe_pid();
    let (value, strays) = guarded(f);
    let after = probe_pid();
    Call {
        value,
        strays,
        before,
        after,
    }
}

/// The middle of [`call`] without the probes: runs `f`, sends away the children that come
/// back out of it (their pids are returned), waits for the pipe's end and for the
/// children to settle. For calls made where the probes cannot fork (inside
/// [`crate::fault::supervised`], say).
pub fn guarded<T>(f: impl FnOnce() -> T) -> (T, Vec<i32>) {
    let me = my_pid();
    // Children the caller already had: only those forked during the call are waited for.
    let already: Vec<i32> = children_of(me).into_iter().map(|(pid, _)| pid).collect();
    // A stray notes its pid in the shared page (a write could be one that a test makes
    // fail); the pipe only tells when every process of the call has closed its copy.
    let page = page();
    page.guarded_strays.store(0, Ordering::SeqCst);
    // Close-on-exec, so that a test can tell the kata's own pipes from this one.
    let (marker_read, marker_write) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("the test could not create a pipe");
    let result = catch_unwind(AssertUnwindSafe(f));
    if my_pid() != me {
        // A child came back into the test. Note who, and leave at once: nothing of the
        // test or of the harness may run here.
        let i = page.guarded_strays.fetch_add(1, Ordering::SeqCst) as usize;
        if let Some(slot) = page.stray_pids.get(i) {
            slot.store(my_pid(), Ordering::SeqCst);
        }
        drop(marker_write);
        // SAFETY: ends this stray process at once.
        unsafe { libc::_exit(STRAY_STATUS) };
    }
    drop(marker_write);
    let _ = read_to_end(marker_read);
    for (pid, _) in live_children_of(me) {
        if !already.contains(&pid) {
            wait_until_ended(pid);
        }
    }
    let n = page.guarded_strays.load(Ordering::SeqCst).max(0) as usize;
    let strays = page.stray_pids[..n.min(page.stray_pids.len())]
        .iter()
        .map(|slot| slot.load(Ordering::SeqCst))
        .collect();
    match result {
        Ok(value) => (value, strays),
        Err(panic) => resume_unwind(panic),
    }
}

/// A page of memory shared by the test and every process it forks after the page was
/// first asked for (call [`page`] before forking): strays report here, jobs wait at its
/// gates. All zero at first.
#[repr(C)]
pub struct Page {
    /// Children that came back out of the kata into the test.
    pub strays: AtomicI32,
    /// The last one's pid.
    pub stray_pid: AtomicI32,
    /// 1 if it came back by unwinding (a panic), 0 if by returning.
    pub stray_panicked: AtomicI32,
    /// Gated jobs that have started (and wait at the gate).
    pub started: AtomicI32,
    /// Gated jobs wait until this is not 0.
    pub gate: AtomicI32,
    /// Jobs that have arrived at the rendezvous.
    pub arrived: AtomicI32,
    /// Busy jobs running right now, and the most that ever ran at once.
    pub running: AtomicI32,
    pub most: AtomicI32,
    /// Set when a test fails: waiting jobs give up, so that a pool can be joined.
    pub bail: AtomicI32,
    /// Free for a suite's own counters.
    pub counters: [AtomicI32; 16],
    /// The strays of one [`guarded`] call: how many, and the pids of the first ones.
    pub guarded_strays: AtomicI32,
    pub stray_pids: [AtomicI32; 8],
}

/// The shared [`Page`], mapped on first use.
pub fn page() -> &'static Page {
    static PAGE: OnceLock<usize> = OnceLock::new();
    let addr = *PAGE.get_or_init(|| {
        // SAFETY: a fresh anonymous mapping; nothing else refers to it.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(
            addr != libc::MAP_FAILED,
            "the test could not map its shared page"
        );
        addr as usize
    });
    // SAFETY: the mapping is zeroed, page-aligned, never unmapped, and Page is atomics
    // only (and smaller than a page).
    unsafe { &*(addr as *const Page) }
}

/// The test's own pid, set by [`Family::new`]: code that may run in a child compares it
/// with its own ([`in_child`]).
static TEST_PID: AtomicI32 = AtomicI32::new(0);

/// True in a process forked by the test (or by the kata), false in the test's own: a
/// target or job that finds itself run in the caller's process (no fork) can say so.
pub fn in_child() -> bool {
    my_pid() != TEST_PID.load(Ordering::SeqCst)
}

/// The bookkeeping of a test whose kata forks children that outlive the call (a
/// `Process`, a pool's workers): catches a child that comes back out of a kata call into
/// the test, and, however the test ends, kills and reaps every child left.
pub struct Family {
    /// The test's pid.
    pub me: i32,
}

impl Family {
    /// Starts a test: SIGCHLD to its default, the shared page mapped (before any fork, so
    /// that every child shares it), the test's pid noted for [`in_child`].
    pub fn new() -> Family {
        setup();
        page();
        TEST_PID.store(my_pid(), Ordering::SeqCst);
        Family { me: my_pid() }
    }

    /// Runs one kata call. A child that comes back out of it (returning or unwinding)
    /// notes its pid in the shared page and leaves with `_exit` at once; see
    /// [`Family::stray`]. A panic in the test's own process is raised again.
    pub fn call<T>(&self, f: impl FnOnce() -> T) -> T {
        let result = catch_unwind(AssertUnwindSafe(f));
        if my_pid() != self.me {
            let page = page();
            page.stray_pid.store(my_pid(), Ordering::SeqCst);
            page.stray_panicked
                .store(result.is_err() as i32, Ordering::SeqCst);
            page.strays.fetch_add(1, Ordering::SeqCst);
            // SAFETY: ends this stray process at once.
            unsafe { libc::_exit(STRAY_STATUS) };
        }
        match result {
            Ok(value) => value,
            Err(panic) => resume_unwind(panic),
        }
    }

    /// A child that came back into the test so far: its pid, and whether it came back by
    /// a panic (else by returning).
    pub fn stray(&self) -> Option<(i32, bool)> {
        let page = page();
        (page.strays.load(Ordering::SeqCst) > 0).then(|| {
            (
                page.stray_pid.load(Ordering::SeqCst),
                page.stray_panicked.load(Ordering::SeqCst) != 0,
            )
        })
    }

    /// The children of the test that have not been reaped: (pid, state).
    pub fn children(&self) -> Vec<(i32, char)> {
        children_of(self.me)
    }
}

impl Default for Family {
    fn default() -> Family {
        Family::new()
    }
}

impl Drop for Family {
    /// Opens every gate (jobs waiting there end), then kills and reaps whatever child is
    /// left, so that no test leaves a process behind.
    fn drop(&mut self) {
        let page = page();
        page.bail.store(1, Ordering::SeqCst);
        page.gate.store(1, Ordering::SeqCst);
        if my_pid() == self.me {
            kill_and_reap_children();
        }
    }
}

/// Children the test forks itself (writers, readers, probes). Dropping the guard (also
/// while a failed test unwinds) kills and reaps every child not yet waited for.
pub struct Children {
    pids: Vec<i32>,
}

impl Children {
    pub fn new() -> Children {
        Children { pids: Vec::new() }
    }

    /// Forks a child that runs `body` and exits with the code it returns (99 on a panic).
    /// It never returns into the test.
    pub fn spawn(&mut self, body: impl FnOnce() -> i32) -> i32 {
        let pid = fork_child(body);
        self.pids.push(pid);
        pid
    }

    /// Waits for `pid` to end; its exit code, or None if a signal ended it.
    pub fn wait(&mut self, pid: i32) -> Option<i32> {
        self.pids.retain(|p| *p != pid);
        match reap(pid) {
            Ok(WaitStatus::Exited(_, code)) => Some(code),
            Ok(_) => None,
            Err(e) => panic!("the test could not wait for its child {pid}: {e}"),
        }
    }

    /// Kills `pid` (SIGKILL) and reaps it.
    pub fn kill(&mut self, pid: i32) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        self.wait(pid);
    }
}

impl Default for Children {
    fn default() -> Children {
        Children::new()
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for pid in std::mem::take(&mut self.pids) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = reap(pid);
        }
    }
}

/// The job function of the pool suites, and the gates its jobs wait at in the shared
/// [`Page`]. A job finds out whether it runs in a worker ([`in_child`]): run in the test's
/// own process (no fork), it returns at once instead of waiting at a gate nobody opens.
pub mod jobs {
    use super::{in_child, my_pid, page};
    use std::panic::resume_unwind;
    use std::sync::atomic::Ordering;

    /// Job arguments with this bit set wait at the gate, then return themselves.
    pub const GATED: u64 = 1 << 40;
    /// `MEET | n`: the job arrives at the rendezvous and waits until `n` jobs in all have
    /// arrived, then returns itself.
    pub const MEET: u64 = 1 << 41;
    /// `BUSY | x`: the job counts itself running for a moment, then returns itself.
    pub const BUSY: u64 = 1 << 42;
    /// `SLEEP | ms`: the job sleeps that many milliseconds, then returns itself.
    pub const SLEEP: u64 = 1 << 43;
    /// This argument makes the job abort (SIGABRT): it crashes its worker.
    pub const CRASH: u64 = u64::MAX;
    /// This argument makes the job panic with a `String` payload.
    pub const PANIC: u64 = u64::MAX - 1;
    /// This argument makes the job panic with a `&'static str` payload (`panic!("text")`).
    pub const PANIC_STR: u64 = u64::MAX - 2;
    /// The message of both panics.
    pub const PANIC_MESSAGE: &str = "a hidden test's job panics on purpose";

    /// Sleeps 200 microseconds.
    pub fn pause() {
        // SAFETY: sleeps 200 microseconds.
        unsafe { libc::usleep(200) };
    }

    /// Waits until `done()` (an event in another process), looking every 200 µs.
    pub fn wait_until(mut done: impl FnMut() -> bool) {
        while !done() {
            pause();
        }
    }

    /// Opens the gate for every gated job.
    pub fn open_gate() {
        page().gate.store(1, Ordering::SeqCst);
    }

    /// Closes the gate again and forgets the jobs that started.
    pub fn reset_gate() {
        page().gate.store(0, Ordering::SeqCst);
        page().started.store(0, Ordering::SeqCst);
    }

    /// How many gated jobs have started.
    pub fn started() -> i32 {
        page().started.load(Ordering::SeqCst)
    }

    /// The pool's function in most tests: (the pid it ran in, x * x), or see the constants.
    pub fn job(x: u64) -> (i32, u64) {
        if !in_child() {
            return (my_pid(), x.wrapping_mul(x));
        }
        match x {
            CRASH => {
                // SAFETY: ends the worker with SIGABRT.
                unsafe { libc::abort() }
            }
            PANIC => resume_unwind(Box::new(PANIC_MESSAGE.to_string())),
            PANIC_STR => resume_unwind(Box::new(PANIC_MESSAGE)),
            _ if x & MEET != 0 => {
                let page = page();
                page.arrived.fetch_add(1, Ordering::SeqCst);
                let all = (x & !MEET) as i32;
                wait_until(|| {
                    page.arrived.load(Ordering::SeqCst) >= all
                        || page.bail.load(Ordering::SeqCst) != 0
                });
                (my_pid(), x)
            }
            _ if x & BUSY != 0 => {
                let page = page();
                let now = page.running.fetch_add(1, Ordering::SeqCst) + 1;
                page.most.fetch_max(now, Ordering::SeqCst);
                for _ in 0..3 {
                    pause();
                }
                page.running.fetch_sub(1, Ordering::SeqCst);
                (my_pid(), x)
            }
            _ if x & SLEEP != 0 => {
                std::thread::sleep(std::time::Duration::from_millis(x & 0xffff_ffff));
                (my_pid(), x)
            }
            _ if x & GATED != 0 => {
                let page = page();
                page.started.fetch_add(1, Ordering::SeqCst);
                wait_until(|| page.gate.load(Ordering::SeqCst) != 0);
                (my_pid(), x)
            }
            _ => (my_pid(), x * x),
        }
    }

    /// Declared right after a pool, so dropped before it: if the test fails, it releases
    /// every job waiting at a gate or a rendezvous, and the pool's drop can join its workers.
    pub struct Unblock;

    impl Drop for Unblock {
        fn drop(&mut self) {
            if std::thread::panicking() {
                page().bail.store(1, Ordering::SeqCst);
                page().gate.store(1, Ordering::SeqCst);
            }
        }
    }
}
