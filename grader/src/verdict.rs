//! Stage 6: what a test's run left (exit status, the harness's records, the panic, loom's
//! report) becomes a status and a message for the student.
//!
//! Only the harness's tagged records and the exit status decide; printed text only feeds
//! the message. A record the harness did not tag is a forgery and proves nothing.

use crate::process::{Exit, Outcome};
use kata_harness::record::{self, Panic, Proof, KEY_LEN};
use kata_sync::trace_marks::{BEGIN as TRACE_BEGIN, END as TRACE_END};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    Timeout,
    Crash,
    CompileError,
    NotRun,
    /// Loom could not finish exploring the model (its branch limit): no failing
    /// interleaving was found, but not every one was tried. Earns no points.
    Inconclusive,
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
            Status::Inconclusive => "inconclusive",
        }
    }
}

/// What a run proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The test's verdict, for the student.
    Test(Status, String),
    /// The harness refused to run the test because a wall of the grader was missing: not
    /// the student's doing, and no verdict can be trusted. The grade stops.
    GraderFault(String),
}

/// What the verdict needs besides the run: the limits, for the messages.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    pub time_limit_secs: u64,
    pub output_cap: usize,
    pub address_space: Option<u64>,
}

/// Decides a test's verdict from how its process ended and what the harness proved.
pub fn decide(outcome: &Outcome, key: &[u8; KEY_LEN], context: &Context) -> Verdict {
    let proof = record::parse(&outcome.proof, key);
    if let Some(fault) = &proof.fault {
        return Verdict::GraderFault(format!("the test harness refused to run the test: {fault}"));
    }
    let (status, mut message) = status_and_message(outcome, &proof, context);
    if matches!(status, Status::Fail | Status::Timeout | Status::Crash) {
        if let Some(steps) = failing_interleaving(outcome) {
            message += "\n";
            message += &steps;
        }
    }
    if status != Status::Pass && proof.tampered() {
        message += &format!(
            "\n(the test's proof channel also carried {} that the test harness did not write: \
             they were ignored)",
            if proof.untrusted > 0 {
                format!("{} forged record(s)", proof.untrusted)
            } else {
                "bytes".to_string()
            }
        );
    }
    Verdict::Test(status, message)
}

