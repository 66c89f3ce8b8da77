//! Integrity: a submission earns no point its tests did not give.
//!
//! Each fixture in `tests/integrity/` is a kata's untouched stub (true score: 0) plus an
//! attack a clever student could write: a constructor that runs before `main`, a symbol
//! that shadows libc's, assembly, a file linked or read in at compile time, a scan of the
//! process's own memory, the descriptors, the environment, a redirected proof channel, a
//! thread that outlives the test, a forked child that finishes the test in the parent's
//! stead. Each is graded beside another kata's reference solution, and must leave:
//! - the attacked kata with no point, every test `compile-error` with the reason (for an
//!   attack refused before building) or anything but a pass (for one that ran);
//! - the other kata with full marks.
//!
//! Attacks that run do so under every kind of wall the grader raises: as root (a uid of
//! its own per test) and as a normal user (a user namespace of its own), each with
//! namespaces and without (`KATA_GRADER_NO_SANDBOX`). A normal user cannot build here
//! (the toolchain may live in root's home), so the test builds once, as itself, and then
//! runs the schedule in a child process of the chosen user: the run stage is the same
//! code whoever built.
//!
//! A fixture's header says how it is put together:
//! `kata:` the kata it attacks; `hook: <line of the stub> [=> <statement>]` (repeatable)
//! inserts the statement (default `crate::attack::run();`) after that line; the fixture
//! becomes `mod attack`, with `tests/integrity/attack_kit.rs` as `mod attack_kit`;
//! `expect: refused` with `why:` (in every test's message) or `expect: ran`.

use course_tests::*;
use grader::plan::Source;
use grader::run::{RunJob, TestRun};
use grader::verdict::Status;
use grader::GradeOptions;
use std::path::{Path, PathBuf};

/// Every test's time limit here: the stubs fail fast, and an attack that hangs is a fail.
const TIME_LIMIT: u64 = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Refused(String),
    Ran,
}

struct Fixture {
    name: String,
    kata: String,
    hooks: Vec<(String, String)>,
    expect: Expect,
    text: String,
}

fn header_values<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let prefix = format!("//! {key}: ");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(str::trim)
        .collect()
}

fn fixtures() -> Vec<Fixture> {
    let dir = root().join("tests").join("integrity");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_stem().is_some_and(|s| s != "attack_kit"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let one = |key: &str| {
                header_values(&text, key)
                    .first()
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| panic!("{name} has no `//! {key}:` line"))
            };
            let expect = match one("expect").as_str() {
                "refused" => Expect::Refused(one("why")),
                "ran" => Expect::Ran,
                other => panic!("{name}: unknown expectation `{other}`"),
            };
            let hooks = header_values(&text, "hook")
                .into_iter()
                .map(|h| match h.split_once(" => ") {
                    Some((line, statement)) => (line.to_string(), statement.to_string()),
                    None => (h.to_string(), "crate::attack::run();".to_string()),
                })
                .collect();
            Fixture {
                kata: one("kata"),
                name,
                hooks,
                expect,
                text,
            }
        })
        .collect()
}

/// The fixture's submission `lib.rs`: the kata's stub, hooked, with the attack appended.
fn compose(f: &Fixture) -> String {
    let stub =
        std::fs::read_to_string(root().join("exercises").join(&f.kata).join("src/lib.rs")).unwrap();
    let mut out = String::new();
    for line in stub.lines() {
        out += line;
        out.push('\n');
        for (hook, statement) in &f.hooks {
            if line.trim() == hook.as_str() {
                out += &format!("        {statement}\n");
            }
        }
    }
    for (hook, _) in &f.hooks {
        assert!(
            stub.lines().any(|l| l.trim() == hook.as_str()),
            "{}: the stub of {} has no line `{hook}`",
            f.name,
            f.kata
        );
    }
    let kit = std::fs::read_to_string(root().join("tests/integrity/attack_kit.rs")).unwrap();
    out += &format!(
        "\n#[allow(dead_code, unused)]\nmod attack {{\n{}\n}}\n\n#[allow(dead_code, unused)]\nmod attack_kit {{\n{kit}\n}}\n",
        f.text
    );
    out
}

/// The kata whose reference solution sits beside the attack.
fn other_kata(kata: &str) -> &'static str {
    if kata == "race" {
        "fork_isolation"
    } else {
        "race"
    }
}

/// Whose walls a schedule ran under.
#[derive(Debug, Clone, Copy)]
struct Mode {
    uid: u32,
    namespaces: bool,
}

fn modes() -> Vec<Mode> {
    // SAFETY: a getter.
    let me = unsafe { libc::geteuid() };
    let users = if me == 0 {
        vec![0, NORMAL_USER]
    } else {
        vec![me]
    };
    users
        .into_iter()
        .flat_map(|uid| [true, false].map(|namespaces| Mode { uid, namespaces }))
        .collect()
}

/// Runs `jobs` as `mode` says, in a child process of this binary (see
/// [`course_tests::run_schedule_as`]).
fn run_as(mode: Mode, jobs: &[RunJob], dir: &Path) -> Result<Vec<TestRun>, String> {
    run_schedule_as(
        "runner_for_another_user",
        mode.uid,
        mode.namespaces,
        jobs,
        dir,
        &[],
        TIME_LIMIT,
    )
}

