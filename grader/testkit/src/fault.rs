//! Making things fail on purpose: a child killed at a chosen system call, a system call
//! that fails with a chosen errno, a fork that fails, a worker killed mid-job, system calls
//! held back so that processes meet where a race would have them meet.
//!
//! The tool is a seccomp filter with a *user-space supervisor* (seccomp's user
//! notification): [`supervised`] runs a body on a thread of its own whose chosen system
//! calls, and those of every process it forks from there, stop in the kernel and are
//! handed to a policy (a closure) on the calling thread. The policy sees which process
//! made the call (the body's own thread, or one of its children), the call and its
//! arguments, and answers: let it run, fail it with an errno, kill the process, or hold it
//! back until later. Nothing is left to timing: a child is killed *at* its `getppid`, a
//! fork fails *because* the policy said so, and a held call waits for the policy.
//!
//! **A policy must not allocate, print or panic.** It runs on the test's thread while the
//! body's thread may be stopped inside a system call holding a lock of the test's process:
//! glibc's `fork` holds every lock of the allocator around its `clone`, and a thread that
//! prints holds stdout's. A policy counts, compares, and answers; the test looks at the
//! notices (and its counters) once the body is over.
//!
//! ```ignore
//! use kata_testkit::fault::{self, Reply};
//!
//! // The child dies at its getppid, before it can report: the call must give ShortRead.
//! let (result, notices) = fault::supervised(&[libc::SYS_getppid], |n, _| {
//!     if n.from_caller { Reply::Continue } else { Reply::Kill }
//! }, || fork_and_report());
//! ```
//!
//! The filter is added on top of the grader's own (seccomp filters stack) and only on the
//! body's thread and what it forks: the test's other threads and the harness are not
//! touched. A policy runs on the test's thread while the body's thread (or a child) is
//! stopped in a system call: it must not print (the stopped thread may hold stdout's
//! lock) nor panic; it records, and the test decides afterwards.
//!
//! The API (stable: the process suites depend on it):
//! - [`supervised`]`(calls, policy, body)`: the general tool; [`Notice`], [`Reply`], [`Desk`];
//! - [`kill_children_at`]`(call, body)`: every child of the body dies at `call`;
//!   [`kill_children_when`]`(calls, when, body)`: at the first of `calls` that `when`
//!   picks ([`writes_to_a_pipe`], [`waits_on_a_futex`]); [`forks`] tells a fork;
//! - [`fail_children`]`(call, errno, body)`, [`fail_caller`]`(call, errno, body)`;
//! - [`forks_fail`]`(body)`: the body's own forks fail with EAGAIN (as at the process limit);
//!   [`children_cannot_fork`]`(body)`: the forks of its children fail, its own work;
//! - [`FORK_CALLS`]: the system calls a fork can be made with;
//! - [`one_writer_at_a_time`]`(body)`: writes into pipes never interleave between processes;
//!   [`writers_meet`]`(body)`: they meet, two processes writing at the same moment;
//! - [`kill_and_wait`]`(pid)`: a process (a pool's worker, say) killed now, waited for
//!   without being reaped.

use crate::proc::{my_pid, my_tid};
use nix::errno::Errno;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::panic::resume_unwind;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicBool, AtomicI64};
use std::time::{Duration, Instant};

/// The system calls a process can fork with.
pub const FORK_CALLS: [i64; 4] = [
    libc::SYS_clone,
    libc::SYS_clone3,
    libc::SYS_fork,
    libc::SYS_vfork,
];

/// A system call stopped by the filter, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notice {
    /// The kernel's id of this notice.
    pub id: u64,
    /// The thread that made the call (for a single-threaded child: its pid).
    pub pid: i32,
    /// The system call's number (`libc::SYS_…`).
    pub nr: i64,
    /// Its six arguments.
    pub args: [u64; 6],
    /// True if the body's own thread made it (the kata in the caller's process), false for
    /// a process forked from there (the kata's children, grandchildren, …).
    pub from_caller: bool,
}

impl Notice {
    /// The parent of the process that made the call (from `/proc`), if it still exists.
    /// It allocates: never ask it of a notice from the caller (`from_caller`), whose thread
    /// may hold the allocator's locks (see the module's doc).
    pub fn ppid(&self) -> Option<i32> {
        crate::proc::proc_state(self.pid).map(|(_, ppid)| ppid)
    }
}

