//! Running programs: one process group per run, a wall-clock limit, capped output, and no
//! process left behind. A test's run is walled in by [`crate::sandbox`]; the grader's
//! own tools (cargo) run with a wall-clock limit only.
//!
//! Every child of the grader is started and reaped here. One reaper thread owns the
//! reaping, so that orphans of student code (which the grader adopts as a child
//! subreaper) are reaped too, and no status is ever stolen from a waiting runner or from
//! std's `spawn`.

use crate::sandbox::{self, Limits, Protections, Reports, Spec, TestUser, Walls};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// Killed by the grader when its wall-clock limit ran out.
    TimedOut,
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
    /// CPU time (user and system) of the run's process and every descendant it waited
    /// for: with `duration`, it tells a test that computes from one that mostly sleeps.
    pub cpu: Duration,
    /// Processes still running after the run's main process ended (they were killed).
    pub leftovers: usize,
}

/// Why a run did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A wall could not be raised: the grader's fault, never the program's.
    #[error("a wall around the test could not be raised: {0}")]
    Walls(String),
    /// The program itself could not be started (exec failed): the program's fault.
    #[error("the program could not be started: {0}")]
    Exec(io::Error),
    /// The grader could not set the run up (pipes, threads).
    #[error("the grader could not start the run: {0}")]
    Grader(io::Error),
}

/// The proof channel of a test run: the key goes in on one pipe, records come out on
/// another (see the `kata-harness` crate).
pub struct ProofChannel<'a> {
    pub key: &'a [u8],
    /// The environment variable that names the two descriptors.
    pub var: &'a str,
}

/// A walled run: what to wall in, under which protections.
pub struct Walled<'a> {
    pub protections: &'a Protections,
    /// With namespaces: the binary and scratch directory to bring in, the course to hide.
    pub spec: &'a Spec,
    /// The proof channel of a test (none for the probe).
    pub proof: Option<ProofChannel<'a>>,
}

struct ReaperState {
    /// Pids spawned through [`run`] and not yet reaped.
    pending: HashSet<i32>,
    /// Exit statuses and CPU times of reaped pending pids.
    done: HashMap<i32, (i32, Duration)>,
    /// Spawns under way: a child that exits before `spawn` returns is std's to reap.
    spawning: usize,
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
                spawning: 0,
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
                // Nothing to wait for until a run starts (its orphans come with it).
                let mut state = self.state.lock().unwrap();
                while state.pending.is_empty() && state.spawning == 0 {
                    state = self.changed.wait(state).unwrap();
                }
            }
            // Wait for a child to end without collecting it yet: it may be one that std's
            // `spawn` is about to collect itself (a failed exec).
            // SAFETY: waitid writes into the struct we pass.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            let waited =
                unsafe { libc::waitid(libc::P_ALL, 0, &mut info, libc::WEXITED | libc::WNOWAIT) };
            if waited != 0 {
                // No child at all (ECHILD) or interrupted: look again soon.
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            // SAFETY: waitid filled in a child's pid.
            let pid = unsafe { info.si_pid() };
            let mut state = self.state.lock().unwrap();
            if !state.pending.contains(&pid) && state.spawning > 0 {
                // Perhaps std's: let the spawns finish, then look again.
                while state.spawning > 0 {
                    state = self.changed.wait(state).unwrap();
                }
                continue;
            }
            let mut status = 0;
            // SAFETY: collects the one child that waitid reported; wait4 writes into the
            // struct we pass.
            let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
            let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
            if reaped == pid && state.pending.remove(&pid) {
                let time = |t: libc::timeval| {
                    Duration::from_secs(t.tv_sec.max(0) as u64)
                        + Duration::from_micros(t.tv_usec.max(0) as u64)
                };
                state
                    .done
                    .insert(pid, (status, time(usage.ru_utime) + time(usage.ru_stime)));
                self.changed.notify_all();
            }
            // Otherwise an adopted orphan: reaped, nothing to report.
        }
    }

    /// Waits for `pid` until `deadline`; `None` if it is still running then. Gives its
    /// exit status and CPU time.
    fn wait(&self, pid: i32, deadline: Option<Instant>) -> Option<(i32, Duration)> {
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

/// What a capture thread has read so far, and whether it reached the end.
#[derive(Default)]
struct Captured {
    kept: Vec<u8>,
    truncated: bool,
    ended: bool,
}

/// Reads a stream to its end in a thread, keeping at most `cap` bytes.
fn capture(
    mut stream: impl Read + Send + 'static,
    cap: usize,
    mut observer: Option<Observer>,
) -> Arc<(Mutex<Captured>, Condvar)> {
    let shared = Arc::new((Mutex::new(Captured::default()), Condvar::new()));
    let mine = Arc::clone(&shared);
    std::thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if let Some(observe) = observer.as_mut() {
                observe(&buf[..n]);
            }
            let (lock, changed) = &*mine;
            let mut c = lock.lock().unwrap();
            if n == 0 {
                c.ended = true;
                changed.notify_all();
                break;
            }
            let room = cap.saturating_sub(c.kept.len());
            c.kept.extend_from_slice(&buf[..n.min(room)]);
            c.truncated |= n > room;
        }
    });
    shared
}

