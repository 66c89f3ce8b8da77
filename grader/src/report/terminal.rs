//! The report a person reads: a table of katas, the failing tests with their reasons,
//! and the total.

use super::Report;
use crate::verdict::Status;
use std::fmt::Write;

#[derive(Debug, Clone, Default)]
pub struct TerminalOptions {
    /// Show every failing test's whole message (the `check` view) rather than its first lines.
    pub full_messages: bool,
    /// Suggest the hint command for katas with failures.
    pub suggest_hints: bool,
}

/// What `grade` shows of a failure message (`check` shows it all): its first line, and
/// for a compiler error the `--> file:line:col` line too, so the student knows where to look.
fn short_view<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut shown: Vec<&str> = lines.iter().take(1).copied().collect();
    if let Some(location) = lines
        .iter()
        .skip(1)
        .find(|line| line.trim_start().starts_with("--> "))
    {
        shown.push(location);
    }
    shown
}

pub fn terminal(report: &Report, options: &TerminalOptions) -> String {
    let mut out = String::new();
    let id_width = report
        .katas
        .iter()
        .map(|k| k.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let title_width = report
        .katas
        .iter()
        .map(|k| k.title.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(out, "{} — grading {}", report.course, report.submission);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {:id_width$}  {:title_width$}  {:>7}  {:>6}",
        "kata", "title", "points", "tests"
    );
    for kata in &report.katas {
        let mark = if kata.points == kata.max {
            "✓"
        } else {
            "✗"
        };
        let _ = writeln!(
            out,
            "{mark} {:id_width$}  {:title_width$}  {:>7}  {:>6}",
            kata.id,
            kata.title,
            format!("{}/{}", kata.points, kata.max),
            format!("{}/{}", kata.passed, kata.tests),
        );
    }
    let failures: Vec<_> = report.failures().collect();
    if !failures.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Failing tests:");
        let mut last_compile_error: Option<(&str, &str)> = None;
        for test in failures {
            let _ = writeln!(
                out,
                "  ✗ {} {}  [{}, {}, 0/{}]",
                test.kata,
                test.name,
                test.checker,
                test.status.as_str(),
                test.max
            );
            // One compile error is shown once per kata, not once per test.
            if test.status == Status::CompileError {
                if last_compile_error == Some((test.kata.as_str(), test.message.as_str())) {
                    let _ = writeln!(out, "      (the same compile error)");
                    continue;
                }
                last_compile_error = Some((test.kata.as_str(), test.message.as_str()));
            }
            let lines: Vec<&str> = test.message.lines().collect();
            let shown = if options.full_messages {
                lines.clone()
            } else {
                short_view(&lines)
            };
            for line in &shown {
                let _ = writeln!(out, "      {line}");
            }
            let hidden = lines.len() - shown.len();
            if hidden > 0 {
                let _ = writeln!(
                    out,
                    "      … ({hidden} more line{}: `grader check {}`)",
                    if hidden == 1 { "" } else { "s" },
                    test.kata
                );
            }
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "Total: {}/{} points", report.points, report.max);
    if let Some(note) = &report.protections.note {
        let _ = writeln!(out, "Note: {note}");
    }
    if options.suggest_hints {
        for kata in report.katas.iter().filter(|k| k.points < k.max) {
            let _ = writeln!(
                out,
                "Stuck on {}? `grader hint {}` gives a hint, one level at a time.",
                kata.id, kata.id
            );
        }
    }
    out
}
