//! The walls around one test process, on Linux: everything that happens between fork and
//! exec of a test, in one place.
//!
//! [`Walls::raise`] runs in the forked child and, in this order:
//! 1. ties the child to the grader (parent-death signal);
//! 2. with namespaces, moves it into PID, mount, network and IPC namespaces of its own:
//!    no network, no System V object shared with anything; in the PID namespace as PID 2 under a tiny
//!    init of the grader's (PID 1) that reaps, notices processes left behind and takes
//!    every one of them down when the test ends; and into a mount namespace where the
//!    course directory (hidden tests, solutions, other submissions, the grader's build)
//!    is covered by an empty tmpfs, and so is `/tmp`, into which only the test binary
//!    (read-only, at [`BINARY`]) and the test's scratch directory (at [`WORKDIR`]) are
//!    bound;
//! 3. sets the resource limits;
//! 4. makes it an unprivileged user: as root, a uid of its own per run; as another user,
//!    a non-root user of a user namespace of its own (so that, made non-dumpable by the
//!    harness, it cannot read its own memory, and cannot unmount what hides the course);
//! 5. sets `no_new_privs` and installs the [`seccomp`] filter;
//! 6. tells the grader it is ready (a byte on a pipe that closes on exec), so that a
//!    failed exec (the test binary's fault) is told apart from a failed wall (the
//!    grader's).
//!
//! Everything here after fork runs in a copy of a multi-threaded process: only
//! async-signal-safe calls, on data prepared beforehand by [`Walls::new`]. This module
//! uses nothing else of the grader's; `process` runs children through it.

pub mod seccomp;

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Which walls can be raised on this machine: found once per grade (see
/// `process::probe_protections`) and passed along as a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protections {
    /// PID and mount namespaces per test, with the course hidden.
    pub namespaces: bool,
    /// Whose user a test runs as.
    pub user: TestUser,
    /// Why a wall is missing, if one is.
    pub note: Option<String>,
}

/// Whose user a test runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestUser {
    /// The grader is root: each run gets a uid of its own (61000–64999).
    PerRunUid,
    /// The grader is not root: the test is a non-root user of a user namespace of its own.
    UserNamespace,
    /// The grader's own user (no namespaces, grader not root).
    Grader,
}

impl TestUser {
    pub fn as_str(self) -> &'static str {
        match self {
            TestUser::PerRunUid => "a uid of its own",
            TestUser::UserNamespace => "a user namespace of its own",
            TestUser::Grader => "the grader's user",
        }
    }
}

/// Resource limits of one run.
#[derive(Debug, Clone)]
pub struct Limits {
    pub wall: std::time::Duration,
    /// Bytes kept of each of stdout and stderr; the rest is read and dropped.
    pub output_cap: usize,
    /// RLIMIT_CPU in seconds (all threads together).
    pub cpu_secs: Option<u64>,
    /// RLIMIT_AS in bytes.
    pub address_space: Option<u64>,
    /// RLIMIT_FSIZE in bytes: the largest file the process may write.
    pub file_size: Option<u64>,
    /// RLIMIT_NOFILE.
    pub open_files: Option<u64>,
    /// RLIMIT_NPROC: enforced only for an unprivileged user.
    pub processes: Option<u64>,
}

impl Limits {
    /// Only a wall-clock limit and an output cap: for the grader's own tools (cargo).
    pub fn trusted(wall: std::time::Duration, output_cap: usize) -> Limits {
        Limits {
            wall,
            output_cap,
            cpu_secs: None,
            address_space: None,
            file_size: None,
            open_files: None,
            processes: None,
        }
    }
}

/// Where the test binary appears inside the sandbox.
pub const BINARY: &str = "/tmp/kata-test";
/// Where the test's scratch directory appears inside the sandbox: its cwd, HOME and TMPDIR.
pub const WORKDIR: &str = "/tmp/work";

/// What a walled run is: which binary, with which scratch directory, hiding what.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The directories to hide from the test: the course, and for `grader batch` the
    /// class's output (other students' reports and sources).
    pub hide: Vec<PathBuf>,
    /// The test binary; inside namespaces it is at [`BINARY`].
    pub binary: PathBuf,
    /// The test's scratch directory; inside namespaces it is [`WORKDIR`].
    pub scratch: PathBuf,
}

