//! JUnit XML, for CI systems that display test results: one suite per kata.

use super::Report;
use crate::verdict::Status;
use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub fn junit(report: &Report) -> String {
    let mut junit = Junit::new(report.course.clone());
    for kata in &report.katas {
        let mut suite = TestSuite::new(kata.id.clone());
        for test in report.tests.iter().filter(|t| t.kata == kata.id) {
            let status = match test.status {
                Status::Pass => TestCaseStatus::success(),
                Status::NotRun | Status::Inconclusive => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(test.message.clone());
                    s
                }
                Status::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(test.message.lines().next().unwrap_or("").to_string())
                        .set_type(test.status.as_str())
                        .set_description(test.message.clone());
                    s
                }
                _ => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(test.message.lines().next().unwrap_or("").to_string())
                        .set_type(test.status.as_str())
                        .set_description(test.message.clone());
                    s
                }
            };
            let mut case = TestCase::new(test.name.clone(), status);
            case.set_classname(format!("{}.{}", test.kata, test.suite))
                .set_time(Duration::from_millis(test.duration_ms));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().expect("JUnit XML serialises")
}
