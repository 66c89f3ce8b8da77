//! `grader dev check`: the authoring proof, for course authors (and `cargo test`).
//!
//! Like rustlings' `dev check`, it reads the course and says, with file and line, what an
//! author left out: a kata's files, its hints, the agreement between course.yaml and the
//! hidden suite files, the mutants' headers, and the statement's table of promises. That
//! table is how a statement says what the hidden tests check:
//!
//! ```text
//! ## What the tests check
//!
//! | promise | hidden tests |
//! |---|---|
//! | No increment is ever lost, however many threads call it at once | `race_loom::two_increments_are_never_lost`, `race_stress::four_threads_count_together` |
//! ```
//!
//! Every promise names at least one hidden test, and every hidden test keeps at least one
//! promise: a test without a promise checks something the student was never told.

use crate::lang::Lang;
use crate::manifest::{Course, Kata};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One thing an author must fix: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.what)
        } else {
            write!(f, "{}: {}", self.file.display(), self.what)
        }
    }
}

/// Mutants each kata needs at least.
pub const MIN_MUTANTS: usize = 4;

/// The heading of the statement's table of promises.
pub const PROMISES_HEADING: &str = "## What the tests check";

/// Checks the whole course; every problem found, in course order.
pub fn check(course: &Course) -> Vec<Problem> {
    let mut problems = Vec::new();
    for kata in &course.katas {
        check_kata(course, kata, &mut problems);
    }
    // Named as an author types them: from the course's root.
    for p in &mut problems {
        if let Ok(relative) = p.file.strip_prefix(&course.root) {
            p.file = relative.to_path_buf();
        }
    }
    problems
}

fn problem(file: &Path, line: usize, what: impl Into<String>) -> Problem {
    Problem {
        file: file.to_path_buf(),
        line,
        what: what.into(),
    }
}

fn check_kata(course: &Course, kata: &Kata, problems: &mut Vec<Problem>) {
    let root = &course.root;
    let manifest = root.join(crate::manifest::MANIFEST_FILE);
    let id = &kata.id;
    // The student edition (`grader export student`) ships no solutions, mutants or hidden
    // suites, and its statements' promises name hidden tests it does not have: those
    // checks are for the full course. What it does ship is checked all the same.
    let full = course.edition == crate::manifest::Edition::Full;
    for file in [
        root.join("exercises").join(id).join("README.md"),
        root.join("exercises").join(id).join("README.zh.md"),
        root.join("exercises").join(id).join("Cargo.toml"),
        root.join("exercises").join(id).join("src/lib.rs"),
        root.join("exercises").join(id).join("tests/visible.rs"),
        root.join("solutions").join(id).join("Cargo.toml"),
        root.join("solutions").join(id).join("src/lib.rs"),
    ] {
        if !full && file.starts_with(root.join("solutions")) {
            continue;
        }
        if !file.is_file() {
            problems.push(problem(&file, 0, format!("kata `{id}` needs this file")));
        }
    }
    // Which versions the student's crate is built against, said in each statement from
    // course.yaml and the facade's Cargo.toml, so that it cannot drift from them.
    for (lang, file) in [
        (Lang::En, root.join("exercises").join(id).join("README.md")),
        (
            Lang::Zh,
            root.join("exercises").join(id).join("README.zh.md"),
        ),
    ] {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        match built_with(course, lang) {
            Ok(section) if !text.contains(&section) => problems.push(problem(
                &file,
                0,
                format!(
                    "the statement must hold this section, word for word (it is made from \
                     course.yaml's kata_dependencies and sync/Cargo.toml):\n{section}"
                ),
            )),
            Ok(_) => {}
            Err(e) => problems.push(problem(&file, 0, e)),
        }
    }
    if kata.hints.len() < 2 {
        problems.push(problem(
            &manifest,
            0,
            format!(
                "kata `{id}` has {} hint(s); it needs two levels or more",
                kata.hints.len()
            ),
        ));
    }
    if kata.hints_zh.len() != kata.hints.len() {
        problems.push(problem(
            &manifest,
            0,
            format!(
                "kata `{id}` has {} hint(s) in English and {} in Chinese (`hints_zh`): \
                 every level needs both",
                kata.hints.len(),
                kata.hints_zh.len()
            ),
        ));
    }
    check_stub(course, kata, &manifest, problems);
    // The suites against their files, as every grade checks them.
    let mut tests = BTreeSet::new();
    for suite in &kata.suites {
        let file = course.hidden_file(kata, suite);
        if let Err(e) = crate::plan::check_suite_file(&file, suite) {
            problems.push(match e {
                crate::plan::PlanError::Authoring { file, line, what } => {
                    problem(&file, line, what)
                }
                other => problem(&file, 0, other.to_string()),
            });
        }
        for test in &suite.tests {
            tests.insert(format!("{}::{test}", suite.name));
        }
    }
    if !full {
        return;
    }
    check_mutants(&root.join("tests/mutants").join(id), id, &tests, problems);
    check_promises(
        &root.join("exercises").join(id).join("README.md"),
        &tests,
        problems,
    );
}

