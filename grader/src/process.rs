//! Running untrusted programs: one process group per run, a wall-clock limit, resource
//! limits, capped output, and no process left behind.
//!
//! Every child of the grader is started and reaped here. One reaper thread owns
//! `waitpid(-1)`, so that orphans of student code (which the grader adopts as a child
//! subreaper) are reaped too, and no status is ever stolen from a waiting runner.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Killed by the grader when its wall-clock limit ran out.
    TimedOut,
}

/// Limits applied to one run.
#[derive(Debug, Clone)]
pub struct Limits {
    pub wall: Duration,
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
    /// RLIMIT_NPROC: enforced only for an unprivileged user (see the sandbox).
    pub processes: Option<u64>,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Whether any output was dropped at the cap.
    pub truncated: bool,
    /// Everything read from the proof pipe, if one was asked for.
    pub proof: Vec<u8>,
    pub duration: Duration,
    /// Processes still in the run's process group after its main process ended
    /// (they were killed).
    pub leftovers: usize,
}

/// A pipe pair whose far ends the child inherits at the numbers it is told.
pub struct ProofChannel {
    token: Vec<u8>,
}

impl ProofChannel {
    pub fn new(token: Vec<u8>) -> ProofChannel {
        ProofChannel { token }
    }
}

struct ReaperState {
    /// Pids spawned through [`run`] and not yet reaped.
    pending: HashSet<i32>,
    /// Exit statuses of reaped pending pids.
    done: HashMap<i32, i32>,
}

struct Reaper {
    state: Mutex<ReaperState>,
    changed: Condvar,
}

fn reaper() -> &'static Reaper {
    static REAPER: OnceLock<&'static Reaper> = OnceLock::new();
    REAPER.get_or_init(|| {
        // Orphans of the code under test are re-parented to us rather than to init, so
        // that they can be found and killed, and so that they are reaped.
        // SAFETY: prctl with these arguments only sets a flag on this process.
        unsafe {
            libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
        let reaper: &'static Reaper = Box::leak(Box::new(Reaper {
            state: Mutex::new(ReaperState {
                pending: HashSet::new(),
                done: HashMap::new(),
            }),
            changed: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("reaper".into())
            .spawn(move || reaper.reap_forever())
            .expect("cannot start the reaper thread");
        reaper
    })
}

impl Reaper {
    fn reap_forever(&self) {
        loop {
            {
                let mut state = self.state.lock().unwrap();
                while state.pending.is_empty() {
                    state = self.changed.wait(state).unwrap();
                }
            }
            let mut status = 0;
            // SAFETY: plain waitpid on any child.
            let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
            if pid > 0 {
                let mut state = self.state.lock().unwrap();
                if state.pending.remove(&pid) {
                    state.done.insert(pid, status);
                    self.changed.notify_all();
                }
                // Otherwise an adopted orphan: reaped, nothing to report.
            } else if io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD) {
                // Pending pids exist but are not yet visible as children; try again soon.
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// Waits for `pid` until `deadline`; `None` if it is still running then.
    fn wait(&self, pid: i32, deadline: Option<Instant>) -> Option<i32> {
        let mut state = self.state.lock().unwrap();
        loop {
            if let Some(status) = state.done.remove(&pid) {
                return Some(status);
            }
            match deadline {
                None => state = self.changed.wait(state).unwrap(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    state = self.changed.wait_timeout(state, deadline - now).unwrap().0;
                }
            }
        }
    }
}

fn decode(status: i32) -> Exit {
    if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Code(-1)
    }
}

/// Reads a stream to its end in a thread, keeping at most `cap` bytes.
fn capture(
    mut stream: impl Read + Send + 'static,
    cap: usize,
) -> std::thread::JoinHandle<(Vec<u8>, bool)> {
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut truncated = false;
        let mut buf = [0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let room = cap.saturating_sub(kept.len());
                    kept.extend_from_slice(&buf[..n.min(room)]);
                    truncated |= n > room;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        (kept, truncated)
    })
}

