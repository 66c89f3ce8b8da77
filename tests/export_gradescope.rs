//! `grader export gradescope`: the bundle holds the scripts and the course and nothing a
//! student must not see, and, unpacked into a root laid out like Gradescope's
//! `/autograder`, its scripts build the grader and grade a submission in every layout a
//! student may upload, with a results.json even when the grader fails.
//!
//! The end-to-end part runs `setup.sh` for real with the toolchain already on PATH (so it
//! installs nothing), and keeps it quick: the grader is built in the course's grading
//! target directory (`target/grader/target`, shared with tests/export_student.rs, where
//! its dependencies are already built), the bundle's `target/` is a link to the
//! course's own (so the hidden tests' dependencies are already built), and
//! `AUTOGRADER_KATAS` restricts the pre-build and some grades to one quick kata.

use course_tests::*;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A quick kata: a stress suite that takes about a second with the solution in place.
const KATA: &str = "sing_dance";

/// The bundle, exported once for every test of this file.
fn bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let file = scratch("gradescope").join("bundle.zip");
        let (code, out, err) = cli_in(&root(), &["export", "gradescope", file.to_str().unwrap()]);
        assert_eq!(code, 0, "export failed: {out}{err}");
        assert!(out.contains("wrote"), "{out}");
        file
    })
}

/// name → (unix mode, bytes) of every file in the zip.
fn read_zip(file: &Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(file).unwrap()).unwrap();
    let mut all = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        if entry.is_dir() {
            continue;
        }
        let name = entry
            .enclosed_name()
            .unwrap_or_else(|| panic!("an entry escapes the bundle: {:?}", entry.name()))
            .to_string_lossy()
            .into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        all.insert(name, (entry.unix_mode().unwrap_or(0), bytes));
    }
    all
}

/// Every regular file under `dir`, as paths relative to the course root.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                todo.push(entry.path());
            } else if kind.is_file() {
                found.push(entry.path().strip_prefix(root()).unwrap().to_path_buf());
            }
        }
    }
    found.sort();
    found
}

#[test]
fn the_bundle_holds_the_scripts_and_the_course_and_no_solution() {
    let files = read_zip(bundle());
    for script in ["setup.sh", "run_autograder"] {
        let (mode, bytes) = files
            .get(script)
            .unwrap_or_else(|| panic!("{script} is not in the bundle"));
        assert_eq!(mode & 0o777, 0o755, "{script}'s mode is {mode:o}");
        let shipped = std::fs::read(root().join("grader/export/gradescope").join(script)).unwrap();
        assert_eq!(
            bytes, &shipped,
            "{script} is not grader/export/gradescope/{script}"
        );
    }
    // The course: what the grader reads, builds and stages.
    for needed in [
        "Cargo.toml",
        "Cargo.lock",
        "course.yaml",
        "grader/Cargo.toml",
        "grader/src/main.rs",
        "grader/harness/Cargo.toml",
        "grader/testkit/Cargo.toml",
        "sync/Cargo.toml",
    ] {
        assert!(files.contains_key(needed), "{needed} is not in the bundle");
    }
    let course = course();
    for kata in &course.katas {
        for suite in &kata.suites {
            let hidden = course.hidden_file(kata, suite);
            let name = hidden
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert!(files.contains_key(&name), "{name} is not in the bundle");
        }
    }
    for file in files_under(&root().join("exercises")) {
        let name = file.to_string_lossy().into_owned();
        let (_, bytes) = files
            .get(&name)
            .unwrap_or_else(|| panic!("{name} is not in the bundle"));
        assert_eq!(bytes, &std::fs::read(root().join(&file)).unwrap(), "{name}");
    }
    // Nothing of the solutions, the mutants or the project's own tests, by path or by
    // content, and no build directory.
    let mut forbidden = files_under(&root().join("solutions"));
    forbidden.extend(files_under(&root().join("tests")));
    assert!(
        forbidden.len() > 100,
        "the walk found too little: {forbidden:?}"
    );
    for file in &forbidden {
        let name = file.to_string_lossy();
        assert!(
            !files.contains_key(name.as_ref()),
            "{name} is in the bundle"
        );
    }
    for name in files.keys() {
        assert!(
            !name
                .split('/')
                .any(|part| part == "target" || part == "solutions"),
            "{name} is in the bundle"
        );
    }
    let texts: Vec<(&String, String)> = files
        .iter()
        .map(|(name, (_, bytes))| (name, String::from_utf8_lossy(bytes).into_owned()))
        .collect();
    for file in forbidden.iter().filter(|f| f.starts_with("solutions")) {
        let content = std::fs::read_to_string(root().join(file)).unwrap();
        let content = content.trim();
        if content.len() < 40 {
            continue;
        }
        for (name, text) in &texts {
            assert!(
                !text.contains(content),
                "{} is in the bundle, in {name}",
                file.display()
            );
        }
    }
    let manifest = String::from_utf8_lossy(&files["Cargo.toml"].1).into_owned();
    assert!(!manifest.contains("\"solutions"), "{manifest}");
    assert!(!manifest.contains("tests/support"), "{manifest}");
}

