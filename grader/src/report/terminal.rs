//! The report a person reads: a table of katas (done, started, not started), the failures
//! of the started ones, the total, and the one thing to do next. `grade` shows each
//! started kata's first failure, so that a whole course fits on one screen; `check` and
//! `grade --verbose` show every failure whole.

use super::{KataResult, KataState, Report, TestResult};
use crate::lang::{display_width, Lang};
use crate::verdict::Status;
use std::fmt::Write;

#[derive(Debug, Clone, Default)]
pub struct TerminalOptions {
    /// Show every failing test with its whole message (`check`, `grade --verbose`) rather
    /// than each started kata's first failure, its first lines.
    pub full_messages: bool,
    /// Show the first failure of each started kata whole (`watch`), not its first lines.
    pub first_failure_whole: bool,
    /// Suggest the hint command for katas with failures.
    pub suggest_hints: bool,
    /// Colour the marks (the caller decides: a terminal, and no `NO_COLOR`).
    pub colour: bool,
    /// The grader's own words (the tests' messages stay English). In Chinese the table
    /// names each kata by its course section rather than its English title.
    pub lang: Lang,
    /// The course is the student edition (`edition: student` in course.yaml): say once,
    /// under the heading, that these are the visible tests only.
    pub visible_only: bool,
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
    let lang = options.lang;
    let title = |k: &KataResult| match lang {
        Lang::En => k.title.clone(),
        Lang::Zh => k.section.clone(),
    };
    let [kata_col, title_col, points_col, tests_col] = lang.columns();
    let title_width = report
        .katas
        .iter()
        .map(|k| display_width(&title(k)))
        .max()
        .unwrap_or(5)
        .max(display_width(title_col));
    let _ = writeln!(out, "{}", lang.grading(&report.course, &report.submission));
    if options.visible_only {
        let _ = writeln!(out, "{}", lang.visible_tests_only());
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "  {}  {}  {}  {}",
        pad(kata_col, id_width),
        pad(title_col, title_width),
        pad_left(points_col, 7),
        pad_left(tests_col, 6)
    );
    for kata in &report.katas {
        let tests = match kata.state {
            KataState::NotStarted => lang.state(kata.state).to_string(),
            _ => format!("{}/{}", kata.passed, kata.tests),
        };
        let mark = paint(kata.state, options.colour);
        let _ = writeln!(
            out,
            "{mark} {}  {}  {:>7}  {}",
            pad(&kata.id, id_width),
            pad(&title(kata), title_width),
            format!("{}/{}", kata.points, kata.max),
            pad_left(&tests, 6),
        );
    }
    // A kata not started has nothing to show but that: its tests did not run.
    let started = |test: &&TestResult| {
        report
            .kata(&test.kata)
            .is_some_and(|k| k.state != KataState::NotStarted)
    };
    let failures: Vec<&TestResult> = report.failures().filter(started).collect();
    if options.full_messages {
        if !failures.is_empty() {
            let _ = writeln!(out);
            let _ = writeln!(out, "{}", lang.failing_tests());
            failing_tests(&mut out, &failures, true, lang);
        }
    } else {
        // Each started kata's first failure, and how to see the rest.
        for kata in &report.katas {
            let mine: Vec<&TestResult> = failures
                .iter()
                .copied()
                .filter(|t| t.kata == kata.id)
                .collect();
            let Some(first) = mine.first() else { continue };
            let _ = writeln!(out);
            let _ = writeln!(
                out,
                "{}",
                lang.first_failure(&kata.id, mine.len(), kata.tests)
            );
            failing_tests(
                &mut out,
                std::slice::from_ref(first),
                options.first_failure_whole,
                lang,
            );
            if mine.len() > 1 {
                let _ = writeln!(out, "  {}", lang.more_failures(mine.len() - 1, &kata.id));
            }
        }
    }
    let _ = writeln!(out);
    let count = |state: KataState| report.katas.iter().filter(|k| k.state == state).count();
    let counts = [
        count(KataState::Done),
        count(KataState::Started),
        count(KataState::NotStarted),
    ];
    let _ = writeln!(out, "{}", lang.total(report.points, report.max, counts));
    if let Some(note) = &report.protections.note {
        let _ = writeln!(out, "{}: {note}", lang.note());
    }
    let _ = writeln!(out, "{}", next_step(report, options));
    out
}

/// Lists `failures`, each message whole or its first lines.
fn failing_tests(out: &mut String, failures: &[&TestResult], whole: bool, lang: Lang) {
    let mut last_compile_error: Option<(&str, &str)> = None;
    for test in failures {
        // Inconclusive is not a failure found: loom could not try every interleaving.
        let mark = if test.status == Status::Inconclusive {
            "?"
        } else {
            "✗"
        };
        let _ = writeln!(
            out,
            "  {mark} {} {}  [{}, {}, 0/{}]",
            test.kata,
            test.name,
            test.checker,
            test.status.as_str(),
            test.max
        );
        // One compile error is shown once per kata, not once per test.
        if test.status == Status::CompileError {
            if last_compile_error == Some((test.kata.as_str(), test.message.as_str())) {
                let _ = writeln!(out, "      {}", lang.same_compile_error());
                continue;
            }
            last_compile_error = Some((test.kata.as_str(), test.message.as_str()));
        }
        let lines: Vec<&str> = test.message.lines().collect();
        let shown = if whole {
            lines.clone()
        } else {
            short_view(&lines)
        };
        for line in &shown {
            let _ = writeln!(out, "      {line}");
        }
        let hidden = lines.len() - shown.len();
        if hidden > 0 {
            let command = format!("cargo grader check {}", test.kata);
            let _ = writeln!(out, "      {}", lang.more_lines(hidden, &command));
        }
    }
}

/// The one thing to do next: the first kata (in course order) short of full marks.
fn next_step(report: &Report, options: &TerminalOptions) -> String {
    let lang = options.lang;
    let Some(kata) = report.katas.iter().find(|k| k.state != KataState::Done) else {
        return if report.katas.len() > 1 {
            lang.next_all_done().into()
        } else {
            match report.katas.first() {
                Some(k) => lang.next_after(&k.id),
                None => lang.nothing_graded().into(),
            }
        };
    };
    match kata.state {
        KataState::NotStarted => lang.next_not_started(&kata.id),
        _ if options.suggest_hints => lang.next_fix(&kata.id),
        _ => lang.next_check(&kata.id),
    }
}

/// `text` and spaces after it, to `width` columns as a terminal shows them.
fn pad(text: &str, width: usize) -> String {
    format!(
        "{text}{}",
        " ".repeat(width.saturating_sub(display_width(text)))
    )
}

/// Spaces and `text` after them, to `width` columns.
fn pad_left(text: &str, width: usize) -> String {
    format!(
        "{}{text}",
        " ".repeat(width.saturating_sub(display_width(text)))
    )
}

/// A state's mark in its colour (green, red, dim), or as it is.
pub fn paint(state: KataState, colour: bool) -> String {
    let mark = state.mark();
    if !colour {
        return mark.to_string();
    }
    let code = match state {
        KataState::Done => "32",
        KataState::Started => "31",
        KataState::NotStarted => "2",
    };
    format!("\x1b[{code}m{mark}\x1b[0m")
}

/// Whether the grader's words on stdout may be coloured: it is a terminal, and `NO_COLOR`
/// is not set (<https://no-color.org>).
pub fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
