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

use crate::manifest::{self, Course, Edition, Kata, LimitOverrides};
use crate::source::lexer::{tokenize, Kind, Token};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The workflow a student repository grades itself with (with the hidden tests, from the
/// course's private repository). Carried by the binary, so an export needs no other file.
const CLASSROOM_WORKFLOW: &str = include_str!("../../export/classroom.yml");

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
/// name and place, and the visible suites use nothing of it.
const TESTKIT_MANIFEST: &str = "# A stand-in for the course's test kit (what hidden suites share): the grader's\n\
    # generated test crates depend on a crate of this name, and the visible suites use\n\
    # nothing of it. Written by `grader export student`.\n\
    [package]\nname = \"kata-testkit\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
    [dependencies]\n";
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

/// The visible tests of `text` (`file` names it in errors) as a graded suite: each
/// top-level `#[test] fn name() { … }` becomes `hidden_test! { fn name() { … } }`, its doc
/// comments and other attributes kept inside. Returns the suite's text and its test names
/// in order. Each function's end is found with the grader's lexer (so braces in strings
/// and comments do not count); the text is otherwise kept line for line.
pub fn visible_suite(text: &str, file: &str) -> Result<(String, Vec<String>), String> {
    let tokens = tokenize(text);
    let lines: Vec<&str> = text.lines().collect();
    let layout = |line: usize, what: &str| {
        format!(
            "{file}:{line}: {what}; the export reads a visible test as `#[test] fn name() {{ … }}` \
             at the top level, with `#[test]` on its own line and the closing brace on its own \
             (rustfmt's layout)"
        )
    };
    // Lines that begin inside a string literal keep their exact text.
    let mut in_string = vec![false; lines.len() + 2];
    for t in &tokens {
        if matches!(t.kind, Kind::Str { .. }) {
            let more = t.text.matches('\n').count();
            let within = t.line + 1..=(t.line + more).min(lines.len()).max(t.line);
            in_string[within].iter_mut().for_each(|l| *l = true);
        }
    }
    struct Test {
        /// The first line of the item: its first doc comment or attribute.
        first: usize,
        /// The `#[test]` line, dropped (the macro adds its own).
        attribute: usize,
        last: usize,
        name: String,
    }
    let mut tests: Vec<Test> = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        if t.is_punct('{') {
            depth += 1;
        } else if t.is_punct('}') {
            depth -= 1;
        } else if is_test_attribute(&tokens, i) {
            let line = t.line;
            if depth != 0 {
                return Err(layout(line, "a #[test] inside a block or module"));
            }
            if lines.get(line - 1).map(|l| l.trim()) != Some("#[test]") {
                return Err(layout(line, "#[test] shares its line"));
            }
            // Other attributes before it, by their tokens (they may span lines).
            let mut first_token = i;
            while let Some(start) = attribute_before(&tokens, first_token) {
                first_token = start;
            }
            if first_token > 0 && tokens[first_token - 1].line == tokens[first_token].line {
                return Err(layout(line, "the test's attributes share a line with code"));
            }
            // Doc comments and comments just above it belong to it.
            let mut first = tokens[first_token].line;
            let floor = tests.last().map_or(0, |t| t.last);
            while first > floor + 1 {
                let above = lines[first - 2].trim_start();
                let comment = above.starts_with("//") && !above.starts_with("//!");
                if in_string[first - 1] || !comment {
                    break;
                }
                first -= 1;
            }
            // Attributes after it, then `fn name() {`.
            let mut j = i + 4;
            while let Some(end) = attribute_at(&tokens, j) {
                j = end;
            }
            let shape = tokens.get(j).is_some_and(|t| t.is_keyword("fn"))
                && tokens
                    .get(j + 1)
                    .is_some_and(|t| matches!(t.kind, Kind::Ident { .. }))
                && tokens.get(j + 2).is_some_and(|t| t.is_punct('('))
                && tokens.get(j + 3).is_some_and(|t| t.is_punct(')'))
                && tokens.get(j + 4).is_some_and(|t| t.is_punct('{'));
            if !shape {
                return Err(layout(
                    line,
                    "this test is not `fn name() { … }` (no arguments, no return type)",
                ));
            }
            let name = tokens[j + 1].text.clone();
            let mut k = j + 4;
            let mut d = 0;
            let close = loop {
                let Some(t) = tokens.get(k) else {
                    return Err(layout(line, "the test's body never ends"));
                };
                if t.is_punct('{') {
                    d += 1;
                } else if t.is_punct('}') {
                    d -= 1;
                    if d == 0 {
                        break k;
                    }
                }
                k += 1;
            };
            let last = tokens[close].line;
            if tokens.get(close + 1).is_some_and(|t| t.line == last)
                || lines.get(last - 1).map(|l| l.trim()) != Some("}")
            {
                return Err(layout(last, "the test's closing brace shares its line"));
            }
            tests.push(Test {
                first,
                attribute: line,
                last,
                name,
            });
            i = close + 1;
            continue;
        }
        i += 1;
    }
    // `use kata_harness::hidden_test;` goes before the first `use` outside the tests, or
    // before the first test.
    let inside = |line: usize| tests.iter().any(|t| (t.first..=t.last).contains(&line));
    let use_line = tokens
        .iter()
        .find(|t| t.is_keyword("use") && !inside(t.line))
        .map(|t| t.line)
        .into_iter()
        .chain(tests.first().map(|t| t.first))
        .min();
    let mut out = format!(
        "// Written by `grader export student` from {file}: its tests, each a\n\
         // `hidden_test!` (as a hidden suite's are), so that the grader can grade them.\n\
         // `cargo test -p <kata>` runs the original; change that one, not this copy.\n"
    );
    for (n, line) in lines.iter().enumerate() {
        let n = n + 1;
        if Some(n) == use_line {
            out += "use kata_harness::hidden_test;\n";
            if tests.iter().any(|t| t.first == n) {
                out.push('\n');
            }
        }
        let test = tests.iter().find(|t| (t.first..=t.last).contains(&n));
        if let Some(t) = test {
            if t.first == n {
                out += "hidden_test! {\n";
            }
            if t.attribute != n {
                if !line.is_empty() && !in_string[n] {
                    out += "    ";
                }
                out += line;
                out.push('\n');
            }
            if t.last == n {
                out += "}\n";
            }
        } else {
            out += line;
            out.push('\n');
        }
    }
    let names: Vec<String> = tests.into_iter().map(|t| t.name).collect();
    // The grader must read the suite as intended: the same tests, no bare #[test].
    let declared = crate::source::suite::declarations(&out);
    let read: Vec<&str> = declared.tests.iter().map(|d| d.name.as_str()).collect();
    if read != names.iter().map(String::as_str).collect::<Vec<_>>()
        || !declared.bare_tests.is_empty()
    {
        return Err(format!(
            "{file}: the suite written from it reads as {read:?} (bare #[test] at lines {:?}), \
             not {names:?}: a grader bug, please report it",
            declared.bare_tests
        ));
    }
    Ok((out, names))
}

