//! End to end: the reference solutions earn full marks, the stubs earn nothing, and every
//! mutant is caught by exactly the tests its header names.

use course_tests::*;
use grader::plan::Source;
use grader::verdict::Status;
use std::path::PathBuf;

#[test]
fn solutions_earn_full_marks() {
    let course = course();
    let report = grade(Source::Solutions, &[], "solutions");
    print_scores("solutions", &report);
    assert_eq!(report.katas.len(), course.katas.len());
    for kata in &report.katas {
        assert_eq!(
            kata.points,
            kata.max,
            "the reference solution of {} lost points:\n{}",
            kata.id,
            describe(&report, &kata.id)
        );
    }
    assert!(report.max > 0);
    assert_eq!(report.points, report.max);
}

#[test]
fn stubs_earn_no_hidden_points() {
    let report = grade(Source::Exercises, &[], "stubs");
    print_scores("stubs", &report);
    for kata in &report.katas {
        assert_eq!(
            kata.points,
            0,
            "the stub of {} earned points:\n{}",
            kata.id,
            describe(&report, &kata.id)
        );
    }
    // A stub must compile: its failures are the student's work, not a build error.
    for test in &report.tests {
        assert_ne!(
            test.status,
            Status::CompileError,
            "the stub of {} does not compile: {}",
            test.kata,
            test.message
        );
        assert_ne!(
            test.status,
            Status::NotRun,
            "{} {} did not run: {}",
            test.kata,
            test.name,
            test.message
        );
    }
}

#[test]
fn every_kata_has_at_least_four_mutants() {
    let mutants = mutants();
    for kata in &course().katas {
        let n = mutants.get(&kata.id).map_or(0, Vec::len);
        assert!(
            n >= 4,
            "kata {} has {n} mutants in tests/mutants/{}; it needs at least 4",
            kata.id,
            kata.id
        );
    }
}

#[test]
fn every_mutant_is_caught_by_the_tests_that_name_its_bug() {
    let course = course();
    let mutants = mutants();
    for (kata, list) in &mutants {
        let k = course
            .kata(kata)
            .unwrap_or_else(|| panic!("tests/mutants/{kata} names no kata of course.yaml"));
        let known: Vec<String> = k
            .suites
            .iter()
            .flat_map(|s| s.tests.iter().map(move |t| format!("{}::{t}", s.name)))
            .collect();
        for m in list {
            assert!(
                !m.expect_fail.is_empty(),
                "{}: expect-fail is empty",
                m.file.display()
            );
            for t in m.expect_fail.iter().chain(&m.may_fail) {
                assert!(
                    known.contains(t),
                    "{}: its header names `{t}`, which is not a hidden test of {kata}",
                    m.file.display()
                );
            }
        }
    }
    // Round r grades the r-th mutant of every kata that has one: one build per round.
    // Rounds run two at a time: most of a round's time is spent waiting for mutants that
    // hang to reach their time limit, and no verdict depends on speed (more at once would
    // only crowd two cores further).
    let rounds = mutants.values().map(Vec::len).max().unwrap_or(0);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let wrong = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let round = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if round >= rounds {
                    break;
                }
                let this: Vec<&Mutant> = mutants.values().filter_map(|l| l.get(round)).collect();
                let tree = scratch(&format!("mutants-{round}")).join("tree");
                let libs: Vec<(&str, PathBuf)> = this
                    .iter()
                    .map(|m| (m.kata.as_str(), m.file.clone()))
                    .collect();
                let borrowed: Vec<(&str, &std::path::Path)> =
                    libs.iter().map(|(k, p)| (*k, p.as_path())).collect();
                submission_tree(&tree, &borrowed);
                let katas: Vec<String> = this.iter().map(|m| m.kata.clone()).collect();
                let report = grade(Source::Path(tree), &katas, &format!("mutants-{round}"));
                print_scores(&format!("mutants-{round}"), &report);
                for m in this {
                    let failed = failing(&report, &m.kata);
                    if !m.agrees_with(&failed) {
                        wrong.lock().unwrap().push(format!(
                            "mutant {}/{}: expected to fail exactly {:?} (and maybe {:?})\n  but failed {:?}\n{}",
                            m.kata,
                            m.name,
                            m.expect_fail,
                            m.may_fail,
                            failed,
                            describe(&report, &m.kata)
                        ));
                    }
                    for t in report
                        .tests
                        .iter()
                        .filter(|t| t.kata == m.kata && t.status == Status::CompileError)
                    {
                        wrong.lock().unwrap().push(format!(
                            "mutant {}/{} does not compile: {}",
                            m.kata, m.name, t.message
                        ));
                    }
                }
            });
        }
    });
    let wrong = wrong.into_inner().unwrap();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