/// What becomes of a stopped system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// It runs as if nothing had happened.
    Continue,
    /// It fails with this errno without running.
    Fail(Errno),
    /// The process is killed (SIGKILL) inside the call, which never runs.
    Kill,
    /// It stays stopped until the policy releases it (see [`Desk`]), or until nothing has
    /// happened for the supervisor's patience (then everything held runs).
    Hold,
    /// It stays stopped this long, then runs.
    ContinueAfter(Duration),
    /// It stays stopped this long, then fails with this errno.
    FailAfter(Duration, Errno),
}

/// What the policy can do besides answering the notice in front of it: let go of calls it
/// held earlier.
pub struct Desk {
    listener: RawFd,
    held: Vec<Notice>,
    timed: Vec<(Instant, Notice, Option<Errno>)>,
    /// Every notice seen so far, in order.
    pub seen: Vec<Notice>,
}

impl Desk {
    /// The calls held now, oldest first.
    pub fn held(&self) -> &[Notice] {
        &self.held
    }

    /// Lets the held call `id` run.
    pub fn release(&mut self, id: u64) {
        if let Some(i) = self.held.iter().position(|n| n.id == id) {
            let n = self.held.remove(i);
            respond(self.listener, n.id, None);
        }
    }

    /// Lets every held call run, oldest first.
    pub fn release_all(&mut self) {
        for n in std::mem::take(&mut self.held) {
            respond(self.listener, n.id, None);
        }
    }
}

/// The most calls held (or timed) at once; the notices recorded in [`Desk::seen`] (those
/// beyond are answered, not recorded).
pub const HELD_MAX: usize = 256;
pub const SEEN_MAX: usize = 16_384;

/// How long the supervisor waits, with calls held and nothing happening, before it lets
/// them all run: a policy that waits for a meeting that never comes costs this much, and
/// never a hang.
pub const PATIENCE: Duration = Duration::from_millis(500);

/// Runs `body` on a thread of its own, under a seccomp filter that stops every system
/// call in `calls` made by that thread or by any process forked from it, and hands each
/// to `policy` (see the module's doc). Returns what `body` returned, and every notice the
/// policy saw. A panic of `body` is raised again here.
///
/// Once `body` has returned, calls still stopped are let run, and the filter's later calls
/// (of a child the kata left running) all run without the policy.
pub fn supervised<T, P, B>(calls: &[i64], mut policy: P, body: B) -> (T, Vec<Notice>)
where
    T: Send,
    P: FnMut(&Notice, &mut Desk) -> Reply,
    B: FnOnce() -> T + Send,
{
    let calls = calls.to_vec();
    // Room made now: nothing may be allocated while a call is stopped (see the module's
    // doc), so the supervisor is ready before the body starts.
    let mut desk = Desk {
        listener: -1,
        held: Vec::with_capacity(HELD_MAX),
        timed: Vec::with_capacity(HELD_MAX),
        seen: Vec::with_capacity(SEEN_MAX),
    };
    // The body's thread and the supervisor speak through atomics only: once the filter is
    // on, any system call of the body's thread (a write into a pipe, a futex wake) may be
    // one that stops and waits for the supervisor.
    let hello = AtomicI64::new(HELLO_NOT_YET);
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            match install(&calls) {
                Ok(fd) => hello.store(i64::from(fd) | (i64::from(my_tid()) << 32), SeqCst),
                Err(errno) => {
                    hello.store(-(errno as i64), SeqCst);
                    return None;
                }
            }
            let _done = Done {
                done: &done,
                me: my_pid(),
            };
            Some(body())
        });
        let said = loop {
            let said = hello.load(SeqCst);
            if said != HELLO_NOT_YET {
                break said;
            }
            if worker.is_finished() {
                break HELLO_NOT_YET;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        if said == HELLO_NOT_YET || said < 0 {
            match worker.join() {
                Err(panic) => resume_unwind(panic),
                Ok(_) => panic!(
                    "the test could not install its seccomp supervisor: {}",
                    Errno::from_raw((-said) as i32)
                ),
            }
        }
        let (listener, caller) = ((said & 0xffff_ffff) as RawFd, (said >> 32) as i32);
        desk.listener = listener;
        serve(listener, caller, &done, &mut desk, &mut policy);
        // The body is over: let everything still stopped run.
        desk.release_all();
        for (_, n, errno) in std::mem::take(&mut desk.timed) {
            respond(listener, n.id, errno);
        }
        // Calls still to come (the body's thread on its way out, children the kata left
        // running) all run: a thread of its own answers them, until the filter has no
        // process left (or the test ends). Started before the join, which may need it.
        // SAFETY: `listener` is the descriptor `install` opened; nobody else owns it.
        let owned = unsafe { OwnedFd::from_raw_fd(listener) };
        std::thread::spawn(move || let_everything_run(owned));
        let result = worker.join();
        match result {
            Ok(Some(value)) => (value, desk.seen),
            Ok(None) => unreachable!("install failed, and that was reported"),
            Err(panic) => resume_unwind(panic),
        }
    })
}

