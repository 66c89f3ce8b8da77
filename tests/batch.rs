//! `grader batch` and `grader merge`: a class graded into one gradebook, in shards, with
//! re-runs that skip what has not changed and rows that fail alone.

use course_tests::{cli_in, root, scratch};
use std::fs;
use std::path::Path;

fn put(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
}

fn solution(kata: &str) -> String {
    fs::read_to_string(root().join("solutions").join(kata).join("src/lib.rs")).unwrap()
}

/// Five students, each a way a class hands work in.
fn class(dir: &Path) {
    let _ = fs::remove_dir_all(dir);
    let sing = solution("sing_dance");
    let never_reaps =
        fs::read_to_string(root().join("tests/mutants/fork_basics/never_reaps_child.rs")).unwrap();
    // A whole repository: one kata right, one with a bug.
    put(&dir.join("alice/exercises/sing_dance/src/lib.rs"), &sing);
    put(
        &dir.join("alice/exercises/fork_basics/src/lib.rs"),
        &never_reaps,
    );
    put(&dir.join("alice/README.md"), "not part of the grade\n");
    // Just the exercises folder, inside one folder of its own (an archive of a folder).
    put(
        &dir.join("bob/handin/fork_basics/src/lib.rs"),
        &solution("fork_basics"),
    );
    // What macOS adds to a zip of a folder does not count as a second folder.
    put(&dir.join("bob/__MACOSX/handin/._lib.rs"), "resource fork");
    // Alice's kata again, comments added: a pair to look at.
    put(
        &dir.join("carol/exercises/sing_dance/src/lib.rs"),
        &format!(
            "// my own work\n{}",
            sing.replace("// Both threads", "// both threads")
        ),
    );
    // Nothing that looks like the exercises.
    put(&dir.join("dave/notes.txt"), "I did not do it\n");
    // Does not compile: costs only this row.
    put(
        &dir.join("eve/exercises/sing_dance/src/lib.rs"),
        "pub fn run_both( {\n",
    );
    // Not a student.
    put(&dir.join(".git/HEAD"), "ref: refs/heads/main\n");
}

fn batch(submissions: &Path, out: &Path, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "batch",
        submissions.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--kata",
        "sing_dance",
        "--kata",
        "fork_basics",
    ];
    args.extend_from_slice(extra);
    cli_in(&root(), &args)
}

