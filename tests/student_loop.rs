//! The student's loop as a student meets it: a fresh clone's grade that says where to
//! start, a started kata's first failure, `list` from the last grade. (`reset` is in
//! tests/reset.rs; `watch` in grader/tests/watch.rs, through a real terminal.)

use course_tests::*;
use std::path::Path;

fn run_in(course: &Path, args: &[&str]) -> (i32, String, String) {
    cli_in(course, args)
}

fn run(args: &[&str]) -> (i32, String, String) {
    run_in(&root(), args)
}

#[test]
fn a_fresh_clone_grade_fits_one_screen_and_says_where_to_start() {
    let course = course();
    let work = scratch("loop-fresh");
    let json = work.join("fresh.json");
    let (code, out, err) = run(&[
        "grade",
        "-q",
        "--work-dir",
        &work.display().to_string(),
        "--json",
        &json.display().to_string(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.len() <= 40,
        "a fresh clone's grade takes {} lines:\n{out}",
        lines.len()
    );
    for kata in &course.katas {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!(" {} ", kata.id)) && l.ends_with("not started")),
            "`{}` does not read \"not started\":\n{out}",
            kata.id
        );
    }
    assert!(
        !out.contains("fail"),
        "a stub's failures are listed:\n{out}"
    );
    let first = &course.katas[0].id;
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with(&format!("Next: start with `{first}`")),
        "the grade does not end with where to start:\n{out}"
    );
    // Nothing was built or run for an untouched stub, and the report says why.
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for kata in report["katas"].as_array().unwrap() {
        assert_eq!(kata["state"], "not_started", "{kata}");
        assert_eq!(kata["points"], 0, "{kata}");
    }
    for test in report["tests"].as_array().unwrap() {
        assert_eq!(test["status"], "not-run", "{test}");
        assert!(
            test["message"]
                .as_str()
                .unwrap()
                .contains("is still the stub as shipped"),
            "{test}"
        );
    }
}

#[test]
fn a_started_kata_shows_its_first_failure_and_list_remembers_it() {
    let tree = scratch("loop-started-tree");
    let _ = std::fs::remove_dir_all(&tree);
    let work = scratch("loop-started-work");
    let _ = std::fs::remove_file(work.join(grader::standing::FILE));
    // The race stub with one line of the student's: started, every test still failing.
    let stub = std::fs::read_to_string(root().join("exercises/race/src/lib.rs")).unwrap();
    let edited = tree.join("race.rs");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(&edited, format!("{stub}\n// my first line\n")).unwrap();
    let submission = tree.join("submission");
    submission_tree(
        &submission,
        &[
            ("race", edited.as_path()),
            ("lock", root().join("exercises/lock/src/lib.rs").as_path()),
        ],
    );
    let (path, work_dir) = (submission.display().to_string(), work.display().to_string());
    let grade = |extra: &[&str]| {
        let mut args = vec![
            "grade",
            "-q",
            "--path",
            &path,
            "--work-dir",
            &work_dir,
            "--kata",
            "race",
            "--kata",
            "lock",
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (code, out, err) = grade(&[]);
    assert_eq!(code, 0, "{out}{err}");
    let tests = course()
        .kata("race")
        .unwrap()
        .suites
        .iter()
        .map(|s| s.tests.len())
        .sum::<usize>();
    assert!(
        out.contains(&format!("race: {tests} of {tests} tests fail; the first:")),
        "{out}"
    );
    assert_eq!(
        out.matches("  ✗ race ").count(),
        1,
        "`grade` lists more than the first failure:\n{out}"
    );
    assert!(
        out.contains(&format!("  {} more: `cargo grader check race`", tests - 1)),
        "{out}"
    );
    assert!(
        out.contains("· lock") && out.contains("not started"),
        "{out}"
    );
    assert!(out.contains("Next: `cargo grader check race`"), "{out}");

    let (_, verbose, _) = grade(&["--verbose"]);
    assert_eq!(
        verbose.matches("  ✗ race ").count(),
        tests,
        "--verbose does not list every failure:\n{verbose}"
    );

    let (code, listed, err) = run(&["list", "--path", &path, "--work-dir", &work_dir]);
    assert_eq!(code, 0, "{err}");
    let line = |kata: &str| {
        listed
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(kata))
            .unwrap_or_else(|| panic!("no line for {kata}:\n{listed}"))
            .to_string()
    };
    assert!(line("race").contains("✗ started"), "{listed}");
    assert!(!line("race").contains("edited since"), "{listed}");
    assert!(line("lock").contains("· not started"), "{listed}");
    assert!(line("sing_dance").contains("missing"), "{listed}");
    // An edit after the grade is seen.
    std::fs::write(
        submission.join("race/src/lib.rs"),
        format!("{stub}\n// my second line\n"),
    )
    .unwrap();
    let (_, listed, _) = run(&["list", "--path", &path, "--work-dir", &work_dir]);
    assert!(
        listed
            .lines()
            .any(|l| l.contains(" race ") && l.contains("started, edited since")),
        "{listed}"
    );
}

#[test]
fn the_grader_speaks_chinese_when_asked() {
    let work = scratch("loop-zh");
    let (code, out, err) = run(&[
        "--lang",
        "zh",
        "grade",
        "-q",
        "--work-dir",
        &work.display().to_string(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let first = &course().katas[0];
    assert!(out.contains("未开始"), "{out}");
    assert!(out.contains(&first.section), "{out}");
    assert!(out.contains("总分：0/"), "{out}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with(&format!("下一步：从 `{}` 开始", first.id)),
        "{out}"
    );
    let (code, hint, _) = run(&["--lang", "zh", "hint", &first.id]);
    assert_eq!(code, 0);
    assert!(hint.contains("提示 1/"), "{hint}");
    assert!(hint.contains(first.hints_zh[0].as_str()), "{hint}");
    let (_, listed, _) = run(&[
        "--lang",
        "zh",
        "list",
        "--work-dir",
        &work.display().to_string(),
    ]);
    assert!(
        listed.contains("进度") && listed.contains("未开始"),
        "{listed}"
    );
}

#[test]
fn a_correct_spinning_counter_is_inconclusive_not_failed() {
    let tree = scratch("loop-inconclusive-tree");
    submission_tree(
        &tree,
        &[(
            "race",
            root()
                .join("tests/inconclusive/race_spin_lock.rs")
                .as_path(),
        )],
    );
    let report = grade(
        grader::plan::Source::Path(tree),
        &["race".to_string()],
        "inconclusive",
    );
    for test in &report.tests {
        // The counter's loom models spin past loom's branch limit; the ticket office's
        // do not use the spin lock; the stress tests find the code correct.
        let spins = test.suite == "race_loom"
            && (test.name.contains("increment") || test.name.contains("count_in_parallel"));
        if spins {
            assert_eq!(
                test.status,
                grader::verdict::Status::Inconclusive,
                "{}: {}",
                test.name,
                test.message
            );
            assert!(test.message.contains("not a bug found"), "{}", test.message);
            assert_eq!(test.points, 0);
        } else {
            assert_eq!(
                test.status,
                grader::verdict::Status::Pass,
                "{}: {}",
                test.name,
                test.message
            );
        }
    }
}
