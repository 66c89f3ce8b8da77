//! Gradescope's autograder `results.json`: one entry per hidden test, each with its
//! suite's visibility from course.yaml, and a summary for the student on top.
//!
//! The format is Gradescope's "Autograder Specifications" (results.json): `score`,
//! `output` and `tests[]` with `score`, `max_score`, `status`, `name`, `number`,
//! `output`, `tags` and `visibility` (`visible`, `after_due_date`, `after_published`,
//! `hidden`). The top-level output is shown to the student at once, so it says only what
//! the tests' visibility lets it say: a kata whose tests are not all visible gets no
//! points and no test names there.

use super::{KataResult, KataState, Report, TestResult};
use crate::manifest::Visibility;
use crate::verdict::Status;
use serde_json::json;

pub fn gradescope(report: &Report) -> String {
    let tests: Vec<_> = report
        .tests
        .iter()
        .map(|t| {
            json!({
                "name": format!("{} {}", t.kata, t.name),
                "number": t.kata,
                "score": t.points,
                "max_score": t.max,
                "status": if t.status == Status::Pass { "passed" } else { "failed" },
                "output": if t.message.is_empty() { t.status.as_str().to_string() } else { format!("{}: {}", t.status.as_str(), t.message) },
                "tags": [t.checker.as_str()],
                "visibility": t.visibility.as_str(),
            })
        })
        .collect();
    let doc = json!({
        "score": report.points,
        "output": summary(report),
        "tests": tests,
    });
    serde_json::to_string_pretty(&doc).expect("serialises")
}

/// The admission message of a kata the submission does not have (see `admit`).
const MISSING: &str = "the submission has no ";

/// What the student reads at the top of the results: one line per kata, saying no more
/// than the visibility of its tests allows.
fn summary(report: &Report) -> String {
    let width = report.katas.iter().map(|k| k.id.len()).max().unwrap_or(0);
    let mut out = format!("{}\n", report.course);
    let mut found = 0;
    for kata in &report.katas {
        let tests: Vec<&TestResult> = report.tests.iter().filter(|t| t.kata == kata.id).collect();
        let missing = kata.state == KataState::NotStarted
            && tests.iter().any(|t| t.message.starts_with(MISSING));
        if !missing {
            found += 1;
        }
        out += &format!(
            "  {:width$}  {}\n",
            kata.id,
            kata_line(kata, &tests, missing)
        );
    }
    if found == 0 && !report.katas.is_empty() {
        out += "\nNo kata was found in your upload. Upload the whole repository, or its \
                exercises/ folder: each kata as <kata>/src/lib.rs.\n";
    }
    out
}

