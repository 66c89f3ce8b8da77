//! GitHub Classroom's autograding payload: what `autograding-grading-reporter` reads, for
//! each runner id `R`, from the environment variable `R_RESULTS` (base64 of JSON).
//!
//! The reporter shows two figures that must agree. The "Points x/y" it records for
//! Classroom is the sum of `tests[].score` over the sum of `max_score`; the table it prints
//! in the job log is, per runner, (tests whose status is `pass` / all tests) × `max_score`,
//! blind to each test's score. With tests worth 1 or 2 points the two would differ, so the
//! payload has one entry per point: a 2-point test is two entries, passing or failing
//! together, each scoring 1 when it passes. Then the passed entries are the points earned,
//! the entries are `max_score`, and both figures are the grade's points.

use super::Report;
use crate::verdict::Status;
use base64::Engine;
use serde_json::{json, Value};

/// The payload of a grade: base64 of the reporter's JSON.
pub fn github_classroom(report: &Report) -> String {
    encode(&payload(report))
}

/// The payload of a grade that could not be made (the grader failed, not the
/// submission): status `error`, nothing earned out of `max`, and why.
pub fn github_classroom_error(max: u32, why: &str) -> String {
    encode(&json!({
        "version": 1,
        "status": "error",
        "max_score": max,
        "tests": [{
            "name": "grader",
            "status": "error",
            "message": format!("no grade: {why}"),
            "score": 0,
        }],
    }))
}

fn encode(doc: &Value) -> String {
    base64::engine::general_purpose::STANDARD.encode(doc.to_string())
}

/// The reporter's JSON, one entry per point (see the module's doc).
pub fn payload(report: &Report) -> Value {
    let mut tests = Vec::new();
    for t in &report.tests {
        let pass = t.status == Status::Pass;
        for point in 1..=t.max {
            let name = if t.max == 1 {
                format!("{} {}", t.kata, t.name)
            } else {
                format!("{} {} (point {point} of {})", t.kata, t.name, t.max)
            };
            let message = if pass {
                String::new()
            } else if t.message.is_empty() {
                t.status.as_str().to_string()
            } else {
                format!("{}: {}", t.status.as_str(), t.message)
            };
            tests.push(json!({
                "name": name,
                "status": if pass { "pass" } else { "fail" },
                "message": message,
                "score": u32::from(pass),
                "execution_time": format!("{:.2}s", t.duration_ms as f64 / 1000.0),
            }));
        }
    }
    json!({
        "version": 1,
        "status": if report.points == report.max { "pass" } else { "fail" },
        "max_score": report.max,
        "tests": tests,
    })
}
