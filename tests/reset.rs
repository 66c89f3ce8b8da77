//! `grader reset`: the stub back from the course's git history, the student's sources
//! kept aside. A test binary of its own: the in-process grades of other tests start the
//! grader's reaper, which would take git's exit status from under `Command::output`.

use course_tests::*;
use grader::cli;
use std::path::Path;
use std::process::Command;

fn run_in(course: &Path, args: &[&str]) -> (i32, String, String) {
    cli_in(course, args)
}

/// The course with only the race exercise, in a git repository of its own whose objects
/// hold race's stub or not.
fn little_course(name: &str, keep_stub_in_git: bool) -> std::path::PathBuf {
    let dir = scratch(name);
    let _ = std::fs::remove_dir_all(&dir);
    let src = dir.join("exercises/race/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(root().join("course.yaml"), dir.join("course.yaml")).unwrap();
    // The manifest is read whole, hidden suites included.
    std::fs::create_dir_all(dir.join("grader")).unwrap();
    std::os::unix::fs::symlink(root().join("grader/hidden"), dir.join("grader/hidden")).unwrap();
    std::fs::copy(root().join("exercises/race/src/lib.rs"), src.join("lib.rs")).unwrap();
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .expect("git runs");
        assert!(status.status.success(), "git {args:?}: {status:?}");
    };
    git(&["init", "-q"]);
    if keep_stub_in_git {
        git(&["hash-object", "-w", "exercises/race/src/lib.rs"]);
    }
    dir
}

#[test]
fn reset_puts_the_stub_back_and_keeps_the_student_s_sources() {
    let course = little_course("loop-reset", true);
    let lib = course.join("exercises/race/src/lib.rs");
    let stub = std::fs::read(&lib).unwrap();

    let (code, out, err) = run_in(&course, &["reset", "race"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("already the stub: nothing changed"), "{out}");

    std::fs::write(&lib, "// my work\npub fn mine() {}\n").unwrap();
    std::fs::write(lib.with_file_name("extra.rs"), "// more of my work\n").unwrap();
    let (code, out, err) = run_in(&course, &["reset", "race"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(std::fs::read(&lib).unwrap(), stub, "the stub is not back");
    assert!(
        !lib.with_file_name("extra.rs").exists(),
        "a file of the student's is left in src/"
    );
    let backup = course.join("exercises/race/src.backup-1");
    assert!(
        out.contains("exercises/race/src.backup-1/"),
        "the backup is not named:\n{out}"
    );
    assert_eq!(
        std::fs::read_to_string(backup.join("lib.rs")).unwrap(),
        "// my work\npub fn mine() {}\n"
    );
    assert!(backup.join("extra.rs").exists());

    // A second reset keeps the first backup and takes the next name.
    std::fs::write(&lib, "// second try\n").unwrap();
    let (_, out, _) = run_in(&course, &["reset", "race"]);
    assert!(out.contains("src.backup-2/"), "{out}");
    assert!(backup.join("lib.rs").exists());
}

#[test]
fn reset_without_the_stub_in_git_changes_nothing_and_says_why() {
    let course = little_course("loop-reset-no-git", false);
    let lib = course.join("exercises/race/src/lib.rs");
    std::fs::write(&lib, "// my work\n").unwrap();
    let (code, out, err) = run_in(&course, &["reset", "race"]);
    assert_eq!(code, cli::EXIT_ERROR, "{out}");
    assert!(
        err.contains("the stub of `race`") && err.contains("copy exercises/race/src/lib.rs"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), "// my work\n");
    assert!(!course.join("exercises/race/src.backup-1").exists());
    assert!(!course.join("exercises/race/.src.reset").exists());
}