/// Whether `tokens[i..]` starts with `#[test]`.
fn is_test_attribute(tokens: &[Token], i: usize) -> bool {
    tokens.get(i).is_some_and(|t| t.is_punct('#'))
        && tokens.get(i + 1).is_some_and(|t| t.is_punct('['))
        && tokens.get(i + 2).is_some_and(|t| t.is_word("test"))
        && tokens.get(i + 3).is_some_and(|t| t.is_punct(']'))
}

/// The index just past an outer attribute `#[…]` that starts at `i`, if one does.
fn attribute_at(tokens: &[Token], i: usize) -> Option<usize> {
    if !(tokens.get(i)?.is_punct('#') && tokens.get(i + 1)?.is_punct('[')) {
        return None;
    }
    let mut depth = 0;
    for (k, t) in tokens.iter().enumerate().skip(i + 1) {
        if t.is_punct('[') {
            depth += 1;
        } else if t.is_punct(']') {
            depth -= 1;
            if depth == 0 {
                return Some(k + 1);
            }
        }
    }
    None
}

/// The start of an outer attribute `#[…]` that ends just before `i`, if one does.
fn attribute_before(tokens: &[Token], i: usize) -> Option<usize> {
    let mut k = i.checked_sub(1)?;
    if !tokens[k].is_punct(']') {
        return None;
    }
    let mut depth = 0;
    loop {
        if tokens[k].is_punct(']') {
            depth += 1;
        } else if tokens[k].is_punct('[') {
            depth -= 1;
            if depth == 0 {
                break;
            }
        }
        k = k.checked_sub(1)?;
    }
    let hash = k.checked_sub(1)?;
    tokens[hash].is_punct('#').then_some(hash)
}

