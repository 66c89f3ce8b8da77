//! `grader export student DIR`: the repository students get. It holds nothing of the
//! course's answers (no solution, hidden suite, mutant or other fixture, not even one of
//! their distinctive lines), it works as its README says (`cargo test`, `cargo grader
//! grade`, `check` with full marks for a solution and a failure for a mutant, `reset`), and
//! it never writes over a directory that holds something.

use course_tests::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where these tests export to, and build in: inside the course's target directory, so
/// the exported workspace reuses its dependencies from one run to the next.
fn base() -> PathBuf {
    let dir = root().join("target").join("export-test");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh student edition at `<base>/<name>`.
fn export(name: &str) -> PathBuf {
    let dir = base().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let (code, out, err) = cli_in(&root(), &["export", "student", &dir.display().to_string()]);
    assert_eq!(code, 0, "export student failed:\n{out}{err}");
    assert!(
        out.contains("git init"),
        "the summary says what to do next:\n{out}"
    );
    dir
}

/// Every file under `dir`, build output (`target/`) left out.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if entry.file_name() != "target" {
                files.extend(files_under(&path));
            }
        } else if kind.is_file() {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// What a student must never get, found by walking the course: the reference solutions,
/// the hidden suites, and the project's own tests and their fixtures (mutants, hostile
/// and integrity submissions, snapshots, helpers). This file is left out: it names the
/// things it looks for.
fn forbidden_files() -> Vec<PathBuf> {
    let root = root();
    let me = root.join(file!());
    let mut files = Vec::new();
    for dir in ["solutions", "grader/hidden", "tests", "scripts"] {
        files.extend(files_under(&root.join(dir)));
    }
    files.retain(|f| *f != me);
    files
}

/// The trimmed lines of 40 characters or more of the forbidden files that the student
/// edition has no business holding, each with a file it comes from: not also a line of
/// what it ships for the katas (stubs, visible tests, statements) or of the course's own
/// tooling that it ships as it is (the facade, the grader's source but its test fixtures,
/// the harness), where a line like `let started = std::time::Instant::now();` is common
/// ground, not a leak. The test kit is not among them: it serves the hidden suites.
fn distinctive_lines(forbidden: &[PathBuf]) -> BTreeMap<String, PathBuf> {
    let root = root();
    let mut shipped = BTreeSet::new();
    for dir in [
        "exercises",
        "sync",
        "grader/src",
        "grader/harness",
        "grader/export",
    ] {
        for file in files_under(&root.join(dir)) {
            if file.components().any(|c| c.as_os_str() == "fixtures") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&file) {
                shipped.extend(text.lines().map(|l| l.trim().to_string()));
            }
        }
    }
    let mut lines = BTreeMap::new();
    for file in forbidden {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            if line.chars().count() >= 40 && !shipped.contains(line) {
                lines
                    .entry(line.to_string())
                    .or_insert_with(|| file.clone());
            }
        }
    }
    lines
}

/// Where the exported tree holds forbidden content: a forbidden file's whole content, or
/// one of its distinctive lines.
fn leaks(
    exported: &Path,
    forbidden: &[(PathBuf, Vec<u8>)],
    distinctive: &BTreeMap<String, PathBuf>,
) -> Vec<String> {
    let root = root();
    let shown = |p: &Path| p.strip_prefix(&root).unwrap_or(p).display().to_string();
    let mut found = Vec::new();
    for file in files_under(exported) {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for (source, content) in forbidden {
            let content = String::from_utf8_lossy(content);
            if !content.trim().is_empty() && text.contains(&*content) {
                found.push(format!(
                    "{} holds the whole of {}",
                    shown(&file),
                    shown(source)
                ));
            }
        }
        for (n, line) in text.lines().enumerate() {
            if let Some(source) = distinctive.get(line.trim()) {
                found.push(format!(
                    "{}:{} is a line of {}: {}",
                    shown(&file),
                    n + 1,
                    shown(source),
                    line.trim()
                ));
            }
        }
    }
    found
}

