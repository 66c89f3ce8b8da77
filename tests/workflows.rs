//! The CI workflows the course ships (GitHub Classroom's, and the example class matrix)
//! call the grader with arguments it must accept, and wire the reporter to the grader's
//! step: they cannot be run here, so what can be checked without GitHub is checked.

use clap::Parser;
use course_tests::root;
use grader::cli::Cli;
use serde_norway::Value;

/// Every `run:` script of every step of every job.
fn scripts(workflow: &Value) -> Vec<String> {
    let mut all = Vec::new();
    for (_, job) in workflow["jobs"].as_mapping().expect("jobs") {
        for step in job["steps"].as_sequence().expect("steps") {
            if let Some(run) = step["run"].as_str() {
                all.push(run.to_string());
            }
        }
    }
    all
}

/// The grader invocations in a script, as argument lists, with GitHub's `${{ … }}`
/// expressions replaced by a value of the kind they stand for.
fn grader_calls(script: &str) -> Vec<Vec<String>> {
    let mut calls = Vec::new();
    for command in script.split('\n') {
        let Some((_, rest)) = command.split_once("cargo run -q -p grader --") else {
            continue;
        };
        let mut text = rest.to_string();
        while let Some(start) = text.find("${{") {
            let end = text[start..].find("}}").expect("closed expression") + start + 2;
            let expr = &text[start + 3..end - 2];
            let value = if expr.contains("shard") || expr.contains("job-total") {
                "2"
            } else {
                "x"
            };
            text.replace_range(start..end, value);
        }
        let mut args = vec!["grader".to_string()];
        args.extend(
            text.split_whitespace()
                .map(|a| a.trim_matches('"').replace("$GITHUB_OUTPUT", "/tmp/out")),
        );
        calls.push(args);
    }
    calls
}

fn load(path: &str) -> Value {
    let text = std::fs::read_to_string(root().join(path)).unwrap();
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn the_shipped_workflows_call_the_grader_as_it_parses() {
    for path in ["grader/export/classroom.yml", "docs/ci/grade-class.yml"] {
        let workflow = load(path);
        let calls: Vec<Vec<String>> = scripts(&workflow)
            .iter()
            .flat_map(|s| grader_calls(s))
            .collect();
        assert!(!calls.is_empty(), "{path} never calls the grader");
        for args in calls {
            if let Err(e) = Cli::try_parse_from(&args) {
                panic!("{path}: `{}` does not parse:\n{e}", args.join(" "));
            }
        }
    }
}

#[test]
fn the_classroom_reporter_reads_the_graders_step() {
    let workflow = load("grader/export/classroom.yml");
    let job = &workflow["jobs"]["run-autograding-tests"];
    // The reporter looks its check run up by this name.
    assert_eq!(job["name"].as_str(), Some("Autograding Tests"));
    let steps = job["steps"].as_sequence().unwrap();
    let grader = steps
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("--github-classroom \"$GITHUB_OUTPUT\""))
        })
        .expect("a step writes the payload to $GITHUB_OUTPUT");
    let id = grader["id"].as_str().expect("the grading step has an id");
    let reporter = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.contains("autograding-grading-reporter"))
        })
        .expect("the reporter step");
    // autograding-grading-reporter reads `<RUNNER>_RESULTS` for each runner it is given.
    assert_eq!(reporter["with"]["runners"].as_str(), Some(id));
    let env = format!("{}_RESULTS", id.to_uppercase());
    assert_eq!(
        reporter["env"][env.as_str()].as_str(),
        Some(format!("${{{{ steps.{id}.outputs.result }}}}").as_str())
    );
    // It must report even when the grade fails (the payload then says `error`).
    assert_eq!(reporter["if"].as_str(), Some("always()"));
}