/// The hidden dependencies the visible suites need: those (from the course's hidden or
/// kata dependencies) whose crate the visible tests name. The test kit's own are its own.
fn visible_dependencies(
    course: &Course,
    suites: &BTreeMap<String, (String, Vec<String>)>,
) -> BTreeMap<String, String> {
    let mut words = std::collections::BTreeSet::new();
    for (text, _) in suites.values() {
        for t in tokenize(text) {
            if matches!(t.kind, Kind::Ident { .. }) {
                words.insert(t.text);
            }
        }
    }
    let mut deps = BTreeMap::new();
    for (name, value) in course
        .kata_dependencies
        .iter()
        .chain(course.hidden_dependencies.iter())
    {
        if words.contains(&name.replace('-', "_")) {
            // Hidden dependencies win: they are what the hidden crate was built with.
            deps.insert(name.clone(), value.clone());
        }
    }
    deps
}

/// The student edition's course.yaml, as text with its comments.
fn student_manifest(course: &Course, suites: &BTreeMap<String, (String, Vec<String>)>) -> String {
    let mut y = String::from(
        "# The course manifest, student edition: written by `grader export student` from the\n\
         # course's own course.yaml. Every kata in order, with its statement's titles, its hints\n\
         # and its limits. Each kata's one suite is its visible tests: exercises/<kata>/tests/\n\
         # visible.rs, copied to grader/hidden/<kata>/<kata>_visible.rs as graded tests. The\n\
         # course's own grade also runs hidden tests (loom, proptest, process and stress checks),\n\
         # which this repository does not hold: full marks here are not full marks there.\n\
         #\n\
         # Schema (version 1), checked by `grader` on every run:\n\
         #   edition              student: this file (the full course leaves it out)\n\
         #   katas[].id           the crate name; also exercises/<id> and grader/hidden/<id>\n\
         #   katas[].stub         the git blob id of exercises/<id>/src/lib.rs as shipped: a kata still\n\
         #                        at its stub reads \"not started\" (nothing is built), and `grader reset`\n\
         #                        gets the stub back out of this repository's git history\n\
         #   katas[].hints        the hints, level by level (`cargo grader hint <kata>`); hints_zh the\n\
         #                        same in Chinese\n\
         #   katas[].suites[]     one test file each: grader/hidden/<kata>/<name>.rs\n\
         #     checker            loom | prop | proc | stress   (the visible tests run as stress: real\n\
         #                        threads, no loom)\n\
         #     points             points for each test of the suite\n\
         #     tests              every test of the file, in order; the grader checks the list\n\
         #   time_limit_secs      wall-clock limit of one test, course-wide or per kata\n\
         #   limits               resource limits of one test's process, course-wide or per kata\n\
         #\n\
         # To change a visible test, change exercises/<kata>/tests/visible.rs (what `cargo test -p\n\
         # <kata>` runs) and its copy under grader/hidden/ alike, or export the course again.\n",
    );
    let _ = writeln!(y, "schema: {}", course.schema);
    let _ = writeln!(y, "course: {}", scalar(&course.course));
    y += "edition: student\n\n";
    let d = &course.defaults;
    y += "defaults:\n";
    let _ = writeln!(y, "  time_limit_secs: {}", d.time_limit_secs);
    let _ = writeln!(y, "  build_time_limit_secs: {}", d.build_time_limit_secs);
    y += "  limits:\n";
    let l = d.limits;
    let _ = writeln!(y, "    memory_mib: {}", l.memory_mib);
    let _ = writeln!(y, "    processes: {}", l.processes);
    let _ = writeln!(y, "    open_files: {}", l.open_files);
    let _ = writeln!(y, "    file_size_mib: {}", l.file_size_mib);
    let _ = writeln!(y, "    output_kib: {}", l.output_kib);
    if let Some(cpu) = l.cpu_secs {
        let _ = writeln!(y, "    cpu_secs: {cpu}");
    }
    y += "\n# What every kata crate is built with (the grader writes each kata's Cargo.toml).\n";
    write_map(&mut y, "kata_dependencies", &course.kata_dependencies);
    y += "\n# What the visible suites use besides their kata, the facade and the harness.\n";
    write_map(
        &mut y,
        "hidden_dependencies",
        &visible_dependencies(course, suites),
    );
    y += "\nkatas:\n";
    for kata in &course.katas {
        write_kata(&mut y, kata, &suites[&kata.id].1);
    }
    y
}

fn write_map(y: &mut String, key: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        let _ = writeln!(y, "{key}: {{}}");
        return;
    }
    let _ = writeln!(y, "{key}:");
    for (name, value) in map {
        let _ = writeln!(y, "  {}: {}", scalar(name), scalar(value));
    }
}