/// What a capture thread read, once the stream ended or `grace` ran out. The streams'
/// writers are dead by the time this is asked, so the end comes at once; only a copy of
/// a descriptor held elsewhere delays it: by a process that escaped (then the grace keeps
/// it from holding up the grader, and what was read is kept), or, for a moment, by a
/// concurrent run between its fork and exec.
fn collect(captured: &(Mutex<Captured>, Condvar), grace: Instant) -> (Vec<u8>, bool, bool) {
    let (lock, changed) = captured;
    let mut c = lock.lock().unwrap();
    while !c.ended {
        let now = Instant::now();
        if now >= grace {
            break;
        }
        c = changed.wait_timeout(c, grace - now).unwrap().0;
    }
    (std::mem::take(&mut c.kept), c.truncated, c.ended)
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

/// How long the streams of a run that has ended may stay open (see [`collect`]).
const STREAM_GRACE: Duration = Duration::from_secs(20);

/// The environment variable that marks every process of one run, so that an escaped
/// process can be traced back to the run it came from.
pub const RUN_MARKER_VAR: &str = "KATA_GRADER_RUN";

/// Runs one of the grader's own tools (cargo): a process group, a wall-clock limit and an
/// output cap, and nothing else.
pub fn run_trusted(command: Command, limits: &Limits, marker: &str) -> Result<Outcome, RunError> {
    run_observed(command, limits, marker, None, None, None)
}

/// What sees a process's stdout as it comes (a build's progress), besides the capture.
pub type Observer = Box<dyn FnMut(&[u8]) + Send>;

/// [`run_trusted`], with `observer` shown each piece of stdout as it is read.
pub fn run_trusted_observed(
    command: Command,
    limits: &Limits,
    marker: &str,
    observer: Observer,
) -> Result<Outcome, RunError> {
    run_observed(command, limits, marker, None, Some(observer), None)
}

/// How often a [`Pulse`] hears of a run.
pub const PULSE_EVERY: Duration = Duration::from_millis(250);

/// What hears, every [`PULSE_EVERY`] while a run goes on, how much CPU time its process
/// group has used so far and how long it has run: the run stage uses it to tell a test that
/// sleeps from one that computes, for tests it has no timings of. It returns whether it
/// wants to hear again.
pub type Pulse<'a> = &'a mut dyn FnMut(Duration, Duration) -> bool;

/// Runs `command` in a new process group under `limits`, walled in as `walled` says (its
/// program must then be [`sandbox::BINARY`] when namespaces are on), with `pulse`, if
/// any, told of the run's progress.
pub fn run(
    command: Command,
    limits: &Limits,
    marker: &str,
    walled: Option<&Walled>,
    pulse: Option<Pulse>,
) -> Result<Outcome, RunError> {
    run_observed(command, limits, marker, walled, None, pulse)
}

fn run_observed(
    mut command: Command,
    limits: &Limits,
    marker: &str,
    walled: Option<&Walled>,
    observer: Option<Observer>,
    mut pulse: Option<Pulse>,
) -> Result<Outcome, RunError> {
    let reaper = reaper();
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .env(RUN_MARKER_VAR, marker);

    // The child's ends of the proof pipes stay close-on-exec in the grader and become
    // inheritable in the child only, after fork. Ours are read after the run.
    let mut child_fds: Vec<RawFd> = Vec::new();
    let mut keep_alive: Vec<OwnedFd> = Vec::new();
    let mut proof_reader = None;
    let mut status_reader = None;
    let mut ready_reader = None;
    let walls = match walled {
        None => None,
        Some(walled) => {
            if let Some(proof) = &walled.proof {
                let (key_r, key_w) = cloexec_pipe().map_err(RunError::Grader)?;
                let (proof_r, proof_w) = cloexec_pipe().map_err(RunError::Grader)?;
                std::fs::File::from(key_w)
                    .write_all(proof.key)
                    .map_err(RunError::Grader)?;
                command.env(
                    proof.var,
                    format!("{},{}", key_r.as_raw_fd(), proof_w.as_raw_fd()),
                );
                child_fds.extend([key_r.as_raw_fd(), proof_w.as_raw_fd()]);
                keep_alive.extend([key_r, proof_w]);
                proof_reader = Some(std::fs::File::from(proof_r));
            }

            let (ready_r, ready_w) = cloexec_pipe().map_err(RunError::Grader)?;
            let status_w = if walled.protections.namespaces {
                let (status_r, status_w) = cloexec_pipe().map_err(RunError::Grader)?;
                status_reader = Some(std::fs::File::from(status_r));
                Some(status_w)
            } else {
                None
            };
            let reports = Reports {
                ready: ready_w.as_raw_fd(),
                status: status_w.as_ref().map(|fd| fd.as_raw_fd()),
            };
            let walls = Walls::new(walled.protections, Some(walled.spec), limits, reports)
                .map_err(|e| RunError::Walls(format!("preparing the walls: {e}")))?;
            keep_alive.push(ready_w);
            keep_alive.extend(status_w);
            ready_reader = Some(std::fs::File::from(ready_r));
            Some(walls)
        }
    };

    // SAFETY: the closure runs in the child between fork and exec and makes only
    // async-signal-safe calls (fcntl, and the sandbox's system calls) on data prepared
    // above.
    unsafe {
        command.pre_exec(move || {
            for &fd in &child_fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            if let Some(walls) = &walls {
                // Returns only in the process that goes on to exec the test.
                walls.raise()?;
            } else if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }

    running_markers().lock().unwrap().insert(marker.to_string());
    let start = Instant::now();
    let spawned = {
        reaper.state.lock().unwrap().spawning += 1;
        let spawned = command.spawn();
        let mut state = reaper.state.lock().unwrap();
        state.spawning -= 1;
        if let Ok(child) = &spawned {
            state.pending.insert(child.id() as i32);
        }
        reaper.changed.notify_all();
        spawned
    };
    drop(keep_alive);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            running_markers().lock().unwrap().remove(marker);
            // Ready means every wall stood and exec itself failed: the program's fault.
            // Otherwise the sandbox says which wall it could not raise.
            let report = ready_reader.map(|mut r| {
                let mut byte = [0u8; 1];
                match r.read(&mut byte) {
                    Ok(1) => byte[0],
                    _ => 0,
                }
            });
            return Err(match report {
                Some(sandbox::READY) | None => RunError::Exec(e),
                Some(step) => {
                    RunError::Walls(format!("could not {}: {e}", sandbox::Step::describe(step)))
                }
            });
        }
    };
    let pid = child.id() as i32;
    let out = capture(child.stdout.take().unwrap(), limits.output_cap, observer);
    let err = capture(child.stderr.take().unwrap(), limits.output_cap, None);
    let proof_thread = proof_reader.map(|r| capture(r, 1 << 20, None));
    let status_thread = status_reader.map(|r| capture(r, 64, None));

    let deadline = start + limits.wall;
    let ended = loop {
        let until = match pulse {
            Some(_) => (Instant::now() + PULSE_EVERY).min(deadline),
            None => deadline,
        };
        match reaper.wait(pid, Some(until)) {
            Some(ended) => break Some(ended),
            None if until >= deadline => break None,
            None => {
                if let Some(hear) = pulse.as_mut() {
                    if !hear(group_cpu(pid), start.elapsed()) {
                        pulse = None;
                    }
                }
            }
        }
    };
    let (mut exit, cpu) = match ended {
        Some((status, cpu)) => (decode(status), cpu),
        None => {
            kill_group(pid);
            let cpu = reaper
                .wait(pid, None)
                .map(|(_, cpu)| cpu)
                .unwrap_or_default();
            (Exit::TimedOut, cpu)
        }
    };
    let duration = start.elapsed();
    let mut leftovers = count_group(pid);
    let mut walls_failed = None;
    if let Some(status_thread) = status_thread {
        // With namespaces the outer process only waited; the test's own status and
        // whether it left processes behind come from its init.
        let (report, _, _) = collect(&status_thread, Instant::now() + STREAM_GRACE);
        match sandbox::decode_report(&report) {
            Some((sandbox::REPORT_ENDED, status, left)) if exit != Exit::TimedOut => {
                exit = decode(status);
                leftovers += left.max(0) as usize;
            }
            Some((sandbox::REPORT_SETUP_FAILED, errno, step)) => {
                let what = match step {
                    sandbox::STEP_MOUNT_PROC => "mount a fresh /proc in the test's namespace",
                    sandbox::STEP_FORK_TEST => "fork the test inside its namespace",
                    _ => "set the namespace up",
                };
                walls_failed = Some(format!(
                    "the sandbox's init could not {what}: {}",
                    io::Error::from_raw_os_error(errno)
                ));
            }
            _ if exit == Exit::TimedOut => {}
            _ => {
                walls_failed =
                    Some("the sandbox's init ended without reporting the test's status".to_string())
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

    let grace = Instant::now() + STREAM_GRACE;
    let (stdout, t1, _) = collect(&out, grace);
    let (stderr, t2, _) = collect(&err, grace);
    let proof = proof_thread
        .map(|p| collect(&p, grace).0)
        .unwrap_or_default();
    if let Some(why) = walls_failed {
        return Err(RunError::Walls(why));
    }
    Ok(Outcome {
        exit,
        stdout,
        stderr,
        truncated: t1 || t2,
        proof,
        duration,
        cpu,
        leftovers,
    })
}

/// Finds which walls this machine allows, by raising them around `/bin/true`: first with
/// namespaces, then without. Fails when even the walls that must always stand (resource
/// limits, the test's own user when the grader is root, the seccomp filter) cannot be
/// raised: then no verdict could be trusted, and the grade stops.
/// Found once per process: the machine does not change under a grade, and concurrent
/// grades in one process share the answer.
pub fn probe_protections() -> Result<Protections, String> {
    static PROBED: OnceLock<Result<Protections, String>> = OnceLock::new();
    PROBED.get_or_init(probe_all).clone()
}

fn probe_all() -> Result<Protections, String> {
    // SAFETY: a getter.
    let root = unsafe { libc::geteuid() } == 0;
    let forced_off = std::env::var_os("KATA_GRADER_NO_SANDBOX").is_some();
    let with_namespaces = Protections {
        namespaces: true,
        user: if root {
            TestUser::PerRunUid
        } else {
            TestUser::UserNamespace
        },
        note: None,
    };
    let without = |note: String| Protections {
        namespaces: false,
        user: if root {
            TestUser::PerRunUid
        } else {
            TestUser::Grader
        },
        note: Some(note),
    };
    if !forced_off {
        match probe(&with_namespaces) {
            Ok(()) => return Ok(with_namespaces),
            Err(e) => {
                let degraded = without(format!(
                    "PID and mount namespaces are not available here ({e}): tests run one at a \
                     time, in process groups, and can read what the grader's user can read \
                     (the hidden tests among it)"
                ));
                return probe(&degraded)
                    .map(|()| degraded)
                    .map_err(|e| format!("cannot wall the tests in on this machine: {e}"));
            }
        }
    }
    let degraded = without(
        "namespaces turned off by KATA_GRADER_NO_SANDBOX: tests run one at a time, in process \
         groups, and can read what the grader's user can read"
            .into(),
    );
    probe(&degraded)
        .map(|()| degraded)
        .map_err(|e| format!("cannot wall the tests in on this machine: {e}"))
}

/// Runs a copy of /bin/true walled in as `protections` says.
fn probe(protections: &Protections) -> Result<(), String> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PROBES: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "grader-probe-{}-{}",
        std::process::id(),
        PROBES.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| -> Result<(), String> {
        let scratch = dir.join("scratch");
        std::fs::create_dir_all(&scratch).map_err(|e| e.to_string())?;
        let binary = dir.join("true");
        std::fs::copy("/bin/true", &binary).map_err(|e| e.to_string())?;
        let spec = Spec {
            hide: vec![dir.clone()],
            binary: binary.clone(),
            scratch: scratch.clone(),
        };
        let program = if protections.namespaces {
            std::path::PathBuf::from(sandbox::BINARY)
        } else {
            binary
        };
        let mut command = Command::new(program);
        command.current_dir(&scratch).env_clear();
        let limits = Limits {
            cpu_secs: Some(10),
            address_space: Some(256 << 20),
            file_size: Some(0),
            open_files: Some(64),
            processes: Some(sandbox::process_limit(16)),
            ..Limits::trusted(Duration::from_secs(20), 4096)
        };
        let walled = Walled {
            protections,
            spec: &spec,
            proof: None,
        };
        let outcome =
            run(command, &limits, "probe", Some(&walled), None).map_err(|e| e.to_string())?;
        match outcome.exit {
            Exit::Code(0) => Ok(()),
            other => Err(format!("a walled /bin/true did not succeed ({other:?})")),
        }
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
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

/// The CPU time the live processes of group `pgid` have used, with that of the children
/// they have reaped (a test's threads count in their process's).
fn group_cpu(pgid: i32) -> Duration {
    // SAFETY: a getter.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let ticks: u64 = processes()
        .filter(|p| p.pgid == pgid)
        .map(|p| p.cpu_ticks)
        .sum();
    Duration::from_millis(ticks * 1000 / per_second)
}

struct ProcInfo {
    pid: i32,
    ppid: i32,
    pgid: i32,
    /// utime + stime + cutime + cstime, in clock ticks.
    cpu_ticks: u64,
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
            // After pgrp: session, tty_nr, tpgid, flags, minflt, cminflt, majflt, cmajflt,
            // then utime, stime, cutime, cstime (proc(5)).
            let cpu_ticks = fields
                .skip(8)
                .take(4)
                .filter_map(|f| f.parse::<u64>().ok())
                .sum();
            Some(ProcInfo {
                pid,
                ppid,
                pgid,
                cpu_ticks,
            })
        })
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
    let mut killed = 0;
    // Killing one can orphan its children in turn: repeat until nothing is found.
    for _ in 0..50 {
        // The reaper's lock is held while the victims are chosen and killed: a test being
        // spawned is our child before `spawn` returns and it joins `pending`, and until it
        // execs, /proc shows no run marker for it. A general sweep (another grade's, in
        // the same process) must never take it for an orphan: it is skipped while a spawn
        // is under way (the next sweep finds whatever is left), and no spawn can begin
        // until it is done. (A sweep for one marker never matches a process without it.)
        let state = reaper().state.lock().unwrap();
        if marker.is_none() && state.spawning > 0 {
            break;
        }
        let pending: HashSet<i32> = state.pending.clone();
        let running = running_markers().lock().unwrap().clone();
        let victims: Vec<i32> = processes()
            .filter(|p| p.ppid == me && !pending.contains(&p.pid))
            .filter(|p| match (marker, marker_of(p.pid)) {
                (Some(m), found) => found.as_deref() == Some(m),
                (None, found) => !found.is_some_and(|m| running.contains(&m)),
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
        drop(state);
        killed += victims.len();
        std::thread::sleep(Duration::from_millis(10));
    }
    killed
}

/// Fresh random bytes from the kernel (getrandom). An error, never a weaker fallback: a
/// guessable key would make every verdict forgeable.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    let mut got = 0;
    while got < N {
        // SAFETY: getrandom writes at most N - got bytes into the rest of the array.
        let n = unsafe { libc::getrandom(bytes[got..].as_mut_ptr().cast(), N - got, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        got += n as usize;
    }
    Ok(bytes)
}

/// Starts the reaper, and makes the grader non-dumpable, before anything else forks.
pub fn init() -> io::Result<()> {
    let _ = reaper();
    sandbox::guard_grader()
}