/// The stub id course.yaml records is the exercise's: else a shipped stub would read
/// "started", and `reset` would put back an older stub.
fn check_stub(course: &Course, kata: &Kata, manifest: &Path, problems: &mut Vec<Problem>) {
    let file = crate::stub::exercise_file(course, kata);
    let Ok(content) = std::fs::read(&file) else {
        return; // Already reported: the kata needs this file.
    };
    let actual = crate::stub::blob_id(&content);
    let id = &kata.id;
    match &kata.stub {
        Some(recorded) if *recorded == actual => {}
        Some(recorded) => problems.push(problem(
            manifest,
            0,
            format!(
                "kata `{id}`: `stub: {recorded}` is not exercises/{id}/src/lib.rs (git blob \
                 {actual}); if the stub changed on purpose, record `stub: {actual}`"
            ),
        )),
        None => problems.push(problem(
            manifest,
            0,
            format!(
                "kata `{id}` records no stub; add `stub: {actual}` (exercises/{id}/src/lib.rs)"
            ),
        )),
    }
}

fn check_mutants(dir: &Path, kata: &str, tests: &BTreeSet<String>, problems: &mut Vec<Problem>) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    files.sort();
    if files.len() < MIN_MUTANTS {
        problems.push(problem(
            dir,
            0,
            format!(
                "kata `{kata}` has {} mutant(s); it needs at least {MIN_MUTANTS}",
                files.len()
            ),
        ));
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let header = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with("//! expect-fail:"));
        let Some((line, header)) = header else {
            problems.push(problem(
                &file,
                1,
                "no `//! expect-fail:` line naming the tests that catch this mutant",
            ));
            continue;
        };
        if !text
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("//! Mutant:"))
        {
            problems.push(problem(
                &file,
                1,
                "a mutant starts with `//! Mutant: <the bug>`",
            ));
        }
        let named: Vec<&str> = header["//! expect-fail:".len()..]
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        if named.is_empty() {
            problems.push(problem(
                &file,
                line + 1,
                "the header names no test: a mutant no test catches proves nothing",
            ));
        }
        for test in &named {
            if !tests.contains(*test) {
                problems.push(problem(
                    &file,
                    line + 1,
                    format!("`{test}` is no hidden test of `{kata}`"),
                ));
            }
        }
        // `may-fail`: stress tests that catch the bug only when threads meet badly.
        if let Some((line, header)) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.starts_with("//! may-fail:"))
        {
            for test in header["//! may-fail:".len()..]
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
            {
                if !tests.contains(test) {
                    problems.push(problem(
                        &file,
                        line + 1,
                        format!("`{test}` is no hidden test of `{kata}`"),
                    ));
                } else if named.contains(&test) {
                    problems.push(problem(
                        &file,
                        line + 1,
                        format!("`{test}` is both expected and maybe to fail"),
                    ));
                }
            }
        }
    }
}

/// The promises of a statement: (line, promise, tests named).
pub fn promises(text: &str) -> Option<Vec<(usize, String, Vec<String>)>> {
    let mut lines = text.lines().enumerate();
    lines.find(|(_, l)| l.trim() == PROMISES_HEADING)?;
    let mut rows = Vec::new();
    let mut in_table = false;
    for (i, line) in lines {
        let line = line.trim();
        if line.starts_with("## ") {
            break;
        }
        if !line.starts_with('|') {
            if in_table {
                break;
            }
            continue;
        }
        let first = !in_table;
        in_table = true;
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if first
            || cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
        {
            continue; // the header row and the separator
        }
        let promise = cells.first().copied().unwrap_or("").to_string();
        let named = cells
            .last()
            .copied()
            .unwrap_or("")
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        rows.push((i + 1, promise, named));
    }
    Some(rows)
}

fn check_promises(statement: &Path, tests: &BTreeSet<String>, problems: &mut Vec<Problem>) {
    let Ok(text) = std::fs::read_to_string(statement) else {
        return; // already reported as missing
    };
    let Some(rows) = promises(&text) else {
        problems.push(problem(
            statement,
            0,
            format!("no `{PROMISES_HEADING}` section with a table of promises and the hidden tests that check them"),
        ));
        return;
    };
    if rows.is_empty() {
        problems.push(problem(
            statement,
            0,
            format!("the `{PROMISES_HEADING}` section has no table rows"),
        ));
    }
    let mut kept = BTreeSet::new();
    for (line, promise, named) in rows {
        if promise.is_empty() {
            problems.push(problem(statement, line, "a row without a promise"));
        }
        if named.is_empty() {
            problems.push(problem(
                statement,
                line,
                format!("the promise \"{promise}\" names no hidden test: a promise without a test"),
            ));
        }
        for test in named {
            if tests.contains(&test) {
                kept.insert(test);
            } else {
                problems.push(problem(
                    statement,
                    line,
                    format!("`{test}` is no hidden test of this kata"),
                ));
            }
        }
    }
    for test in tests.difference(&kept) {
        problems.push(problem(
            statement,
            0,
            format!("hidden test `{test}` keeps no promise of the statement: add it to a row, or a row for it"),
        ));
    }
}