#[test]
fn the_student_edition_holds_nothing_of_the_answers() {
    let exported = export("leak-check");
    let forbidden_paths = forbidden_files();
    let root = root();
    // The walk found what it should: every kata's solution, hidden suites and mutants.
    for kata in &course().katas {
        for dir in ["solutions", "grader/hidden", "tests/mutants"] {
            let under = root.join(dir).join(&kata.id);
            assert!(
                forbidden_paths.iter().any(|f| f.starts_with(&under)),
                "the walk of the course found nothing under {}",
                under.display()
            );
        }
    }
    let forbidden: Vec<(PathBuf, Vec<u8>)> = forbidden_paths
        .iter()
        .map(|f| (f.clone(), std::fs::read(f).unwrap()))
        .collect();
    let distinctive = distinctive_lines(&forbidden_paths);
    assert!(
        distinctive.len() > 1000,
        "only {} distinctive lines: the check would prove little",
        distinctive.len()
    );

    let found = leaks(&exported, &forbidden, &distinctive);
    assert!(
        found.is_empty(),
        "the student edition holds forbidden content:\n{}",
        found.join("\n")
    );

    // Nothing of the forbidden directories, and only the visible suites as graded ones.
    let files: Vec<PathBuf> = files_under(&exported)
        .into_iter()
        .map(|f| f.strip_prefix(&exported).unwrap().to_path_buf())
        .collect();
    for file in &files {
        for dir in ["solutions", "tests", "scripts", "docs", "grader/tests"] {
            assert!(!file.starts_with(dir), "{} was exported", file.display());
        }
        // The grader's unit-test fixtures may be kata solutions (`similar`'s are).
        assert!(
            !file.components().any(|c| c.as_os_str() == "fixtures"),
            "{} was exported",
            file.display()
        );
        if file.starts_with("grader/hidden") {
            assert!(
                file.to_string_lossy().ends_with("_visible.rs"),
                "{} is in grader/hidden but is no visible suite",
                file.display()
            );
        }
    }
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "course.yaml",
        "README.md",
        ".cargo/config.toml",
        ".github/workflows/classroom.yml",
        "sync/Cargo.toml",
        "grader/Cargo.toml",
        "grader/harness/Cargo.toml",
        "exercises/race/README.zh.md",
        "grader/hidden/race/race_visible.rs",
    ] {
        assert!(files.contains(&PathBuf::from(needed)), "no {needed}");
    }
    // The stubs are the course's, byte for byte, so their `stub:` ids hold.
    let student = grader::manifest::load(&exported).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(student.edition, grader::manifest::Edition::Student);
    for kata in &student.katas {
        let stub = std::fs::read(exported.join("exercises").join(&kata.id).join("src/lib.rs"));
        assert_eq!(
            Some(grader::stub::blob_id(&stub.unwrap())),
            kata.stub,
            "{}",
            kata.id
        );
        assert_eq!(kata.suites.len(), 1, "{}", kata.id);
    }
    let workflow = std::fs::read(exported.join(".github/workflows/classroom.yml")).unwrap();
    assert_eq!(
        workflow,
        std::fs::read(root.join("grader/export/classroom.yml")).unwrap()
    );
    // In the student edition, `dev check` checks what it ships and nothing it lacks.
    let (code, out, err) = cli_in(&exported, &["dev", "check"]);
    assert_eq!(code, 0, "{out}{err}");

    // The check can fail: a solution, or one line of a hidden suite, dropped in is found.
    let planted = exported.join("exercises/race/src/notes.rs");
    std::fs::copy(root.join("solutions/race/src/lib.rs"), &planted).unwrap();
    let (line, source) = distinctive
        .iter()
        .find(|(_, f)| f.starts_with(root.join("grader/hidden")))
        .expect("the hidden suites have distinctive lines");
    std::fs::write(
        exported.join("README.md"),
        format!("# a course\n\n    {line}\n"),
    )
    .unwrap();
    let found = leaks(&exported, &forbidden, &distinctive);
    assert!(
        found
            .iter()
            .any(|f| f.contains("notes.rs holds the whole of solutions/race/src/lib.rs")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|f| f.contains("README.md:3")
            && f.contains(&*source.strip_prefix(&root).unwrap().to_string_lossy())),
        "{found:?}"
    );
}

#[test]
fn exporting_into_a_directory_that_holds_something_is_refused_and_leaves_it_alone() {
    let dir = base().join("not-empty");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    let (code, out, err) = cli_in(&root(), &["export", "student", &dir.display().to_string()]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        err.contains(&dir.display().to_string()) && err.contains("not empty"),
        "the error names the directory and says why:\n{err}"
    );
    assert_eq!(
        files_under(&dir),
        [dir.join("notes.txt")],
        "the directory was touched"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine\n"
    );
    // Nothing was left beside it either.
    let strays: Vec<String> = std::fs::read_dir(base())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".not-empty"))
        .collect();
    assert!(strays.is_empty(), "left beside it: {strays:?}");
}