/// The init's report on the status pipe: three native-endian i32s.
pub const REPORT_LEN: usize = 12;
/// `[REPORT_ENDED, wait status, processes left behind]`.
pub const REPORT_ENDED: i32 = 0;
/// `[REPORT_SETUP_FAILED, errno, step]`: the init could not set the namespace up.
pub const REPORT_SETUP_FAILED: i32 = 1;
/// Steps of the init that can fail.
pub const STEP_MOUNT_PROC: i32 = 1;
pub const STEP_FORK_TEST: i32 = 2;

/// The byte on the ready pipe when every wall stands.
pub const READY: u8 = b'r';

/// The walls, in the order [`Walls::raise`] raises them; a failed one writes its number on
/// the ready pipe instead of [`READY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Step {
    ParentDeath = 1,
    Namespaces = 2,
    Limits = 3,
    User = 4,
    NoNewPrivs = 5,
    Seccomp = 6,
}

impl Step {
    /// What failed, for the grader's message; from the byte on the ready pipe.
    pub fn describe(byte: u8) -> &'static str {
        match byte {
            1 => "tie the test to the grader (parent-death signal)",
            2 => "enter the test's namespaces (mount, PID, network, IPC)",
            3 => "set the test's resource limits",
            4 => "give the test an unprivileged user of its own",
            5 => "set no_new_privs",
            6 => "install the seccomp filter",
            _ => "raise the walls",
        }
    }
}

/// Which descriptors a run's walls report on.
#[derive(Debug, Clone, Copy)]
pub struct Reports {
    /// Written (one byte) just before exec: every wall stands.
    pub ready: RawFd,
    /// The namespace's init writes its report here (see [`REPORT_LEN`]).
    pub status: Option<RawFd>,
}

/// The walls of one run, prepared before fork.
pub struct Walls {
    grader: libc::pid_t,
    limits: Vec<(libc::__rlimit_resource_t, u64)>,
    user: UserChange,
    namespaces: Option<Namespaces>,
    filter: seccomp::Filter,
    reports: Reports,
}

enum UserChange {
    None,
    Uid(u32),
    /// A user namespace of its own where the test is uid/gid 1000, mapped onto the
    /// grader's user.
    Nested {
        uid_map: CString,
        gid_map: CString,
    },
}

struct Namespaces {
    /// The grader is not root: the namespaces come from a user namespace.
    via_user_namespace: bool,
    uid_map: CString,
    gid_map: CString,
    /// Deepest first, so that a directory hidden inside another is mounted over before
    /// its parent disappears under a tmpfs.
    hide: Vec<CString>,
    binary: CString,
    scratch: CString,
}

fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::other("a path holds a NUL byte"))
}

/// The uid a run gets when the grader is root: one per run at a time, from a range no
/// real account uses, so that RLIMIT_NPROC counts only that run's processes.
fn next_run_uid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    61_000 + NEXT.fetch_add(1, Ordering::Relaxed) % 4_000
}

/// The uid and gid a test has inside its own user namespace (any but 0).
const NESTED_ID: u32 = 1000;

