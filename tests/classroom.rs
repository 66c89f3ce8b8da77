//! GitHub Classroom's payload (`grade --github-classroom FILE`): what the grading reporter
//! records and what it prints in the job log must both be the grade's points.

use base64::Engine;
use course_tests::{cli_in, root, scratch, submission_tree};
use serde_json::Value;

/// The payloads appended to a GitHub Actions output file, decoded.
fn payloads(output_file: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(output_file)
        .unwrap()
        .lines()
        .map(|line| {
            let b64 = line
                .strip_prefix("result=")
                .unwrap_or_else(|| panic!("not a `result=` line: {line}"));
            let json = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64");
            serde_json::from_slice(&json).expect("JSON")
        })
        .collect()
}

/// What the reporter shows: (the points it records for Classroom, the score in the log's
/// table), computed the way `autograding-grading-reporter` computes them.
fn reporter_figures(payload: &Value) -> (f64, f64) {
    let tests = payload["tests"].as_array().unwrap();
    let max = payload["max_score"].as_f64().unwrap();
    let recorded: f64 = tests.iter().map(|t| t["score"].as_f64().unwrap()).sum();
    let passed = tests.iter().filter(|t| t["status"] == "pass").count() as f64;
    (recorded, passed / tests.len() as f64 * max)
}

#[test]
fn the_payload_is_the_grades_points_in_the_log_and_in_classroom() {
    let dir = scratch("classroom");
    let tree = dir.join("submission");
    let root = root();
    // One kata right (1-point tests), one with a loom bug (its 2-point tests: where the
    // log's pass-count figure and the recorded sum of scores would part).
    submission_tree(
        &tree,
        &[
            ("sing_dance", &root.join("solutions/sing_dance/src/lib.rs")),
            (
                "threads",
                &root.join("tests/mutants/threads/number_read_then_written.rs"),
            ),
        ],
    );
    let output = dir.join("github_output");
    // Another step wrote to the file first: it is appended to, not replaced.
    std::fs::write(&output, "earlier=kept\n").unwrap();
    let json = dir.join("report.json");
    let (code, out, err) = cli_in(
        &root,
        &[
            "grade",
            "--quiet",
            "--path",
            tree.to_str().unwrap(),
            "--kata",
            "sing_dance",
            "--kata",
            "threads",
            "--work-dir",
            dir.join("work").to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--github-classroom",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.starts_with("earlier=kept\n"), "{text}");
    let rest = output.with_extension("rest");
    std::fs::write(&rest, text.trim_start_matches("earlier=kept\n")).unwrap();
    let all = payloads(&rest);
    assert_eq!(all.len(), 1);
    let payload = &all[0];

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let (points, max) = (
        report["points"].as_f64().unwrap(),
        report["max"].as_f64().unwrap(),
    );
    assert!(
        points > 0.0 && points < max,
        "the submission should earn some points, not all: {points}/{max}"
    );
    let threads_lost_a_two_point_test = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["kata"] == "threads" && t["max"] == 2 && t["status"] != "pass");
    assert!(
        threads_lost_a_two_point_test,
        "the mutant must fail a loom test"
    );

    assert_eq!(payload["version"], 1);
    assert_eq!(payload["status"], "fail");
    assert_eq!(payload["max_score"].as_f64().unwrap(), max);
    let (recorded, logged) = reporter_figures(payload);
    assert_eq!(recorded, points, "Classroom's recorded points");
    assert!(
        (logged - points).abs() < 1e-9,
        "the log's table shows {logged}, the grade is {points}"
    );
    // Each failing entry says why, in the grade's words.
    let failing: Vec<&Value> = payload["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] != "pass")
        .collect();
    assert!(failing
        .iter()
        .all(|t| t["message"].as_str().unwrap().starts_with("fail")
            || t["message"].as_str().unwrap().contains(':')));
    assert!(failing.iter().any(|t| t["name"]
        .as_str()
        .unwrap()
        .contains("two_starts_at_once_take_two_numbers_in_list_order (point 2 of 2)")));
}

#[test]
fn no_grade_still_reports_an_error_to_classroom() {
    let dir = scratch("classroom-error");
    let output = dir.join("github_output");
    let _ = std::fs::remove_file(&output);
    let missing = dir.join("no-such-submission");
    let (code, _out, err) = cli_in(
        &root(),
        &[
            "grade",
            "--quiet",
            "--path",
            missing.to_str().unwrap(),
            "--kata",
            "race",
            "--github-classroom",
            output.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-submission"), "{err}");
    let all = payloads(&output);
    assert_eq!(all.len(), 1);
    let payload = &all[0];
    assert_eq!(payload["status"], "error");
    let race_max = course_tests::course().kata("race").unwrap().max_points();
    assert_eq!(payload["max_score"].as_u64().unwrap(), u64::from(race_max));
    let (recorded, logged) = reporter_figures(payload);
    assert_eq!((recorded, logged), (0.0, 0.0));
    let message = payload["tests"][0]["message"].as_str().unwrap();
    assert!(message.contains("no-such-submission"), "{message}");
}
