//! Stage 5: run every hidden test, each in its own walled-in process, and collect the
//! verdicts in plan order.
//!
//! Tests whose kata was missing, refused or did not compile get their verdict without
//! running. The others run `jobs` at a time (one at a time when the tests cannot get
//! namespaces of their own, so that no test can reach another), the longest first and
//! with tests that mostly sleep beside them, as the last run measured (see `Lanes`) or,
//! for a test with no timings yet, as it shows while it runs (`process::Pulse`); each
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
    /// CPU time the run took (its process and every descendant it waited for).
    #[serde(default)]
    pub cpu: Duration,
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
    /// The directories hidden from sandboxed tests (the course; a class's output).
    pub hide: Vec<PathBuf>,
    /// Where what each test took is kept from one run to the next, to order the next run
    /// (see [`execute`]); none: plan order.
    pub history: Option<PathBuf>,
    /// What each hidden test took for the reference solutions (`grader/hidden/timings.json`,
    /// written by `scripts/timings-prior.sh`): how a test that `history` does not know yet
    /// is ordered (a cold grade; a class graded in CI, where every grade is cold). Without
    /// it such a test counts as long and computing.
    pub prior: Option<PathBuf>,
    /// Show a bar of tests done on stderr, when it is a terminal.
    pub progress: bool,
    pub lang: crate::lang::Lang,
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
            let config = Config::of(suite);
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
                        cpu: Duration::ZERO,
                        points: suite.suite.points,
                        time_limit_secs: suite.time_limit_secs,
                    })
                })
            };
            match &kata.admission {
                Admission::Missing(why) | Admission::NotStarted(why) => {
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

/// What one test took when it last ran, kept under the submission's work directory.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
struct Took {
    wall_ms: u64,
    cpu_ms: u64,
}

impl Took {
    /// A test that spends most of its time asleep (in a timed wait, or waiting for a
    /// child) leaves the cores to others: it may run beside the `jobs` that compute.
    fn sleeps(self) -> bool {
        self.wall_ms >= 200 && self.cpu_ms * 4 <= self.wall_ms
    }
}

/// `kata/suite/test` → what it took, from the last run of each test.
type History = std::collections::BTreeMap<String, Took>;

fn history_key(job: &RunJob) -> String {
    format!("{}/{}/{}", job.kata, job.suite, job.test)
}

fn load_history(path: Option<&PathBuf>) -> History {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Keeps what this run measured (and what earlier runs measured of the tests it did not
/// run). Only a hint for the next run's order: a failure to write it loses nothing.
fn save_history(path: Option<&PathBuf>, mut history: History, jobs: &[RunJob], runs: &[TestRun]) {
    let Some(path) = path else { return };
    for (job, run) in jobs.iter().zip(runs) {
        history.insert(
            history_key(job),
            Took {
                wall_ms: run.duration.as_millis() as u64,
                cpu_ms: run.cpu.as_millis() as u64,
            },
        );
    }
    let Ok(json) = serde_json::to_vec_pretty(&history) else {
        return;
    };
    let tmp = path.with_extension("tmp");
    if std::fs::write(&tmp, json).is_ok() {
        let _ = std::fs::rename(&tmp, path);
    }
}

/// The order and the lanes of a run, from what each test took last time: longest first,
/// so that no long test starts last and keeps the others waiting; a test never seen
/// before counts as long. Tests that mostly sleep get lanes of their own beside the
/// `jobs` lanes of those that compute; a test started in a computing lane that shows it
/// sleeps (a cold run has no timings) gives its lane up while it runs. Only the
/// wall-clock time of the whole run depends on this: no verdict does (each test is
/// written to hold on a crowded machine; see scripts/determinism-under-load.sh).
struct Lanes {
    /// Job indices still to start, the longest first.
    computing: std::collections::VecDeque<usize>,
    sleeping: std::collections::VecDeque<usize>,
    /// How many computing tests run now, and how many may.
    computing_now: usize,
    computing_max: usize,
    /// The first fault of the grader a worker met: nothing more starts.
    fault: Option<GraderFault>,
}

impl Lanes {
    /// `history` is what each test took in this submission's last run, `prior` what it
    /// took for the reference solutions (used for tests `history` does not know).
    fn new(jobs: &[RunJob], history: &History, prior: &History, computing_max: usize) -> Lanes {
        let took: Vec<Option<Took>> = jobs
            .iter()
            .map(|job| {
                let key = history_key(job);
                history.get(&key).or_else(|| prior.get(&key)).copied()
            })
            .collect();
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        // Stable: tests never seen, then equals, keep plan order.
        order.sort_by_key(|&i| std::cmp::Reverse(took[i].map_or(u64::MAX, |t| t.wall_ms)));
        let (sleeping, computing) = order
            .into_iter()
            .partition(|&i| took[i].is_some_and(Took::sleeps));
        Lanes {
            computing,
            sleeping,
            computing_now: 0,
            computing_max,
            fault: None,
        }
    }

    /// The next job to start and whether it computes; `None` when there is nothing left
    /// to start; `Some(None)` when the worker must wait for a computing test to end.
    fn next(&mut self) -> Option<Option<(usize, bool)>> {
        if self.fault.is_some() {
            return None;
        }
        if self.computing_now < self.computing_max {
            if let Some(i) = self.computing.pop_front() {
                self.computing_now += 1;
                return Some(Some((i, true)));
            }
        }
        if let Some(i) = self.sleeping.pop_front() {
            return Some(Some((i, false)));
        }
        if self.computing.is_empty() {
            None
        } else {
            Some(None)
        }
    }
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
    let (computing_max, workers) = if protections.namespaces {
        let jobs = options.jobs.max(1);
        (jobs, jobs * 2)
    } else {
        (1, 1)
    };
    let history = load_history(options.history.as_ref());
    let prior = load_history(options.prior.as_ref());
    let lanes = Mutex::new(Lanes::new(jobs, &history, &prior, computing_max));
    let lane_freed = std::sync::Condvar::new();
    let done = Mutex::new(&mut results);
    let bar = crate::progress::wanted(options.progress && !jobs.is_empty())
        .then(|| crate::progress::Tests::start(jobs.len(), options.lang));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let next = {
                    let mut lanes = lanes.lock().unwrap();
                    loop {
                        match lanes.next() {
                            None => break None,
                            Some(Some(next)) => break Some(next),
                            Some(None) => lanes = lane_freed.wait(lanes).unwrap(),
                        }
                    }
                };
                let Some((index, computing)) = next else {
                    break;
                };
                let job = &jobs[index];
                let name = format!("{}::{}", job.suite, job.test);
                if let Some(bar) = &bar {
                    bar.started(&name);
                }
                // A test in a computing lane that turns out to sleep (it has no timings yet,
                // or it sleeps now where it computed last time) gives its lane up, so that
                // the next computing test starts beside it at once.
                let released = std::cell::Cell::new(false);
                let mut give_up_lane_if_asleep = |cpu: Duration, wall: Duration| {
                    let took = Took {
                        wall_ms: wall.as_millis() as u64,
                        cpu_ms: cpu.as_millis() as u64,
                    };
                    if !took.sleeps() {
                        return true;
                    }
                    lanes.lock().unwrap().computing_now -= 1;
                    lane_freed.notify_all();
                    released.set(true);
                    false
                };
                let pulse: Option<process::Pulse> =
                    (computing && workers > 1).then_some(&mut give_up_lane_if_asleep);
                // A panic here is the grader's own fault: it stops the run like any other,
                // and never leaves a lane taken (the other workers would wait for it).
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run_one(job, protections, options, pulse)
                }))
                .unwrap_or_else(|_| Err("the grader panicked while running this test".into()));
                if let Some(bar) = &bar {
                    bar.finished(&name);
                }
                if !protections.namespaces {
                    process::sweep_orphans(None);
                }
                let mut free = lanes.lock().unwrap();
                if computing && !released.get() {
                    free.computing_now -= 1;
                }
                lane_freed.notify_all();
                match outcome {
                    Ok(run) => done.lock().unwrap()[index] = Some(run),
                    Err(why) => {
                        free.fault.get_or_insert(GraderFault {
                            kata: job.kata.clone(),
                            suite: job.suite.clone(),
                            test: job.test.clone(),
                            why,
                        });
                        break;
                    }
                }
            });
        }
    });
    if let Some(bar) = &bar {
        bar.finish();
    }
    // Anything a finished run left behind and nobody claimed.
    process::sweep_orphans(None);
    if let Some(fault) = lanes.into_inner().unwrap().fault {
        return Err(fault);
    }
    let runs: Vec<TestRun> = results
        .into_iter()
        .map(|r| r.expect("every job has a run"))
        .collect();
    save_history(options.history.as_ref(), history, jobs, &runs);
    Ok(runs)
}