/// Runs cargo in the exported tree, building into `target`.
fn cargo(tree: &Path, target: &Path, args: &[&str]) -> Output {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(tree)
        .args(args)
        .env("CARGO_TARGET_DIR", target)
        .env("LC_ALL", "C.UTF-8")
        .env("NO_COLOR", "1")
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .expect("cannot run cargo")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn git(tree: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(tree)
        .args([
            "-c",
            "user.name=export test",
            "-c",
            "user.email=export@test",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

/// The points of a JSON report: (points, max, failing tests).
fn points(json: &Path) -> (u64, u64, Vec<String>) {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let failing = report["tests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] != "pass")
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    (
        report["points"].as_u64().unwrap(),
        report["max"].as_u64().unwrap(),
        failing,
    )
}

#[test]
fn the_student_edition_works_as_its_readme_says() {
    const KATA: &str = "sing_dance";
    /// A mutant the visible tests catch: the two tasks run one after the other.
    const MUTANT: &str = "joins_a_before_starting_b";
    const VISIBLE_ONLY: &str = "Visible tests only";
    const VISIBLE_ONLY_ZH: &str = "这里只运行公开测试";
    let tree = export("student");
    let readme = std::fs::read_to_string(tree.join("README.md")).unwrap();
    for command in [
        "cargo grader watch",
        "cargo grader grade",
        "cargo grader check",
    ] {
        assert!(readme.contains(command), "the README shows `{command}`");
    }
    // Cargo builds into the course's grading target directory, which holds the facade's
    // and the hidden tests' dependencies (a directory of its own cost 8 minutes of cold
    // build on 2 cores; in the course's own target directory a grader of the same package
    // name is linked as target/debug/grader, the course's own binary's path). The
    // exported grader's grades build there too, through the tree's
    // `target/grader/target`, in a work directory of their own.
    let target = root().join("target").join("grader").join("target");
    let grading = target.clone();
    let tree_target = base().join("student-target");
    let _ = std::fs::remove_dir_all(&tree_target);
    std::fs::create_dir_all(tree_target.join("grader")).unwrap();
    std::fs::create_dir_all(&grading).unwrap();
    std::os::unix::fs::symlink(&grading, tree_target.join("grader").join("target")).unwrap();
    std::os::unix::fs::symlink(&tree_target, tree.join("target")).unwrap();
    // As the README says: a git repository first, so `reset` finds the stubs.
    git(&tree, &["init", "-q"]);
    git(&tree, &["add", "-A"]);
    git(
        &tree,
        &["commit", "-q", "-m", "The course, student edition"],
    );

    let out = cargo(&tree, &target, &["test", "-q"]);
    assert!(out.status.success(), "cargo test fails:\n{}", text(&out));

    let out = cargo(
        &tree,
        &target,
        &["run", "-q", "-p", "grader", "--", "grade", "-q"],
    );
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    for kata in &course().katas {
        assert!(
            said.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(&kata.id[..])
                    && l.contains("not started")),
            "`grade` does not say {} is not started:\n{said}",
            kata.id
        );
    }
    assert_eq!(said.matches(VISIBLE_ONLY).count(), 1, "{said}");
    let out = cargo(
        &tree,
        &target,
        &[
            "run", "-q", "-p", "grader", "--", "--lang", "zh", "grade", "-q",
        ],
    );
    assert_eq!(
        text(&out).matches(VISIBLE_ONLY_ZH).count(),
        1,
        "{}",
        text(&out)
    );

    let out = cargo(
        &tree,
        &target,
        &["run", "-q", "-p", "grader", "--", "hint", KATA],
    );
    let hint = course().kata(KATA).unwrap().hints[0].clone();
    let first_words: String = hint
        .split_whitespace()
        .take(4)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text(&out).contains(&first_words), "{}", text(&out));

    // The reference solution earns full marks on the visible tests.
    let lib = tree.join("exercises").join(KATA).join("src/lib.rs");
    let stub = std::fs::read(&lib).unwrap();
    std::fs::copy(root().join("solutions").join(KATA).join("src/lib.rs"), &lib).unwrap();
    let json = base().join("solution.json");
    let json_arg = json.display().to_string();
    let check = [
        "run", "-q", "-p", "grader", "--", "check", KATA, "-q", "--json", &json_arg,
    ];
    let out = cargo(&tree, &target, &check);
    let said = text(&out);
    assert!(out.status.success(), "the solution fails `check`:\n{said}");
    let visible = grader::manifest::load(&tree)
        .unwrap()
        .kata(KATA)
        .unwrap()
        .suites[0]
        .tests
        .len() as u64;
    assert_eq!(points(&json), (visible, visible, vec![]), "{said}");
    assert_eq!(said.matches(VISIBLE_ONLY).count(), 1, "{said}");

    // A known-wrong solution fails a visible test.
    std::fs::copy(
        root()
            .join("tests/mutants")
            .join(KATA)
            .join(format!("{MUTANT}.rs")),
        &lib,
    )
    .unwrap();
    let out = cargo(&tree, &target, &check);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let (earned, max, failing) = points(&json);
    assert!(earned < max, "the mutant earned {earned}/{max}");
    assert!(
        failing.contains(&format!("{KATA}_visible::both_tasks_run_at_the_same_time")),
        "{failing:?}"
    );

    // `list` remembers; `reset` puts the stub back out of the git history.
    let out = cargo(&tree, &target, &["run", "-q", "-p", "grader", "--", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = cargo(
        &tree,
        &target,
        &["run", "-q", "-p", "grader", "--", "reset", KATA],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(&lib).unwrap(),
        stub,
        "reset put the stub back"
    );
}
