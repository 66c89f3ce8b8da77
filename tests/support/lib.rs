//! Helpers for the project's end-to-end tests: load the course, grade in-process, and
//! build submission trees out of the mutants in `tests/mutants/`.

use grader::manifest::{self, Course};
use grader::plan::Source;
use grader::report::Report;
use grader::verdict::Status;
use grader::GradeOptions;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// The course root: this repository.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn course() -> Course {
    manifest::load(&root()).unwrap_or_else(|e| panic!("{e}"))
}

/// Scratch space for the end-to-end tests, inside the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = root().join("target").join("e2e").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Grades in-process, with a work directory of the test's own. An untouched stub is built
/// and run like any submission (the proof that stubs earn nothing needs their runs).
pub fn grade(source: Source, katas: &[String], work: &str) -> Report {
    let options = GradeOptions {
        work_dir: Some(scratch(&format!("work-{work}"))),
        grade_untouched: true,
        ..GradeOptions::default()
    };
    grader::grade(&course(), source, katas, &options)
        .unwrap_or_else(|e| panic!("grading failed: {e}"))
}

/// Prints one `score <grade> <kata>=<points>/<max> …` line when `KATA_PRINT_SCORES` is
/// set, for `scripts/determinism.sh` to compare across runs.
pub fn print_scores(label: &str, report: &Report) {
    if std::env::var_os("KATA_PRINT_SCORES").is_some() {
        let katas: Vec<String> = report
            .katas
            .iter()
            .map(|k| format!("{}={}/{}", k.id, k.points, k.max))
            .collect();
        eprintln!(
            "score {label} {}/{} {}",
            report.points,
            report.max,
            katas.join(" ")
        );
    }
}

/// A known-wrong solution: `tests/mutants/<kata>/<name>.rs`.
#[derive(Debug, Clone)]
pub struct Mutant {
    pub kata: String,
    pub name: String,
    pub file: PathBuf,
    /// The hidden tests (`suite::test`) it must fail on every run.
    pub expect_fail: BTreeSet<String>,
    /// Stress tests that catch it only when the threads happen to meet badly: each may
    /// fail or pass (`//! may-fail:`). Every other test must pass.
    pub may_fail: BTreeSet<String>,
}

impl Mutant {
    /// Whether a run that failed exactly `failed` is what the header says.
    pub fn agrees_with(&self, failed: &BTreeSet<String>) -> bool {
        self.expect_fail.is_subset(failed)
            && failed
                .iter()
                .all(|t| self.expect_fail.contains(t) || self.may_fail.contains(t))
    }
}

/// The comma-separated test names of the header line starting with `prefix`.
fn header_list(text: &str, prefix: &str) -> Option<BTreeSet<String>> {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .map(|line| {
            line.split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        })
}

/// Every mutant, by kata, in name order. Panics on a mutant without its header.
pub fn mutants() -> BTreeMap<String, Vec<Mutant>> {
    let mut all: BTreeMap<String, Vec<Mutant>> = BTreeMap::new();
    let dir = root().join("tests").join("mutants");
    for kata in std::fs::read_dir(&dir).unwrap().flatten() {
        let kata_name = kata.file_name().to_string_lossy().into_owned();
        let mut files: Vec<PathBuf> = std::fs::read_dir(kata.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        files.sort();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let expect_fail = header_list(&text, "//! expect-fail:")
                .unwrap_or_else(|| panic!("{} has no `//! expect-fail:` line", file.display()));
            let may_fail = header_list(&text, "//! may-fail:").unwrap_or_default();
            all.entry(kata_name.clone()).or_default().push(Mutant {
                kata: kata_name.clone(),
                name: file.file_stem().unwrap().to_string_lossy().into_owned(),
                file,
                expect_fail,
                may_fail,
            });
        }
    }
    all
}

