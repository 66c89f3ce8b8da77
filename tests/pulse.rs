//! A run's pulse (`grader::process::Pulse`): while a test runs, the run stage hears how much
//! CPU time its process group has used, and a test in a computing lane that shows it
//! sleeps gives its lane up. Its own test binary: the grader's reaper, which the runs here
//! start, waits for every child of its process.

use grader::process::{self, Exit};
use grader::sandbox::Limits;
use std::process::Command;
use std::time::Duration;

fn limits() -> Limits {
    Limits::trusted(Duration::from_secs(60), 1 << 16)
}

#[test]
fn a_sleeping_run_is_heard_with_little_cpu_time() {
    process::init().unwrap();
    let mut heard = Vec::new();
    let mut pulse = |cpu: Duration, wall: Duration| {
        heard.push((cpu, wall));
        true
    };
    let mut sleep = Command::new("sleep");
    sleep.arg("1");
    let run = process::run(sleep, &limits(), "pulse-sleep", None, Some(&mut pulse)).unwrap();
    assert_eq!(run.exit, Exit::Code(0));
    assert!(
        !heard.is_empty(),
        "a run of a second is heard every {:?}, but never was",
        process::PULSE_EVERY
    );
    for (cpu, wall) in &heard {
        assert!(
            *cpu < Duration::from_millis(100) && *wall >= process::PULSE_EVERY,
            "`sleep 1` was heard at {wall:?} with {cpu:?} of CPU time: {heard:?}"
        );
    }
}

#[test]
fn the_cpu_time_of_a_busy_child_in_the_group_is_heard_until_the_pulse_says_enough() {
    process::init().unwrap();
    let mut heard = Vec::new();
    let mut pulse = |cpu: Duration, wall: Duration| {
        heard.push((cpu, wall));
        cpu.is_zero()
    };
    // The shell only waits: the CPU time is its child's, a process of the same group
    // that nobody has reaped yet. The loop takes a second or more.
    let mut busy = Command::new("sh");
    busy.args([
        "-c",
        "(i=0; while [ $i -lt 3000000 ]; do i=$((i+1)); done) & wait",
    ]);
    let run = process::run(busy, &limits(), "pulse-busy", None, Some(&mut pulse)).unwrap();
    assert_eq!(run.exit, Exit::Code(0));
    let Some((last, before)) = heard.split_last() else {
        panic!("a busy run of a second or more was never heard");
    };
    assert!(
        !last.0.is_zero() && before.iter().all(|(cpu, _)| cpu.is_zero()),
        "the pulse heard its child's CPU time, then no more (it said enough): {heard:?}"
    );
}
