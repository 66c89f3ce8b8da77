//! Hostile submissions: each fixture in `tests/hostile/` attacks from inside the code
//! under test (or from its build). For each: the offending tests get fail, timeout or
//! crash; every other test its true verdict; the grade finishes within its limits; no
//! process is left behind; the report is complete. See tests/hostile/*.rs for each attack.

use course_tests::*;
use grader::plan::Source;
use grader::report::Report;
use grader::verdict::Status;
use grader::GradeOptions;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Every test's time limit during these grades: long enough for the solution's tests,
/// short enough that the hanging fixtures cost little.
const TIME_LIMIT: u64 = 15;
/// The build time limit, for the fixture whose compile never ends.
const BUILD_LIMIT: u64 = 60;

struct Fixture {
    name: String,
    /// The submission tree to grade.
    tree: PathBuf,
    expect_not_pass: BTreeSet<String>,
    /// Statuses the offending tests may have.
    allowed: Vec<Status>,
}

fn status(name: &str) -> Status {
    match name {
        "fail" => Status::Fail,
        "timeout" => Status::Timeout,
        "crash" => Status::Crash,
        "compile-error" => Status::CompileError,
        other => panic!("unknown status `{other}` in a fixture header"),
    }
}

fn header(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("//! {key}:")))
        .map(|v| v.trim().to_string())
}

fn fixtures() -> Vec<Fixture> {
    let dir = root().join("tests").join("hostile");
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let tree = scratch(&format!("hostile-{name}")).join("tree");
        let (text, mut files): (String, Vec<(&str, PathBuf)>) = if path.is_dir() {
            // A whole kata directory (with its own Cargo.toml, build.rs, …).
            let _ = std::fs::remove_dir_all(&tree);
            copy_dir(&path.join("race"), &tree.join("race"));
            (
                std::fs::read_to_string(path.join("EXPECT")).unwrap(),
                Vec::new(),
            )
        } else {
            (
                std::fs::read_to_string(&path).unwrap(),
                vec![("race", path.clone())],
            )
        };
        if name == "never_compiles" {
            // Another kata in the same submission must not pay for it.
            files.push((
                "fork_isolation",
                root().join("solutions/fork_isolation/src/lib.rs"),
            ));
        }
        if !files.is_empty() {
            let borrowed: Vec<(&str, &Path)> =
                files.iter().map(|(k, p)| (*k, p.as_path())).collect();
            submission_tree(&tree, &borrowed);
        }
        let expect = header(&text, "expect-not-pass")
            .or_else(|| {
                text.trim()
                    .strip_prefix("expect-not-pass:")
                    .map(str::to_string)
            })
            .unwrap_or_default();
        out.push(Fixture {
            name,
            tree,
            expect_not_pass: expect
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            allowed: header(&text, "expect-status")
                .map(|s| s.split('|').map(|x| status(x.trim())).collect())
                .unwrap_or_else(|| vec![Status::Fail, Status::Timeout, Status::Crash]),
        });
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

fn file_digest(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

fn grade_fixture(f: &Fixture) -> (Report, Duration) {
    let options = GradeOptions {
        work_dir: Some(scratch(&format!("work-hostile-{}", f.name))),
        max_time_limit: Some(TIME_LIMIT),
        build_time_limit: Some(BUILD_LIMIT),
        ..GradeOptions::default()
    };
    let mut katas = vec!["race".to_string()];
    if f.tree.join("fork_isolation").exists() {
        katas.push("fork_isolation".into());
    }
    let start = Instant::now();
    let report = grader::grade(&course(), Source::Path(f.tree.clone()), &katas, &options)
        .unwrap_or_else(|e| panic!("{}: the grade failed: {e}", f.name));
    (report, start.elapsed())
}

#[test]
fn hostile_submissions_cost_only_their_own_tests() {
    let guarded = [
        root().join("grader/hidden/race/race_loom.rs"),
        root().join("course.yaml"),
        root().join("exercises/race/src/lib.rs"),
    ];
    let before: Vec<Vec<u8>> = guarded.iter().map(|p| file_digest(p)).collect();
    let protections = grader::process::probe_protections().expect("the walls can be raised");
    let sandboxed = protections.namespaces;
    let mut wrong = Vec::new();
    for f in fixtures() {
        // Only namespaces hide the course, the network and the test binary.
        if ["read_secrets", "network", "read_test_binary"].contains(&f.name.as_str()) && !sandboxed
        {
            eprintln!(
                "skipping {}: no sandbox here ({:?})",
                f.name, protections.note
            );
            continue;
        }
        let (report, took) = grade_fixture(&f);
        let race: Vec<_> = report.tests.iter().filter(|t| t.kata == "race").collect();
        let expected_count: usize = course()
            .kata("race")
            .unwrap()
            .suites
            .iter()
            .map(|s| s.tests.len())
            .sum();
        if race.len() != expected_count {
            wrong.push(format!(
                "{}: the report has {} race tests, not {expected_count}",
                f.name,
                race.len()
            ));
        }
        let json: serde_json::Value =
            serde_json::from_str(&report.to_json()).expect("the JSON report parses");
        assert_eq!(json["tests"].as_array().unwrap().len(), report.tests.len());
        for t in &race {
            // `*`: every test of the kata (a submission refused or never built).
            let offending = f.expect_not_pass.contains(&t.name) || f.expect_not_pass.contains("*");
            if offending && !f.allowed.contains(&t.status) {
                wrong.push(format!(
                    "{}: {} is {} ({}), expected one of {:?}",
                    f.name,
                    t.name,
                    t.status.as_str(),
                    t.message.lines().next().unwrap_or(""),
                    f.allowed
                ));
            }
            if offending && t.message.trim().is_empty() {
                wrong.push(format!("{}: {} has no message", f.name, t.name));
            }
            if !offending && t.status != Status::Pass {
                wrong.push(format!(
                    "{}: {} should pass but is {}: {}",
                    f.name,
                    t.name,
                    t.status.as_str(),
                    t.message
                ));
            }
        }
        for t in report.tests.iter().filter(|t| t.kata != "race") {
            if t.status != Status::Pass {
                wrong.push(format!(
                    "{}: the other kata's {} is {}: {}",
                    f.name,
                    t.name,
                    t.status.as_str(),
                    t.message
                ));
            }
        }
        // Bounded time: the build limit plus every test's limit, plus slack for the builds.
        let bound =
            Duration::from_secs(BUILD_LIMIT * 2 + TIME_LIMIT * report.tests.len() as u64 + 120);
        if took > bound {
            wrong.push(format!(
                "{}: the grade took {took:?}, more than {bound:?}",
                f.name
            ));
        }
        let left = survivors("race-");
        if !left.is_empty() {
            wrong.push(format!(
                "{}: processes left alive after the grade:\n  {}",
                f.name,
                left.join("\n  ")
            ));
        }
        eprintln!(
            "hostile fixture {:<16} graded in {:>5.1}s",
            f.name,
            took.as_secs_f64()
        );
    }
    let after: Vec<Vec<u8>> = guarded.iter().map(|p| file_digest(p)).collect();
    for (i, path) in guarded.iter().enumerate() {
        if before[i] != after[i] {
            wrong.push(format!(
                "{} was changed by a hostile submission",
                path.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