/// Writes a submission tree holding `lib.rs` files: `<dir>/<kata>/src/lib.rs`.
pub fn submission_tree(dir: &Path, libs: &[(&str, &Path)]) {
    let _ = std::fs::remove_dir_all(dir);
    for (kata, lib) in libs {
        let src = dir.join(kata).join("src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::copy(lib, src.join("lib.rs")).unwrap();
    }
}

/// The tests of `kata` in `report` that did not pass.
pub fn failing(report: &Report, kata: &str) -> BTreeSet<String> {
    report
        .tests
        .iter()
        .filter(|t| t.kata == kata && t.status != Status::Pass)
        .map(|t| t.name.clone())
        .collect()
}

/// One line per test that is not as `expected` says, for assertion messages.
pub fn describe(report: &Report, kata: &str) -> String {
    report
        .tests
        .iter()
        .filter(|t| t.kata == kata)
        .map(|t| {
            format!(
                "  {} {}: {}",
                t.status.as_str(),
                t.name,
                t.message.lines().next().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// pid → (parent pid, start time) of every live process. The start time tells a process
/// from a later one that got the same pid.
pub fn processes() -> HashMap<u32, (u32, u64)> {
    let mut all = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the command name in parentheses: state, ppid, …, starttime (field 22).
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() == Some(&"Z") || fields.len() < 20 {
            continue;
        }
        if let (Ok(ppid), Ok(start)) = (fields[1].parse(), fields[19].parse()) {
            all.insert(pid, (ppid, start));
        }
    }
    all
}

/// The live descendants of `root`, with their start times.
pub fn descendants(root: u32) -> BTreeSet<(u32, u64)> {
    let all = processes();
    let mut found = BTreeSet::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for (&pid, &(ppid, start)) in &all {
            if ppid == parent && found.insert((pid, start)) {
                frontier.push(pid);
            }
        }
    }
    found
}

/// The grader's run marker (`<kata>-<test>-<random>`) in the environment of process `pid`,
/// if it has one.
pub fn run_marker(pid: u32) -> Option<String> {
    let wanted = format!("{}=", grader::process::RUN_MARKER_VAR);
    std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .find_map(|v| v.strip_prefix(wanted.as_bytes()))
        .map(|marker| String::from_utf8_lossy(marker).into_owned())
}

/// Processes that a grade in this process started and that are still alive: they carry
/// the grader's run marker (`<kata>-<test>-<random>`) in their environment, starting with
/// `prefix`, and descend from this process (the grader is a child subreaper, so even an
/// escaped orphan does). Other grades may run on the machine at the same time.
pub fn survivors(prefix: &str) -> Vec<String> {
    descendants(std::process::id())
        .into_iter()
        .filter(|&(pid, _)| run_marker(pid).is_some_and(|m| m.starts_with(prefix)))
        .map(|(pid, _)| {
            format!(
                "pid {pid}: {}",
                std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                    .unwrap_or_default()
                    .replace('\0', " ")
            )
        })
        .collect()
}

/// Runs the grader's command line in-process on the course at `course`: (exit status,
/// stdout, stderr).
pub fn cli_in(course: &Path, args: &[&str]) -> (i32, String, String) {
    let mut out = Vec::new();
    let mut err = Vec::new();
    let mut all = vec![
        "grader".to_string(),
        "--course".into(),
        course.display().to_string(),
    ];
    all.extend(args.iter().map(|s| s.to_string()));
    let code = grader::cli::main(all, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// The uid/gid of runs as a normal user (when the tests run as root): outside the range
/// the grader hands out to tests (61000–64999).
pub const NORMAL_USER: u32 = 60_999;

/// The environment variable that makes [`run_schedule_here`] run a schedule.
const SCHEDULE_VAR: &str = "KATA_TEST_SCHEDULE";

/// What [`run_schedule_as`] hands its child process.
#[derive(serde::Serialize, serde::Deserialize)]
struct Schedule {
    jobs: Vec<grader::run::RunJob>,
    /// Hidden from the tests besides the run's own directory.
    hide: Vec<PathBuf>,
}

/// Runs `jobs` with the grader's own run stage in a child process of this test binary
/// (its ignored test `runner_test`, which calls [`run_schedule_here`]) as user `uid`,
/// with namespaces or without (`KATA_GRADER_NO_SANDBOX`), from copies of their binaries
/// in `dir` (which that user can reach), hiding `dir` and `hide` from the tests; the
/// runs, in job order. A normal user cannot build here (the toolchain may live in root's
/// home), so the tests build once, as themselves, and only the run changes hands: the
/// run stage is the same code whoever built.
pub fn run_schedule_as(
    runner_test: &str,
    uid: u32,
    namespaces: bool,
    jobs: &[grader::run::RunJob],
    dir: &Path,
    hide: &[PathBuf],
    time_limit_secs: u64,
) -> Result<Vec<grader::run::TestRun>, String> {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    let mut jobs = jobs.to_vec();
    for (i, job) in jobs.iter_mut().enumerate() {
        let copy = dir.join("bin").join(format!("{i}-{}", job.suite));
        std::fs::copy(&job.binary, &copy).unwrap();
        job.binary = copy;
    }
    let schedule = dir.join("schedule.json");
    let plan = Schedule {
        jobs: jobs.clone(),
        hide: hide.to_vec(),
    };
    std::fs::write(&schedule, serde_json::to_vec(&plan).unwrap()).unwrap();
    chown_all(dir, uid);
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", runner_test, "--ignored", "--test-threads=1"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("TMPDIR", dir.join("tmp"))
        .env(SCHEDULE_VAR, &schedule);
    if !namespaces {
        cmd.env("KATA_GRADER_NO_SANDBOX", "1");
    }
    if uid != 0 {
        use std::os::unix::process::CommandExt;
        // SAFETY: only system calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(uid) != 0
                    || libc::setuid(uid) != 0
                {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // Through the grader's own runner: in this process, its reaper collects every child.
    grader::process::init().map_err(|e| e.to_string())?;
    let limits = grader::sandbox::Limits::trusted(
        std::time::Duration::from_secs(time_limit_secs * jobs.len() as u64 + 120),
        1 << 20,
    );
    let out = grader::process::run_trusted(cmd, &limits, "schedule-runner")
        .map_err(|e| format!("cannot run the runner: {e}"))?;
    let runs = dir.join("runs.json");
    match std::fs::read(&runs) {
        Ok(json) => {
            serde_json::from_slice::<Result<Vec<grader::run::TestRun>, String>>(&json).unwrap()
        }
        Err(_) => Err(format!(
            "the runner gave no runs ({:?}):\n{}\n{}",
            out.exit,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )),
    }
}

/// Gives `path` and everything under it to `uid`.
pub fn chown_all(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            chown_all(&entry.path(), uid);
        }
    }
}

/// The child side of [`run_schedule_as`]: runs the schedule it was handed with the
/// grader's own run stage, as whoever this process is, and writes the runs beside it.
/// Does nothing in a test run that was not started by [`run_schedule_as`].
pub fn run_schedule_here() {
    let Some(schedule) = std::env::var_os(SCHEDULE_VAR) else {
        return;
    };
    let schedule = PathBuf::from(schedule);
    let dir = schedule.parent().unwrap().to_path_buf();
    let plan: Schedule = serde_json::from_slice(&std::fs::read(&schedule).unwrap()).unwrap();
    let result = (|| {
        grader::process::init().map_err(|e| e.to_string())?;
        let protections = grader::process::probe_protections()?;
        let options = grader::run::RunOptions {
            jobs: 2,
            scratch: dir.join("scratch"),
            hide: std::iter::once(dir.clone()).chain(plan.hide).collect(),
            // Plan order: no timings of an earlier run to go by.
            history: None,
            prior: None,
            progress: false,
            lang: grader::lang::Lang::En,
        };
        grader::run::execute(&plan.jobs, &protections, &options).map_err(|e| e.to_string())
    })();
    std::fs::write(dir.join("runs.json"), serde_json::to_vec(&result).unwrap()).unwrap();
}
