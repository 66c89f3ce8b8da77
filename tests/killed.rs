//! A grader stopped from outside (Ctrl-C, a cancelled CI job, SIGKILL) leaves no process
//! behind. Its own test binary: the grader's reaper, which runs in any process that grades
//! in-process, waits for every child of its process and would take the status of the
//! grade this test starts and kills.

use course_tests::*;
use grader::plan::Source;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Set in the child process that `a_killed_grader_leaves_no_process` starts, then kills.
const GRADE_TO_BE_KILLED: &str = "KATA_GRADE_TO_BE_KILLED";

#[test]
#[ignore = "run, then killed, by a_killed_grader_leaves_no_process"]
fn a_grade_to_be_killed() {
    if std::env::var_os(GRADE_TO_BE_KILLED).is_some() {
        grade(Source::Exercises, &["deadlock".to_string()], "killed");
    }
}

/// A grader stopped by Ctrl-C, a cancelled CI job or SIGKILL takes its tests with it,
/// hanging ones too: their wall-clock limit was the grader's to enforce. The deadlock
/// stub's stress tests hang (a real deadlock), so one is running when the grader is killed.
#[test]
fn a_killed_grader_leaves_no_process() {
    let pause = || std::thread::sleep(Duration::from_millis(50));
    let mut grader = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "a_grade_to_be_killed", "--ignored"])
        .env(GRADE_TO_BE_KILLED, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let hanging: Vec<String> = course()
        .kata("deadlock")
        .unwrap()
        .suites
        .iter()
        .filter(|s| s.name == "deadlock_stress")
        .flat_map(|s| s.tests.iter().map(|t| format!("deadlock-{t}-")))
        .collect();
    // Other grades may run on this machine at the same time: only this grade's processes
    // (its descendants) count.
    // One read of each process's environment, whichever stress test it runs.
    let is_hanging_test =
        |pid: u32| run_marker(pid).is_some_and(|m| hanging.iter().any(|h| m.starts_with(h)));
    // Long enough for a cold build of the deadlock kata's hidden tests.
    let deadline = Instant::now() + Duration::from_secs(900);
    let started = loop {
        let family = descendants(grader.id());
        if family.iter().any(|&(pid, _)| is_hanging_test(pid)) {
            break family;
        }
        if let Some(status) = grader.try_wait().unwrap() {
            panic!(
                "the grade ended ({status}) before a hanging stress test of the deadlock stub ran"
            );
        }
        assert!(
            Instant::now() < deadline,
            "no stress test of the deadlock stub ran within 900 s"
        );
        pause();
    };
    grader.kill().unwrap();
    grader.wait().unwrap();
    let killed = Instant::now();
    loop {
        let alive = processes();
        let left: Vec<String> = started
            .iter()
            .filter(|(pid, start)| alive.get(pid).is_some_and(|&(_, s)| s == *start))
            .map(|(pid, _)| {
                let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " ");
                format!("pid {pid}: {cmdline}")
            })
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "10 s after the grader was killed, processes it started still run:\n  {}",
            left.join("\n  ")
        );
        pause();
    }
}
