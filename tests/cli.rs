//! Bad input gets a clear message naming what and where, and nothing half-written.

use course_tests::*;
use grader::cli;
use grader::manifest;
use grader::verdict::Status;

fn run(args: &[&str]) -> (i32, String, String) {
    cli_in(&root(), args)
}

fn manifest_error(text: &str) -> String {
    let file = root().join("course.yaml");
    manifest::parse(text, &file, &root())
        .expect_err("the manifest should be refused")
        .to_string()
}

const GOOD: &str = "schema: 1\ncourse: C\nkatas:\n  - id: race\n    title: T\n    section: S\n    hints: [a, b]\n    suites:\n      - name: race_loom\n        checker: loom\n        points: 2\n        tests: [x]\n";

#[test]
fn a_broken_manifest_names_file_line_and_field() {
    manifest::parse(GOOD, &root().join("course.yaml"), &root()).expect("the good manifest parses");

    let wrong_type = manifest_error(&GOOD.replace("points: 2", "points: two"));
    assert!(wrong_type.contains("course.yaml:11"), "{wrong_type}");
    assert!(
        wrong_type.contains("katas[0].suites[0].points"),
        "{wrong_type}"
    );

    let unknown_checker = manifest_error(&GOOD.replace("checker: loom", "checker: lom"));
    assert!(
        unknown_checker.contains("course.yaml:10") && unknown_checker.contains("lom"),
        "{unknown_checker}"
    );

    let missing = manifest_error(&GOOD.replace("        tests: [x]\n", ""));
    assert!(
        missing.contains("tests") && missing.contains("katas[0].suites[0]"),
        "{missing}"
    );

    let unknown_field =
        manifest_error(&GOOD.replace("    title: T\n", "    title: T\n    titel: U\n"));
    assert!(
        unknown_field.contains("titel") && unknown_field.contains("course.yaml:6"),
        "{unknown_field}"
    );

    let one_hint = manifest_error(&GOOD.replace("hints: [a, b]", "hints: [a]"));
    assert!(
        one_hint.contains("course.yaml:4") && one_hint.contains("katas[0] (race).hints"),
        "{one_hint}"
    );

    let no_file = manifest_error(&GOOD.replace("name: race_loom", "name: race_lom"));
    assert!(
        no_file.contains("race_lom.rs") && no_file.contains("does not exist"),
        "{no_file}"
    );

    let twice = manifest_error(&format!("{GOOD}{}", &GOOD[GOOD.find("  - id").unwrap()..]));
    assert!(
        twice.contains("listed twice") || twice.contains("used twice"),
        "{twice}"
    );

    let not_yaml = manifest_error("schema: 1\ncourse: [unclosed\n");
    assert!(
        not_yaml.starts_with(&root().join("course.yaml").display().to_string()),
        "{not_yaml}"
    );
}

#[test]
fn a_missing_course_or_kata_or_path_is_named() {
    let (code, _, err) = run(&["check", "no_such_kata"]);
    assert_eq!(code, cli::EXIT_ERROR);
    assert!(
        err.contains("no kata named `no_such_kata`") && err.contains("race"),
        "{err}"
    );

    let (code, _, err) = run(&["grade", "--path", "/no/such/submission"]);
    assert_eq!(code, cli::EXIT_ERROR);
    assert!(
        err.contains("/no/such/submission") && err.contains("does not exist"),
        "{err}"
    );

    let (code, _, err) = run(&["hint", "no_such_kata"]);
    assert_eq!(code, cli::EXIT_ERROR);
    assert!(err.contains("no_such_kata"), "{err}");

    let (code, _, err) = run(&["grade", "--json", "/no/such/dir/report.json"]);
    assert_eq!(code, cli::EXIT_ERROR);
    assert!(
        err.contains("/no/such/dir") && err.contains("does not exist"),
        "{err}"
    );

    let mut err = Vec::new();
    let code = cli::main(
        ["grader", "--course", "/no/such/course", "list"].map(String::from),
        &mut Vec::new(),
        &mut err,
    );
    assert_eq!(code, cli::EXIT_ERROR);
    assert!(String::from_utf8_lossy(&err).contains("/no/such/course has no course.yaml"));
}

#[test]
fn hints_come_one_level_at_a_time() {
    let (code, out, _) = run(&["hint", "race"]);
    assert_eq!(code, cli::EXIT_OK);
    assert!(
        out.contains("Hint 1/") && !out.contains("Hint 2/") && out.contains("--level 2"),
        "{out}"
    );
    let (_, out, _) = run(&["hint", "race", "--level", "2"]);
    assert!(out.contains("Hint 2/"), "{out}");
}