fn effective_ids() -> (u32, u32) {
    // SAFETY: plain getters.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

impl Walls {
    /// Prepares the walls of one run. With `spec`, the run gets namespaces (as
    /// `protections` allows); the scratch directory is handed to the test's user.
    pub fn new(
        protections: &Protections,
        spec: Option<&Spec>,
        limits: &Limits,
        reports: Reports,
    ) -> io::Result<Walls> {
        let (uid, gid) = effective_ids();
        let root = uid == 0;
        let user = if root {
            UserChange::Uid(next_run_uid())
        } else if protections.namespaces && spec.is_some() {
            UserChange::Nested {
                uid_map: CString::new(format!("{NESTED_ID} 0 1\n")).unwrap(),
                gid_map: CString::new(format!("{NESTED_ID} 0 1\n")).unwrap(),
            }
        } else {
            UserChange::None
        };
        if let (UserChange::Uid(run_uid), Some(spec)) = (&user, spec) {
            // The test's user must be able to use its scratch directory.
            std::os::unix::fs::chown(&spec.scratch, Some(*run_uid), Some(*run_uid))?;
        }
        let namespaces = match spec {
            Some(spec) if protections.namespaces => Some(Namespaces {
                via_user_namespace: !root,
                uid_map: CString::new(format!("0 {uid} 1\n")).unwrap(),
                gid_map: CString::new(format!("0 {gid} 1\n")).unwrap(),
                hide: {
                    let mut hide = spec.hide.clone();
                    hide.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
                    hide.iter().map(|p| cstr(p)).collect::<io::Result<_>>()?
                },
                binary: cstr(&spec.binary)?,
                scratch: cstr(&spec.scratch)?,
            }),
            _ => None,
        };
        let mut rlimits = vec![(libc::RLIMIT_CORE, 0)];
        for (resource, value) in [
            (libc::RLIMIT_NPROC, limits.processes),
            (libc::RLIMIT_CPU, limits.cpu_secs),
            (libc::RLIMIT_AS, limits.address_space),
            (libc::RLIMIT_FSIZE, limits.file_size),
            (libc::RLIMIT_NOFILE, limits.open_files),
        ] {
            if let Some(value) = value {
                rlimits.push((resource, value));
            }
        }
        Ok(Walls {
            grader: std::process::id() as libc::pid_t,
            limits: rlimits,
            user,
            namespaces,
            filter: seccomp::Filter::new(),
            reports,
        })
    }

    /// Raises every wall, in the child between fork and exec. With namespaces it returns
    /// only in the process that goes on to exec the test (the namespace's PID 2).
    ///
    /// # Safety
    /// Must be called only from a `pre_exec` closure.
    pub unsafe fn raise(&self) -> io::Result<()> {
        // Which wall failed, for the grader's message: a byte on the ready pipe.
        let failed = |step: Step, e: io::Error| {
            libc::write(self.reports.ready, [step as u8].as_ptr().cast(), 1);
            e
        };
        // If the grader dies (Ctrl-C, a cancelled CI job, SIGKILL), so does this run,
        // hanging or not: the wall-clock limit is the grader's, and dies with it.
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
            || libc::getppid() != self.grader
        {
            return Err(failed(
                Step::ParentDeath,
                io::Error::from_raw_os_error(libc::ESRCH),
            ));
        }
        if let Some(ns) = &self.namespaces {
            ns.enter(self.reports.status.unwrap_or(-1))
                .map_err(|e| failed(Step::Namespaces, e))?;
        }
        // The test is the first thing the kernel's OOM killer takes, never the grader.
        // (Its /proc files are ours to write only while we are dumpable: see `dumpable`.)
        dumpable(true);
        let _ = write_file(c"/proc/self/oom_score_adj", b"1000");
        dumpable(false);
        for &(resource, value) in &self.limits {
            let limit = libc::rlimit {
                rlim_cur: value,
                rlim_max: value,
            };
            check(libc::setrlimit(resource, &limit)).map_err(|e| failed(Step::Limits, e))?;
        }
        match &self.user {
            UserChange::None => {}
            UserChange::Uid(uid) => {
                (|| -> io::Result<()> {
                    check(libc::setgroups(0, std::ptr::null()))?;
                    check(libc::setgid(*uid))?;
                    check(libc::setuid(*uid))?;
                    Ok(())
                })()
                .map_err(|e| failed(Step::User, e))?;
            }
            UserChange::Nested { uid_map, gid_map } => {
                // Root of the outer user namespace (needed for the mounts) becomes an
                // ordinary user of an inner one: after exec it has no capability left.
                check(libc::unshare(libc::CLONE_NEWUSER))
                    .and_then(|_| write_maps(uid_map, gid_map))
                    .map_err(|e| failed(Step::User, e))?;
            }
        }
        // A change of credentials clears the parent-death signal: set it again.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
            .map_err(|e| failed(Step::NoNewPrivs, e))?;
        self.filter
            .install()
            .map_err(|e| failed(Step::Seccomp, e))?;
        libc::write(self.reports.ready, [READY].as_ptr().cast(), 1);
        Ok(())
    }
}

impl Namespaces {
    /// Runs in the std child (P). Returns only in R (PID 2), ready to exec.
    ///
    /// The process tree: `P` (the std child; waits) → `Q` (PID 1: init, reports on
    /// `status_w`) → `R` (PID 2: execs the test).
    unsafe fn enter(&self, status_w: RawFd) -> io::Result<()> {
        // Also a network namespace (no network: a test cannot fetch or send anything)
        // and an IPC namespace (no System V object outlives the test or joins two).
        let flags = libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWIPC
            | if self.via_user_namespace {
                libc::CLONE_NEWUSER
            } else {
                0
            };
        check(libc::unshare(flags))?;
        if self.via_user_namespace {
            // Map ourselves to root inside the new user namespace, so we may mount.
            write_maps(&self.uid_map, &self.gid_map)?;
        }
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // Our mounts must not leak back into the grader's namespace.
        check(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        // Hold on to what we bring back before the tmpfs covers it.
        let bin_fd = check(libc::open(
            self.binary.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC,
        ))?;
        let scratch_fd = check(libc::open(
            self.scratch.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        ))?;
        let tmpfs = |at: &std::ffi::CStr, options: &std::ffi::CStr| {
            check(libc::mount(
                c"grader-sandbox".as_ptr(),
                at.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                options.as_ptr().cast(),
            ))
        };
        for hide in &self.hide {
            tmpfs(hide, c"mode=755,size=64k")?;
        }
        tmpfs(c"/tmp", c"mode=1777,size=16m")?;
        check(libc::mkdir(c"/tmp/work".as_ptr(), 0o755))?;
        let placeholder = check(libc::open(
            c"/tmp/kata-test".as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o755,
        ))?;
        libc::close(placeholder);
        bind(bin_fd, c"/tmp/kata-test", true)?;
        bind(scratch_fd, c"/tmp/work", false)?;
        libc::close(bin_fd);
        libc::close(scratch_fd);

        // P: wait for init, then go. Everything P held is closed, so the grader sees
        // end-of-file on the test's output and on std's exec-error pipe as soon as the
        // test itself is done with them.
        let q = check(libc::fork())?;
        if q > 0 {
            close_all_but(-1);
            let mut status = 0;
            while libc::waitpid(q, &mut status, 0) < 0 && *libc::__errno_location() == libc::EINTR {
            }
            libc::_exit(0);
        }

        // Q: PID 1 of the new namespace. It goes when P goes (P goes when the grader
        // does), and the kernel then kills everything in the namespace.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        // A fresh /proc, so that the test's pids and /proc agree.
        if libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        ) != 0
        {
            report(status_w, REPORT_SETUP_FAILED, errno(), STEP_MOUNT_PROC);
            libc::_exit(0);
        }
        let r = libc::fork();
        if r < 0 {
            report(status_w, REPORT_SETUP_FAILED, errno(), STEP_FORK_TEST);
            libc::_exit(0);
        }
        if r > 0 {
            close_all_but(status_w);
            let mut status = 0;
            let mut test_status = None;
            // Reap everything; remember the test's own status.
            loop {
                let pid = libc::waitpid(-1, &mut status, 0);
                if pid == r {
                    test_status = Some(status);
                    break;
                }
                if pid < 0 && errno() != libc::EINTR {
                    break;
                }
            }
            // Anyone left in the namespace (init itself is never signalled) was started by
            // the test and not waited for. A process that is only just exiting is not
            // "left running": give such stragglers a moment (up to 100 ms) to finish.
            let mut leftovers = 0;
            for _ in 0..100 {
                while libc::waitpid(-1, &mut status, libc::WNOHANG) > 0 {}
                leftovers = i32::from(libc::kill(-1, 0) == 0);
                if leftovers == 0 {
                    break;
                }
                let pause = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 1_000_000,
                };
                libc::nanosleep(&pause, std::ptr::null_mut());
            }
            libc::kill(-1, libc::SIGKILL);
            while libc::waitpid(-1, &mut status, 0) > 0 {}
            if let Some(test_status) = test_status {
                report(status_w, REPORT_ENDED, test_status, leftovers);
            }
            libc::_exit(0);
        }

        // R: the test. Start where the scratch directory is *now* (the inherited working
        // directory still points below the hidden course, behind the tmpfs).
        check(libc::chdir(c"/tmp/work".as_ptr()))?;
        // If init goes, so does the test.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        Ok(())
    }
}

