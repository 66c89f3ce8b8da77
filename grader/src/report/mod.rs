//! Stage 6: one result model, many renderers. The model is also the JSON report; its
//! schema is versioned by [`SCHEMA_VERSION`] and documented in `docs/report-schema.md`.

mod classroom;
mod gradescope;
mod junit;
mod markdown;
mod terminal;

pub use classroom::{github_classroom, github_classroom_error};
pub use gradescope::gradescope;
pub use junit::junit;
pub use markdown::markdown;
pub use terminal::{colour_wanted, paint, terminal, TerminalOptions};

use crate::manifest::Checker;
use crate::verdict::Status;
use serde::Serialize;

/// Bumped on any change that could break a reader of the JSON report.
pub const SCHEMA_VERSION: u32 = 3;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub course: String,
    /// `exercises`, `solutions`, or the submission directory graded.
    pub submission: String,
    pub points: u32,
    pub max: u32,
    /// Which walls stood around the tests (see the README's threat model).
    pub protections: Protections,
    pub katas: Vec<KataResult>,
    pub tests: Vec<TestResult>,
}

/// Which walls stood around the tests, as the report tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Protections {
    /// PID and mount namespaces per test, the course hidden.
    pub namespaces: bool,
    /// Whose user the tests ran as: `own-uid` (a uid per run; the grader is root),
    /// `user-namespace` (a non-root user of a user namespace of its own) or `grader`.
    pub test_user: &'static str,
    /// What was missing and why, if anything was.
    pub note: Option<String>,
}

impl From<&crate::sandbox::Protections> for Protections {
    fn from(p: &crate::sandbox::Protections) -> Protections {
        use crate::sandbox::TestUser;
        Protections {
            namespaces: p.namespaces,
            test_user: match p.user {
                TestUser::PerRunUid => "own-uid",
                TestUser::UserNamespace => "user-namespace",
                TestUser::Grader => "grader",
            },
            note: p.note.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct KataResult {
    pub id: String,
    pub title: String,
    pub section: String,
    pub points: u32,
    pub max: u32,
    pub passed: usize,
    pub tests: usize,
    /// Where the student stands with it.
    pub state: KataState,
    /// The resource limits its tests ran under.
    pub limits: crate::manifest::Limits,
}

/// Where a student stands with a kata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KataState {
    /// Full marks.
    Done,
    /// The source is no longer the stub, and not every test passes.
    Started,
    /// The source is still the stub as shipped (or the submission has no such kata):
    /// nothing was built or run.
    NotStarted,
}

impl KataState {
    /// Its mark in a table: ✓, ✗ or ·.
    pub fn mark(self) -> &'static str {
        match self {
            KataState::Done => "✓",
            KataState::Started => "✗",
            KataState::NotStarted => "·",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// `<suite>::<test>`, unique within a kata.
    pub name: String,
    pub kata: String,
    pub suite: String,
    pub checker: Checker,
    pub points: u32,
    pub max: u32,
    pub status: Status,
    /// Why it did not pass, in the student's terms; empty on a pass.
    pub message: String,
    pub duration_ms: u64,
    /// The wall-clock limit it ran under.
    pub time_limit_secs: u64,
    /// When Gradescope shows it to the student: its suite's `visibility` in course.yaml.
    pub visibility: crate::manifest::Visibility,
}

impl Report {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("the report serialises")
    }

    pub fn kata(&self, id: &str) -> Option<&KataResult> {
        self.katas.iter().find(|k| k.id == id)
    }

    pub fn failures(&self) -> impl Iterator<Item = &TestResult> {
        self.tests.iter().filter(|t| t.status != Status::Pass)
    }
}
