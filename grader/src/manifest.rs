//! Stage 1: read `course.yaml` into a typed, validated course.
//!
//! Errors name the file, the line and the field, so an author can go straight to the
//! mistake. Nothing here knows any kata by name.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// The manifest file's name at the course root.
pub const MANIFEST_FILE: &str = "course.yaml";
/// The only schema this grader reads.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Course {
    pub schema: u32,
    pub course: String,
    #[serde(default)]
    pub source: Option<String>,
    /// Which edition of the course this is: the full course (the default), or the
    /// student edition `grader export student` writes, whose only suites are the visible
    /// tests.
    #[serde(default)]
    pub edition: Edition,
    #[serde(default)]
    pub defaults: Defaults,
    /// Dependency name → TOML value (as text) that every kata crate is built with.
    #[serde(default)]
    pub kata_dependencies: BTreeMap<String, String>,
    /// Dependency name → TOML value (as text) that every hidden test crate may use.
    #[serde(default)]
    pub hidden_dependencies: BTreeMap<String, String>,
    pub katas: Vec<Kata>,
    /// Where the manifest was read from; set by [`load`].
    #[serde(skip)]
    pub root: PathBuf,
}

/// Which edition of the course a manifest describes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Edition {
    /// The course as its authors keep it: hidden suites, solutions, mutants.
    #[default]
    Full,
    /// What students get (`grader export student`): each kata's one suite is its visible
    /// tests, so a grade here is not the course's grade.
    Student,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Wall-clock limit of one hidden test.
    #[serde(default = "default_time_limit")]
    pub time_limit_secs: u64,
    /// Wall-clock limit of one cargo build of the hidden suites.
    #[serde(default = "default_build_time_limit")]
    pub build_time_limit_secs: u64,
    /// Resource limits of one hidden test's process.
    #[serde(default)]
    pub limits: Limits,
}

/// Resource limits of a test's process; a kata's `limits` overrides any of them.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Address space of each process (RLIMIT_AS), in MiB.
    pub memory_mib: u64,
    /// Processes and threads of the test's user at once (RLIMIT_NPROC; enforced when the
    /// test runs as a user of its own, i.e. when the grader is root).
    pub processes: u64,
    /// Open file descriptors (RLIMIT_NOFILE).
    pub open_files: u64,
    /// Largest file the test may write (RLIMIT_FSIZE), in MiB.
    pub file_size_mib: u64,
    /// Output kept of each of stdout and stderr, in KiB; a test that prints more fails.
    pub output_kib: u64,
    /// CPU time of all its threads together (RLIMIT_CPU), in seconds; by default twice
    /// the wall-clock limit, plus one.
    pub cpu_secs: Option<u64>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            memory_mib: 2048,
            processes: 512,
            open_files: 1024,
            file_size_mib: 256,
            output_kib: 1024,
            cpu_secs: None,
        }
    }
}

/// A kata's overrides of the course's limits: any subset.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    pub memory_mib: Option<u64>,
    pub processes: Option<u64>,
    pub open_files: Option<u64>,
    pub file_size_mib: Option<u64>,
    pub output_kib: Option<u64>,
    pub cpu_secs: Option<u64>,
}

impl Default for Defaults {
    fn default() -> Defaults {
        Defaults {
            time_limit_secs: default_time_limit(),
            build_time_limit_secs: default_build_time_limit(),
            limits: Limits::default(),
        }
    }
}

fn default_time_limit() -> u64 {
    60
}