/// Every process the body forks dies (SIGKILL) when it makes system call `call`; the
/// body's own thread makes it freely. The pids killed come back with the body's value.
pub fn kill_children_at<T: Send>(call: i64, body: impl FnOnce() -> T + Send) -> (T, Vec<i32>) {
    let (value, seen) = supervised(
        &[call],
        |n, _| {
            if n.from_caller {
                Reply::Continue
            } else {
                Reply::Kill
            }
        },
        body,
    );
    (
        value,
        seen.iter()
            .filter(|n| !n.from_caller)
            .map(|n| n.pid)
            .collect(),
    )
}

/// Every process the body forks dies (SIGKILL) at the first system call among `calls` for
/// which `when` says yes; the body's own thread is never touched. The pids killed come
/// back with the body's value. (`when` runs while the body's thread may be stopped: it
/// must not allocate; see the module's doc.)
pub fn kill_children_when<T: Send>(
    calls: &[i64],
    when: impl Fn(&Notice) -> bool,
    body: impl FnOnce() -> T + Send,
) -> (T, Vec<i32>) {
    // Room made now: the policy may not allocate.
    let mut killed: Vec<i32> = Vec::with_capacity(HELD_MAX);
    let (value, _) = supervised(
        calls,
        |n, _| {
            if !n.from_caller && when(n) {
                if killed.len() < killed.capacity() {
                    killed.push(n.pid);
                }
                Reply::Kill
            } else {
                Reply::Continue
            }
        },
        body,
    );
    (value, killed)
}

/// Whether notice `n` is a write to a descriptor other than stdin, stdout and stderr.
pub fn writes_to_a_pipe(n: &Notice) -> bool {
    n.nr == libc::SYS_write && n.args[0] >= 3
}

/// Whether notice `n` is a fork: `fork` or `vfork`, or a `clone` that makes a process
/// rather than a thread (glibc's `fork` is such a `clone`). A `clone3` is not looked into
/// (its flags are in the caller's memory): glibc makes threads with it, not processes.
pub fn forks(n: &Notice) -> bool {
    const CLONE_THREAD: u64 = libc::CLONE_THREAD as u64;
    n.nr == libc::SYS_fork
        || n.nr == libc::SYS_vfork
        || (n.nr == libc::SYS_clone && n.args[0] & CLONE_THREAD == 0)
}

/// Whether notice `n` is a wait on a futex (a lock, or a condition, that another thread
/// must release): in a forked child, which has a single thread, such a wait never ends.
pub fn waits_on_a_futex(n: &Notice) -> bool {
    const WAITS: [u64; 5] = [0, 6, 9, 11, 13]; // WAIT, LOCK_PI, WAIT_BITSET, WAIT_REQUEUE_PI, LOCK_PI2
    (n.nr == libc::SYS_futex && WAITS.contains(&(n.args[1] & 0x7f)))
        || n.nr == libc::SYS_futex_waitv
}