/// The grader is non-dumpable (see [`guard_grader`]), and so is every process forked from
/// it: its memory holds the keys of the tests running at the moment. That also makes our
/// own /proc files root's, which we must write to set up a user namespace; so we are
/// dumpable only for those writes, before any code of the test runs. (No test can reach
/// these processes meanwhile: they are outside its namespaces, or the test is not
/// running yet.)
unsafe fn dumpable(on: bool) {
    libc::prctl(libc::PR_SET_DUMPABLE, libc::c_ulong::from(on), 0, 0, 0);
}

/// Writes a fresh user namespace's `setgroups`, `uid_map` and `gid_map`.
unsafe fn write_maps(uid_map: &std::ffi::CStr, gid_map: &std::ffi::CStr) -> io::Result<()> {
    dumpable(true);
    let written = (|| {
        write_file(c"/proc/self/setgroups", b"deny")?;
        write_file(c"/proc/self/uid_map", uid_map.to_bytes())?;
        write_file(c"/proc/self/gid_map", gid_map.to_bytes())
    })();
    dumpable(false);
    written
}

unsafe fn errno() -> i32 {
    *libc::__errno_location()
}

unsafe fn report(fd: RawFd, kind: i32, a: i32, b: i32) {
    let mut record = [0u8; REPORT_LEN];
    record[..4].copy_from_slice(&kind.to_ne_bytes());
    record[4..8].copy_from_slice(&a.to_ne_bytes());
    record[8..].copy_from_slice(&b.to_ne_bytes());
    libc::write(fd, record.as_ptr().cast(), record.len());
}

