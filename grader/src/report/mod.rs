//! Stage 6: one result model, many renderers. The model is also the JSON report; its
//! schema is versioned by [`SCHEMA_VERSION`] and documented in `docs/report-schema.md`.

mod gradescope;
mod junit;
mod markdown;
mod terminal;

pub use gradescope::gradescope;
pub use junit::junit;
pub use markdown::markdown;
pub use terminal::{terminal, TerminalOptions};

use crate::manifest::Checker;
use crate::run::Status;
use serde::Serialize;

/// Bumped on any change that could break a reader of the JSON report.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub course: String,
    /// `exercises`, `solutions`, or the submission directory graded.
    pub submission: String,
    pub points: u32,
    pub max: u32,
    /// Which walls stood around the tests (see the README's threat model).
    pub protections: crate::sandbox::Protections,
    pub katas: Vec<KataResult>,
    pub tests: Vec<TestResult>,
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
    /// The resource limits its tests ran under.
    pub limits: crate::manifest::Limits,
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
