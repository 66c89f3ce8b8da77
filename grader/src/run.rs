//! Stage 4: run every hidden test in its own process and decide its verdict.
//!
//! A test's process runs in its own process group with a wall-clock limit and resource
//! limits; on timeout the whole group is killed. The verdict comes from the exit status
//! and the harness's proof that the test body returned (see `kata-harness`), never from
//! anything the test printed: printed text only feeds the message shown to the student.

use crate::compile::Build;
use crate::facade_check::{self, Bypass};
use crate::manifest::Checker;
use crate::plan::{Plan, PlannedSuite};
use crate::process::{self, Exit, Limits, ProofChannel};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    Timeout,
    Crash,
    CompileError,
    NotRun,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Timeout => "timeout",
            Status::Crash => "crash",
            Status::CompileError => "compile-error",
            Status::NotRun => "not-run",
        }
    }
}

/// One hidden test's verdict.
#[derive(Debug, Clone)]
pub struct TestRun {
    pub kata: String,
    pub suite: String,
    pub checker: Checker,
    pub test: String,
    pub status: Status,
    pub message: String,
    pub duration: Duration,
}

/// Settings of the run stage.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tests run at once.
    pub jobs: usize,
    /// Where each test gets a fresh working directory.
    pub scratch: PathBuf,
    /// The directory hidden from sandboxed tests (the course).
    pub hide: PathBuf,
}
/// The environment variable the harness reads; see `kata-harness`.
const PROOF_FDS_VAR: &str = "KATA_GRADER_PROOF_FDS";

struct Job<'a> {
    kata: &'a str,
    suite: &'a PlannedSuite,
    test: &'a str,
    binary: PathBuf,
}

/// Runs every planned test. Results come back in plan order, whatever order they ran in.
pub fn run_all(plan: &Plan, build: &Build, options: &RunOptions) -> Vec<TestRun> {
    let mut results: Vec<Option<TestRun>> = Vec::new();
    let mut jobs: Vec<(usize, Job)> = Vec::new();
    for planned in &plan.katas {
        let kata = planned.kata.id.as_str();
        let kata_build = build.katas.get(kata);
        let bypass: Vec<Bypass> = match (&planned.src, planned.suites.iter().any(|s| s.is_loom())) {
            (Ok(src), true) => facade_check::scan(src),
            _ => Vec::new(),
        };
        for suite in &planned.suites {
            let config = if suite.is_loom() {
                crate::compile::Config::Loom
            } else {
                crate::compile::Config::Normal
            };
            let early = |status, message: String| {
                suite.suite.tests.iter().map(move |test| {
                    Some(TestRun {
                        kata: kata.to_string(),
                        suite: suite.suite.name.clone(),
                        checker: suite.suite.checker,
                        test: test.clone(),
                        status,
                        message: message.clone(),
                        duration: Duration::ZERO,
                    })
                })
            };
            if let Err(why) = &planned.src {
                results.extend(early(Status::NotRun, why.clone()));
                continue;
            }
            if let Some(why) = &planned.refused {
                results.extend(early(Status::CompileError, why.clone()));
                continue;
            }
            if let Some(error) = kata_build.and_then(|b| b.errors.get(&config)) {
                results.extend(early(Status::CompileError, error.clone()));
                continue;
            }
            if suite.is_loom() && !bypass.is_empty() {
                let places: Vec<String> = bypass.iter().map(|b| format!("  {b}")).collect();
                results.extend(early(
                    Status::Fail,
                    format!(
                        "no loom credit: this code bypasses the sync facade, so loom cannot see \
                         its threads and locks and would explore one interleaving only.\n{}",
                        places.join("\n")
                    ),
                ));
                continue;
            }
            let Some(binary) = kata_build.and_then(|b| b.binaries.get(&suite.suite.name)) else {
                results.extend(early(
                    Status::NotRun,
                    "the suite was not built (see the build errors above)".into(),
                ));
                continue;
            };
            let listed = list_tests(binary);
            for test in &suite.suite.tests {
                let index = results.len();
                match &listed {
                    Ok(names) if !names.iter().any(|n| n == test) => results.push(Some(TestRun {
                        kata: kata.to_string(),
                        suite: suite.suite.name.clone(),
                        checker: suite.suite.checker,
                        test: test.clone(),
                        status: Status::NotRun,
                        message: format!(
                            "course.yaml lists `{test}` but {} has no such test (a course authoring error)",
                            suite.file.display()
                        ),
                        duration: Duration::ZERO,
                    })),
                    _ => {
                        results.push(None);
                        jobs.push((index, Job { kata, suite, test, binary: binary.clone() }));
                    }
                }
            }
        }
    }

    let queue = Mutex::new(jobs.into_iter());
    let done = Mutex::new(&mut results);
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(|| loop {
                let next = queue.lock().unwrap().next();
                let Some((index, job)) = next else { break };
                let run = run_one(&job, options);
                done.lock().unwrap()[index] = Some(run);
            });
        }
    });
    // Anything a finished run left behind and nobody claimed.
    process::sweep_orphans(None);
    results
        .into_iter()
        .map(|r| r.expect("every test has a result"))
        .collect()
}