fn write_kata(y: &mut String, kata: &Kata, tests: &[String]) {
    let _ = writeln!(y, "  - id: {}", scalar(&kata.id));
    let _ = writeln!(y, "    title: {}", scalar(&kata.title));
    let _ = writeln!(y, "    section: {}", scalar(&kata.section));
    if let Some(stub) = &kata.stub {
        let _ = writeln!(y, "    stub: {}", scalar(stub));
    }
    if let Some(secs) = kata.time_limit_secs {
        let _ = writeln!(y, "    time_limit_secs: {secs}");
    }
    let LimitOverrides {
        memory_mib,
        processes,
        open_files,
        file_size_mib,
        output_kib,
        cpu_secs,
    } = kata.limits;
    let limits = [
        ("memory_mib", memory_mib),
        ("processes", processes),
        ("open_files", open_files),
        ("file_size_mib", file_size_mib),
        ("output_kib", output_kib),
        ("cpu_secs", cpu_secs),
    ];
    if limits.iter().any(|(_, v)| v.is_some()) {
        y.push_str("    limits:\n");
        for (key, value) in limits {
            if let Some(value) = value {
                let _ = writeln!(y, "      {key}: {value}");
            }
        }
    }
    for (key, hints) in [("hints", &kata.hints), ("hints_zh", &kata.hints_zh)] {
        if hints.is_empty() {
            continue;
        }
        let _ = writeln!(y, "    {key}:");
        for hint in hints {
            write_text(y, hint);
        }
    }
    y.push_str("    suites:\n");
    let _ = writeln!(y, "      - name: {}", visible_suite_name(&kata.id));
    y.push_str("        checker: stress\n        points: 1\n        tests:\n");
    for test in tests {
        let _ = writeln!(y, "          - {}", scalar(test));
    }
}

/// A list item of prose: folded (`>-`) over lines of about 88 columns where that reads back
/// the same, else one quoted line.
fn write_text(y: &mut String, text: &str) {
    let foldable = !text.is_empty()
        && !text.starts_with(' ')
        && !text.ends_with(' ')
        && text.chars().all(|c| !c.is_control());
    if !foldable {
        let _ = writeln!(y, "      - {}", quoted(text));
        return;
    }
    y.push_str("      - >-\n");
    // Break only at a single space between two words: folding joins the lines with one.
    let mut words = text.split(' ');
    let mut line = words.next().unwrap_or_default().to_string();
    for word in words {
        let fits = line.chars().count() + 1 + word.chars().count() <= 80;
        if !fits && !line.ends_with(' ') && !word.is_empty() {
            let _ = writeln!(y, "        {line}");
            line = word.to_string();
        } else {
            line.push(' ');
            line.push_str(word);
        }
    }
    let _ = writeln!(y, "        {line}");
}

/// A YAML scalar: plain when that cannot be read as anything else (a number, a boolean,
/// a mapping, a comment, …), single-quoted when it holds no control character, else
/// double-quoted (JSON's escapes are YAML's).
fn scalar(text: &str) -> String {
    let plain = text
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii())
        && !text.ends_with(' ')
        && text
            .chars()
            .all(|c| !c.is_control() && (!c.is_ascii_punctuation() || "_-./(),`".contains(c)))
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        );
    if plain {
        text.to_string()
    } else if text.chars().all(|c| !c.is_control()) {
        format!("'{}'", text.replace('\'', "''"))
    } else {
        quoted(text)
    }
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

/// Reads the written course.yaml back as the exported grader will, and holds it to what
/// was meant: every kata's fields as the course has them, one visible suite each.
fn verify_manifest(
    course: &Course,
    out: &Path,
    suites: &BTreeMap<String, (String, Vec<String>)>,
) -> Result<(), String> {
    let bug = |what: String| {
        format!("the student course.yaml came out wrong ({what}): a grader bug, please report it")
    };
    let written = manifest::load(out).map_err(|e| bug(e.to_string()))?;
    if written.edition != Edition::Student
        || written.course != course.course
        || written.defaults != course.defaults
        || written.kata_dependencies != course.kata_dependencies
        || written.katas.len() != course.katas.len()
    {
        return Err(bug("the course's own fields differ".into()));
    }
    for (mine, theirs) in written.katas.iter().zip(&course.katas) {
        let same = mine.id == theirs.id
            && mine.title == theirs.title
            && mine.section == theirs.section
            && mine.stub == theirs.stub
            && mine.hints == theirs.hints
            && mine.hints_zh == theirs.hints_zh
            && mine.time_limit_secs == theirs.time_limit_secs
            && mine.limits == theirs.limits;
        let suite_ok = mine.suites.len() == 1 && {
            let s = &mine.suites[0];
            s.name == visible_suite_name(&mine.id)
                && s.points == 1
                && s.tests == suites[&mine.id].1
                && crate::plan::check_suite_file(&written.hidden_file(mine, s), s).is_ok()
        };
        if !same || !suite_ok {
            return Err(bug(format!("kata `{}`", theirs.id)));
        }
    }
    Ok(())
}

