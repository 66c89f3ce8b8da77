//! `grader export student DIR`: the repository an instructor hands to students (a GitHub
//! Classroom template, say).
//!
//! It holds what a student works with: each kata's stub, statements, visible tests and
//! hints, the sync facade, and a grader that grades the visible tests, so that `cargo
//! grader grade`, `check`, `watch`, `list`, `hint` and `reset` all work there. It holds
//! nothing of the course's answers: no solutions, no hidden suites, no mutants or other
//! fixtures of the project's own tests, no scripts or docs that use them.
//!
//! The grader's pipeline is unchanged: each kata's `tests/visible.rs` becomes a suite file
//! `grader/hidden/<kata>/<kata>_visible.rs` (every `#[test] fn` wrapped in `hidden_test!`,
//! so a pass is proved the same way), and the exported course.yaml gives each kata that one
//! suite and says `edition: student`, which the grader's report turns into a plain "visible
//! tests only" line.
//!
//! This module is the export itself: the destination checked, the tree put together
//! beside it and moved into place whole, the workspace and its lock file. Its parts write
//! what the tree holds that the course does not have as it is: `visible` turns each kata's
//! visible tests into its graded suite, `course_yaml` writes the student course.yaml and
//! reads it back, `readme` writes the README a student reads first.

mod course_yaml;
mod readme;
mod visible;

pub use visible::visible_suite;

