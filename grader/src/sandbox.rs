//! The walls around one test process, on Linux.
//!
//! Each test runs as PID 2 of a PID namespace of its own, in a mount namespace where the
//! course directory (hidden tests, solutions, other submissions, the grader's build) is
//! covered by an empty tmpfs, and so is `/tmp`, into which only the test binary
//! (read-only, at [`BINARY`]) and the test's scratch directory (at [`WORKDIR`]) are bound. Its PID 1 is a tiny init of the grader's that reaps,
//! notices processes left behind, and takes every one of them down when the test ends:
//! nothing a test starts can outlive it, `kill(-1, SIGKILL)` reaches only the test's own
//! processes, and `kill(getppid(), …)` reaches an init that ignores it. As root, the test
//! also drops to an unprivileged user of its own (so RLIMIT_NPROC bounds a fork bomb and
//! the grader's files are out of reach); as another user the namespaces come from a user
//! namespace, where the kernel allows one.
//!
//! The process tree, all set up between fork and exec of the std child:
//! `P` (the std child; waits) → `Q` (PID 1: init, reports) → `R` (PID 2: execs the test).
//! Everything here runs after fork in a possibly multi-threaded parent, so only
//! async-signal-safe calls are made there, on data prepared beforehand.

use std::ffi::CString;
use std::io;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Which walls could be raised on this machine.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Protections {
    /// PID and mount namespaces per test, with the course hidden.
    pub namespaces: bool,
    /// Tests run as an unprivileged user of their own (only when the grader is root).
    pub unprivileged_user: bool,
    /// Why a wall is missing, if one is.
    pub note: Option<String>,
}

/// Where the test binary appears inside the sandbox.
pub const BINARY: &str = "/tmp/kata-test";
/// Where the test's scratch directory appears inside the sandbox: its cwd, HOME and TMPDIR.
pub const WORKDIR: &str = "/tmp/work";

/// What one sandboxed run needs, prepared before fork.
pub struct Prepared {
    root: bool,
    outer_uid: u32,
    outer_gid: u32,
    uid_map: CString,
    gid_map: CString,
    setgroups_path: CString,
    uid_map_path: CString,
    gid_map_path: CString,
    hide: CString,
    binary: CString,
    scratch: CString,
    binary_target: CString,
    scratch_target: CString,
    tmp: CString,
    proc_self_fd: Vec<u8>,
    run_uid: u32,
    /// Q writes `[wait status, leftovers]` here as two native-endian i32s.
    status_w: RawFd,
}

fn cstr(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::other("a path holds a NUL byte"))
}

/// The uid a run gets when the grader is root: one per run at a time, from a range no
/// real account uses, so that RLIMIT_NPROC counts only that run's processes.
fn run_uid() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    61_000 + NEXT.fetch_add(1, Ordering::Relaxed) % 4_000
}

impl Prepared {
    /// Prepares a run of `binary` with its scratch directory `scratch`, hiding `hide`.
    pub fn new(
        hide: &Path,
        binary: &Path,
        scratch: &Path,
        status_w: RawFd,
    ) -> io::Result<Prepared> {
        // SAFETY: plain getters.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        let root = uid == 0;
        let run_uid = if root { run_uid() } else { uid };
        if root {
            // The test's user must be able to use its scratch directory.
            std::os::unix::fs::chown(scratch, Some(run_uid), Some(run_uid))?;
        }
        Ok(Prepared {
            root,
            outer_uid: uid,
            outer_gid: gid,
            uid_map: CString::new(format!("0 {uid} 1\n")).unwrap(),
            gid_map: CString::new(format!("0 {gid} 1\n")).unwrap(),
            setgroups_path: CString::new("/proc/self/setgroups").unwrap(),
            uid_map_path: CString::new("/proc/self/uid_map").unwrap(),
            gid_map_path: CString::new("/proc/self/gid_map").unwrap(),
            hide: cstr(hide)?,
            binary: cstr(binary)?,
            scratch: cstr(scratch)?,
            binary_target: CString::new(BINARY).unwrap(),
            scratch_target: CString::new(WORKDIR).unwrap(),
            tmp: CString::new("/tmp").unwrap(),
            proc_self_fd: b"/proc/self/fd/".to_vec(),
            run_uid,
            status_w,
        })
    }

