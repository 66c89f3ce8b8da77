//! Stage 2: decide what runs: which katas, which hidden suites, against which submission.

use crate::manifest::{Checker, Course, Kata, Suite};
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
    /// `<submission>/<kata>/src`, or why it cannot be graded.
    pub src: Result<PathBuf, String>,
    /// Why the source is refused before building (see [`crate::source_audit`]).
    pub refused: Option<String>,
    pub suites: Vec<PlannedSuite>,
}

#[derive(Debug, Clone)]
pub struct PlannedSuite {
    pub suite: Suite,
    pub file: PathBuf,
    pub time_limit_secs: u64,
    pub limits: crate::manifest::Limits,
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
}

/// Plans a grade of `only` (every kata when empty) from `source`.
pub fn plan(course: &Course, source: Source, only: &[String]) -> Result<Plan, PlanError> {
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
    let katas = course
        .katas
        .iter()
        .filter(|k| only.is_empty() || only.contains(&k.id))
        .map(|kata| {
            let src = find_src(&submission, &kata.id);
            let refusals = src.as_ref().map(|s| crate::source_audit::audit(s)).unwrap_or_default();
            let refused = (!refusals.is_empty()).then(|| {
                let places: Vec<String> = refusals.iter().map(|r| format!("  {r}")).collect();
                format!("refused before building: this code reads files outside its src/ while it is compiled\n{}", places.join("\n"))
            });
            PlannedKata {
            kata: kata.clone(),
            src,
            refused,
            suites: kata
                .suites
                .iter()
                .map(|suite| PlannedSuite {
                    suite: suite.clone(),
                    file: course.hidden_file(kata, suite),
                    time_limit_secs: course.time_limit_secs(kata, suite),
                    limits: course.limits(kata),
                })
                .collect(),
        }})
        .collect();
    Ok(Plan {
        source,
        submission,
        katas,
    })
}

fn find_src(submission: &Path, kata: &str) -> Result<PathBuf, String> {
    let src = submission.join(kata).join("src");
    if src.join("lib.rs").is_file() {
        Ok(src)
    } else {
        Err(format!(
            "the submission has no {}: nothing to grade for this kata",
            src.join("lib.rs").display()
        ))
    }
}