/// Runs one test; `Err` is a fault of the grader's, never the test's.
/// `pulse`, if any, hears how much CPU time the test uses while it runs.
fn run_one(
    job: &RunJob,
    protections: &Protections,
    options: &RunOptions,
    pulse: Option<process::Pulse>,
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
    let outcome = process::run(cmd, &limits, &marker, Some(&walled), pulse);
    let _ = std::fs::remove_dir_all(&dir);
    let (status, message, duration, cpu) = match outcome {
        Err(RunError::Exec(e)) => (
            Status::Crash,
            format!("the test binary could not be started: {e}"),
            Duration::ZERO,
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
                Verdict::Test(status, message) => (status, message, outcome.duration, outcome.cpu),
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
        cpu,
        points: job.points,
        time_limit_secs: job.time_limit_secs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(test: &str) -> RunJob {
        RunJob {
            kata: "k".into(),
            suite: "s".into(),
            checker: Checker::Stress,
            test: test.into(),
            binary: PathBuf::from("/nonexistent"),
            time_limit_secs: 10,
            limits: crate::manifest::Limits::default(),
            points: 1,
        }
    }

    fn took(wall_ms: u64, cpu_ms: u64) -> Took {
        Took { wall_ms, cpu_ms }
    }

    /// A history of tests of suite `k/s`: (test, wall ms, cpu ms).
    fn history(tests: &[(&str, u64, u64)]) -> History {
        tests
            .iter()
            .map(|&(test, wall, cpu)| (format!("k/s/{test}"), took(wall, cpu)))
            .collect()
    }

    /// A job's index and whether it takes a computing lane.
    type Started = (usize, bool);

    /// Starts everything `lanes` lets start, as workers would, without ending anything.
    fn start_all(lanes: &mut Lanes) -> (Vec<Started>, Option<Option<Started>>) {
        let mut started = Vec::new();
        loop {
            match lanes.next() {
                Some(Some(next)) => started.push(next),
                other => return (started, other),
            }
        }
    }

    #[test]
    fn the_longest_start_first_and_unknown_tests_count_as_longest() {
        let jobs: Vec<RunJob> = ["short", "new", "long", "middle"].map(job).into();
        let history = history(&[
            ("short", 10, 10),
            ("long", 5000, 4900),
            ("middle", 900, 800),
        ]);
        let mut lanes = Lanes::new(&jobs, &history, &History::new(), 4);
        let (started, then) = start_all(&mut lanes);
        assert_eq!(started, vec![(1, true), (2, true), (3, true), (0, true)]);
        assert_eq!(then, None, "nothing left to start");
    }

    #[test]
    fn sleepers_run_beside_full_computing_lanes() {
        let jobs: Vec<RunJob> = ["a", "b", "c", "nap", "tiny_nap"].map(job).into();
        let history = history(&[
            ("a", 3000, 3000),
            ("b", 2000, 1900),
            ("c", 1000, 1000),
            ("nap", 1200, 30),
            // Too short to be worth a lane of its own.
            ("tiny_nap", 100, 1),
        ]);
        let mut lanes = Lanes::new(&jobs, &history, &History::new(), 2);
        let (started, then) = start_all(&mut lanes);
        assert_eq!(started, vec![(0, true), (1, true), (3, false)]);
        assert_eq!(then, Some(None), "c and tiny_nap wait for a computing lane");
        lanes.computing_now -= 1;
        assert_eq!(lanes.next(), Some(Some((2, true))));
        lanes.computing_now -= 1;
        assert_eq!(lanes.next(), Some(Some((4, true))));
        assert_eq!(lanes.next(), None);
    }

    #[test]
    fn the_prior_orders_what_the_history_does_not_know() {
        let jobs: Vec<RunJob> = ["seen", "nap", "long", "new"].map(job).into();
        // The reference solutions': `seen` was long, `nap` sleeps, `long` computes.
        let prior = history(&[
            ("seen", 9000, 9000),
            ("nap", 4000, 40),
            ("long", 2000, 1900),
        ]);
        // This submission's own run: `seen` was quick.
        let history = history(&[("seen", 10, 10)]);
        let mut lanes = Lanes::new(&jobs, &history, &prior, 2);
        let (started, then) = start_all(&mut lanes);
        assert_eq!(
            started,
            vec![(3, true), (2, true), (1, false)],
            "the unknown test first, then the prior's long one; its sleeper beside them"
        );
        assert_eq!(then, Some(None), "`seen`, quick by its own history, waits");
    }

    #[test]
    fn without_a_history_the_plan_order_stands_and_a_fault_stops_it() {
        let jobs: Vec<RunJob> = ["a", "b", "c"].map(job).into();
        let mut lanes = Lanes::new(&jobs, &History::new(), &History::new(), 1);
        assert_eq!(lanes.next(), Some(Some((0, true))));
        assert_eq!(lanes.next(), Some(None));
        lanes.fault = Some(GraderFault {
            kata: "k".into(),
            suite: "s".into(),
            test: "a".into(),
            why: "a wall could not be raised".into(),
        });
        assert_eq!(lanes.next(), None);
    }

    #[test]
    fn the_history_keeps_tests_that_did_not_run() {
        let dir = std::env::temp_dir().join(format!("run-history-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("timings.json");
        let old = history(&[("other", 700, 600)]);
        let jobs = vec![job("a")];
        let run = TestRun {
            kata: "k".into(),
            suite: "s".into(),
            checker: Checker::Stress,
            test: "a".into(),
            status: Status::Pass,
            message: String::new(),
            duration: Duration::from_millis(1500),
            cpu: Duration::from_millis(20),
            points: 1,
            time_limit_secs: 10,
        };
        save_history(Some(&path), old, &jobs, &[run]);
        let back = load_history(Some(&path));
        assert_eq!(back.len(), 2);
        assert!(back["k/s/a"].sleeps());
        assert!(!back["k/s/other"].sleeps());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