/// Every process the body forks finds that system call `call` fails with `errno`; on the
/// body's own thread it works. How many calls failed comes back with the body's value.
pub fn fail_children<T: Send>(
    call: i64,
    errno: Errno,
    body: impl FnOnce() -> T + Send,
) -> (T, usize) {
    let (value, seen) = supervised(
        &[call],
        |n, _| {
            if n.from_caller {
                Reply::Continue
            } else {
                Reply::Fail(errno)
            }
        },
        body,
    );
    (value, seen.iter().filter(|n| !n.from_caller).count())
}

/// On the body's own thread, system call `call` fails with `errno` the first `times`
/// times, then works; in its children it works. How many calls failed comes back too.
pub fn fail_caller<T: Send>(
    call: i64,
    errno: Errno,
    times: usize,
    body: impl FnOnce() -> T + Send,
) -> (T, usize) {
    let mut failed = 0;
    let (value, _) = supervised(
        &[call],
        |n, _| {
            if n.from_caller && failed < times {
                failed += 1;
                Reply::Fail(errno)
            } else {
                Reply::Continue
            }
        },
        body,
    );
    (value, failed)
}

/// The body's own forks fail with EAGAIN, as they do when the process limit is reached.
/// How many were refused comes back too.
pub fn forks_fail<T: Send>(body: impl FnOnce() -> T + Send) -> (T, usize) {
    let (value, seen) = supervised(
        &FORK_CALLS,
        |n, _| {
            if n.from_caller {
                Reply::Fail(Errno::EAGAIN)
            } else {
                Reply::Continue
            }
        },
        body,
    );
    (value, seen.iter().filter(|n| n.from_caller).count())
}

/// The body forks freely, but the processes it forks cannot fork (EAGAIN). How many forks
/// were refused comes back too.
pub fn children_cannot_fork<T: Send>(body: impl FnOnce() -> T + Send) -> (T, usize) {
    let (value, seen) = supervised(
        &FORK_CALLS,
        |n, _| {
            if n.from_caller {
                Reply::Continue
            } else {
                Reply::Fail(Errno::EAGAIN)
            }
        },
        body,
    );
    (value, seen.iter().filter(|n| !n.from_caller).count())
}

/// The body's processes (its own thread and everything it forks) write into pipes one
/// at a time: once a process has made a write into a pipe, the others' writes wait until
/// it makes another of the stopped calls (a read, a close, a wait, its exit). A report
/// written in several pieces then still arrives in one piece. (What happens *without*
/// this, see [`writers_meet`].) Returns how many writes had to wait.
pub fn one_writer_at_a_time<T: Send>(body: impl FnOnce() -> T + Send) -> (T, usize) {
    let mut owner: Option<i32> = None;
    let mut waited = 0usize;
    let (value, _) = supervised(
        &[
            libc::SYS_write,
            libc::SYS_read,
            libc::SYS_close,
            libc::SYS_wait4,
            libc::SYS_exit_group,
        ],
        |n, desk| {
            if writes_to_a_pipe(n) {
                match owner {
                    None => {
                        owner = Some(n.pid);
                        Reply::Continue
                    }
                    Some(o) if o == n.pid => Reply::Continue,
                    Some(_) => {
                        waited += 1;
                        Reply::Hold
                    }
                }
            } else {
                if owner == Some(n.pid) {
                    // The writer is done writing for now: the oldest waiting write goes.
                    owner = None;
                    if let Some(next) = desk.held().first().copied() {
                        owner = Some(next.pid);
                        desk.release(next.id);
                    }
                }
                Reply::Continue
            }
        },
        body,
    );
    (value, waited)
}

/// The body's processes meet at their writes into pipes: a write waits until another
/// process also wants to write, and then both go at the same moment. Records written in
/// several pieces by several processes then mix in the pipe (a record written with one
/// write of at most PIPE_BUF bytes never does). Returns how many pairs met.
pub fn writers_meet<T: Send>(body: impl FnOnce() -> T + Send) -> (T, usize) {
    let mut met = 0usize;
    let (value, _) = supervised(
        &[libc::SYS_write],
        |n, desk| {
            if !writes_to_a_pipe(n) {
                return Reply::Continue;
            }
            match desk.held().iter().find(|h| h.pid != n.pid).copied() {
                Some(other) => {
                    met += 1;
                    desk.release(other.id);
                    Reply::Continue
                }
                None => Reply::Hold,
            }
        },
        body,
    );
    (value, met)
}