#[test]
fn a_kata_that_does_not_compile_costs_only_that_kata() {
    let tree = scratch("compile-error").join("tree");
    let broken = scratch("compile-error").join("broken.rs");
    std::fs::write(&broken, "pub fn increment( { not rust\n").unwrap();
    let fork = root().join("solutions/fork_isolation/src/lib.rs");
    submission_tree(&tree, &[("race", &broken), ("fork_isolation", &fork)]);
    let json = scratch("compile-error").join("report.json");
    let _ = std::fs::remove_file(&json);
    let (code, out, err) = run(&[
        "grade",
        "--path",
        tree.to_str().unwrap(),
        "--kata",
        "race",
        "--kata",
        "fork_isolation",
        "--json",
        json.to_str().unwrap(),
        "--work-dir",
        scratch("compile-error").join("work").to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, cli::EXIT_OK, "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["schema_version"], 3);
    for test in report["tests"].as_array().unwrap() {
        match test["kata"].as_str().unwrap() {
            "race" => {
                assert_eq!(test["status"], Status::CompileError.as_str(), "{test}");
                assert!(
                    test["message"].as_str().unwrap().contains("error"),
                    "{test}"
                );
            }
            _ => assert_eq!(test["status"], "pass", "{test}"),
        }
    }
    assert!(
        out.contains("compile-error") && out.contains("src/lib.rs"),
        "{out}"
    );
}

#[test]
fn min_score_sets_the_exit_status() {
    let work = scratch("min-score").join("work");
    let args = |min: &str| {
        vec![
            "grade",
            "--solutions",
            "--kata",
            "race",
            "--min-score",
            min,
            "-q",
            "--work-dir",
            work.to_str().unwrap(),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>()
    };
    // The solution earns race's every point: that much passes, one more does not.
    let max = course().kata("race").unwrap().max_points();
    let owned = args(&max.to_string());
    let (code, _, err) = run(&owned.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, cli::EXIT_OK, "{err}");
    let owned = args(&(max + 1).to_string());
    let (code, _, _) = run(&owned.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, cli::EXIT_BELOW);
}

#[test]
fn a_kata_that_bypasses_the_facade_gets_no_loom_credit() {
    // A correct race solution, but on std's atomics and threads: loom cannot see them.
    let solution = std::fs::read_to_string(root().join("solutions/race/src/lib.rs")).unwrap();
    let bypass = solution
        .replace(
            "use kata_sync::atomic::{AtomicU64, Ordering};",
            "use std::sync::atomic::{AtomicU64, Ordering};",
        )
        .replace("use kata_sync::thread;", "use std::thread;")
        .replace("use kata_sync::Arc;", "use std::sync::Arc;");
    assert_ne!(
        bypass, solution,
        "the solution's imports changed: update this test"
    );
    let dir = scratch("bypass");
    let lib = dir.join("lib.rs");
    std::fs::write(&lib, bypass).unwrap();
    let tree = dir.join("tree");
    submission_tree(&tree, &[("race", &lib)]);
    let report = grade(
        grader::plan::Source::Path(tree),
        &["race".to_string()],
        "bypass",
    );
    for test in report.tests.iter().filter(|t| t.kata == "race") {
        if test.suite.ends_with("_loom") {
            assert_eq!(test.status, Status::Fail, "{}: {}", test.name, test.message);
            assert!(
                test.message.contains("bypasses the sync facade")
                    && test.message.contains("src/lib.rs:"),
                "{}",
                test.message
            );
        } else {
            assert_eq!(test.status, Status::Pass, "{}: {}", test.name, test.message);
        }
    }
}

/// The bundled course is what `grader dev check` asks of every course: each kata's files,
/// hints, suites that match course.yaml, mutant headers naming real tests, and a statement
/// whose table of promises names every hidden test.
#[test]
fn the_bundled_course_passes_its_own_authoring_check() {
    let (code, out, err) = run(&["dev", "check"]);
    assert_eq!(code, 0, "grader dev check found problems:\n{out}{err}");
    let problems = grader::dev::check(&course());
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn a_relative_course_directory_grades_like_an_absolute_one() {
    // Integration tests run from the package's directory: `.` is the course.
    assert_eq!(std::env::current_dir().unwrap(), root());
    let work = scratch("relative-course").join("work");
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = cli::main(
        [
            "grader",
            "--course",
            ".",
            "grade",
            "--solutions",
            "--kata",
            "sing_dance",
            "-q",
            "--work-dir",
            work.to_str().unwrap(),
        ]
        .map(String::from),
        &mut out,
        &mut err,
    );
    let (out, err) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
    assert_eq!(code, cli::EXIT_OK, "{out}{err}");
    let max = course().kata("sing_dance").unwrap().max_points();
    assert!(out.contains(&format!("Total: {max}/{max} points")), "{out}");
}