/// The section of every statement that says what a kata's crate is built with: each of
/// course.yaml's `kata_dependencies` with its version and features, and the facade's own
/// locks (parking_lot outside loom, loom under it) from `sync/Cargo.toml`.
pub fn built_with(course: &Course, lang: Lang) -> Result<String, String> {
    let mut lines = Vec::new();
    for (name, value) in &course.kata_dependencies {
        let (version, features) = version_and_features(value).ok_or_else(|| {
            format!("course.yaml: kata_dependencies.{name}: no version in `{value}`")
        })?;
        lines.push(match (features.is_empty(), lang) {
            (true, _) => format!("- `{name}` {version}"),
            (false, Lang::En) => {
                format!("- `{name}` {version} (features: {})", features.join(", "))
            }
            (false, Lang::Zh) => {
                format!("- `{name}` {version}（features：{}）", features.join(", "))
            }
        });
    }
    let facade = course.root.join("sync").join("Cargo.toml");
    let text = std::fs::read_to_string(&facade)
        .map_err(|e| format!("cannot read {}: {e}", facade.display()))?;
    let manifest: FacadeManifest =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", facade.display()))?;
    let dependency = |name: &str| {
        manifest
            .dependencies
            .get(name)
            .and_then(Dependency::version_and_features)
            .map(|(version, _)| version)
            .ok_or_else(|| format!("{}: no version of {name}", facade.display()))
    };
    let (parking_lot, loom) = (dependency("parking_lot")?, dependency("loom")?);
    lines.push(match lang {
        Lang::En => format!(
            "- `kata-sync`, the course's facade: parking_lot {parking_lot} outside loom, loom {loom} under it"
        ),
        Lang::Zh => format!(
            "- `kata-sync`，课程的同步门面：loom 之外是 parking_lot {parking_lot}，loom 之下是 loom {loom}"
        ),
    });
    let heading = match lang {
        Lang::En => "## Built with\n\nThe grader builds your crate with these dependencies and no others (course.yaml's\n`kata_dependencies`): read the documentation of these versions.\n",
        Lang::Zh => "## 构建环境\n\n评分程序只用下面这些依赖构建你的 crate（course.yaml 的 `kata_dependencies`），请查阅这些版本的文档。\n",
    };
    Ok(format!("{heading}\n{}\n", lines.join("\n")))
}

/// A dependency as Cargo.toml writes it: `"1"`, or a table such as `{ version = "0.29",
/// features = […] }` (other keys ignored; a `path` dependency has no version).
#[derive(Deserialize)]
#[serde(untagged)]
enum Dependency {
    Version(String),
    Detailed {
        version: Option<String>,
        #[serde(default)]
        features: Vec<String>,
    },
}

impl Dependency {
    /// Its version and features, if it names a version.
    fn version_and_features(&self) -> Option<(String, Vec<String>)> {
        match self {
            Dependency::Version(version) => Some((version.clone(), Vec::new())),
            Dependency::Detailed { version, features } => {
                Some((version.clone()?, features.clone()))
            }
        }
    }
}

/// What `built_with` reads of the facade's Cargo.toml.
#[derive(Deserialize)]
struct FacadeManifest {
    dependencies: BTreeMap<String, Dependency>,
}

/// The version and features of a dependency given as the value of its line in Cargo.toml
/// (course.yaml's `kata_dependencies` are written so): `"1"` or `{ version = "0.29",
/// features = ["a", "b"] }`.
fn version_and_features(value: &str) -> Option<(String, Vec<String>)> {
    #[derive(Deserialize)]
    struct Line {
        value: Dependency,
    }
    let line: Line = toml::from_str(&format!("value = {value}")).ok()?;
    line.value.version_and_features()
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_are_read_as_cargo_toml_writes_them() {
        assert_eq!(
            version_and_features("\"0.2\""),
            Some(("0.2".into(), vec![]))
        );
        assert_eq!(
            version_and_features("{ version = \"0.29\", features = [\"process\", \"fs\"] }"),
            Some(("0.29".into(), vec!["process".into(), "fs".into()]))
        );
        assert_eq!(
            version_and_features("{ package = \"versioned\", features = [], version = \"1\" }"),
            Some(("1".into(), vec![]))
        );
        assert_eq!(version_and_features("{ path = \"../sync\" }"), None);
    }

    use super::*;

    #[test]
    fn promise_tables_are_read() {
        let text = "# Kata\n\n## What the tests check\n\nSome words.\n\n| promise | hidden tests |\n|---|---|\n| One | `s::a`, `s::b` |\n| Two | `s::c` |\n\n## Next\n| x | `s::z` |\n";
        let rows = promises(text).unwrap();
        assert_eq!(
            rows,
            [
                (
                    9,
                    "One".to_string(),
                    vec!["s::a".to_string(), "s::b".to_string()]
                ),
                (10, "Two".to_string(), vec!["s::c".to_string()]),
            ]
        );
        assert_eq!(promises("# no table"), None);
    }
}