/// Waits up to `grace` for a capture thread; a stream held open by an escaped process
/// must not hold up the grader.
fn collect(handle: std::thread::JoinHandle<(Vec<u8>, bool)>, grace: Instant) -> (Vec<u8>, bool) {
    while !handle.is_finished() && Instant::now() < grace {
        std::thread::sleep(Duration::from_millis(2));
    }
    if handle.is_finished() {
        handle.join().unwrap_or_default()
    } else {
        (
            b"(output still held open by a process that escaped; not read)".to_vec(),
            true,
        )
    }
}

fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors into the array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both descriptors are fresh and owned by us.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The environment variable that marks every process of one run, so that an escaped
/// process can be traced back to the run it came from.
pub const RUN_MARKER_VAR: &str = "KATA_GRADER_RUN";

/// What to wall in a sandboxed run (see [`crate::sandbox`]).
#[derive(Debug, Clone)]
pub struct SandboxSpec {
    /// The directory to hide from the test (the course).
    pub hide: std::path::PathBuf,
    /// The program to run; inside, it is at [`crate::sandbox::BINARY`].
    pub binary: std::path::PathBuf,
    /// The test's scratch directory; inside, it is [`crate::sandbox::WORKDIR`].
    pub scratch: std::path::PathBuf,
}