    /// Runs in the std child (P) between fork and exec. Returns only in R, ready to exec.
    ///
    /// # Safety
    /// Must be called only from a `pre_exec` closure.
    pub unsafe fn enter(&self) -> io::Result<()> {
        let flags = libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | if self.root { 0 } else { libc::CLONE_NEWUSER };
        check(libc::unshare(flags))?;
        if !self.root {
            // Map ourselves to root inside the new user namespace, so we may mount.
            write_file(&self.setgroups_path, b"deny")?;
            write_file(&self.uid_map_path, self.uid_map.as_bytes())?;
            write_file(&self.gid_map_path, self.gid_map.as_bytes())?;
        }
        let _ = (self.outer_uid, self.outer_gid);
        // A change of credentials may clear the parent-death signal set before unshare.
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
        let tmpfs = |at: &CString, options: &std::ffi::CStr| {
            check(libc::mount(
                c"grader-sandbox".as_ptr(),
                at.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                options.as_ptr().cast(),
            ))
        };
        tmpfs(&self.hide, c"mode=755,size=64k")?;
        tmpfs(&self.tmp, c"mode=1777,size=16m")?;
        check(libc::mkdir(self.scratch_target.as_ptr(), 0o755))?;
        let placeholder = check(libc::open(
            self.binary_target.as_ptr(),
            libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
            0o755,
        ))?;
        libc::close(placeholder);
        bind(&self.proc_self_fd, bin_fd, &self.binary_target, true)?;
        bind(&self.proc_self_fd, scratch_fd, &self.scratch_target, false)?;
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
        libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        );
        let r = libc::fork();
        if r < 0 {
            libc::_exit(121);
        }
        if r > 0 {
            close_all_but(self.status_w);
            let mut status = 0;
            let mut test_status = None;
            // Reap everything; remember the test's own status.
            loop {
                let pid = libc::waitpid(-1, &mut status, 0);
                if pid == r {
                    test_status = Some(status);
                    break;
                }
                if pid < 0 && *libc::__errno_location() != libc::EINTR {
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
                let mut record = [0u8; 8];
                record[..4].copy_from_slice(&test_status.to_ne_bytes());
                record[4..].copy_from_slice(&leftovers.to_ne_bytes());
                libc::write(self.status_w, record.as_ptr().cast(), record.len());
            }
            libc::_exit(0);
        }

        // R: the test. Start where the scratch directory is *now* (the inherited working
        // directory still points below the hidden course, behind the tmpfs).
        check(libc::chdir(self.scratch_target.as_ptr()))?;
        if self.root {
            check(libc::setgroups(0, std::ptr::null()))?;
            check(libc::setgid(self.run_uid))?;
            check(libc::setuid(self.run_uid))?;
        }
        check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
        // If init goes, so does the test.
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
        Ok(())
    }
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

unsafe fn write_file(path: &CString, data: &[u8]) -> io::Result<()> {
    let fd = check(libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC))?;
    let written = libc::write(fd, data.as_ptr().cast(), data.len());
    libc::close(fd);
    if written != data.len() as isize {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Bind-mounts what `fd` refers to onto `target`, through `/proc/self/fd/<fd>`.
unsafe fn bind(prefix: &[u8], fd: RawFd, target: &CString, read_only: bool) -> io::Result<()> {
    // Build "/proc/self/fd/<fd>\0" on the stack: no allocation after fork.
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

/// Whether sandboxed runs work here, found once by trying one.
pub fn protections() -> &'static Protections {
    static PROBED: OnceLock<Protections> = OnceLock::new();
    PROBED.get_or_init(probe)
}

fn probe() -> Protections {
    if std::env::var_os("KATA_GRADER_NO_SANDBOX").is_some() {
        return Protections {
            namespaces: false,
            unprivileged_user: false,
            note: Some("turned off by KATA_GRADER_NO_SANDBOX".into()),
        };
    }
    let dir = std::env::temp_dir().join(format!("grader-probe-{}", std::process::id()));
    let scratch = dir.join("scratch");
    let result = (|| -> io::Result<()> {
        std::fs::create_dir_all(&scratch)?;
        let binary = dir.join("true");
        std::fs::copy("/bin/true", &binary)?;
        let outcome = crate::process::run_sandboxed_probe(&dir, &binary, &scratch)?;
        if outcome == Some(0) {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "a sandboxed /bin/true did not succeed ({outcome:?})"
            )))
        }
    })();
    let _ = std::fs::remove_dir_all(&dir);
    // SAFETY: a getter.
    let root = unsafe { libc::geteuid() } == 0;
    match result {
        Ok(()) => Protections { namespaces: true, unprivileged_user: root, note: None },
        Err(e) => Protections {
            namespaces: false,
            unprivileged_user: false,
            note: Some(format!(
                "PID and mount namespaces are not available here ({e}): tests run in process groups \
                 with resource limits only, and can reach the grader's files and processes"
            )),
        },
    }
}

/// RLIMIT_NPROC for a test allowed `wanted` processes and threads of its own. The kernel
/// counts every task of the test's user: as root the test has a user of its own; otherwise
/// it shares the grader's user, so the tasks that user already runs are added.
pub fn process_limit(wanted: u64) -> u64 {
    // SAFETY: a getter.
    let uid = unsafe { libc::geteuid() };
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
