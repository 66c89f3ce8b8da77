//! A Markdown summary, for a CI job's summary page (e.g. `$GITHUB_STEP_SUMMARY`).

use super::Report;
use std::fmt::Write;

pub fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {}: {}/{} points\n",
        report.course, report.points, report.max
    );
    let _ = writeln!(out, "| kata | section | points | tests passed |");
    let _ = writeln!(out, "|---|---|---:|---:|");
    for kata in &report.katas {
        let _ = writeln!(
            out,
            "| `{}` {} | {} | {}/{} | {}/{} |",
            kata.id, kata.title, kata.section, kata.points, kata.max, kata.passed, kata.tests
        );
    }
    let failures: Vec<_> = report.failures().collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\n### Failing tests\n");
        for test in failures {
            let first = test.message.lines().next().unwrap_or("");
            let _ = writeln!(
                out,
                "- `{}` `{}` ({}, {}): {}",
                test.kata,
                test.name,
                test.checker,
                test.status.as_str(),
                first.replace('|', "\\|")
            );
        }
    }
    out
}