/// Runs `command` in a new process group under `limits`. With `proof`, the child gets a
/// token pipe and a proof pipe (see the harness crate) named in `proof_var`. With
/// `sandbox`, the command runs walled in (its program must then be
/// [`crate::sandbox::BINARY`]).
pub fn run(
    mut command: Command,
    limits: &Limits,
    proof: Option<(&ProofChannel, &str)>,
    marker: &str,
    sandbox: Option<&SandboxSpec>,
) -> io::Result<Outcome> {
    let reaper = reaper();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .env(RUN_MARKER_VAR, marker);

    // The proof pipes: the child reads the token from one and writes its proof to the
    // other. Our ends stay close-on-exec; the child's ends are made inheritable in the
    // child only, after fork.
    let mut child_fds: Vec<RawFd> = Vec::new();
    let mut proof_reader = None;
    let mut keep_alive: Vec<OwnedFd> = Vec::new();
    if let Some((channel, var)) = proof {
        let (token_r, token_w) = cloexec_pipe()?;
        let (proof_r, proof_w) = cloexec_pipe()?;
        let mut token_w = std::fs::File::from(token_w);
        token_w.write_all(&channel.token)?;
        drop(token_w);
        command.env(
            var,
            format!("{},{}", token_r.as_raw_fd(), proof_w.as_raw_fd()),
        );
        child_fds.push(token_r.as_raw_fd());
        child_fds.push(proof_w.as_raw_fd());
        keep_alive.push(token_r);
        keep_alive.push(proof_w);
        proof_reader = Some(std::fs::File::from(proof_r));
    }

    // A sandboxed run's init reports the test's real status through this pipe.
    let mut status_reader = None;
    let prepared = match sandbox {
        Some(spec) => {
            let (status_r, status_w) = cloexec_pipe()?;
            let prepared = crate::sandbox::Prepared::new(
                &spec.hide,
                &spec.binary,
                &spec.scratch,
                status_w.as_raw_fd(),
            )?;
            keep_alive.push(status_w);
            status_reader = Some(std::fs::File::from(status_r));
            Some(prepared)
        }
        None => None,
    };

    let limits_for_child = limits.clone();
    let grader = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and calls only
    // async-signal-safe functions (prctl, getppid, fcntl, setrlimit, and the sandbox's
    // syscalls).
    unsafe {
        command.pre_exec(move || {
            // If the grader dies (Ctrl-C, a cancelled CI job, SIGKILL), so does this run,
            // hanging or not: the wall-clock limit is the grader's, and dies with it. The
            // sandbox's init passes it on to everything in the test's namespace.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0
                || libc::getppid() != grader
            {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            for &fd in &child_fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(prepared) = &prepared {
                // Returns only in the process that goes on to exec the test.
                prepared.enter()?;
            }
            set_limit(libc::RLIMIT_CORE, Some(0));
            set_limit(libc::RLIMIT_NPROC, limits_for_child.processes);
            set_limit(libc::RLIMIT_CPU, limits_for_child.cpu_secs);
            set_limit(libc::RLIMIT_AS, limits_for_child.address_space);
            set_limit(libc::RLIMIT_FSIZE, limits_for_child.file_size);
            set_limit(libc::RLIMIT_NOFILE, limits_for_child.open_files);
            Ok(())
        });
    }

    running_markers().lock().unwrap().insert(marker.to_string());
    let start = Instant::now();
    let (pid, stdout, stderr) = {
        // Spawn and register under the reaper's lock, so that the reaper cannot reap
        // (and discard as an orphan) a child that exits before it is registered.
        let mut state = reaper.state.lock().unwrap();
        let mut child = command.spawn()?;
        let pid = child.id() as i32;
        state.pending.insert(pid);
        reaper.changed.notify_all();
        (
            pid,
            child.stdout.take().unwrap(),
            child.stderr.take().unwrap(),
        )
    };
    drop(keep_alive);
    let out = capture(stdout, limits.output_cap);
    let err = capture(stderr, limits.output_cap);
    let proof_thread = proof_reader.map(|r| capture(r, 1 << 20));
    let status_thread = status_reader.map(|r| capture(r, 64));

    let deadline = start + limits.wall;
    let status = reaper.wait(pid, Some(deadline));
    let mut exit = match status {
        Some(status) => decode(status),
        None => {
            kill_group(pid);
            reaper.wait(pid, None);
            Exit::TimedOut
        }
    };
    let duration = start.elapsed();
    let mut leftovers = count_group(pid);
    if let Some(status_thread) = status_thread {
        // Sandboxed: the outer process only waited; the test's own status and whether it
        // left processes behind come from its init.
        let (report, _) = collect(status_thread, Instant::now() + Duration::from_millis(500));
        if exit != Exit::TimedOut {
            match <[u8; 8]>::try_from(report.as_slice()) {
                Ok(record) => {
                    exit = decode(i32::from_ne_bytes(record[..4].try_into().unwrap()));
                    leftovers += i32::from_ne_bytes(record[4..].try_into().unwrap()) as usize;
                }
                Err(_) => exit = Exit::Code(SANDBOX_FAILED),
            }
        }
    }
    kill_group(pid);
    // Let the kernel finish the group off, so that anything it leaves orphaned has been
    // re-parented to us before the sweep looks.
    let settle = Instant::now() + Duration::from_millis(200);
    while count_group(pid) > 0 && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(2));
    }
    running_markers().lock().unwrap().remove(marker);
    sweep_orphans(Some(marker));

    let grace = Instant::now() + Duration::from_millis(500);
    let (stdout, t1) = collect(out, grace);
    let (stderr, t2) = collect(err, grace);
    let proof = proof_thread
        .map(|p| collect(p, grace).0)
        .unwrap_or_default();
    Ok(Outcome {
        exit,
        stdout,
        stderr,
        truncated: t1 || t2,
        proof,
        duration,
        leftovers,
    })
}

/// The exit code reported when a sandboxed run's init gave no report: the sandbox itself
/// failed, not the test.
pub const SANDBOX_FAILED: i32 = 125;