use crate::manifest::{self, Course, Edition};
use course_yaml::{student_manifest, verify_manifest};
use readme::student_readme;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The workflow a student repository grades itself with (with the hidden tests, from the
/// course's private repository). Carried by the binary, so an export needs no other file.
const CLASSROOM_WORKFLOW: &str = include_str!("../../../export/classroom.yml");

/// What of `grader/` a student edition keeps as it is: the grader's own crate, the harness
/// its generated test crates use, the files it carries. Not `hidden/` (written anew from
/// the visible tests), not `tests/` (the project's own tests of the grader), and not the
/// test kit (`testkit/`, what hidden suites share: a stand-in takes its place).
const GRADER_PARTS: &[&str] = &["Cargo.toml", "src", "harness", "export"];

/// Directories of unit-test fixtures in the grader's source: they may hold kata solutions
/// (`similar`'s independent implementations do), so they stay out, and the `tests.rs`
/// module beside them (which reads them, and the course's solutions) gives way to a note.
const FIXTURES: &str = "fixtures";

/// The module that takes the place of a test module left out with its fixtures.
const TESTS_LEFT_OUT: &str =
    "//! The full course's tests of this module read fixtures and reference solutions that\n\
    //! the student edition does not hold (`grader export student` left them out).\n";

/// The test kit's stand-in: the grader's generated test crates depend on a crate of this
/// name and place (the loom ones with its `loom` feature), and the visible suites use
/// nothing of it.
const TESTKIT_MANIFEST: &str = "# A stand-in for the course's test kit (what hidden suites share): the grader's\n\
    # generated test crates depend on a crate of this name, and the visible suites use\n\
    # nothing of it. Written by `grader export student`.\n\
    [package]\nname = \"kata-testkit\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
    [dependencies]\n\n\
    [features]\nloom = []\n";
const TESTKIT_LIB: &str =
    "//! Empty in the student edition: the course's test kit serves its hidden suites, which\n\
    //! this repository does not hold.\n";

/// The workspace's members in the student edition: no root package (it holds the
/// project's own tests), no solutions.
const MEMBERS: &[&str] = &[
    "sync",
    "grader",
    "grader/harness",
    "grader/testkit",
    "exercises/*",
];
/// What a bare `cargo test` tests: the facade and the harness the katas' tests run on.
/// Not the exercises (their visible tests fail on the stubs by design; `cargo test -p
/// <kata>` runs them), and not the grader, whose unit tests read the full course.
const DEFAULT_MEMBERS: &[&str] = &["sync", "grader/harness"];

/// The suite each kata gets in the student edition.
pub fn visible_suite_name(kata: &str) -> String {
    format!("{kata}_visible")
}

/// Writes the student repository to `dir`; returns what to tell the author.
pub fn export(course: &Course, dir: &Path) -> Result<String, String> {
    if course.edition == Edition::Student {
        return Err(format!(
            "{} is already the student edition (`edition: student`): export from the full course",
            course.root.join(manifest::MANIFEST_FILE).display()
        ));
    }
    check_destination(dir)?;
    crate::stub::check_shipped(course, "the export would hand out these edits")?;
    let name = dir
        .file_name()
        .ok_or_else(|| format!("cannot export into {}: name a directory", dir.display()))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    // Put together beside DIR, on the same file system, then renamed into place whole.
    let staging = parent.join(format!(
        ".{}.export-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&staging);
    let written = write_edition(course, &staging).and_then(|files| {
        if dir.exists() {
            // Checked empty above; an empty directory gives way to the whole tree.
            fs::remove_dir(dir).map_err(|e| format!("cannot replace {}: {e}", dir.display()))?;
        }
        fs::rename(&staging, dir).map_err(|e| {
            format!(
                "cannot move {} into place as {}: {e}",
                staging.display(),
                dir.display()
            )
        })?;
        Ok(files)
    });
    let files = match written {
        Ok(files) => files,
        Err(e) => {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    let shown = dir.display();
    Ok(format!(
        "Wrote the student edition of \"{course}\" to {shown}: {files} files. {katas} katas (stubs, \
         statements in English and Chinese, visible tests, hints), the sync facade, and a grader \
         that grades the visible tests (grader/hidden/<kata>/<kata>_visible.rs, written from \
         them); no solutions, hidden tests or mutants. A student README, .cargo/config.toml \
         (`cargo grader`) and .github/workflows/classroom.yml (grading with the hidden tests \
         from the course's private repository) are there too.\n\
         Next: cd {shown} && git init && git add -A && git commit -m \"Course\" (`grader reset` \
         finds the stubs in that history), push it to GitHub and make it a template repository \
         (or the starter of a GitHub Classroom assignment); for the workflow, set the variable \
         KATA_COURSE_REPO and the secret KATA_COURSE_TOKEN (see the workflow's header).",
        course = course.course,
        katas = course.katas.len(),
    ))
}

/// DIR must not exist, or be an empty directory.
fn check_destination(dir: &Path) -> Result<(), String> {
    if !dir.exists() {
        return Ok(());
    }
    if !dir.is_dir() {
        return Err(format!(
            "cannot export into {}: it exists and is not a directory",
            dir.display()
        ));
    }
    let mut entries =
        fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    if entries.next().is_some() {
        return Err(format!(
            "cannot export into {}: it is not empty (the export writes a whole repository; \
             name a new or empty directory)",
            dir.display()
        ));
    }
    Ok(())
}

/// Files written into a new tree, counted.
struct Tree {
    root: PathBuf,
    files: usize,
}

impl Tree {
    fn write(&mut self, relative: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        self.files += 1;
        Ok(())
    }

    /// Copies `from` (a file or a directory) to `relative`, byte for byte; build output
    /// (`target/`) and hidden entries (editor and VCS files) are left out, and so are
    /// fixture directories unless `keep_fixtures` (see [`FIXTURES`]).
    fn copy(&mut self, from: &Path, relative: &Path, keep_fixtures: bool) -> Result<(), String> {
        let to = self.root.join(relative);
        let meta =
            fs::metadata(from).map_err(|e| format!("cannot read {}: {e}", from.display()))?;
        if meta.is_dir() {
            fs::create_dir_all(&to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
            let mut entries: Vec<_> = fs::read_dir(from)
                .map_err(|e| format!("cannot read {}: {e}", from.display()))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("cannot read {}: {e}", from.display()))?;
            entries.sort_by_key(|e| e.file_name());
            let leave_fixtures = !keep_fixtures && from.join(FIXTURES).is_dir();
            for entry in entries {
                let name = entry.file_name();
                let text = name.to_string_lossy();
                if text.starts_with('.') || text == "target" {
                    continue;
                }
                if leave_fixtures && (text == FIXTURES || text == "tests.rs") {
                    if text == "tests.rs" {
                        let to = relative.join(&name);
                        self.write(&to.to_string_lossy(), TESTS_LEFT_OUT.as_bytes())?;
                    }
                    continue;
                }
                self.copy(&entry.path(), &relative.join(&name), keep_fixtures)?;
            }
        } else {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            fs::copy(from, &to)
                .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
            self.files += 1;
        }
        Ok(())
    }
}

/// Writes the whole student edition under `out`; returns how many files it wrote.
fn write_edition(course: &Course, out: &Path) -> Result<usize, String> {
    fs::create_dir_all(out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let mut tree = Tree {
        root: out.to_path_buf(),
        files: 0,
    };
    let root = &course.root;
    // What students work in, and what the grader builds with.
    for kata in &course.katas {
        let dir = Path::new("exercises").join(&kata.id);
        tree.copy(&root.join(&dir), &dir, true)?;
    }
    tree.copy(&root.join("sync"), Path::new("sync"), true)?;
    for part in GRADER_PARTS {
        let part = Path::new("grader").join(part);
        if root.join(&part).exists() {
            tree.copy(&root.join(&part), &part, false)?;
        }
    }
    tree.write("grader/testkit/Cargo.toml", TESTKIT_MANIFEST.as_bytes())?;
    tree.write("grader/testkit/src/lib.rs", TESTKIT_LIB.as_bytes())?;
    // The visible tests, as the graded suites of this edition.
    let mut suites = BTreeMap::new();
    for kata in &course.katas {
        let file = root
            .join("exercises")
            .join(&kata.id)
            .join("tests/visible.rs");
        let text = fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let shown = format!("exercises/{}/tests/visible.rs", kata.id);
        let (suite, tests) = visible_suite(&text, &shown)?;
        if tests.is_empty() {
            return Err(format!(
                "{shown} has no #[test]: kata `{}` would have nothing to grade",
                kata.id
            ));
        }
        tree.write(
            &format!(
                "grader/hidden/{}/{}.rs",
                kata.id,
                visible_suite_name(&kata.id)
            ),
            suite.as_bytes(),
        )?;
        suites.insert(kata.id.clone(), (text, tests));
    }
    let manifest_text = student_manifest(course, &suites);
    tree.write(manifest::MANIFEST_FILE, manifest_text.as_bytes())?;
    verify_manifest(course, out, &suites)?;
    // The workspace, its lock file, the `cargo grader` alias.
    let workspace = fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| format!("cannot read {}: {e}", root.join("Cargo.toml").display()))?;
    tree.write("Cargo.toml", student_workspace(&workspace)?.as_bytes())?;
    if let Ok(lock) = fs::read(root.join("Cargo.lock")) {
        tree.write("Cargo.lock", &lock)?;
        trim_lock(out);
    }
    let config = root.join(".cargo/config.toml");
    if config.is_file() {
        tree.copy(&config, Path::new(".cargo/config.toml"), true)?;
    } else {
        tree.write(
            ".cargo/config.toml",
            b"# `cargo grader check race` and so on.\n[alias]\ngrader = \"run -q -p grader --\"\n",
        )?;
    }
    tree.write(".gitignore", b"/target\n")?;
    tree.write(
        ".github/workflows/classroom.yml",
        CLASSROOM_WORKFLOW.as_bytes(),
    )?;
    tree.write("README.md", student_readme(course).as_bytes())?;
    Ok(tree.files)
}

/// Lets cargo drop from the copied lock file what the student workspace no longer has
/// (the solutions, the root package), without touching the network. When it cannot (no
/// cargo, or crates not cached), the copy stays: cargo trims it on the first build.
fn trim_lock(out: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let _ = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--offline",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(out.join("Cargo.toml"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// The course's Cargo.toml as the student workspace's: its `[workspace]` and everything
/// after (shared dependencies, lints, profiles), with the members a student has.
fn student_workspace(course_toml: &str) -> Result<String, String> {
    let lines: Vec<&str> = course_toml.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "[workspace]")
        .ok_or("the course's Cargo.toml has no [workspace] table")?;
    let list = |items: &[&str]| {
        items
            .iter()
            .map(|m| format!("\"{m}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::from(
        "# The student workspace: the exercises you edit, the sync facade they use, and the\n\
         # grader (`cargo grader`, an alias in .cargo/config.toml). `cargo test` tests the\n\
         # facade and the harness; `cargo test -p <kata>` runs a kata's visible tests (they\n\
         # fail on the stub until you solve it). Written by `grader export student`.\n",
    );
    let mut in_workspace = false;
    let mut skipping_list = false;
    for line in &lines[start..] {
        let trimmed = line.trim();
        if skipping_list {
            skipping_list = !trimmed.contains(']');
            continue;
        }
        if trimmed.starts_with('[') && !trimmed.starts_with("[[") {
            in_workspace = trimmed == "[workspace]";
            out += line;
            out.push('\n');
            if in_workspace {
                let _ = writeln!(out, "members = [{}]", list(MEMBERS));
                let _ = writeln!(out, "default-members = [{}]", list(DEFAULT_MEMBERS));
            }
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        if in_workspace && (key == "members" || key == "default-members") {
            // The course's own list, perhaps over several lines.
            skipping_list = trimmed.contains('[') && !trimmed.contains(']');
            continue;
        }
        out += line;
        out.push('\n');
    }
    Ok(out)
}
