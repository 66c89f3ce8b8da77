//! Stage 5: run every hidden test, each in its own walled-in process, and collect the
//! verdicts in plan order.
//!
//! Tests whose kata was missing, refused or did not compile get their verdict without
//! running. The others are scheduled on `jobs` worker threads (one at a time when the
//! tests cannot get namespaces of their own, so that no test can reach another); each
//! run gets a fresh key for its proof channel, a fresh scratch directory and the suite's
//! limits. A fault of the grader itself (a wall that could not be raised, no randomness)
//! stops the whole run: no verdict is made up for it.

use crate::admit::{self, Admission, AdmittedKata};
use crate::compile::{Build, Config};
use crate::manifest::Checker;
use crate::process::{self, ProofChannel, RunError, Walled};
use crate::sandbox::{self, Limits, Protections, Spec};
use crate::verdict::{self, Context, Status, Verdict};
use kata_harness::record::KEY_LEN;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// One hidden test's verdict, with what scoring needs of its suite.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TestRun {
    pub kata: String,
    pub suite: String,
    pub checker: Checker,
    pub test: String,
    pub status: Status,
    pub message: String,
    pub duration: Duration,
    /// Points the test is worth (its suite's), and the wall-clock limit it ran under.
    pub points: u32,
    pub time_limit_secs: u64,
}

/// Settings of the run stage.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tests run at once (one, whatever this says, without namespaces).
    pub jobs: usize,
    /// Where each test gets a fresh working directory.
    pub scratch: PathBuf,
    /// The directory hidden from sandboxed tests (the course).
    pub hide: PathBuf,
}

/// A fault of the grader: no verdict could be trusted, so there is none.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{kata}: {suite}::{test}: {why}")]
pub struct GraderFault {
    pub kata: String,
    pub suite: String,
    pub test: String,
    pub why: String,
}

/// One test to run: everything its run needs, owned (a schedule can be handed to another
/// process, e.g. one of another user).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunJob {
    pub kata: String,
    pub suite: String,
    pub checker: Checker,
    pub test: String,
    pub binary: PathBuf,
    pub time_limit_secs: u64,
    pub limits: crate::manifest::Limits,
    pub points: u32,
}

/// Every test of a grade in plan order: those decided without running (missing,
/// refused, not compiled) already have their verdict; the rest are jobs.
pub struct Schedule {
    pub slots: Vec<Slot>,
}

pub enum Slot {
    Decided(TestRun),
    Job(RunJob),
}

impl Schedule {
    pub fn jobs(&self) -> Vec<RunJob> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Job(job) => Some(job.clone()),
                Slot::Decided(_) => None,
            })
            .collect()
    }

    /// The verdicts in plan order, given the jobs' runs in job order.
    pub fn complete(self, runs: Vec<TestRun>) -> Vec<TestRun> {
        let mut runs = runs.into_iter();
        self.slots
            .into_iter()
            .map(|slot| match slot {
                Slot::Decided(run) => run,
                Slot::Job(_) => runs.next().expect("a run per job"),
            })
            .collect()
    }
}

/// Decides what can be decided without running, and lists the rest as jobs.
pub fn schedule(admitted: &[AdmittedKata], build: &Build) -> Schedule {
    let mut slots = Vec::new();
    for kata in admitted {
        let id = kata.id();
        let kata_build = build.katas.get(id);
        for suite in &kata.planned.suites {
            let config = if suite.is_loom() {
                Config::Loom
            } else {
                Config::Normal
            };
            let decided = |status: Status, message: String| {
                suite.suite.tests.iter().map(move |test| {
                    Slot::Decided(TestRun {
                        kata: id.to_string(),
                        suite: suite.suite.name.clone(),
                        checker: suite.suite.checker,
                        test: test.clone(),
                        status,
                        message: message.clone(),
                        duration: Duration::ZERO,
                        points: suite.suite.points,
                        time_limit_secs: suite.time_limit_secs,
                    })
                })
            };
            match &kata.admission {
                Admission::Missing(why) => {
                    slots.extend(decided(Status::NotRun, why.clone()));
                    continue;
                }
                Admission::Refused(findings) => {
                    slots.extend(decided(
                        Status::CompileError,
                        admit::refused_message(findings),
                    ));
                    continue;
                }
                Admission::Ready {
                    facade_bypasses, ..
                } if suite.is_loom() && !facade_bypasses.is_empty() => {
                    slots.extend(decided(
                        Status::Fail,
                        admit::bypass_message(facade_bypasses),
                    ));
                    continue;
                }
                Admission::Ready { .. } => {}
            }
            if let Some(error) = kata_build.and_then(|b| b.errors.get(&config)) {
                slots.extend(decided(Status::CompileError, error.clone()));
                continue;
            }
            let Some(binary) = kata_build.and_then(|b| b.binaries.get(&suite.suite.name)) else {
                slots.extend(decided(
                    Status::NotRun,
                    "the suite was not built (see the build errors above)".into(),
                ));
                continue;
            };
            for test in &suite.suite.tests {
                slots.push(Slot::Job(RunJob {
                    kata: id.to_string(),
                    suite: suite.suite.name.clone(),
                    checker: suite.suite.checker,
                    test: test.clone(),
                    binary: binary.clone(),
                    time_limit_secs: suite.time_limit_secs,
                    limits: suite.limits,
                    points: suite.suite.points,
                }));
            }
        }
    }
    Schedule { slots }
}