/// Runs `binary` sandboxed with `scratch`, hiding `dir`; its exit code, if it exited.
pub(crate) fn run_sandboxed_probe(
    dir: &std::path::Path,
    binary: &std::path::Path,
    scratch: &std::path::Path,
) -> io::Result<Option<i32>> {
    let spec = SandboxSpec {
        hide: dir.to_path_buf(),
        binary: binary.to_path_buf(),
        scratch: scratch.to_path_buf(),
    };
    let limits = Limits {
        wall: Duration::from_secs(20),
        output_cap: 4096,
        cpu_secs: Some(10),
        address_space: None,
        file_size: None,
        open_files: None,
        processes: None,
    };
    let outcome = run(
        Command::new(crate::sandbox::BINARY),
        &limits,
        None,
        "probe",
        Some(&spec),
    )?;
    Ok(match outcome.exit {
        Exit::Code(code) => Some(code),
        _ => None,
    })
}

fn set_limit(resource: libc::__rlimit_resource_t, value: Option<u64>) {
    if let Some(value) = value {
        let limit = libc::rlimit {
            rlim_cur: value,
            rlim_max: value,
        };
        // SAFETY: setrlimit reads the struct; failure leaves the old limit.
        unsafe {
            libc::setrlimit(resource, &limit);
        }
    }
}

fn kill_group(pgid: i32) {
    // SAFETY: signals the process group we created; harmless if it is gone.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// How many processes are still in process group `pgid`.
fn count_group(pgid: i32) -> usize {
    processes().filter(|p| p.pgid == pgid).count()
}

struct ProcInfo {
    pid: i32,
    ppid: i32,
    pgid: i32,
}

/// The processes of this machine, from /proc.
fn processes() -> impl Iterator<Item = ProcInfo> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // The command name may hold spaces and parentheses: parse after the last ')'.
            let rest = &stat[stat.rfind(')')? + 2..];
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            if state == "Z" || state == "X" {
                return None; // already dead, waiting to be reaped
            }
            let ppid = fields.next()?.parse().ok()?;
            let pgid = fields.next()?.parse().ok()?;
            Some(ProcInfo { pid, ppid, pgid })
        })
}

fn has_marker(pid: i32, marker: &str) -> bool {
    marker_of(pid).as_deref() == Some(marker)
}

/// Markers of the runs under way: their adopted orphans may still be part of a legitimate
/// test (a grandchild whose parent exited first), so a general sweep spares them.
fn running_markers() -> &'static Mutex<HashSet<String>> {
    static RUNNING: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    RUNNING.get_or_init(Default::default)
}

fn marker_of(pid: i32) -> Option<String> {
    let prefix = format!("{RUN_MARKER_VAR}=");
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    env.split(|&b| b == 0)
        .find_map(|var| var.strip_prefix(prefix.as_bytes()))
        .map(|m| String::from_utf8_lossy(m).into_owned())
}

/// Kills processes that escaped their run and were adopted by the grader: those of the
/// run `marker`, or with `None` every adopted process that no run under way owns.
/// Returns how many it killed.
pub fn sweep_orphans(marker: Option<&str>) -> usize {
    let me = std::process::id() as i32;
    let pending: HashSet<i32> = reaper().state.lock().unwrap().pending.clone();
    let mut killed = 0;
    // Killing one can orphan its children in turn: repeat until nothing is found.
    for _ in 0..50 {
        let running = running_markers().lock().unwrap().clone();
        let victims: Vec<i32> = processes()
            .filter(|p| p.ppid == me && !pending.contains(&p.pid))
            .filter(|p| match marker {
                Some(m) => has_marker(p.pid, m),
                None => !marker_of(p.pid).is_some_and(|m| running.contains(&m)),
            })
            .map(|p| p.pid)
            .collect();
        if victims.is_empty() {
            break;
        }
        for pid in &victims {
            // SAFETY: a process adopted by us that we did not start for a pending run.
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
            }
        }
        killed += victims.len();
        std::thread::sleep(Duration::from_millis(10));
    }
    killed
}

/// A fresh random token for a proof channel.
pub fn random_token() -> Vec<u8> {
    let mut bytes = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut bytes);
    }
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into_bytes()
}

/// Shared by callers that need the reaper started before anything else forks.
pub fn init() {
    let _ = reaper();
}
