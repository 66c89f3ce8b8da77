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
        .args([
            "--exact",
            "a_grade_to_be_killed",
            "--ignored",
            "--nocapture",
        ])
        .env(GRADE_TO_BE_KILLED, "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Long enough for a cold build of the deadlock kata's hidden tests.
    let deadline = Instant::now() + Duration::from_secs(900);
    let hanging: Vec<String> = course()
        .kata("deadlock")
        .unwrap()
        .suites
        .iter()
        .filter(|s| s.name == "deadlock_stress")
        .flat_map(|s| s.tests.iter().map(|t| format!("deadlock-{t}-")))
        .collect();
    while hanging.iter().all(|marker| survivors(marker).is_empty()) {
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
    }
    grader.kill().unwrap();
    grader.wait().unwrap();
    let killed = Instant::now();
    loop {
        let left = survivors("deadlock-");
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