fn merge(shards: &[&Path], out: &Path) -> (i32, String, String) {
    let mut args = vec!["merge".to_string()];
    args.extend(shards.iter().map(|s| s.display().to_string()));
    args.extend(["--out".to_string(), out.display().to_string()]);
    cli_in(
        &root(),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
}

fn csv_rows(file: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::Reader::from_path(file).unwrap();
    let mut rows = vec![reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect()];
    for record in reader.records() {
        rows.push(record.unwrap().iter().map(str::to_string).collect());
    }
    rows
}

#[test]
fn a_class_in_shards_merges_into_one_gradebook_and_reruns_skip_what_did_not_change() {
    let dir = scratch("batch");
    let submissions = dir.join("submissions");
    class(&submissions);
    let (one, two, merged) = (dir.join("shard-1"), dir.join("shard-2"), dir.join("merged"));
    for d in [&one, &two, &merged] {
        let _ = fs::remove_dir_all(d);
    }

    // Shard 1/2 is alice, carol, eve (every second student in name order, from the first).
    let (code, out, err) = batch(&submissions, &one, &["--shard", "1/2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("3 submission(s) (shard 1/2 of 5): 3 graded now"),
        "{out}"
    );
    let (code, out, err) = batch(&submissions, &two, &["--shard", "2/2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 submission(s) (shard 2/2 of 5): 2 graded now"),
        "{out}"
    );

    // An incomplete set of shards is refused, and so is a shard given twice.
    let (code, _, err) = merge(&[&one], &merged);
    assert_eq!(code, 2);
    assert!(err.contains("shard(s) 2/2 missing"), "{err}");
    let (code, _, err) = merge(&[&one, &one], &merged);
    assert_eq!(code, 2);
    assert!(err.contains("given twice"), "{err}");

    let (code, out, err) = merge(&[&two, &one], &merged);
    assert_eq!(code, 0, "{out}{err}");
    let course = course_tests::course();
    let max = |k: &str| course.kata(k).unwrap().max_points().to_string();
    let rows = csv_rows(&merged.join("grades.csv"));
    assert_eq!(
        rows[0],
        [
            "student",
            "sing_dance",
            "fork_basics",
            "total",
            "max",
            "status"
        ]
    );
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["alice", "bob", "carol", "dave", "eve"]);
    let row = |name: &str| rows.iter().find(|r| r[0] == name).unwrap().clone();
    let total = (max("sing_dance").parse::<u32>().unwrap()
        + max("fork_basics").parse::<u32>().unwrap())
    .to_string();

    let alice = row("alice");
    assert_eq!(alice[1], max("sing_dance"), "{alice:?}");
    let alice_fork: u32 = alice[2].parse().unwrap();
    assert!(
        alice_fork < max("fork_basics").parse().unwrap(),
        "the mutant lost points: {alice:?}"
    );
    assert_eq!(alice[4], total);
    assert_eq!(alice[5], "graded");
    let bob = row("bob");
    assert_eq!(
        (bob[1].as_str(), bob[2].clone()),
        ("0", max("fork_basics")),
        "{bob:?}"
    );
    assert_eq!(row("carol")[1], max("sing_dance"));
    let dave = row("dave");
    assert!(
        dave[5].starts_with("no-submission: no exercises/"),
        "{dave:?}"
    );
    assert_eq!(dave[3], "");
    let eve = row("eve");
    assert_eq!(
        (eve[1].as_str(), eve[3].as_str(), eve[5].as_str()),
        ("0", "0", "graded"),
        "{eve:?}"
    );

    // Each graded student's own reports agree with the gradebook.
    let report: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(merged.join("students/alice/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["points"].to_string(), alice[3]);
    assert!(merged.join("students/alice/report.md").is_file());
    let eve_report = fs::read_to_string(merged.join("students/eve/report.json")).unwrap();
    assert!(
        eve_report.contains("compile-error"),
        "eve's kata did not build: {eve_report}"
    );

    // Alice and Carol's sing_dance is one piece of work: listed, not scored.
    let similar = csv_rows(&merged.join("similar.csv"));
    assert_eq!(similar[0], ["kata", "student_a", "student_b", "similarity"]);
    assert!(
        similar[1..]
            .iter()
            .any(|r| r[0] == "sing_dance" && r[1] == "alice" && r[2] == "carol"),
        "{similar:?}"
    );
    assert!(
        similar[1..].iter().all(|r| r[1] != "eve" && r[2] != "eve"),
        "eve's kata shares nothing with theirs: {similar:?}"
    );

    // A re-run grades nothing that did not change, and writes the same gradebook.
    let before = fs::read(one.join("grades.csv")).unwrap();
    let (code, out, err) = batch(&submissions, &one, &["--shard", "1/2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 graded now, 3 unchanged"), "{out}");
    assert_eq!(fs::read(one.join("grades.csv")).unwrap(), before);

    // Carol fixes nothing but edits her file: only she is graded again.
    let outcome =
        |name: &str| fs::read(one.join("students").join(name).join("outcome.json")).unwrap();
    let (alice_before, carol_before) = (outcome("alice"), outcome("carol"));
    let carol = submissions.join("carol/exercises/sing_dance/src/lib.rs");
    let text = fs::read_to_string(&carol).unwrap();
    fs::write(&carol, format!("{text}\n// edited\n")).unwrap();
    let (code, out, err) = batch(&submissions, &one, &["--shard", "1/2"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 graded now, 2 unchanged"), "{out}");
    assert_eq!(outcome("alice"), alice_before, "alice was graded again");
    assert_ne!(
        outcome("carol"),
        carol_before,
        "carol's new input was not graded"
    );
}

#[test]
fn bad_batch_input_is_named() {
    let dir = scratch("batch-bad");
    let (missing, out) = (dir.join("no-such-class"), dir.join("out"));
    let (code, _, err) = batch(&missing, &out, &[]);
    assert_eq!(code, 2);
    let named = err.contains("no-such-class") && err.contains("does not exist");
    assert!(named, "{err}");
    let (code, _, err) = batch(&dir, &out, &["--shard", "3/2"]);
    assert_eq!(code, 2);
    assert!(err.contains("`3/2` is not a shard"), "{err}");
    let (code, _, err) = merge(&[&dir], &dir.join("m"));
    assert_eq!(code, 2);
    assert!(err.contains("is not the output of `grader batch`"), "{err}");
}

/// What Alice's file carries that no one else's does: it must not reach Mallory.
const ALICE_SECRET: &str = "alice's own words 7f3a9c";

/// Mallory knows where the class is graded (the TA's path is no secret) and, each time
/// her `run_both` is called, tries to read Alice's kept sources and to rewrite Alice's
/// grade and the gradebook; then she fails the test on purpose, saying what she saw, so
/// the test can tell an attack that ran and was stopped from one that never ran.
fn mallory(out: &Path) -> String {
    let solution = solution("sing_dance");
    let attack = format!(
        r##"
    {{
        let out = std::path::Path::new({out:?});
        let alice = out.join("students").join("alice");
        let seen = match std::fs::read_to_string(alice.join("sources").join("sing_dance.rs")) {{
            Ok(text) => format!("READ {{text}}"),
            Err(e) => format!("cannot read: {{e}}"),
        }};
        let forged = r#"{{"points": 999, "max": 999, "katas": []}}"#;
        let mut wrote = Vec::new();
        for (file, text) in [
            (alice.join("report.json"), forged),
            (alice.join("outcome.json"), "{{}}"),
            (alice.join("PWNED"), "mallory"),
            (out.join("grades.csv"), "student,total\nmallory,999\n"),
            (out.join("students").join("zed").join("outcome.json"), "{{}}"),
        ] {{
            let _ = std::fs::create_dir_all(file.parent().unwrap());
            wrote.push(format!("{{}}: {{:?}}", file.display(), std::fs::write(&file, text).map_err(|e| e.kind())));
        }}
        panic!("attack ran: {{seen}}; {{}}", wrote.join("; "));
    }}
"##
    );
    let marker = "    let a = thread::spawn(a);";
    assert!(solution.contains(marker));
    solution.replacen(marker, &format!("{attack}{marker}"), 1)
}

/// The batch with Alice (right) and Mallory (attacking), as whoever runs this test:
/// returns the output directory.
fn attacked_batch(label: &str) -> std::path::PathBuf {
    let dir = scratch(&format!("batch-attack-{label}"));
    let (submissions, out) = (dir.join("submissions"), dir.join("out"));
    let _ = fs::remove_dir_all(&submissions);
    let _ = fs::remove_dir_all(&out);
    put(
        &submissions.join("alice/exercises/sing_dance/src/lib.rs"),
        &format!("// {ALICE_SECRET}\n{}", solution("sing_dance")),
    );
    put(
        &submissions.join("mallory/exercises/sing_dance/src/lib.rs"),
        &mallory(&out),
    );
    let (code, stdout, err) = cli_in(
        &root(),
        &[
            "batch",
            submissions.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--kata",
            "sing_dance",
            "-q",
        ],
    );
    assert_eq!(code, 0, "{stdout}{err}");
    out
}

/// What is wrong after an attacked batch.
fn judge_attack(out: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    let course = course_tests::course();
    let max = course.kata("sing_dance").unwrap().max_points().to_string();
    let rows = csv_rows(&out.join("grades.csv"));
    let names: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    if names != ["alice", "mallory"] {
        wrong.push(format!("the gradebook's students: {names:?}"));
    }
    if let Some(alice) = rows.iter().find(|r| r[0] == "alice") {
        if alice[1] != max || alice[4] != "graded" {
            wrong.push(format!("alice's row was changed: {alice:?}"));
        }
    }
    let report = fs::read_to_string(out.join("students/alice/report.json")).unwrap_or_default();
    let points: Option<serde_json::Value> = serde_json::from_str(&report).ok();
    if points.as_ref().map(|r| r["points"].to_string()) != Some(max.clone()) {
        wrong.push(format!("alice's report.json was changed: {report:.200}"));
    }
    if out.join("students/alice/PWNED").exists() || out.join("students/zed").exists() {
        wrong.push("mallory wrote into the class's output".into());
    }
    let mallory = fs::read_to_string(out.join("students/mallory/report.json")).unwrap();
    if mallory.contains(ALICE_SECRET) || mallory.contains("READ ") {
        wrong.push("mallory read alice's sources".into());
    }
    if !mallory.contains("attack ran: cannot read") {
        wrong.push(format!("the attack did not run as meant: {mallory:.600}"));
    }
    wrong
}

#[test]
fn a_submission_cannot_read_or_rewrite_another_students_grade() {
    // With the walls this machine allows (namespaces here, hiding the class's output).
    let out = attacked_batch("walled");
    let wrong = judge_attack(&out);
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Without namespaces: only the directory's permissions stand in the way (as root:
    // each test is a user of its own). The walls are found once per process, so another
    // process of this test binary grades that way.
    if unsafe { libc::geteuid() } == 0 {
        let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "attacked_batch_without_namespaces",
            "--ignored",
            "--nocapture",
        ])
        .env("KATA_GRADER_NO_SANDBOX", "1");
        // Through the grader's own runner: other tests of this binary grade in-process,
        // and the grader's reaper then collects every child, std's included.
        grader::process::init().unwrap();
        let limits = grader::sandbox::Limits::trusted(std::time::Duration::from_secs(600), 1 << 20);
        let run = grader::process::run_trusted(cmd, &limits, "batch-unwalled").unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        assert_eq!(run.exit, grader::process::Exit::Code(0), "{text}");
        assert!(text.contains("1 passed"), "{text}");
    }
}

#[test]
#[ignore = "run by a_submission_cannot_read_or_rewrite_another_students_grade, without namespaces"]
fn attacked_batch_without_namespaces() {
    if std::env::var_os("KATA_GRADER_NO_SANDBOX").is_none() {
        return;
    }
    let out = attacked_batch("unwalled-root");
    let wrong = judge_attack(&out);
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// As a normal user (a grader that is not root: a hosted CI runner, a TA's laptop), with
/// user namespaces, the tests run under the grader's own uid outside their namespace, so
/// only the tmpfs over the class's output stands between Mallory and Alice's files. The
/// tests cannot build as another user, so Mallory's tests are built here and run as a
/// normal user by a child process, with the class's output given to that user.
#[test]
fn as_a_normal_user_the_class_output_is_hidden_and_an_unwalled_batch_refused() {
    if unsafe { libc::geteuid() } != 0 {
        // Already a normal user: the walled test above is this case.
        return;
    }
    let out = attacked_batch("normal-user");
    let before = snapshot(&out);
    let mallory_tree = out.parent().unwrap().join("submissions/mallory/exercises");
    let options = grader::GradeOptions {
        work_dir: Some(out.join("work")),
        hide_also: vec![out.clone()],
        ..grader::GradeOptions::default()
    };
    let katas = ["sing_dance".to_string()];
    let prepared = grader::prepare(
        &course_tests::course(),
        grader::plan::Source::Path(mallory_tree),
        &katas,
        &options,
    )
    .unwrap();
    let jobs = grader::run::schedule(&prepared.admitted, &prepared.build).jobs();
    drop(prepared);
    assert!(!jobs.is_empty());
    course_tests::chown_all(&out, course_tests::NORMAL_USER);
    let runs = course_tests::run_schedule_as(
        "batch_runner_for_another_user",
        course_tests::NORMAL_USER,
        true,
        &jobs,
        &out.parent().unwrap().join("run-as-normal-user"),
        std::slice::from_ref(&out),
        40,
    )
    .unwrap();
    let calls: Vec<_> = runs
        .iter()
        .filter(|r| r.message.contains("attack ran"))
        .collect();
    assert!(!calls.is_empty(), "the attack never ran: {runs:#?}");
    for run in calls {
        assert!(
            run.message.contains("attack ran: cannot read") && !run.message.contains(ALICE_SECRET),
            "{}: {}",
            run.test,
            run.message
        );
    }
    assert_eq!(snapshot(&out), before, "the class's output was changed");

    // Without namespaces a normal user's tests would run as the grader's own user: the
    // batch is refused before anything is built.
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "unwalled_batch_is_refused",
        "--ignored",
        "--nocapture",
    ])
    .env("KATA_GRADER_NO_SANDBOX", "1")
    .env("KATA_BATCH_REFUSAL", out.parent().unwrap());
    let uid = course_tests::NORMAL_USER;
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(uid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let limits = grader::sandbox::Limits::trusted(std::time::Duration::from_secs(120), 1 << 20);
    let run = grader::process::run_trusted(cmd, &limits, "batch-refusal").unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(run.exit, grader::process::Exit::Code(0), "{text}");
    assert!(text.contains("1 passed"), "{text}");
}

/// Every file under the class's output but the build's, with its content.
fn snapshot(out: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, found: &mut Vec<(std::path::PathBuf, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if entry.file_name() != "work" {
                    walk(&path, found);
                }
            } else {
                found.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
    }
    let mut found = Vec::new();
    walk(out, &mut found);
    found.sort();
    found
}

#[test]
#[ignore = "run by as_a_normal_user_the_class_output_is_hidden_and_an_unwalled_batch_refused"]
fn batch_runner_for_another_user() {
    course_tests::run_schedule_here();
}

#[test]
#[ignore = "run by as_a_normal_user_the_class_output_is_hidden_and_an_unwalled_batch_refused, as a normal user without namespaces"]
fn unwalled_batch_is_refused() {
    let Some(dir) = std::env::var_os("KATA_BATCH_REFUSAL") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let (code, _, err) = cli_in(
        &root(),
        &[
            "batch",
            dir.join("submissions").to_str().unwrap(),
            "--out",
            std::env::temp_dir().join("refused-class").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("cannot be graded safely") && err.contains("--unwalled"),
        "{err}"
    );
}
