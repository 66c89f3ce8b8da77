//! Snapshots of every renderer, so a change to what students and CI systems read is seen
//! in review. Durations and paths are normalised.

use course_tests::*;
use grader::manifest::Checker;
use grader::plan::Source;
use grader::report::{self, KataResult, Report, TerminalOptions, TestResult};
use grader::verdict::Status;

fn normalise(text: &str) -> String {
    let root = root().display().to_string();
    let mut out = text.replace(&root, "[ROOT]");
    // "duration_ms": 123  and  time="0.123"
    for (prefix, end) in [("\"duration_ms\": ", ','), ("time=\"", '"')] {
        let mut result = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(prefix) {
            result.push_str(&rest[..at + prefix.len()]);
            rest = &rest[at + prefix.len()..];
            let stop = rest.find([end, '\n']).unwrap_or(rest.len());
            result.push_str("[T]");
            rest = &rest[stop..];
        }
        result.push_str(rest);
        out = result;
    }
    out
}

/// One test of each status, as the renderers must show them.
fn every_status() -> Report {
    let test = |name: &str, checker, status, points, max, message: &str| TestResult {
        name: name.into(),
        kata: "race".into(),
        suite: name.split("::").next().unwrap().into(),
        checker,
        points,
        max,
        status,
        message: message.into(),
        duration_ms: 7,
        time_limit_secs: 20,
        visibility: Default::default(),
    };
    let tests = vec![
        test("race_loom::passes", Checker::Loom, Status::Pass, 2, 2, ""),
        test("race_loom::lost_update", Checker::Loom, Status::Fail, 0, 2, "two threads each called increment() once, yet get() returned 1\n  (at race_loom.rs:18)"),
        test("race_loom::spins", Checker::Loom, Status::Inconclusive, 0, 2, "inconclusive, not a bug found: loom could not finish exploring this model"),
        test("race_stress::hangs", Checker::Stress, Status::Timeout, 0, 1, "did not finish within 20s and was stopped"),
        test("race_stress::aborts", Checker::Stress, Status::Crash, 0, 1, "the test process was killed by SIGSEGV"),
        test("race_stress::never_ran", Checker::Stress, Status::NotRun, 0, 1, "the submission has no race/src/lib.rs"),
        test("race_stress::broken", Checker::Stress, Status::CompileError, 0, 1, "error[E0425]: cannot find value `x` in this scope\n --> src/lib.rs:12:9\n   |\n12 |         x += 1;\n   |         ^ not found in this scope"),
        test("race_stress::broken_too", Checker::Stress, Status::CompileError, 0, 1, "error[E0425]: cannot find value `x` in this scope\n --> src/lib.rs:12:9\n   |\n12 |         x += 1;\n   |         ^ not found in this scope"),
    ];
    Report {
        schema_version: report::SCHEMA_VERSION,
        course: "Systems programming in Rust".into(),
        submission: "exercises".into(),
        points: 2,
        max: 11,
        protections: report::Protections {
            namespaces: true,
            test_user: "own-uid",
            note: None,
        },
        katas: vec![KataResult {
            id: "race".into(),
            title: "Fix the race".into(),
            section: "多线程-共享全局变量, 同步的概念".into(),
            points: 2,
            max: 11,
            passed: 1,
            tests: 8,
            state: report::KataState::Started,
            limits: grader::manifest::Limits::default(),
        }],
        tests,
    }
}

#[test]
fn renderers_show_every_status() {
    let report = every_status();
    insta::assert_snapshot!(
        "every_status_terminal",
        report::terminal(&report, &TerminalOptions::default())
    );
    insta::assert_snapshot!(
        "every_status_check",
        report::terminal(
            &report,
            &TerminalOptions {
                full_messages: true,
                first_failure_whole: false,
                suggest_hints: true,
                colour: false,
                lang: grader::lang::Lang::En,
                visible_only: false,
            }
        )
    );
    insta::assert_snapshot!("every_status_json", report.to_json());
    insta::assert_snapshot!("every_status_junit", normalise(&report::junit(&report)));
    insta::assert_snapshot!("every_status_gradescope", report::gradescope(&report));
    insta::assert_snapshot!("every_status_markdown", report::markdown(&report));
}

#[test]
fn graded_solutions_render_alike_every_time() {
    let katas = vec!["race".to_string(), "fork_isolation".to_string()];
    let mut report = grade(Source::Solutions, &katas, "report-snapshot");
    // Which walls could be raised depends on the machine (root or not): not snapshotted.
    report.protections = report::Protections {
        namespaces: true,
        test_user: "own-uid",
        note: None,
    };
    insta::assert_snapshot!(
        "solutions_terminal",
        normalise(&report::terminal(&report, &TerminalOptions::default()))
    );
    insta::assert_snapshot!("solutions_json", normalise(&report.to_json()));
}
