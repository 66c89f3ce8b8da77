//! Stage 7: verdicts times the manifest's points. Each test earns its suite's points when
//! it passes and nothing otherwise; a kata's score is the sum of its tests'.

use crate::admit::{Admission, AdmittedKata};
use crate::manifest::Course;
use crate::plan::Plan;
use crate::report::{KataResult, KataState, Protections, Report, TestResult, SCHEMA_VERSION};
use crate::run::TestRun;
use crate::verdict::Status;

pub fn score(
    course: &Course,
    plan: &Plan,
    admitted: &[AdmittedKata],
    protections: Protections,
    runs: Vec<TestRun>,
) -> Report {
    let visibility = |kata: &str, suite: &str| {
        course
            .kata(kata)
            .and_then(|k| k.suites.iter().find(|s| s.name == suite))
            .map(|s| s.visibility)
            .unwrap_or_default()
    };
    let tests: Vec<TestResult> = runs
        .into_iter()
        .map(|run| TestResult {
            visibility: visibility(&run.kata, &run.suite),
            name: format!("{}::{}", run.suite, run.test),
            kata: run.kata,
            suite: run.suite,
            checker: run.checker,
            points: if run.status == Status::Pass {
                run.points
            } else {
                0
            },
            max: run.points,
            status: run.status,
            message: run.message,
            duration_ms: run.duration.as_millis() as u64,
            time_limit_secs: run.time_limit_secs,
        })
        .collect();
    let katas = admitted
        .iter()
        .map(|admitted| {
            let planned = &admitted.planned;
            let mine = tests.iter().filter(|t| t.kata == planned.kata.id);
            let points: u32 = mine.clone().map(|t| t.points).sum();
            let max: u32 = mine.clone().map(|t| t.max).sum();
            let state = match admitted.admission {
                Admission::NotStarted(_) | Admission::Missing(_) => KataState::NotStarted,
                _ if points == max => KataState::Done,
                _ => KataState::Started,
            };
            KataResult {
                id: planned.kata.id.clone(),
                title: planned.kata.title.clone(),
                section: planned.kata.section.clone(),
                points,
                max,
                state,
                passed: mine.clone().filter(|t| t.status == Status::Pass).count(),
                tests: mine.count(),
                limits: course.limits(&planned.kata),
            }
        })
        .collect::<Vec<_>>();
    Report {
        schema_version: SCHEMA_VERSION,
        course: course.course.clone(),
        submission: plan.source.label(),
        points: katas.iter().map(|k| k.points).sum(),
        max: katas.iter().map(|k| k.max).sum(),
        protections,
        katas,
        tests,
    }
}