fn kata_line(kata: &KataResult, tests: &[&TestResult], missing: bool) -> String {
    if missing {
        return "not in your upload".into();
    }
    if let Some(t) = tests.iter().find(|t| t.status == Status::CompileError) {
        // About the student's own code (or its use of the kata's API): they must know at
        // once, whatever the tests' visibility.
        let first = t.message.lines().next().unwrap_or("");
        return format!("does not compile: {first}");
    }
    if tests.iter().all(|t| t.status == Status::NotRun) {
        return "not started (still the stub)".into();
    }
    let shown: Vec<&&TestResult> = tests
        .iter()
        .filter(|t| t.visibility == Visibility::Visible)
        .collect();
    let later = tests
        .iter()
        .map(|t| t.visibility)
        .filter(|v| *v != Visibility::Visible)
        .max_by_key(|v| match v {
            Visibility::Visible => 0,
            Visibility::AfterDueDate => 1,
            Visibility::AfterPublished => 2,
            Visibility::Hidden => 3,
        });
    let when = match later {
        None => {
            return format!(
                "{}/{} points: {} of {} tests pass",
                kata.points, kata.max, kata.passed, kata.tests
            )
        }
        Some(Visibility::AfterDueDate) => "after the due date",
        Some(Visibility::Hidden) => "to your instructor only",
        Some(_) => "when your instructor publishes the grades",
    };
    if shown.is_empty() {
        format!("graded; its results are shown {when}")
    } else {
        let points: u32 = shown.iter().map(|t| t.points).sum();
        let max: u32 = shown.iter().map(|t| t.max).sum();
        let passed = shown.iter().filter(|t| t.status == Status::Pass).count();
        format!(
            "{points}/{max} points of its visible tests ({passed} of {} pass); the others are shown {when}",
            shown.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;
    use crate::report::{Protections, SCHEMA_VERSION};
    use std::path::{Path, PathBuf};

    /// Two katas of the real course (their hidden files must exist): one suite that sets
    /// its visibility, one that leaves the default.
    const COURSE: &str = "\
schema: 1
course: Test course
katas:
  - id: sing_dance
    title: Sing
    section: s
    hints: [one, two]
    suites:
      - name: sing_dance_stress
        checker: stress
        points: 1
        visibility: visible
        tests: [first, second]
  - id: fork_basics
    title: Fork
    section: f
    hints: [one, two]
    suites:
      - name: fork_basics_proc
        checker: proc
        points: 2
        tests: [third]
";

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn result(course: &manifest::Course, kata: &str, test: &str, pass: bool) -> TestResult {
        let suite = &course.kata(kata).unwrap().suites[0];
        TestResult {
            name: format!("{}::{test}", suite.name),
            kata: kata.into(),
            suite: suite.name.clone(),
            checker: suite.checker,
            points: if pass { suite.points } else { 0 },
            max: suite.points,
            status: if pass { Status::Pass } else { Status::Fail },
            message: if pass {
                String::new()
            } else {
                "secret detail".into()
            },
            duration_ms: 1,
            time_limit_secs: 60,
            visibility: suite.visibility,
        }
    }

    fn kata(id: &str, points: u32, max: u32, passed: usize, tests: usize) -> KataResult {
        KataResult {
            id: id.into(),
            title: id.into(),
            section: id.into(),
            points,
            max,
            passed,
            tests,
            state: KataState::Started,
            limits: manifest::Limits::default(),
        }
    }

    #[test]
    fn each_test_carries_its_suites_visibility_and_the_summary_hides_what_it_must() {
        let course = manifest::parse(COURSE, Path::new("course.yaml"), &root()).unwrap();
        assert_eq!(course.katas[0].suites[0].visibility, Visibility::Visible);
        assert_eq!(
            course.katas[1].suites[0].visibility,
            Visibility::AfterPublished,
            "the default for hidden tests"
        );
        let report = Report {
            schema_version: SCHEMA_VERSION,
            course: course.course.clone(),
            submission: "s".into(),
            points: 1,
            max: 4,
            protections: Protections {
                namespaces: true,
                test_user: "own-uid",
                note: None,
            },
            katas: vec![
                kata("sing_dance", 1, 2, 1, 2),
                kata("fork_basics", 0, 2, 0, 1),
            ],
            tests: vec![
                result(&course, "sing_dance", "first", true),
                result(&course, "sing_dance", "second", false),
                result(&course, "fork_basics", "third", false),
            ],
        };
        let doc: serde_json::Value = serde_json::from_str(&gradescope(&report)).unwrap();
        let visibility: Vec<&str> = doc["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["visibility"].as_str().unwrap())
            .collect();
        assert_eq!(visibility, ["visible", "visible", "after_published"]);
        assert_eq!(doc["tests"][2]["output"], "fail: secret detail");
        assert_eq!(doc["score"], 1);
        let output = doc["output"].as_str().unwrap();
        assert!(
            output.contains("sing_dance   1/2 points: 1 of 2 tests pass"),
            "{output}"
        );
        assert!(
            output.contains("fork_basics  graded; its results are shown when your instructor publishes the grades"),
            "{output}"
        );
        assert!(!output.contains("secret"), "{output}");
    }

    #[test]
    fn an_unknown_visibility_is_refused_with_its_line() {
        let text = COURSE.replace("visibility: visible", "visibility: sometimes");
        let e = manifest::parse(&text, Path::new("course.yaml"), &root()).unwrap_err();
        assert_eq!(e.line, Some(12), "{e}");
        assert!(e.message.contains("visibility"), "{e}");
    }
}