#[test]
fn a_bundle_into_a_missing_directory_is_refused_with_its_path() {
    let file = scratch("gradescope").join("no-such-dir").join("bundle.zip");
    let (code, _, err) = cli_in(&root(), &["export", "gradescope", file.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no-such-dir") && err.contains("does not exist"),
        "{err}"
    );
}

/// Unpacks `zip` into `dir`, writing only files whose content changed (so that cargo,
/// which looks at modification times, rebuilds only what changed since the last run),
/// and removes files the bundle no longer has; `keep` (a top-level name) is left alone.
fn unpack(zip: &Path, dir: &Path, keep: &str) {
    use std::os::unix::fs::PermissionsExt;
    let files = read_zip(zip);
    for (name, (mode, bytes)) in &files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if std::fs::read(&path).ok().as_ref() != Some(bytes) {
            std::fs::write(&path, bytes).unwrap();
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o777)).unwrap();
    }
    for file in walk(dir) {
        let name = file.strip_prefix(dir).unwrap();
        if name.starts_with(keep) || name == Path::new("Cargo.lock") {
            continue;
        }
        if !files.contains_key(name.to_string_lossy().as_ref()) {
            std::fs::remove_file(&file).unwrap();
        }
    }
    // And the directories left empty: a kata the course no longer has would still be a
    // workspace member (`exercises/*`) without its Cargo.toml.
    remove_empty_dirs(dir, &dir.join(keep));
}

/// Removes every empty directory under `dir` (deepest first), but `keep` and what is in it.
fn remove_empty_dirs(dir: &Path, keep: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path != keep && entry.file_type().unwrap().is_dir() {
            remove_empty_dirs(&path, keep);
            let _ = std::fs::remove_dir(&path);
        }
    }
}

/// Every file under `dir`, not following links.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            found.extend(walk(&entry.path()));
        } else {
            found.push(entry.path());
        }
    }
    found
}

/// Runs one of the bundle's scripts the way Gradescope does (from the root, as this user),
/// with the root, the grader's target directory and the katas to grade in its environment.
fn run(script: &str, autograder: &Path, cargo_target: &Path, katas: Option<&str>) -> String {
    let mut cmd = Command::new(autograder.join("source").join(script));
    cmd.current_dir(autograder)
        .env("AUTOGRADER_ROOT", autograder)
        .env("CARGO_TARGET_DIR", cargo_target)
        .env_remove("AUTOGRADER_KATAS");
    if let Some(katas) = katas {
        cmd.env("AUTOGRADER_KATAS", katas);
    }
    let began = std::time::Instant::now();
    let out = cmd.output().unwrap();
    eprintln!("{script}: {:.1} s", began.elapsed().as_secs_f64());
    let said = format!(
        "{script}: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    said
}

/// Makes `submission/` hold what `fill` puts there, runs run_autograder, and returns
/// results.json read as JSON.
fn grade_upload(
    autograder: &Path,
    cargo_target: &Path,
    katas: Option<&str>,
    fill: impl FnOnce(&Path),
) -> (serde_json::Value, String) {
    let submission = autograder.join("submission");
    let _ = std::fs::remove_dir_all(&submission);
    fill(&submission);
    let said = run("run_autograder", autograder, cargo_target, katas);
    let results = autograder.join("results").join("results.json");
    let text = std::fs::read_to_string(&results)
        .unwrap_or_else(|e| panic!("no {}: {e}\n{said}", results.display()));
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("results.json is not JSON: {e}\n{text}\n{said}"));
    (json, said)
}

fn copy_tree(from: &Path, to: &Path) {
    for file in walk(from) {
        let dest = to.join(file.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&file, &dest).unwrap();
    }
}