fn status_and_message(outcome: &Outcome, proof: &Proof, context: &Context) -> (Status, String) {
    let panic = proof.panic.as_ref().map(describe_panic);
    let child_panic = proof.child_panic.as_ref().map(|p| {
        format!(
            "a process forked from the test (a child that came back into the test's code) \
             panicked: {}",
            describe_panic(p)
        )
    });
    let panic = panic.or(child_panic);
    let leftovers = (outcome.leftovers > 0).then(|| {
        format!(
            "the test left {} process(es) running after it ended (a child that was never \
             reaped or never exited); they were killed",
            outcome.leftovers
        )
    });
    // The hang watch ends the process itself, whatever else the test printed or panicked.
    if let Some(hang) = &proof.hang {
        let mut message = hang.clone();
        if let Some(panic) = panic {
            message += &format!("\nbefore that: {panic}");
        }
        return (Status::Fail, message);
    }
    match outcome.exit {
        Exit::TimedOut => {
            let mut message = format!(
                "did not finish within {}s and was stopped: a deadlock, a lost wake-up or an \
                 endless loop?",
                context.time_limit_secs
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
                    context.output_cap >> 10
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
            // Without the harness's record of the panic (the code under test may have
            // taken over the channel), libtest's own report on stdout says what failed.
            let message = panic
                .or_else(|| Some(stderr_tail(outcome)).filter(|t| !t.is_empty()))
                .or_else(|| Some(stdout_failure(outcome)).filter(|t| !t.is_empty()))
                .unwrap_or_else(|| {
                    "the test failed (exit status 101), and no panic message reached the grader"
                        .to_string()
                });
            if proof.panic.as_ref().is_some_and(is_loom_branch_limit) {
                return (Status::Inconclusive, INCONCLUSIVE.to_string());
            }
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
            if let Some(p) = proof
                .panic
                .as_ref()
                .filter(|p| p.message.contains("deadlock"))
            {
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
                        context.address_space.unwrap_or(0) >> 20
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

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGABRT => "SIGABRT (abort)".into(),
        libc::SIGSEGV => "SIGSEGV (segmentation fault: a stack overflow or a bad pointer)".into(),
        libc::SIGBUS => "SIGBUS (bus error)".into(),
        libc::SIGKILL => "SIGKILL (killed)".into(),
        libc::SIGSYS => "SIGSYS (a system call the grader does not allow)".into(),
        libc::SIGXCPU => "SIGXCPU (used up its CPU-time limit)".into(),
        libc::SIGXFSZ => "SIGXFSZ (wrote a file larger than the limit)".into(),
        libc::SIGILL => "SIGILL (illegal instruction)".into(),
        libc::SIGFPE => "SIGFPE (arithmetic error)".into(),
        libc::SIGTERM => "SIGTERM".into(),
        other => format!("signal {other}"),
    }
}

/// The steps of the execution loom found failing, as the facade printed them (the last
/// such block), each line's file made short. Only the steps the facade prints count: a
/// test's own output cannot earn points by imitating them, only change this message.
fn failing_interleaving(outcome: &Outcome) -> Option<String> {
    // On stderr, or on stdout in libtest's report when it captured the test's output.
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    let text = if stderr.contains(TRACE_BEGIN) {
        stderr
    } else {
        String::from_utf8_lossy(&outcome.stdout)
    };
    let begin = text.rfind(TRACE_BEGIN)?;
    let rest = &text[begin + TRACE_BEGIN.len()..];
    let end = rest.find(TRACE_END)?;
    let mut lines = vec![
        "the interleaving loom found, step by step (the facade's locks, condition variables and atomics, with what each atomic read or wrote):"
            .to_string(),
    ];
    for line in rest[..end].lines().filter(|l| !l.trim().is_empty()) {
        lines.push(match line.rfind(" at ") {
            Some(at) => format!("{} at {}", &line[..at], shorten_path(&line[at + 4..])),
            None => line.to_string(),
        });
    }
    Some(lines.join("\n"))
}

/// What loom says when a model needs more branches than it allows (1000 per execution).
const LOOM_BRANCH_LIMIT: &str = "Model exceeded maximum number of branches";

/// Whether `panic` is loom's own at its branch limit: its message, raised in loom's source
/// (`…/loom-<version>/src/rt/path.rs`). From the harness's tagged record, not from printed
/// text: a submission's own panic with the same words is a failure like any other, and
/// cannot pass itself off as "not a bug found" (its location is its own file; a kata's
/// directory is a crate name, which has no `-`, and no kata is named `loom`).
fn is_loom_branch_limit(panic: &Panic) -> bool {
    let file = panic
        .location
        .rsplit_once(':')
        .map_or(panic.location.as_str(), |(file, _)| file);
    let parts: Vec<&str> = file.rsplit('/').take(4).collect();
    panic.message.contains(LOOM_BRANCH_LIMIT)
        && matches!(parts.as_slice(), ["path.rs", "rt", "src", krate]
            if *krate == "loom" || krate.starts_with("loom-"))
}

/// What the student reads instead.
const INCONCLUSIVE: &str = "inconclusive, not a bug found: loom could not finish exploring this \
model. A thread waits by spinning (a loop around an atomic, `try_lock` or `yield_now`), and \
every turn of such a loop is one more branch for loom, past its limit of 1000. Loom found no \
failing interleaving before it stopped, but it could not try them all, so this test earns no \
points (see `inconclusive` in course.yaml). To make the code checkable, wait instead of \
spinning: block on a `Mutex`, or sleep on a `Condvar` until what you wait for holds \
(`Condvar::wait_while`).";

/// Loom's `deadlock; threads = [(Id(0), Blocked(Location(Some(Location { file: …, line: 42, column: 13 })))), …]`
/// as lines a student can act on: which thread waits where in their code.
pub fn explain_loom_deadlock(message: &str) -> Option<String> {
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

fn describe_panic(panic: &Panic) -> String {
    if let Some(explained) = explain_loom_deadlock(&panic.message) {
        return explained;
    }
    // Paths of the hidden tests are the grader's business; keep the file name.
    let location = panic.location.rsplit('/').next().unwrap_or(&panic.location);
    if location.is_empty() {
        panic.message.clone()
    } else {
        format!("{}\n  (at {location})", panic.message)
    }
}

/// libtest's report of a failure on stdout: the lines after `---- <test> stdout ----`.
fn stdout_failure(outcome: &Outcome) -> String {
    let text = String::from_utf8_lossy(&outcome.stdout);
    let Some(at) = text.find(" stdout ----\n") else {
        return String::new();
    };
    let lines: Vec<&str> = text[at + " stdout ----\n".len()..]
        .lines()
        .take_while(|l| !l.starts_with("failures:") && !l.starts_with("note: run with"))
        .filter(|l| !l.trim().is_empty())
        .take(8)
        .collect();
    lines.join("\n")
}

/// The last lines of the test's stderr, as a fallback message.
fn stderr_tail(outcome: &Outcome) -> String {
    let text = String::from_utf8_lossy(&outcome.stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(6)..];
    tail.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use kata_harness::record::{encode, Kind};
    use std::time::Duration;

    const KEY: [u8; KEY_LEN] = [3; KEY_LEN];

    fn context() -> Context {
        Context {
            time_limit_secs: 5,
            output_cap: 1024,
            address_space: None,
        }
    }

    fn outcome(exit: Exit, proof: Vec<u8>) -> Outcome {
        Outcome {
            exit,
            stdout: b"test x ... ok\ntest result: ok. 1 passed".to_vec(),
            stderr: Vec::new(),
            truncated: false,
            proof,
            duration: Duration::ZERO,
            cpu: Duration::ZERO,
            leftovers: 0,
        }
    }

    fn status(v: Verdict) -> (Status, String) {
        match v {
            Verdict::Test(s, m) => (s, m),
            Verdict::GraderFault(f) => panic!("a grader fault: {f}"),
        }
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
    fn exit_zero_without_a_tagged_done_fails_whatever_was_printed() {
        let (s, message) = status(decide(
            &outcome(Exit::Code(0), Vec::new()),
            &KEY,
            &context(),
        ));
        assert_eq!(s, Status::Fail);
        assert!(
            message.contains("before the test body returned"),
            "{message}"
        );
        let forged = encode(&[9; KEY_LEN], Kind::Done, b"");
        let (s, message) = status(decide(&outcome(Exit::Code(0), forged), &KEY, &context()));
        assert_eq!(s, Status::Fail);
        assert!(message.contains("1 forged record(s)"), "{message}");
        let (s, _) = status(decide(
            &outcome(Exit::Code(0), encode(&KEY, Kind::Done, b"")),
            &KEY,
            &context(),
        ));
        assert_eq!(s, Status::Pass);
    }

    #[test]
    fn a_done_with_a_failing_exit_status_fails() {
        let (s, _) = status(decide(
            &outcome(Exit::Code(101), encode(&KEY, Kind::Done, b"")),
            &KEY,
            &context(),
        ));
        assert_eq!(s, Status::Fail);
    }

    #[test]
    fn a_harness_fault_is_the_graders() {
        let v = decide(
            &outcome(Exit::Code(3), encode(&KEY, Kind::Fault, b"no seccomp")),
            &KEY,
            &context(),
        );
        assert!(matches!(v, Verdict::GraderFault(m) if m.contains("no seccomp")));
        // An untagged fault is a forgery, and the student's failure.
        let v = decide(
            &outcome(Exit::Code(3), encode(&[1; KEY_LEN], Kind::Fault, b"x")),
            &KEY,
            &context(),
        );
        assert!(matches!(v, Verdict::Test(Status::Crash, _)));
    }

    #[test]
    fn a_failing_loom_model_shows_its_interleaving_step_by_step() {
        let proof = encode(
            &KEY,
            Kind::Panic,
            b"race_loom.rs:18\nmain\nget() returned 1",
        );
        let mut run = outcome(Exit::Code(101), proof);
        run.stdout = format!(
            "---- two stdout ----\n{TRACE_BEGIN}\n    1. thread 1  takes the lock  at /w/ws/x-1/katas/race/src/lib.rs:20\n    2. the test's main thread  waits for the lock  at /w/ws/x-1/katas/race/src/lib.rs:20\n{TRACE_END}\n"
        )
        .into_bytes();
        let (s, message) = status(decide(&run, &KEY, &context()));
        assert_eq!(s, Status::Fail);
        assert!(message.starts_with("get() returned 1"), "{message}");
        assert!(message.contains("step by step"), "{message}");
        assert!(
            message.contains("1. thread 1  takes the lock  at src/lib.rs:20"),
            "{message}"
        );
        assert!(!message.contains("/katas/"), "{message}");
        // A pass shows no steps, whatever was printed.
        let proof = encode(&KEY, Kind::Done, b"");
        let mut run = outcome(Exit::Code(0), proof);
        run.stdout = run_trace_only();
        let (s, message) = status(decide(&run, &KEY, &context()));
        assert_eq!((s, message.as_str()), (Status::Pass, ""));
    }

    fn run_trace_only() -> Vec<u8> {
        format!("{TRACE_BEGIN}\n    1. thread 1  takes the lock  at src/lib.rs:1\n{TRACE_END}\n")
            .into_bytes()
    }

    #[test]
    fn only_loom_s_own_branch_limit_is_inconclusive() {
        let said = "Model exceeded maximum number of branches. This is often caused by an \
                    algorithm requiring the processor to make progress, e.g. spin locks.";
        let verdict = |location: &str| {
            let payload = format!("{location}\nmain\n{said}");
            status(decide(
                &outcome(
                    Exit::Code(101),
                    encode(&KEY, Kind::Panic, payload.as_bytes()),
                ),
                &KEY,
                &context(),
            ))
        };
        let (s, message) = verdict("/root/.cargo/registry/src/index/loom-0.7.3/src/rt/path.rs:175");
        assert_eq!(s, Status::Inconclusive);
        assert!(
            message.starts_with("inconclusive, not a bug found"),
            "{message}"
        );
        // The same words from the submission's own code: a failure, said as it is.
        for forged in [
            "/w/ws/x-1/katas/race/src/lib.rs:30",
            "/w/ws/x-1/katas/race/src/rt/path.rs:175",
        ] {
            let (s, message) = verdict(forged);
            assert_eq!(s, Status::Fail, "{forged}");
            assert!(message.contains("Model exceeded"), "{message}");
        }
    }

    #[test]
    fn loom_abort_after_a_deadlock_panic_is_a_deadlock() {
        let proof = encode(
            &KEY,
            Kind::Panic,
            b"loom/rt/mod.rs:1\nmain\ndeadlock; threads = [...]",
        );
        let (s, message) = status(decide(
            &outcome(Exit::Signal(libc::SIGABRT), proof),
            &KEY,
            &context(),
        ));
        assert_eq!(s, Status::Fail);
        assert!(message.starts_with("deadlock"), "{message}");
        let (s, _) = status(decide(
            &outcome(Exit::Signal(libc::SIGSEGV), Vec::new()),
            &KEY,
            &context(),
        ));
        assert_eq!(s, Status::Crash);
        let (s, _) = status(decide(
            &outcome(Exit::TimedOut, Vec::new()),
            &KEY,
            &context(),
        ));
        assert_eq!(s, Status::Timeout);
    }

    #[test]
    fn a_hang_record_is_a_failure_with_its_report() {
        let mut proof = encode(&KEY, Kind::Panic, b"t.rs:3\ntask\nInjury");
        proof.extend(encode(
            &KEY,
            Kind::Hang,
            b"hang: every thread of the test is blocked",
        ));
        let (s, message) = status(decide(&outcome(Exit::Code(101), proof), &KEY, &context()));
        assert_eq!(s, Status::Fail);
        assert!(message.starts_with("hang: every thread"), "{message}");
        assert!(message.contains("before that: Injury"), "{message}");
    }

    #[test]
    fn a_forked_childs_panic_is_shown_when_the_test_has_none() {
        let proof = encode(&KEY, Kind::ChildPanic, b"t.rs:9\nmain\nI am a stray child");
        let (s, message) = status(decide(&outcome(Exit::Code(101), proof), &KEY, &context()));
        assert_eq!(s, Status::Fail);
        assert!(
            message.contains("forked from the test") && message.contains("stray child"),
            "{message}"
        );
    }
}
