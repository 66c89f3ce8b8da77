//! Where a student stands: each kata's points from the last grade or check of a
//! submission, kept in that submission's work directory (`standing.json`, under the
//! course's `target/`) for `grader list`. Each grade updates the katas it graded and
//! leaves the others as they were.

use crate::manifest::Kata;
use crate::report::{KataState, Report};
use crate::source::Sources;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

pub const FILE: &str = "standing.json";

/// One kata's last result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub points: u32,
    pub max: u32,
    pub state: KataState,
    /// [`Sources::id`] of the sources that earned it: `list` tells when they changed since.
    pub sources: String,
}

/// The standings kept in `work_dir`; none when there are none yet (or they cannot be read:
/// they are a convenience, never a verdict).
pub fn load(work_dir: &Path) -> BTreeMap<String, Standing> {
    std::fs::read(work_dir.join(FILE))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Merges `report`'s katas into the standings in `work_dir`. `sources` gives each graded
/// kata's [`Sources::id`]. Written whole (a sibling file, renamed into place).
pub fn record(
    work_dir: &Path,
    report: &Report,
    sources: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let mut all = load(work_dir);
    for kata in &report.katas {
        all.insert(
            kata.id.clone(),
            Standing {
                points: kata.points,
                max: kata.max,
                state: kata.state,
                sources: sources.get(&kata.id).cloned().unwrap_or_default(),
            },
        );
    }
    let json = serde_json::to_vec_pretty(&all).expect("standings serialise");
    std::fs::create_dir_all(work_dir)?;
    let tmp = work_dir.join(format!("{FILE}.tmp"));
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, work_dir.join(FILE))
}

/// Where a student stands with a kata now, without grading it: from its sources as they
/// are in `src` and its last standing, for `list` and `watch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Not started when `src/lib.rs` is missing or still the stub; else the last grade's
    /// state (started when there was none).
    pub state: KataState,
    /// The last grade's points (0 without one).
    pub points: u32,
    /// There is no `src/lib.rs`.
    pub missing: bool,
    /// Started, and never graded since it was.
    pub unchecked: bool,
    /// The sources changed since the last grade.
    pub edited: bool,
}

pub fn now(kata: &Kata, src: &Path, last: Option<&Standing>) -> Now {
    let sources = src
        .join("lib.rs")
        .is_file()
        .then(|| Sources::read(src).ok())
        .flatten();
    let not_started = Now {
        state: KataState::NotStarted,
        points: 0,
        missing: sources.is_none(),
        unchecked: false,
        edited: false,
    };
    let Some(sources) = sources else {
        return not_started;
    };
    if crate::stub::untouched(kata, &sources) {
        return not_started;
    }
    match last {
        None => Now {
            state: KataState::Started,
            unchecked: true,
            ..not_started
        },
        Some(last) => Now {
            // A kata graded while it was the stub has been started since.
            state: match last.state {
                KataState::NotStarted => KataState::Started,
                state => state,
            },
            points: last.points,
            edited: last.sources != sources.id(),
            ..not_started
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grade_updates_its_katas_and_keeps_the_others() {
        let dir = std::env::temp_dir().join(format!("standing-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let kata = |id: &str, points, state| crate::report::KataResult {
            id: id.into(),
            title: String::new(),
            section: String::new(),
            points,
            max: 9,
            passed: 0,
            tests: 3,
            state,
            limits: crate::manifest::Limits::default(),
        };
        let mut report = Report {
            schema_version: crate::report::SCHEMA_VERSION,
            course: String::new(),
            submission: String::new(),
            points: 0,
            max: 0,
            protections: crate::report::Protections {
                namespaces: true,
                test_user: "grader",
                note: None,
            },
            katas: vec![
                kata("race", 9, KataState::Done),
                kata("lock", 0, KataState::NotStarted),
            ],
            tests: vec![],
        };
        let ids = BTreeMap::from([("race".to_string(), "a".to_string())]);
        record(&dir, &report, &ids).unwrap();
        report.katas = vec![kata("lock", 3, KataState::Started)];
        record(&dir, &report, &BTreeMap::new()).unwrap();
        let all = load(&dir);
        assert_eq!(all["race"].state, KataState::Done);
        assert_eq!(all["race"].sources, "a");
        assert_eq!(all["lock"].points, 3);
        assert_eq!(all["lock"].state, KataState::Started);
        assert!(!dir.join(format!("{FILE}.tmp")).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