/// Kills process `pid` now (SIGKILL) and waits until it has ended, without reaping it:
/// a pool's worker killed in the middle of a job, say. Its parent must notice and reap it.
pub fn kill_and_wait(pid: i32) {
    // SAFETY: kill with a pid and a signal number.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    crate::proc::wait_until_ended(pid);
}

/// Raises the done flag when the body's thread is done with it (returned or unwound),
/// from the test's process only: a child that came back into the body never gets here.
struct Done<'a> {
    done: &'a AtomicBool,
    me: i32,
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        if my_pid() == self.me {
            self.done.store(true, SeqCst);
        }
    }
}

const HELLO_NOT_YET: i64 = i64::MIN;

// ----- seccomp's user notification, by hand (libc has no wrappers for it) -----

#[repr(C)]
#[derive(Clone, Copy)]
struct SeccompData {
    nr: i32,
    arch: u32,
    instruction_pointer: u64,
    args: [u64; 6],
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SeccompNotif {
    id: u64,
    pid: u32,
    flags: u32,
    data: SeccompData,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct SeccompNotifResp {
    id: u64,
    val: i64,
    error: i32,
    flags: u32,
}

const SECCOMP_SET_MODE_FILTER: libc::c_long = 1;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_long = 1 << 3;
const SECCOMP_RET_USER_NOTIF: u32 = 0x7fc0_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;
// _IOWR('!', 0, struct seccomp_notif) and _IOWR('!', 1, struct seccomp_notif_resp).
const NOTIF_RECV: libc::c_ulong = 0xC050_2100;
const NOTIF_SEND: libc::c_ulong = 0xC018_2101;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

const _: () = assert!(std::mem::size_of::<SeccompNotif>() == 80);
const _: () = assert!(std::mem::size_of::<SeccompNotifResp>() == 24);

/// Installs, on the calling thread, a filter that hands `calls` to a listener; returns the
/// listener's descriptor.
fn install(calls: &[i64]) -> Result<RawFd, Errno> {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let n = calls.len();
    // 0: load arch; 1: other arch -> allow; 2: load nr; 3..3+n: the calls -> notify;
    // 3+n: allow; 4+n: notify.
    let mut program = vec![
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 4),
        jump(AUDIT_ARCH, 0, (n + 1) as u8),
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
    ];
    for (i, &nr) in calls.iter().enumerate() {
        // From instruction 3 + i, the notify instruction (4 + n) is n - i away.
        program.push(jump(nr as u32, (n - i) as u8, 0));
    }
    program.push(stmt(libc::BPF_RET | libc::BPF_K, SECCOMP_RET_ALLOW));
    program.push(stmt(libc::BPF_RET | libc::BPF_K, SECCOMP_RET_USER_NOTIF));
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: prctl and seccomp with a valid program; they change this thread only.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(Errno::last());
        }
        let fd = libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &prog as *const libc::sock_fprog,
        );
        if fd < 0 {
            return Err(Errno::last());
        }
        Ok(fd as RawFd)
    }
}

/// Answers notice `id`: run it (`None`) or fail it with `errno`. A notice whose process
/// died meanwhile is gone (ENOENT): nothing to answer.
fn respond(listener: RawFd, id: u64, errno: Option<Errno>) {
    let resp = SeccompNotifResp {
        id,
        val: 0,
        error: errno.map_or(0, |e| -(e as i32)),
        flags: if errno.is_none() {
            SECCOMP_USER_NOTIF_FLAG_CONTINUE
        } else {
            0
        },
    };
    loop {
        // SAFETY: NOTIF_SEND reads one seccomp_notif_resp.
        let r = unsafe { libc::ioctl(listener, NOTIF_SEND, &resp as *const SeccompNotifResp) };
        if r < 0 && Errno::last() == Errno::EINTR {
            continue;
        }
        return;
    }
}