/// Runs `jobs`; their runs come back in job order, whatever order they ran in.
pub fn execute(
    jobs: &[RunJob],
    protections: &Protections,
    options: &RunOptions,
) -> Result<Vec<TestRun>, GraderFault> {
    let mut results: Vec<Option<TestRun>> = vec![None; jobs.len()];
    // Without namespaces a test could reach another running beside it (same user, same
    // /proc): one at a time, and nothing of one survives into the next.
    let workers = if protections.namespaces {
        options.jobs.max(1)
    } else {
        1
    };
    let queue = Mutex::new(jobs.iter().enumerate());
    let done = Mutex::new(&mut results);
    let fault: Mutex<Option<GraderFault>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if fault.lock().unwrap().is_some() {
                    break;
                }
                let next = queue.lock().unwrap().next();
                let Some((index, job)) = next else { break };
                match run_one(job, protections, options) {
                    Ok(run) => done.lock().unwrap()[index] = Some(run),
                    Err(why) => {
                        fault.lock().unwrap().get_or_insert(GraderFault {
                            kata: job.kata.clone(),
                            suite: job.suite.clone(),
                            test: job.test.clone(),
                            why,
                        });
                        break;
                    }
                }
                if !protections.namespaces {
                    process::sweep_orphans(None);
                }
            });
        }
    });
    // Anything a finished run left behind and nobody claimed.
    process::sweep_orphans(None);
    if let Some(fault) = fault.into_inner().unwrap() {
        return Err(fault);
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every job has a run"))
        .collect())
}

/// Runs one test; `Err` is a fault of the grader's, never the test's.
fn run_one(
    job: &RunJob,
    protections: &Protections,
    options: &RunOptions,
) -> Result<TestRun, String> {
    let dir = options
        .scratch
        .join(&job.kata)
        .join(&job.suite)
        .join(&job.test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot make the scratch directory {}: {e}", dir.display()))?;

    // Inside namespaces the binary and the scratch directory are bound at fixed places.
    // Without them, as root, the test's own user runs a copy in its scratch directory
    // (the course may sit where that user cannot go).
    // SAFETY: a getter.
    let root = unsafe { libc::geteuid() } == 0;
    let (program, home) = if protections.namespaces {
        (
            PathBuf::from(sandbox::BINARY),
            PathBuf::from(sandbox::WORKDIR),
        )
    } else if root {
        let copy = dir.join("kata-test");
        std::fs::copy(&job.binary, &copy)
            .map_err(|e| format!("cannot copy the test binary into {}: {e}", dir.display()))?;
        (copy, dir.clone())
    } else {
        (job.binary.clone(), dir.clone())
    };
    let mut cmd = Command::new(&program);
    cmd.args(["--exact", &job.test, "--test-threads=1"])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("HOME", &home)
        .env("TMPDIR", &home)
        .env("LANG", "C.UTF-8")
        .env("RUST_BACKTRACE", "0")
        .current_dir(&dir);
    let l = &job.limits;
    let limits = Limits {
        wall: Duration::from_secs(job.time_limit_secs),
        output_cap: (l.output_kib as usize) << 10,
        // CPU time is counted over all threads: two cores' worth of the wall limit, plus a
        // second so that the wall limit, not this one, decides an ordinary hang.
        cpu_secs: Some(l.cpu_secs.unwrap_or(job.time_limit_secs * 2 + 1)),
        address_space: Some(l.memory_mib << 20),
        file_size: Some(l.file_size_mib << 20),
        open_files: Some(l.open_files),
        processes: Some(sandbox::process_limit(l.processes)),
    };
    let spec = Spec {
        hide: options.hide.clone(),
        binary: job.binary.clone(),
        scratch: dir.clone(),
    };
    let key: [u8; KEY_LEN] =
        process::random_bytes().map_err(|e| format!("no randomness for the test's key: {e}"))?;
    // The marker is visible to the code under test (it is in its environment): it must
    // have nothing to do with the key.
    let nonce: [u8; 8] =
        process::random_bytes().map_err(|e| format!("no randomness for the run's marker: {e}"))?;
    let marker = format!(
        "{}-{}-{}",
        job.kata,
        job.test,
        nonce.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let walled = Walled {
        protections,
        spec: &spec,
        proof: Some(ProofChannel {
            key: &key,
            var: kata_harness::PROOF_FDS_VAR,
        }),
    };
    let outcome = process::run(cmd, &limits, &marker, Some(&walled));
    let _ = std::fs::remove_dir_all(&dir);
    let (status, message, duration) = match outcome {
        Err(RunError::Exec(e)) => (
            Status::Crash,
            format!("the test binary could not be started: {e}"),
            Duration::ZERO,
        ),
        Err(e) => return Err(e.to_string()),
        Ok(outcome) => {
            let context = Context {
                time_limit_secs: job.time_limit_secs,
                output_cap: limits.output_cap,
                address_space: limits.address_space,
            };
            match verdict::decide(&outcome, &key, &context) {
                Verdict::Test(status, message) => (status, message, outcome.duration),
                Verdict::GraderFault(why) => return Err(why),
            }
        }
    };
    Ok(TestRun {
        kata: job.kata.clone(),
        suite: job.suite.clone(),
        checker: job.checker,
        test: job.test.clone(),
        status,
        message,
        duration,
        points: job.points,
        time_limit_secs: job.time_limit_secs,
    })
}