/// The child side of [`run_as`].
#[test]
#[ignore = "run by attacks_earn_no_points, as another user"]
fn runner_for_another_user() {
    run_schedule_here();
}

/// What is wrong with `runs` of fixture `f` (graded beside the other kata's solution).
/// `attacked_here`: whether `runs` should hold the attacked kata's tests (a refused kata's
/// are decided before building, never run).
fn judge(f: &Fixture, label: &str, runs: &[TestRun], attacked_here: bool) -> Vec<String> {
    let mut wrong = Vec::new();
    let attacked: Vec<&TestRun> = runs.iter().filter(|r| r.kata == f.kata).collect();
    if attacked.is_empty() && attacked_here {
        wrong.push(format!("{label}: no test of {} was reported", f.kata));
    }
    for r in &attacked {
        let name = format!("{}::{}", r.suite, r.test);
        match &f.expect {
            _ if r.status == Status::Pass => {
                wrong.push(format!("{label}: {name} PASSED: the attack earned a point"))
            }
            Expect::Refused(why)
                if r.status != Status::CompileError || !r.message.contains(why.as_str()) =>
            {
                wrong.push(format!(
                    "{label}: {name} is {} ({}), not refused for `{why}`",
                    r.status.as_str(),
                    r.message.lines().next().unwrap_or("")
                ))
            }
            _ if r.message.trim().is_empty() => {
                wrong.push(format!("{label}: {name} has no message"))
            }
            _ => {}
        }
    }
    let other = other_kata(&f.kata);
    for r in runs.iter().filter(|r| r.kata == other) {
        if r.status != Status::Pass {
            wrong.push(format!(
                "{label}: the other kata's {}::{} is {}: {}",
                r.suite,
                r.test,
                r.status.as_str(),
                r.message
            ));
        }
    }
    wrong
}

#[test]
fn attacks_earn_no_points() {
    let mut fixtures = fixtures();
    assert!(fixtures.len() >= 10, "too few fixtures: {}", fixtures.len());
    // For work on one attack: KATA_INTEGRITY_ONLY=<fixture name>.
    if let Some(only) = std::env::var_os("KATA_INTEGRITY_ONLY") {
        fixtures.retain(|f| f.name == only.to_string_lossy());
    }
    let work = scratch("integrity");
    let modes = modes();
    let mut wrong = Vec::new();
    for f in &fixtures {
        let other = other_kata(&f.kata);
        let tree = work.join(&f.name).join("tree");
        let lib = work.join(&f.name).join("lib.rs");
        std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
        std::fs::write(&lib, compose(f)).unwrap();
        let solution = root().join("solutions").join(other).join("src/lib.rs");
        submission_tree(&tree, &[(&f.kata, &lib), (other, &solution)]);
        let katas = vec![f.kata.clone(), other.to_string()];
        // One work directory for all: each build then recompiles only the attacked kata.
        let options = GradeOptions {
            work_dir: Some(work.join("grade")),
            max_time_limit: Some(TIME_LIMIT),
            progress: false,
            lang: grader::lang::Lang::En,
            ..GradeOptions::default()
        };
        let prepared = grader::prepare(&course(), Source::Path(tree.clone()), &katas, &options)
            .unwrap_or_else(|e| panic!("{}: the build failed: {e}", f.name));
        let schedule = grader::run::schedule(&prepared.admitted, &prepared.build);
        drop(prepared);
        let jobs = schedule.jobs();
        let decided: Vec<TestRun> = schedule
            .slots
            .into_iter()
            .filter_map(|slot| match slot {
                grader::run::Slot::Decided(run) => Some(run),
                grader::run::Slot::Job(_) => None,
            })
            .collect();
        match f.expect {
            // Refused before building: decided without a run, whoever runs the rest.
            Expect::Refused(_) => wrong.extend(judge(
                f,
                &format!("{} (refused before building)", f.name),
                &decided,
                true,
            )),
            // An attack that is meant to run must have been built, or it proves nothing.
            Expect::Ran => {
                if let Some(r) = decided.iter().find(|r| r.kata == f.kata) {
                    wrong.push(format!(
                        "{}: {}::{} did not run ({}): {}",
                        f.name,
                        r.suite,
                        r.test,
                        r.status.as_str(),
                        r.message
                    ));
                    continue;
                }
            }
        }
        // A refused attack never runs: one mode shows the other kata keeps its verdicts.
        let modes = match f.expect {
            Expect::Refused(_) => &modes[..1],
            Expect::Ran => &modes[..],
        };
        for mode in modes {
            let label = format!(
                "{} (uid {}, {})",
                f.name,
                mode.uid,
                if mode.namespaces {
                    "namespaces"
                } else {
                    "no namespaces"
                }
            );
            let started = std::time::Instant::now();
            match run_as(
                *mode,
                &jobs,
                &work
                    .join(&f.name)
                    .join(format!("run-{}-{}", mode.uid, mode.namespaces)),
            ) {
                Ok(runs) => wrong.extend(judge(f, &label, &runs, f.expect == Expect::Ran)),
                Err(e) => wrong.push(format!("{label}: {e}")),
            }
            eprintln!(
                "integrity fixture {label:<50} ran in {:>5.1}s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