#[test]
fn run_autograder_grades_every_layout_and_explains_a_failure() {
    let course = course();
    let kata = course.kata(KATA).unwrap();
    let max = kata.max_points();
    let solution = root().join("solutions").join(KATA).join("src/lib.rs");
    let visibility = kata.suites[0].visibility.as_str();

    // /autograder: source/ (the bundle), submission/, results/.
    let autograder = scratch("gradescope-root");
    let source = autograder.join("source");
    std::fs::create_dir_all(&source).unwrap();
    let target = source.join("target");
    if std::fs::symlink_metadata(&target).is_err() {
        std::os::unix::fs::symlink(root().join("target"), &target).unwrap();
    }
    unpack(bundle(), &source, "target");
    // The grading target directory: it holds the grader's dependencies once any export
    // test built a grader there (a directory of its own cost minutes of cold build). Not
    // the course's own target directory: a grader of the same package name built there
    // is linked as target/debug/grader, the course's own binary's path.
    let cargo_target = root().join("target").join("grader").join("target");

    let said = run("setup.sh", &autograder, &cargo_target, Some(KATA));
    assert!(said.contains("setup.sh: ready"), "{said}");
    assert!(
        !said.contains("rustup"),
        "setup.sh installed a toolchain:\n{said}"
    );

    // (a) The whole repository, one kata solved, the others still their stubs (graded
    // as not started: nothing is built for them).
    let (results, said) = grade_upload(&autograder, &cargo_target, None, |dir| {
        copy_tree(&source.join("exercises"), &dir.join("exercises"));
        std::fs::write(dir.join("Cargo.toml"), "[workspace]\n").unwrap();
        std::fs::copy(
            &solution,
            dir.join("exercises").join(KATA).join("src/lib.rs"),
        )
        .unwrap();
    });
    assert_eq!(results["score"], max, "{results:#}\n{said}");
    let tests = results["tests"].as_array().unwrap();
    let mine: Vec<&serde_json::Value> = tests.iter().filter(|t| t["number"] == KATA).collect();
    assert_eq!(
        mine.len(),
        kata.suites.iter().map(|s| s.tests.len()).sum::<usize>()
    );
    for t in &mine {
        assert_eq!(t["status"], "passed", "{t:#}");
        assert_eq!(t["visibility"], visibility, "{t:#}");
    }
    let output = results["output"].as_str().unwrap();
    assert!(output.contains("not started"), "{output}");

    // (b) Just the exercises folder, inside one top-level folder (a zip of a folder, with
    // what macOS adds beside it).
    let (results, said) = grade_upload(&autograder, &cargo_target, Some(KATA), |dir| {
        let lib = dir.join("my-katas").join(KATA).join("src");
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::copy(&solution, lib.join("lib.rs")).unwrap();
        std::fs::create_dir_all(dir.join("__MACOSX").join("my-katas")).unwrap();
        std::fs::write(dir.join("__MACOSX/my-katas/._x"), "junk").unwrap();
    });
    assert_eq!(results["score"], max, "{results:#}\n{said}");
    assert!(said.contains("my-katas"), "{said}");

    // (c) An empty upload: the grader grades every kata as missing, and says where the
    // katas go.
    let (results, said) = grade_upload(&autograder, &cargo_target, Some(KATA), |dir| {
        std::fs::create_dir_all(dir).unwrap();
    });
    assert_eq!(results["score"], 0, "{said}");
    let output = results["output"].as_str().unwrap();
    assert!(
        output.contains("No kata was found in your upload"),
        "{output}"
    );

    // No submission directory at all: the grader fails (exit status 2), and the student
    // still reads why, with score 0.
    let (results, said) = grade_upload(&autograder, &cargo_target, Some(KATA), |_| {});
    assert_eq!(results["score"], 0, "{said}");
    let output = results["output"].as_str().unwrap();
    assert!(
        output.contains("could not grade this submission")
            && output.contains("exit status 2")
            && output.contains("does not exist"),
        "{output}"
    );

    // A grader that was never built: the same, from the script alone.
    let unbuilt = scratch("gradescope-unbuilt");
    let (results, _) = grade_upload(&autograder, &unbuilt, Some(KATA), |dir| {
        std::fs::create_dir_all(dir).unwrap();
    });
    assert_eq!(results["score"], 0);
    let output = results["output"].as_str().unwrap();
    assert!(output.contains("not set up"), "{output}");
}