/// The README a student reads first.
fn student_readme(course: &Course) -> String {
    let first = &course.katas[0].id;
    let mut r = format!(
        "# {name}\n\n\
         Katas in systems programming, in Rust: processes and fork, pools, queues, races, locks,\n\
         deadlock, ordering threads, producers and consumers, thread-local data, callbacks. Each\n\
         kata is a small crate you edit: `exercises/<kata>/src/lib.rs`. Its statement is\n\
         `exercises/<kata>/README.md` (中文：`README.zh.md`), its visible tests are\n\
         `exercises/<kata>/tests/visible.rs`.\n\n\
         ```sh\n\
         cargo grader watch            # work kata by kata: every save checks the current kata again\n\
         cargo grader grade            # every kata: where you stand, the first failure of each started one\n\
         cargo test -p {first}      # the visible tests of one kata\n\
         cargo grader check {first}    # grade one kata: score, each failure in full\n\
         cargo grader hint {first}     # a hint (then --level 2, …)\n\
         cargo grader list             # every kata: done, started or not started, with its points\n\
         cargo grader reset {first}    # put the stub back (your sources are kept aside; it says where)\n\
         cargo grader doctor           # which walls the grader can raise on this machine\n\
         ```\n\n\
         `cargo grader` is an alias (in `.cargo/config.toml`) for `cargo run -q -p grader --`. The\n\
         first grade of a kata you have started builds its tests (a minute or two the first time,\n\
         for the shared dependencies; later ones reuse it). `cargo test` on its own tests the\n\
         sync facade; the exercises' visible tests fail on the stubs until you solve them.\n\n\
         ## Visible tests here, hidden tests in the course's grade\n\n\
         The grader in this repository grades each kata with its visible tests only, each test in\n\
         its own process, as the course's grader does. Your grade for the course also runs\n\
         hidden tests that this repository does not hold: loom tries every interleaving of your\n\
         threads, proptest hunts for the smallest counterexample, process checks catch a child\n\
         that is never reaped or a descriptor left open, stress tests run real threads by the\n\
         million. Full marks here mean the visible tests pass, not that the hidden ones will: the\n\
         statement's table \"What the tests check\" lists what they check, so read it.\n\n\
         ## Rules\n\n\
         - Take threads, locks, condition variables, atomics and channels from `kata_sync` (the\n\
           sync facade in `sync/`), never from `std::sync`, `std::thread` or parking_lot directly:\n\
           under the course's grader the facade hands out loom's models, which is how every\n\
           interleaving gets tried. A loom-checked kata that bypasses it gets no loom points.\n\
         - No `unsafe`: `fork` and `_exit` come from `kata_sync::process`, everything else from\n\
           nix's safe calls. A kata may use only the facade and the crates its Cargo.toml lists.\n\
         - Every child process ends with `_exit` and is reaped.\n\n\
         ## Katas\n\n\
         | # | kata | title | course section |\n|---|---|---|---|\n",
        name = course.course,
    );
    for (n, kata) in course.katas.iter().enumerate() {
        let _ = writeln!(
            r,
            "| {} | `{}` | {} | {} |",
            n + 1,
            kata.id,
            kata.title,
            kata.section
        );
    }
    r += "\n## 中文\n\n\
          每个练习都是一个小 crate：编辑 `exercises/<练习>/src/lib.rs`，题目在 `README.zh.md`。\n\
          `cargo grader watch` 逐个练习地检查，每次保存都会重新检查；`cargo grader hint <练习>`\n\
          给出提示；`--lang zh` 让评分程序说中文。这里的评分只运行公开测试（tests/visible.rs）；\n\
          课程的正式评分还会运行隐藏测试（loom、proptest、进程检查和压力测试），所以这里拿满分，\n\
          不等于正式评分也拿满分。\n\n\
          ## For the instructor\n\n\
          This repository was written by `grader export student` from the full course. Make it a\n\
          git repository before handing it out (`git init && git add -A && git commit`): `cargo\n\
          grader reset` gets each stub back out of the git history, by the blob id course.yaml\n\
          records. Push it and mark it a template repository, or use it as the starter code of a\n\
          GitHub Classroom assignment. `.github/workflows/classroom.yml` grades each push with the\n\
          hidden tests, from the course's private repository: set the repository (or\n\
          organisation) variable `KATA_COURSE_REPO` and the secret `KATA_COURSE_TOKEN`, as the\n\
          workflow's header says.\n";
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_tests_become_hidden_tests_with_their_docs_and_attributes() {
        let text = "//! Visible tests.\n\
                    \n\
                    use k::f;\n\
                    \n\
                    /// Says what it checks.\n\
                    #[allow(\n    unused_variables,\n)]\n\
                    #[test]\n\
                    #[allow(clippy::bool_assert_comparison)]\n\
                    fn first() {\n\
                    \x20   let s = \"}} { // not a brace\n\
                    a line inside a string\";\n\
                    \x20   /* } */ assert_eq!(f(), '}');\n\
                    }\n\
                    \n\
                    fn helper() {}\n\
                    \n\
                    #[test]\n\
                    fn second() {\n\
                    \x20   helper();\n\
                    }\n";
        let (suite, names) = visible_suite(text, "visible.rs").unwrap();
        assert_eq!(names, ["first", "second"]);
        let expected = "//! Visible tests.\n\
                        \n\
                        use kata_harness::hidden_test;\n\
                        use k::f;\n\
                        \n\
                        hidden_test! {\n\
                        \x20   /// Says what it checks.\n\
                        \x20   #[allow(\n        unused_variables,\n    )]\n\
                        \x20   #[allow(clippy::bool_assert_comparison)]\n\
                        \x20   fn first() {\n\
                        \x20       let s = \"}} { // not a brace\n\
                        a line inside a string\";\n\
                        \x20       /* } */ assert_eq!(f(), '}');\n\
                        \x20   }\n\
                        }\n\
                        \n\
                        fn helper() {}\n\
                        \n\
                        hidden_test! {\n\
                        \x20   fn second() {\n\
                        \x20       helper();\n\
                        \x20   }\n\
                        }\n";
        let body = suite.split_once("copy.\n").unwrap().1;
        assert_eq!(body, expected);
    }

    #[test]
    fn tests_the_export_cannot_read_are_refused_with_their_line() {
        let nested = "mod inner {\n    #[test]\n    fn t() {}\n}\n";
        let e = visible_suite(nested, "v.rs").unwrap_err();
        assert!(
            e.starts_with("v.rs:2: a #[test] inside a block or module"),
            "{e}"
        );
        let result = "#[test]\nfn t() -> Result<(), String> {\n    Ok(())\n}\n";
        let e = visible_suite(result, "v.rs").unwrap_err();
        assert!(
            e.starts_with("v.rs:1: this test is not `fn name() { … }`"),
            "{e}"
        );
        let one_line = "#[test]\nfn t() { assert!(true) }\n";
        let e = visible_suite(one_line, "v.rs").unwrap_err();
        assert!(
            e.starts_with("v.rs:2: the test's closing brace shares its line"),
            "{e}"
        );
    }

    #[test]
    fn prose_reads_back_the_same_from_the_yaml_written() {
        let texts = [
            "plain words",
            "a: colon, a # hash, `code: x`, and a line long enough to be folded more than once over, \
             with  two spaces and 'quotes' and \"double quotes\" in it, and - a dash",
            "中文没有空格的很长的一句话，中文没有空格的很长的一句话，中文没有空格的很长的一句话，中文没有空格的很长的一句话",
            " leading space",
            "a newline\nin it",
        ];
        let mut y = String::from("hints:\n");
        for t in texts {
            write_text(&mut y, t);
        }
        #[derive(serde::Deserialize)]
        struct Hints {
            hints: Vec<String>,
        }
        let read: Hints = serde_norway::from_str(
            &y.replace("\n      - ", "\n  - ")
                .replace("\n        ", "\n    "),
        )
        .unwrap();
        assert_eq!(read.hints, texts);
        for t in [
            "Sing and dance",
            "yes",
            "1.5",
            "a: b",
            "it's",
            "#x",
            "多任务的引入",
            "tab\there",
        ] {
            let read: String = serde_norway::from_str(&scalar(t)).unwrap();
            assert_eq!(read, t);
        }
    }
}
