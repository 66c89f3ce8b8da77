//! Stage 2: decide what runs: which katas, which hidden suites, against which submission,
//! with which time limits. The suites' test lists are checked against the suite files
//! here, from their source: course.yaml and the hidden tests must agree before anything
//! is built.

use crate::manifest::{Checker, Course, Kata, Limits, Suite};
use std::path::{Path, PathBuf};

/// Where the code under grade comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The course's own `exercises/` (what a student edits).
    Exercises,
    /// The course's reference `solutions/` (what an author checks).
    Solutions,
    /// Any tree laid out like `exercises/`: `<dir>/<kata>/src/lib.rs`.
    Path(PathBuf),
}

impl Source {
    pub fn dir(&self, course: &Course) -> PathBuf {
        match self {
            Source::Exercises => course.root.join("exercises"),
            Source::Solutions => course.root.join("solutions"),
            Source::Path(p) => p.clone(),
        }
    }

    /// A short name for the work directory and the report.
    pub fn label(&self) -> String {
        match self {
            Source::Exercises => "exercises".into(),
            Source::Solutions => "solutions".into(),
            Source::Path(p) => p.display().to_string(),
        }
    }
}

/// How to plan, beyond what.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    /// Caps every test's wall-clock limit (seconds), e.g. for a quick run.
    pub max_time_limit: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub source: Source,
    /// The submission directory, made absolute.
    pub submission: PathBuf,
    pub katas: Vec<PlannedKata>,
}

#[derive(Debug, Clone)]
pub struct PlannedKata {
    pub kata: Kata,
    /// `<submission>/<kata>`: where its `src/` should be.
    pub dir: PathBuf,
    pub suites: Vec<PlannedSuite>,
}

#[derive(Debug, Clone)]
pub struct PlannedSuite {
    pub suite: Suite,
    pub file: PathBuf,
    pub time_limit_secs: u64,
    pub limits: Limits,
}

impl PlannedSuite {
    pub fn is_loom(&self) -> bool {
        self.suite.checker == Checker::Loom
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the submission directory {} does not exist", .0.display())]
    NoSubmission(PathBuf),
    #[error("{} is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("no kata named `{name}` in {manifest}; the katas are: {known}")]
    UnknownKata {
        name: String,
        manifest: String,
        known: String,
    },
    /// course.yaml and a hidden suite file disagree (a course authoring error).
    #[error("{}:{line}: {what} (a course authoring error)", file.display())]
    Authoring {
        file: PathBuf,
        line: usize,
        what: String,
    },
}

/// Plans a grade of `only` (every kata when empty) from `source`.
pub fn plan(
    course: &Course,
    source: Source,
    only: &[String],
    options: PlanOptions,
) -> Result<Plan, PlanError> {
    let dir = source.dir(course);
    if !dir.exists() {
        return Err(PlanError::NoSubmission(dir));
    }
    if !dir.is_dir() {
        return Err(PlanError::NotADirectory(dir));
    }
    let submission = std::fs::canonicalize(&dir).unwrap_or(dir);
    for name in only {
        if course.kata(name).is_none() {
            return Err(PlanError::UnknownKata {
                name: name.clone(),
                manifest: course
                    .root
                    .join(crate::manifest::MANIFEST_FILE)
                    .display()
                    .to_string(),
                known: course
                    .katas
                    .iter()
                    .map(|k| k.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
    }
    let mut katas = Vec::new();
    for kata in course
        .katas
        .iter()
        .filter(|k| only.is_empty() || only.contains(&k.id))
    {
        let mut suites = Vec::new();
        for suite in &kata.suites {
            let file = course.hidden_file(kata, suite);
            check_suite_file(&file, suite)?;
            let mut time_limit_secs = course.time_limit_secs(kata, suite);
            if let Some(cap) = options.max_time_limit {
                time_limit_secs = time_limit_secs.min(cap.max(1));
            }
            suites.push(PlannedSuite {
                suite: suite.clone(),
                file,
                time_limit_secs,
                limits: course.limits(kata),
            });
        }
        katas.push(PlannedKata {
            kata: kata.clone(),
            dir: submission.join(&kata.id),
            suites,
        });
    }
    Ok(Plan {
        source,
        submission,
        katas,
    })
}

/// The suite file must declare exactly the tests course.yaml lists, in that order, each
/// through `hidden_test!` (a bare `#[test]` would never prove a pass).
pub fn check_suite_file(file: &Path, suite: &Suite) -> Result<(), PlanError> {
    let authoring = |line: usize, what: String| PlanError::Authoring {
        file: file.to_path_buf(),
        line,
        what,
    };
    let text = std::fs::read_to_string(file).map_err(|e| {
        authoring(
            0,
            format!(
                "course.yaml lists the suite `{}`, but its file cannot be read: {e}",
                suite.name
            ),
        )
    })?;
    let declared = crate::source::suite::declarations(&text);
    if let Some(&line) = declared.bare_tests.first() {
        return Err(authoring(
            line,
            "a bare #[test]: hidden tests are declared with kata_harness::hidden_test!".into(),
        ));
    }
    for (i, listed) in suite.tests.iter().enumerate() {
        match declared.tests.get(i) {
            Some(d) if &d.name == listed => {}
            Some(d) => {
                let what = if declared.tests.iter().any(|t| &t.name == listed) {
                    format!(
                        "`{}` comes here, but course.yaml lists `{listed}` next: the order must be \
                         the same",
                        d.name
                    )
                } else {
                    format!("course.yaml lists `{listed}`, but the file has no such hidden test")
                };
                return Err(authoring(d.line, what));
            }
            None => {
                return Err(authoring(
                    declared.tests.last().map(|d| d.line).unwrap_or(1),
                    format!("course.yaml lists `{listed}`, but the file has no such hidden test"),
                ))
            }
        }
    }
    if let Some(extra) = declared.tests.get(suite.tests.len()) {
        return Err(authoring(
            extra.line,
            format!(
                "hidden test `{}` is not listed under suite `{}` in course.yaml, so it would never run",
                extra.name, suite.name
            ),
        ));
    }
    Ok(())
}