fn default_build_time_limit() -> u64 {
    900
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kata {
    pub id: String,
    pub title: String,
    /// The course section's Chinese title.
    pub section: String,
    pub hints: Vec<String>,
    /// The same hints in Chinese, level for level (`grader dev check` holds them to it).
    #[serde(default)]
    pub hints_zh: Vec<String>,
    /// The git blob id of `exercises/<id>/src/lib.rs` as the course ships it: how the
    /// grader knows an untouched stub ("not started") and gets it back for `reset`.
    /// `grader dev check` says when it no longer matches the exercise.
    #[serde(default)]
    pub stub: Option<String>,
    #[serde(default)]
    pub time_limit_secs: Option<u64>,
    #[serde(default)]
    pub limits: LimitOverrides,
    pub suites: Vec<Suite>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Also the hidden test file's stem: `grader/hidden/<kata>/<name>.rs`.
    pub name: String,
    pub checker: Checker,
    /// Points for each test of the suite.
    pub points: u32,
    #[serde(default)]
    pub time_limit_secs: Option<u64>,
    /// When a student sees this suite's results on Gradescope (`after_published` unless
    /// course.yaml says otherwise). Other reports show every result.
    #[serde(default)]
    pub visibility: Visibility,
    pub tests: Vec<String>,
}

/// When Gradescope shows a test's result to the student, in Gradescope's own words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Always.
    Visible,
    /// Once the assignment's due date (or its late due date) has passed.
    AfterDueDate,
    /// Once the instructor publishes the grades: hidden tests stay hidden while students
    /// can still resubmit.
    #[default]
    AfterPublished,
    /// Never.
    Hidden,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::AfterDueDate => "after_due_date",
            Visibility::AfterPublished => "after_published",
            Visibility::Hidden => "hidden",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Checker {
    Loom,
    Prop,
    Proc,
    Stress,
}

impl Checker {
    pub fn as_str(self) -> &'static str {
        match self {
            Checker::Loom => "loom",
            Checker::Prop => "prop",
            Checker::Proc => "proc",
            Checker::Stress => "stress",
        }
    }
}

impl fmt::Display for Checker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Course {
    pub fn kata(&self, id: &str) -> Option<&Kata> {
        self.katas.iter().find(|k| k.id == id)
    }

    pub fn hidden_dir(&self) -> PathBuf {
        self.root.join("grader").join("hidden")
    }

    pub fn hidden_file(&self, kata: &Kata, suite: &Suite) -> PathBuf {
        self.hidden_dir()
            .join(&kata.id)
            .join(format!("{}.rs", suite.name))
    }

    /// The limits a test of `kata` runs under.
    pub fn limits(&self, kata: &Kata) -> Limits {
        let base = self.defaults.limits;
        let o = kata.limits;
        Limits {
            memory_mib: o.memory_mib.unwrap_or(base.memory_mib),
            processes: o.processes.unwrap_or(base.processes),
            open_files: o.open_files.unwrap_or(base.open_files),
            file_size_mib: o.file_size_mib.unwrap_or(base.file_size_mib),
            output_kib: o.output_kib.unwrap_or(base.output_kib),
            cpu_secs: o.cpu_secs.or(base.cpu_secs),
        }
    }

    pub fn time_limit_secs(&self, kata: &Kata, suite: &Suite) -> u64 {
        suite
            .time_limit_secs
            .or(kata.time_limit_secs)
            .unwrap_or(self.defaults.time_limit_secs)
    }
}

impl Kata {
    /// The hints in `lang`, or the English ones where that language has none.
    pub fn hints_in(&self, lang: crate::lang::Lang) -> &[String] {
        match lang {
            crate::lang::Lang::Zh if !self.hints_zh.is_empty() => &self.hints_zh,
            _ => &self.hints,
        }
    }

    pub fn max_points(&self) -> u32 {
        self.suites
            .iter()
            .map(|s| s.points * s.tests.len() as u32)
            .sum()
    }
}

/// What went wrong reading the manifest: the file, where, and what.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ManifestError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// Reads and validates `<root>/course.yaml`.
pub fn load(root: &Path) -> Result<Course, ManifestError> {
    let file = root.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&file).map_err(|e| ManifestError {
        file: file.clone(),
        line: None,
        message: format!("cannot read the course manifest: {e}"),
    })?;
    parse(&text, &file, root)
}

/// Parses manifest text; `file` is used in messages only.
pub fn parse(text: &str, file: &Path, root: &Path) -> Result<Course, ManifestError> {
    let mut course: Course = serde_norway::from_str(text).map_err(|e| ManifestError {
        file: file.to_path_buf(),
        line: e.location().map(|l| l.line()),
        // serde_norway's message already names the field path (e.g. `katas[0].suites[1]`);
        // drop its own " at line L column C" since the line is in front.
        message: strip_location(&e.to_string()),
    })?;
    course.root = root.to_path_buf();
    validate(&course, text, file)?;
    Ok(course)
}

fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// The 1-based line of the first `id: <kata>` entry, so that errors found after parsing
/// can still point at the kata they are about.
fn line_of_kata(text: &str, id: &str) -> Option<usize> {
    text.lines()
        .position(|line| {
            let line = line.trim_start().trim_start_matches("- ").trim();
            line.strip_prefix("id:")
                .map(|rest| rest.trim().trim_matches(['"', '\'']) == id)
                .unwrap_or(false)
        })
        .map(|i| i + 1)
}

fn validate(course: &Course, text: &str, file: &Path) -> Result<(), ManifestError> {
    let fail = |line: Option<usize>, message: String| ManifestError {
        file: file.to_path_buf(),
        line,
        message,
    };
    if course.schema != SCHEMA {
        return Err(fail(
            None,
            format!(
                "schema: this grader reads schema {SCHEMA}, the manifest says {}",
                course.schema
            ),
        ));
    }
    if course.katas.is_empty() {
        return Err(fail(None, "katas: the course has no katas".into()));
    }
    if course.defaults.time_limit_secs == 0 {
        return Err(fail(
            None,
            "defaults.time_limit_secs: must be at least 1".into(),
        ));
    }
    let mut ids = HashSet::new();
    let mut suite_names = HashSet::new();
    for (k, kata) in course.katas.iter().enumerate() {
        let line = line_of_kata(text, &kata.id);
        let at = |field: &str| format!("katas[{k}] ({}).{field}", kata.id);
        if !is_crate_name(&kata.id) {
            return Err(fail(
                line,
                format!(
                    "{}: `{}` is not a valid crate name (lowercase letters, digits, _)",
                    at("id"),
                    kata.id
                ),
            ));
        }
        if !ids.insert(kata.id.as_str()) {
            return Err(fail(
                line,
                format!("{}: kata `{}` is listed twice", at("id"), kata.id),
            ));
        }
        if kata.hints.len() < 2 {
            return Err(fail(
                line,
                format!("{}: a kata needs at least two hint levels", at("hints")),
            ));
        }
        if let Some(stub) = &kata.stub {
            if !crate::stub::is_blob_id(stub) {
                return Err(fail(
                    line,
                    format!(
                        "{}: `{stub}` is not a git blob id (40 lowercase hex digits)",
                        at("stub")
                    ),
                ));
            }
        }
        if kata.time_limit_secs == Some(0) {
            return Err(fail(
                line,
                format!("{}: must be at least 1", at("time_limit_secs")),
            ));
        }
        if kata.suites.is_empty() {
            return Err(fail(
                line,
                format!("{}: a kata needs at least one hidden suite", at("suites")),
            ));
        }
        for (s, suite) in kata.suites.iter().enumerate() {
            let at = |field: &str| {
                format!(
                    "katas[{k}] ({}).suites[{s}] ({}).{field}",
                    kata.id, suite.name
                )
            };
            if !is_crate_name(&suite.name) {
                return Err(fail(
                    line,
                    format!(
                        "{}: `{}` is not a valid test target name",
                        at("name"),
                        suite.name
                    ),
                ));
            }
            // Suite names become test target names in one generated workspace, and the
            // build selects them by name: they must be unique course-wide.
            if !suite_names.insert(suite.name.as_str()) {
                return Err(fail(
                    line,
                    format!(
                        "{}: suite `{}` is used twice in the course",
                        at("name"),
                        suite.name
                    ),
                ));
            }
            if suite.tests.is_empty() {
                return Err(fail(
                    line,
                    format!("{}: a suite needs at least one test", at("tests")),
                ));
            }
            let mut seen = HashSet::new();
            for test in &suite.tests {
                if !seen.insert(test.as_str()) {
                    return Err(fail(
                        line,
                        format!("{}: test `{test}` is listed twice", at("tests")),
                    ));
                }
            }
            if suite.time_limit_secs == Some(0) {
                return Err(fail(
                    line,
                    format!("{}: must be at least 1", at("time_limit_secs")),
                ));
            }
            let hidden = course.hidden_file(kata, suite);
            if !hidden.is_file() {
                return Err(fail(
                    line,
                    format!(
                        "{}: the hidden test file {} does not exist",
                        at("name"),
                        hidden.display()
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn is_crate_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}