/// Decodes an init's report: `(kind, a, b)`.
pub fn decode_report(bytes: &[u8]) -> Option<(i32, i32, i32)> {
    let record: [u8; REPORT_LEN] = bytes.try_into().ok()?;
    let word = |i: usize| i32::from_ne_bytes(record[i * 4..i * 4 + 4].try_into().unwrap());
    Some((word(0), word(1), word(2)))
}

fn check(result: libc::c_int) -> io::Result<libc::c_int> {
    if result < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(result)
    }
}

/// Closes every descriptor but `keep` (-1: none).
unsafe fn close_all_but(keep: RawFd) {
    if keep < 0 {
        libc::close_range(0, u32::MAX, 0);
    } else {
        if keep > 0 {
            libc::close_range(0, keep as u32 - 1, 0);
        }
        libc::close_range(keep as u32 + 1, u32::MAX, 0);
    }
}

unsafe fn write_file(path: &std::ffi::CStr, data: &[u8]) -> io::Result<()> {
    let fd = check(libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC))?;
    let written = libc::write(fd, data.as_ptr().cast(), data.len());
    libc::close(fd);
    if written != data.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bind-mounts what `fd` refers to onto `target`, through `/proc/self/fd/<fd>`.
unsafe fn bind(fd: RawFd, target: &std::ffi::CStr, read_only: bool) -> io::Result<()> {
    // Build "/proc/self/fd/<fd>\0" on the stack: no allocation after fork.
    let prefix = b"/proc/self/fd/";
    let mut source = [0u8; 64];
    source[..prefix.len()].copy_from_slice(prefix);
    let mut digits = [0u8; 12];
    let mut n = fd as u32;
    let mut len = 0;
    loop {
        digits[len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for i in 0..len {
        source[prefix.len() + i] = digits[len - 1 - i];
    }
    check(libc::mount(
        source.as_ptr().cast(),
        target.as_ptr(),
        std::ptr::null(),
        libc::MS_BIND,
        std::ptr::null(),
    ))?;
    if read_only {
        check(libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY | libc::MS_NOSUID,
            std::ptr::null(),
        ))?;
    }
    Ok(())
}

/// RLIMIT_NPROC for a test allowed `wanted` processes and threads of its own. The kernel
/// counts every task of the test's user: as root the test has a user of its own; otherwise
/// it shares the grader's user, so the tasks that user already runs are added.
pub fn process_limit(wanted: u64) -> u64 {
    let (uid, _) = effective_ids();
    if uid == 0 {
        return wanted;
    }
    let mut tasks = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            continue;
        };
        let owner = status
            .lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u32>().ok());
        if owner == Some(uid) {
            tasks += status
                .lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(1);
        }
    }
    tasks + wanted
}

/// The course root to hide from tests: the directory holding everything the grader owns.
pub fn hidden_root(course_root: &Path) -> PathBuf {
    std::fs::canonicalize(course_root).unwrap_or_else(|_| course_root.to_path_buf())
}

/// Makes the calling process (the grader) non-dumpable, so that a test running as the
/// same user, where no namespace separates them, cannot read the grader's memory (it
/// holds every running test's key) through /proc. Processes forked from the grader (the
/// namespaces' inits) inherit it.
pub fn guard_grader() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    check(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) }).map(|_| ())
}