/// The test names a suite binary reports (`--list --format terse`).
fn list_tests(binary: &Path) -> Result<Vec<String>, String> {
    let mut cmd = Command::new(binary);
    cmd.args(["--list", "--format", "terse"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    let limits = Limits {
        wall: Duration::from_secs(30),
        output_cap: 1 << 20,
        cpu_secs: Some(30),
        address_space: None,
        file_size: Some(0),
        open_files: Some(256),
        processes: None,
    };
    let outcome = process::run(
        cmd,
        &limits,
        None,
        &format!("list-{}", std::process::id()),
        None,
    )
    .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&outcome.stdout)
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect())
}

fn run_one(job: &Job, options: &RunOptions) -> TestRun {
    let wall = Duration::from_secs(job.suite.time_limit_secs);
    let dir = options
        .scratch
        .join(job.kata)
        .join(&job.suite.suite.name)
        .join(job.test);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);

    let sandboxed = crate::sandbox::protections().namespaces;
    let (program, home) = if sandboxed {
        (
            PathBuf::from(crate::sandbox::BINARY),
            PathBuf::from(crate::sandbox::WORKDIR),
        )
    } else {
        (job.binary.clone(), dir.clone())
    };
    let mut cmd = Command::new(&program);
    cmd.args(["--exact", job.test, "--test-threads=1"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &home)
        .env("TMPDIR", &home)
        .env("LANG", "C.UTF-8")
        .env("RUST_BACKTRACE", "0")
        .current_dir(&dir);
    let l = &job.suite.limits;
    let limits = Limits {
        wall,
        output_cap: (l.output_kib as usize) << 10,
        // CPU time is counted over all threads: two cores' worth of the wall limit, plus a
        // second so that the wall limit, not this one, decides an ordinary hang.
        cpu_secs: Some(l.cpu_secs.unwrap_or(job.suite.time_limit_secs * 2 + 1)),
        address_space: Some(l.memory_mib << 20),
        file_size: Some(l.file_size_mib << 20),
        open_files: Some(l.open_files),
        processes: Some(crate::sandbox::process_limit(l.processes)),
    };
    let spec = process::SandboxSpec {
        hide: options.hide.clone(),
        binary: job.binary.clone(),
        scratch: dir.clone(),
    };
    let token = process::random_token();
    let channel = ProofChannel::new(token.clone());
    // The marker is visible to the code under test (it is in its environment): it must
    // never be the token.
    let marker = format!(
        "{}-{}-{}",
        job.kata,
        job.test,
        String::from_utf8_lossy(&process::random_token())
    );
    let outcome = process::run(
        cmd,
        &limits,
        Some((&channel, PROOF_FDS_VAR)),
        &marker,
        sandboxed.then_some(&spec),
    );
    let (status, message, duration) = match outcome {
        Err(e) => (
            Status::Crash,
            format!("the grader could not start the test: {e}"),
            Duration::ZERO,
        ),
        Ok(outcome) => {
            let (status, message) = verdict(&outcome, &token, job.suite.time_limit_secs, &limits);
            (status, message, outcome.duration)
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    TestRun {
        kata: job.kata.to_string(),
        suite: job.suite.suite.name.clone(),
        checker: job.suite.suite.checker,
        test: job.test.to_string(),
        status,
        message,
        duration,
    }
}

/// What the harness sent: whether the body returned, and the first panic.
#[derive(Debug, Default, PartialEq)]
pub struct Proof {
    pub done: bool,
    /// (location, thread, message)
    pub panic: Option<(String, String, String)>,
}

/// Reads `token kind length\n bytes` records; records without the token are ignored.
pub fn parse_proof(bytes: &[u8], token: &[u8]) -> Proof {
    let mut proof = Proof::default();
    let mut rest = bytes;
    while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
        let header = String::from_utf8_lossy(&rest[..newline]).into_owned();
        rest = &rest[newline + 1..];
        let mut parts = header.rsplitn(3, ' ');
        let (Some(len), Some(kind), Some(tok)) = (parts.next(), parts.next(), parts.next()) else {
            break;
        };
        let Ok(len) = len.parse::<usize>() else { break };
        if len > rest.len() {
            break;
        }
        let payload = &rest[..len];
        rest = &rest[len..];
        if tok.as_bytes() != token {
            continue;
        }
        match kind {
            "done" => proof.done = true,
            "panic" if proof.panic.is_none() => {
                let text = String::from_utf8_lossy(payload);
                let mut lines = text.splitn(3, '\n');
                proof.panic = Some((
                    lines.next().unwrap_or("").to_string(),
                    lines.next().unwrap_or("").to_string(),
                    lines.next().unwrap_or("").to_string(),
                ));
            }
            _ => {}
        }
    }
    proof
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGABRT => "SIGABRT (abort)".into(),
        libc::SIGSEGV => "SIGSEGV (segmentation fault: a stack overflow or a bad pointer)".into(),
        libc::SIGBUS => "SIGBUS (bus error)".into(),
        libc::SIGKILL => "SIGKILL (killed)".into(),
        libc::SIGXCPU => "SIGXCPU (used up its CPU-time limit)".into(),
        libc::SIGXFSZ => "SIGXFSZ (wrote a file larger than the limit)".into(),
        libc::SIGILL => "SIGILL (illegal instruction)".into(),
        libc::SIGFPE => "SIGFPE (arithmetic error)".into(),
        libc::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

/// Loom's `deadlock; threads = [(Id(0), Blocked(Location(Some(Location { file: …, line: 42, column: 13 })))), …]`
/// as lines a student can act on: which thread waits where in their code.
fn explain_loom_deadlock(message: &str) -> Option<String> {
    let list = message.strip_prefix("deadlock; threads = ")?;
    let mut lines =
        vec!["deadlock: no thread can go on. Where each thread is blocked:".to_string()];
    for entry in list.split("(Id(").skip(1) {
        let id: String = entry.chars().take_while(|c| c.is_ascii_digit()).collect();
        // The place is std's `Location { file: "…", line: 42, column: 13 }`.
        let field = |name: &str, quoted: bool| -> Option<String> {
            let at = entry.find(&format!("{name}: "))? + name.len() + 2;
            let rest = &entry[at..];
            Some(if quoted {
                rest.strip_prefix('"')?.split('"').next()?.to_string()
            } else {
                rest.chars().take_while(|c| c.is_ascii_digit()).collect()
            })
        };
        let place = match (
            field("file", true),
            field("line", false),
            field("column", false),
        ) {
            (Some(file), Some(line), Some(column)) => {
                Some(format!("{}:{line}:{column}", shorten_path(&file)))
            }
            _ => None,
        };
        let state = if entry.contains("Terminated") {
            "has finished".to_string()
        } else if let Some(place) = place {
            format!("waits at {place}")
        } else if entry.contains("Blocked") {
            "is blocked".to_string()
        } else {
            "is runnable".to_string()
        };
        let who = if id == "0" {
            "the test's main thread".to_string()
        } else {
            format!("thread {id}")
        };
        lines.push(format!("  {who} {state}"));
    }
    Some(lines.join("\n"))
}

/// `/…/katas/deadlock/src/lib.rs:42:13` → `src/lib.rs:42:13`; hidden tests by file name.
fn shorten_path(path: &str) -> String {
    if let Some(at) = path.find("/katas/") {
        let rest = &path[at + "/katas/".len()..];
        if let Some(slash) = rest.find('/') {
            return rest[slash + 1..].to_string();
        }
    }
    path.rsplit('/').next().unwrap_or(path).to_string()
}

fn describe_panic(panic: &(String, String, String)) -> String {
    let (location, _thread, message) = panic;
    if let Some(explained) = explain_loom_deadlock(message) {
        return explained;
    }
    // Paths of the hidden tests are the grader's business; keep the file name.
    let location = location.rsplit('/').next().unwrap_or(location);
    if location.is_empty() {
        message.clone()
    } else {
        format!("{message}\n  (at {location})")
    }
}

/// The last lines of the test's stderr, as a fallback message.
fn stderr_tail(outcome: &process::Outcome) -> String {
    let text = String::from_utf8_lossy(&outcome.stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(6)..];
    tail.join("\n")
}

/// Decides a test's status from how its process ended and what the harness proved.
pub fn verdict(
    outcome: &process::Outcome,
    token: &[u8],
    limit_secs: u64,
    limits: &Limits,
) -> (Status, String) {
    let proof = parse_proof(&outcome.proof, token);
    if outcome.exit == Exit::Code(process::SANDBOX_FAILED) && !proof.done && proof.panic.is_none() {
        return (
            Status::Crash,
            "the grader's sandbox could not start this test (a grader problem, not yours)".into(),
        );
    }
    let panic = proof.panic.as_ref().map(describe_panic);
    let leftovers = if outcome.leftovers > 0 {
        Some(format!(
            "the test left {} process(es) running after it ended (a child that was never \
             reaped or never exited); they were killed",
            outcome.leftovers
        ))
    } else {
        None
    };
    match outcome.exit {
        Exit::TimedOut => {
            let mut message = format!(
                "did not finish within {limit_secs}s and was stopped: a deadlock, a lost wake-up \
                 or an endless loop?"
            );
            if let Some(panic) = panic {
                message += &format!("\nbefore that: {panic}");
            }
            (Status::Timeout, message)
        }
        Exit::Code(0) if proof.done => match leftovers {
            Some(message) => (Status::Fail, message),
            None if outcome.truncated => (
                Status::Fail,
                format!(
                    "the test printed more than the output limit ({} KiB on stdout or stderr)",
                    limits.output_cap >> 10
                ),
            ),
            None => (Status::Pass, String::new()),
        },
        Exit::Code(0) => (
            Status::Fail,
            "the test process exited with status 0 before the test body returned: the code under \
             test ended the process (process::exit?), or a forked child returned into the test"
                .into(),
        ),
        Exit::Code(101) => {
            let message = panic.unwrap_or_else(|| stderr_tail(outcome));
            (Status::Fail, message)
        }
        Exit::Code(code) => (
            Status::Crash,
            format!(
                "the test process exited with status {code}{}",
                panic.map(|p| format!(": {p}")).unwrap_or_default()
            ),
        ),
        Exit::Signal(signal) => {
            // Loom aborts the process when it finds a deadlock while a blocked thread
            // holds one of its Arcs (loom issue 291): that is a deadlock, not a crash.
            if let Some(p) = proof.panic.as_ref().filter(|p| p.2.contains("deadlock")) {
                let described = describe_panic(p);
                let message = if described.starts_with("deadlock") {
                    described
                } else {
                    format!("deadlock: {described}")
                };
                return (Status::Fail, message);
            }
            // A panic that ends in an abort (a second panic while unwinding, as loom's
            // clean-up does after a failed model) is a failed assertion first of all.
            if let (Some(panic), libc::SIGABRT) = (&panic, signal) {
                return (Status::Fail, format!("{panic}\n(the process then aborted)"));
            }
            let mut message = format!("the test process was killed by {}", signal_name(signal));
            if let Some(panic) = panic {
                message += &format!(" after a panic: {panic}");
            } else {
                let stderr = String::from_utf8_lossy(&outcome.stderr);
                if signal == libc::SIGABRT && stderr.contains("stack overflow") {
                    message += ": a stack overflow (endless recursion?)";
                } else if signal == libc::SIGABRT && stderr.contains("memory allocation of") {
                    message += &format!(
                        ": it ran out of memory (the limit is {} MiB of address space)",
                        limits.address_space.unwrap_or(0) >> 20
                    );
                } else {
                    let tail = stderr_tail(outcome);
                    if !tail.is_empty() {
                        message += &format!("; its last words:\n{tail}");
                    }
                }
            }
            (Status::Crash, message)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(token: &str, kind: &str, payload: &str) -> Vec<u8> {
        format!("{token} {kind} {}\n{payload}", payload.len()).into_bytes()
    }

    #[test]
    fn loom_deadlocks_point_at_the_students_lines() {
        let message = "deadlock; threads = [(Id(0), Blocked(Location(Some(Location { file: \"/w/ws/x/katas/deadlock/src/lib.rs\", line: 42, column: 13 })))), (Id(1), Blocked(Location(Some(Location { file: \"/w/ws/x/katas/deadlock/src/lib.rs\", line: 50, column: 9 })))), (Id(2), Terminated)]";
        let explained = explain_loom_deadlock(message).unwrap();
        assert!(
            explained.contains("the test's main thread waits at src/lib.rs:42:13"),
            "{explained}"
        );
        assert!(
            explained.contains("thread 1 waits at src/lib.rs:50:9"),
            "{explained}"
        );
        assert!(explained.contains("thread 2 has finished"), "{explained}");
        assert_eq!(explain_loom_deadlock("assertion failed"), None);
    }

    #[test]
    fn proof_needs_the_token() {
        let mut bytes = record("forged", "done", "");
        bytes.extend(record("secret", "panic", "a.rs:3\nmain\nboom\nmore"));
        let proof = parse_proof(&bytes, b"secret");
        assert!(!proof.done);
        assert_eq!(
            proof.panic,
            Some(("a.rs:3".into(), "main".into(), "boom\nmore".into()))
        );
        let proof = parse_proof(&record("secret", "done", ""), b"secret");
        assert!(proof.done);
    }

    fn limits() -> Limits {
        Limits {
            wall: Duration::from_secs(5),
            output_cap: 1024,
            cpu_secs: None,
            address_space: None,
            file_size: None,
            open_files: None,
            processes: None,
        }
    }

    fn outcome(exit: Exit, proof: Vec<u8>) -> process::Outcome {
        process::Outcome {
            exit,
            stdout: b"test x ... ok\ntest result: ok. 1 passed".to_vec(),
            stderr: Vec::new(),
            truncated: false,
            proof,
            duration: Duration::ZERO,
            leftovers: 0,
        }
    }

    #[test]
    fn exit_zero_without_proof_fails_whatever_was_printed() {
        let (status, message) = verdict(&outcome(Exit::Code(0), Vec::new()), b"t", 5, &limits());
        assert_eq!(status, Status::Fail);
        assert!(
            message.contains("before the test body returned"),
            "{message}"
        );
        let (status, _) = verdict(
            &outcome(Exit::Code(0), record("t", "done", "")),
            b"t",
            5,
            &limits(),
        );
        assert_eq!(status, Status::Pass);
    }

    #[test]
    fn loom_abort_after_a_deadlock_panic_is_a_deadlock() {
        let proof = record(
            "t",
            "panic",
            "loom/rt/mod.rs:1\nmain\ndeadlock; threads = [...]",
        );
        let (status, message) = verdict(
            &outcome(Exit::Signal(libc::SIGABRT), proof),
            b"t",
            5,
            &limits(),
        );
        assert_eq!(status, Status::Fail);
        assert!(message.starts_with("deadlock"), "{message}");
        let (status, _) = verdict(
            &outcome(Exit::Signal(libc::SIGSEGV), Vec::new()),
            b"t",
            5,
            &limits(),
        );
        assert_eq!(status, Status::Crash);
        let (status, _) = verdict(&outcome(Exit::TimedOut, Vec::new()), b"t", 5, &limits());
        assert_eq!(status, Status::Timeout);
    }
}
