//! Gradescope's autograder `results.json`: one entry per hidden test.

use super::Report;
use crate::verdict::Status;
use serde_json::json;

pub fn gradescope(report: &Report) -> String {
    let tests: Vec<_> = report
        .tests
        .iter()
        .map(|t| {
            json!({
                "name": format!("{} {}", t.kata, t.name),
                "number": t.kata,
                "score": t.points,
                "max_score": t.max,
                "status": if t.status == Status::Pass { "passed" } else { "failed" },
                "output": if t.message.is_empty() { t.status.as_str().to_string() } else { format!("{}: {}", t.status.as_str(), t.message) },
                "tags": [t.checker.as_str()],
                "visibility": "visible",
            })
        })
        .collect();
    let doc = json!({
        "score": report.points,
        "output": format!("{}: {}/{} points", report.course, report.points, report.max),
        "tests": tests,
    });
    serde_json::to_string_pretty(&doc).expect("serialises")
}