/// Takes the next notice; None if there was none after all (its process died meanwhile).
fn receive(listener: RawFd) -> Option<SeccompNotif> {
    loop {
        // SAFETY: the kernel wants a zeroed seccomp_notif to fill in.
        let mut notif: SeccompNotif = unsafe { std::mem::zeroed() };
        // SAFETY: NOTIF_RECV writes one seccomp_notif.
        let r = unsafe { libc::ioctl(listener, NOTIF_RECV, &mut notif as *mut SeccompNotif) };
        if r == 0 {
            return Some(notif);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            _ => return None,
        }
    }
}

fn serve<P>(listener: RawFd, caller: i32, done: &AtomicBool, desk: &mut Desk, policy: &mut P)
where
    P: FnMut(&Notice, &mut Desk) -> Reply,
{
    let mut quiet_since = Instant::now();
    loop {
        // Wake up for the next timed answer, or when held calls have waited long enough.
        let now = Instant::now();
        let mut wake: Option<Instant> = desk.timed.iter().map(|(at, _, _)| *at).min();
        if !desk.held.is_empty() {
            let give_up = quiet_since + PATIENCE;
            wake = Some(wake.map_or(give_up, |w| w.min(give_up)));
        }
        // Every 2 ms at least, a look at the done flag.
        let timeout = wake.map_or(2, |w| {
            w.saturating_duration_since(now).as_millis().min(2) as libc::c_int
        });
        let mut fds = [libc::pollfd {
            fd: listener,
            events: libc::POLLIN,
            revents: 0,
        }];
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 1, timeout) };
        let now = Instant::now();
        // Timed answers that are due (no allocation here: see `supervised`).
        let mut i = 0;
        while i < desk.timed.len() {
            if desk.timed[i].0 <= now {
                let (_, notice, errno) = desk.timed.swap_remove(i);
                respond(listener, notice.id, errno);
            } else {
                i += 1;
            }
        }
        if !desk.held.is_empty() && now >= quiet_since + PATIENCE {
            desk.release_all();
        }
        if n <= 0 || fds[0].revents & libc::POLLIN == 0 {
            // Nothing to read (or no process left under the filter: only the done flag
            // can come now).
            if done.load(SeqCst) {
                return;
            }
            if fds[0].revents != 0 && fds[0].revents & libc::POLLIN == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            continue;
        }
        let Some(raw) = receive(listener) else {
            continue;
        };
        quiet_since = Instant::now();
        let notice = Notice {
            id: raw.id,
            pid: raw.pid as i32,
            nr: raw.data.nr as i64,
            args: raw.data.args,
            from_caller: raw.pid as i32 == caller,
        };
        if desk.seen.len() < desk.seen.capacity() {
            desk.seen.push(notice);
        }
        match policy(&notice, desk) {
            Reply::Continue => respond(listener, notice.id, None),
            Reply::Fail(errno) => respond(listener, notice.id, Some(errno)),
            Reply::Kill => {
                // SAFETY: kill with a pid and a signal number. The call never runs: the
                // process dies while it is stopped in it. (No answer: an answer sent before
                // the process noticed the signal would let the call run first.)
                unsafe { libc::kill(notice.pid, libc::SIGKILL) };
            }
            // Within capacity, so that nothing is allocated; beyond it, the call runs.
            Reply::Hold if desk.held.len() < desk.held.capacity() => desk.held.push(notice),
            Reply::ContinueAfter(d) if desk.timed.len() < desk.timed.capacity() => {
                desk.timed.push((Instant::now() + d, notice, None))
            }
            Reply::FailAfter(d, errno) if desk.timed.len() < desk.timed.capacity() => {
                desk.timed.push((Instant::now() + d, notice, Some(errno)))
            }
            Reply::Hold | Reply::ContinueAfter(_) => respond(listener, notice.id, None),
            Reply::FailAfter(_, errno) => respond(listener, notice.id, Some(errno)),
        }
    }
}

/// After the body: every call still coming runs, until no process is left under the
/// filter (the listener then reports a hang-up).
fn let_everything_run(listener: OwnedFd) {
    let fd = listener.as_raw_fd();
    loop {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, -1) };
        if n < 0 {
            if Errno::last() == Errno::EINTR {
                continue;
            }
            return;
        }
        if pfd.revents & libc::POLLIN != 0 {
            if let Some(raw) = receive(fd) {
                respond(fd, raw.id, None);
            }
        } else if pfd.revents != 0 {
            return;
        }
    }
}
