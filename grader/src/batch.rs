//! `grader batch` and `grader merge`: a whole class in one command.
//!
//! `batch` grades every student directory under a submissions directory, one after the
//! other, each through the whole pipeline ([`crate::grade`]) with one work directory for
//! all of them: the generated workspace and the shared target directory stay warm, so each
//! submission after the first costs what a single grade after editing every kata costs,
//! and the disk holds one set of artifacts, not one per student.
//!
//! Out of it comes, under `--out`:
//! - `grades.csv`, the gradebook: student, points per kata, total, max, status;
//! - `students/<name>/`: `report.json` and `report.md` (the student's grade), `sources/`
//!   (each started kata's sources, for `similar.csv` and for `merge`), and `outcome.json`,
//!   written last, which says how the grade went and of which input;
//! - `similar.csv`: pairs of students whose sources of one kata are nearly the same after
//!   normalising names, comments and formatting ([`crate::similar`]): for an instructor to
//!   look at, never part of a score;
//! - `batch.json`: which shard of how many, of which course, and its students, so that
//!   `merge` can tell a complete set of shards from an incomplete one.
//!
//! A submission that does not build, hangs or attacks costs only its own row: the grade
//! walls each test in, and a grade that fails outright (even by a panic in the grader)
//! becomes an `error` row while the class goes on. A re-run skips every student whose
//! input (their kata sources, the course and its hidden tests, the grader's version and
//! the options that change a score) is the one of their last grade; errors are retried.

use crate::lang::Lang;
use crate::manifest::Course;
use crate::plan::Source;
use crate::report::KataState;
use crate::source::Sources;
use crate::{write_whole, GradeOptions};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Debug, Args, Clone)]
pub struct BatchArgs {
    /// A directory holding one directory per student, each laid out as a repository
    /// (`<student>/exercises/<kata>/src/`) or as the exercises folder
    /// (`<student>/<kata>/src/`), either possibly inside one folder of its own.
    pub submissions: PathBuf,
    /// Where the gradebook and each student's reports go (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Grade only shard K of N: the students in name order, every N-th from the K-th
    /// (for a CI matrix; `grader merge` joins the shards).
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Only these katas (repeatable).
    #[arg(long = "kata", value_name = "ID")]
    pub katas: Vec<String>,
    /// Tests run at once within one submission (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Cap every test's time limit at SECS (scores are comparable only at the same cap).
    #[arg(long, value_name = "SECS")]
    pub time_limit: Option<u64>,
    /// Stop a build of one submission's hidden tests after SECS (default: course.yaml's).
    #[arg(long, value_name = "SECS")]
    pub build_time_limit: Option<u64>,
    /// List pairs at or above this similarity (0 to 1) in similar.csv.
    #[arg(long, value_name = "FRACTION", default_value_t = DEFAULT_SIMILARITY)]
    pub similarity: f64,
    /// Grade every submission again, even those unchanged since their last grade.
    #[arg(long)]
    pub regrade: bool,
    /// No line per submission on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Grade even where the tests cannot be walled off from each other's results (a
    /// normal user without user namespaces): any submission could then rewrite any other
    /// student's row. Refused without it.
    #[arg(long)]
    pub unwalled: bool,
}

/// Pairs at least this similar are listed (see [`crate::similar`] for the evidence).
pub const DEFAULT_SIMILARITY: f64 = crate::similar::DEFAULT_THRESHOLD;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

fn parse_shard(text: &str) -> Result<Shard, String> {
    let bad = || format!("`{text}` is not a shard: write K/N with 1 ≤ K ≤ N, e.g. 2/4");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let index: usize = k.trim().parse().map_err(|_| bad())?;
    let count: usize = n.trim().parse().map_err(|_| bad())?;
    if index == 0 || count == 0 || index > count {
        return Err(bad());
    }
    Ok(Shard { index, count })
}

impl Shard {
    /// Whether the `position`-th student (0-based, in name order) is in this shard.
    fn holds(self, position: usize) -> bool {
        position % self.count == self.index - 1
    }
}

/// How one student's grade went: `students/<name>/outcome.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Outcome {
    student: String,
    status: Status,
    /// Why, when not graded.
    #[serde(default)]
    message: String,
    /// The submission tree graded, relative to the student's directory.
    #[serde(default)]
    graded: String,
    /// What was graded ([`input_id`]): a re-run with the same input reuses this grade.
    input: String,
    seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    /// Graded: `report.json` holds the grade.
    Graded,
    /// Nothing that looks like the exercises: no row of points.
    NoSubmission,
    /// The grader could not grade it (not the student's doing, or so it must be assumed).
    Error,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Graded => "graded",
            Status::NoSubmission => "no-submission",
            Status::Error => "error",
        }
    }
}

/// `batch.json`: what a shard's output is, for `merge`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BatchInfo {
    course: String,
    /// [`course_id`] of the course graded with.
    course_id: String,
    shard: Shard,
    /// Students found under the submissions directory, all shards together.
    submissions: usize,
    /// This shard's students.
    students: Vec<String>,
    katas: Vec<String>,
}

/// Makes the class's output directory, with `students/` and `work/` closed to every other
/// user: where tests run as users of their own (the grader is root) but in no mount
/// namespace that could hide the directory, this keeps them from reading or rewriting
/// other students' reports and sources. Returns its canonical path, which the tests'
/// sandboxes hide where there are namespaces.
pub fn prepare_out_dir(out: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    for dir in [out.to_path_buf(), out.join("students"), out.join("work")] {
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    for dir in [out.join("students"), out.join("work")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot close {} to other users: {e}", dir.display()))?;
    }
    std::fs::canonicalize(out).map_err(|e| format!("cannot resolve {}: {e}", out.display()))
}

/// Refuses to grade a class where nothing stands between one student's tests and the
/// others' results: tests running as the grader's own user, in no mount namespace.
fn walls_between_students(unwalled: bool) -> Result<(), String> {
    crate::process::init().map_err(|e| format!("cannot guard the grader itself: {e}"))?;
    let protections = crate::process::probe_protections()?;
    if protections.user == crate::sandbox::TestUser::Grader && !unwalled {
        return Err(format!(
            "a class cannot be graded safely here: the tests would run as the grader's own \
             user with no mount namespace to hide the other students' results, so any \
             submission could rewrite any row ({}). Run as root, or allow user namespaces \
             (e.g. `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu \
             24.04), or pass --unwalled to grade anyway",
            protections.note.as_deref().unwrap_or("no namespaces")
        ));
    }
    Ok(())
}

/// The student directories under `dir`, in name order.
fn students(dir: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        found.push((name, entry.path()));
    }
    found.sort();
    Ok(found)
}

/// Where a student's exercises are: `exercises/` of a repository, the folder itself when
/// it holds kata folders, or either inside a single folder (an archive of a folder).
fn locate(course: &Course, dir: &Path, depth: usize) -> Option<PathBuf> {
    if dir.join("exercises").is_dir() {
        return Some(dir.join("exercises"));
    }
    if course
        .katas
        .iter()
        .any(|k| dir.join(&k.id).join("src").is_dir())
    {
        return Some(dir.to_path_buf());
    }
    if depth == 0 {
        return None;
    }
    let inner: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        // Dot files, and what macOS adds to a zip, are not the student's folder.
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            !name.starts_with('.') && name != "__MACOSX"
        })
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    match inner.as_slice() {
        [only] => locate(course, only, depth - 1),
        _ => None,
    }
}

/// An id of the course as graded: course.yaml, every hidden suite, and the grader.
fn course_id(course: &Course) -> Result<String, String> {
    let mut all = Vec::new();
    all.extend_from_slice(env!("CARGO_PKG_VERSION").as_bytes());
    all.push(0);
    let manifest = course.root.join(crate::manifest::MANIFEST_FILE);
    all.extend(
        std::fs::read(&manifest).map_err(|e| format!("cannot read {}: {e}", manifest.display()))?,
    );
    let mut files = Vec::new();
    walk(&course.hidden_dir(), &mut files);
    files.sort();
    for file in files {
        all.extend_from_slice(file.to_string_lossy().as_bytes());
        all.push(0);
        all.extend(
            std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?,
        );
        all.push(0);
    }
    Ok(crate::stub::blob_id(&all))
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// What decides a student's grade: the course, the options that change a score, and the
/// sources of each kata graded.
fn input_id(course_id: &str, args: &BatchArgs, katas: &[&str], tree: Option<&Path>) -> String {
    let mut all = format!(
        "{course_id}\0{:?}\0{:?}\0{katas:?}\0",
        args.time_limit, args.build_time_limit
    );
    if let Some(tree) = tree {
        for kata in katas {
            let src = tree.join(kata).join("src");
            let id = match Sources::read(&src) {
                Ok(sources) => sources.id(),
                Err(_) if !src.exists() => "missing".to_string(),
                Err(e) => format!("unreadable: {e}"),
            };
            all.push_str(&format!("{kata}={id}\0"));
        }
    }
    crate::stub::blob_id(all.as_bytes())
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// `grader batch`.
pub fn run(
    course: &Course,
    args: &BatchArgs,
    lang: Lang,
    out: &mut dyn Write,
) -> Result<i32, String> {
    if !(0.0..=1.0).contains(&args.similarity) {
        return Err(format!(
            "--similarity {} is not between 0 and 1",
            args.similarity
        ));
    }
    for name in &args.katas {
        if course.kata(name).is_none() {
            return Err(format!("no kata named `{name}` in course.yaml"));
        }
    }
    if !args.submissions.is_dir() {
        return Err(format!(
            "the submissions directory {} does not exist (or is not a directory)",
            args.submissions.display()
        ));
    }
    walls_between_students(args.unwalled)?;
    let out_dir = prepare_out_dir(&args.out)?;
    let all: Vec<(String, PathBuf)> = students(&args.submissions)?
        .into_iter()
        .filter(|(_, dir)| std::fs::canonicalize(dir).map_or(true, |d| d != out_dir))
        .collect();
    let shard = args.shard.unwrap_or(Shard { index: 1, count: 1 });
    let mine: Vec<&(String, PathBuf)> = all
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.holds(*i))
        .map(|(_, s)| s)
        .collect();
    let course_id = course_id(course)?;
    let katas: Vec<&str> = course
        .katas
        .iter()
        .map(|k| k.id.as_str())
        .filter(|id| args.katas.is_empty() || args.katas.iter().any(|k| k == id))
        .collect();
    let info = BatchInfo {
        course: course.course.clone(),
        course_id: course_id.clone(),
        shard,
        submissions: all.len(),
        students: mine.iter().map(|(name, _)| name.clone()).collect(),
        katas: katas.iter().map(|k| k.to_string()).collect(),
    };
    let mut options = GradeOptions {
        work_dir: Some(args.out.join("work")),
        // Every student's tests run with the class's output out of their sight: other
        // students' reports, sources and outcomes, and the gradebook.
        hide_also: vec![out_dir.clone()],
        progress: false,
        max_time_limit: args.time_limit,
        build_time_limit: args.build_time_limit,
        grade_untouched: false,
        lang,
        ..GradeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    let began = Instant::now();
    let (mut graded, mut reused) = (0usize, 0usize);
    for (n, (name, dir)) in mine.iter().enumerate() {
        let student_dir = args.out.join("students").join(name);
        let tree = locate(course, dir, 1);
        let input = input_id(&course_id, args, &katas, tree.as_deref());
        let last: Option<Outcome> = read_json(&student_dir.join("outcome.json"));
        if !args.regrade {
            if let Some(last) = &last {
                if last.input == input && last.status != Status::Error {
                    reused += 1;
                    if !args.quiet {
                        eprintln!(
                            "[{}/{}] {name}: unchanged since its last grade ({})",
                            n + 1,
                            mine.len(),
                            last.status.as_str()
                        );
                    }
                    continue;
                }
            }
        }
        if !args.quiet {
            eprintln!("[{}/{}] {name}: grading…", n + 1, mine.len());
        }
        let (outcome, points) = grade_one(
            course,
            name,
            dir,
            tree.as_deref(),
            &katas,
            &options,
            &student_dir,
            input,
        )?;
        graded += 1;
        if !args.quiet {
            eprintln!(
                "[{}/{}] {name}: {} in {:.0} s",
                n + 1,
                mine.len(),
                match points {
                    Some((points, max)) => format!("{points}/{max} points"),
                    None => format!("{}: {}", outcome.status.as_str(), outcome.message),
                },
                outcome.seconds
            );
        }
    }
    let names: Vec<String> = mine.iter().map(|(name, _)| name.clone()).collect();
    let (summary, errors) = write_outputs(course, &args.out, &names, args.similarity)?;
    // Last: a shard's output is whole for `merge` only once every student in it is.
    write_whole(
        &args.out.join("batch.json"),
        serde_json::to_string_pretty(&info)
            .expect("serialises")
            .as_bytes(),
    )?;
    let _ = writeln!(
        out,
        "{} submission(s){}: {graded} graded now, {reused} unchanged since their last grade, in {:.0} s",
        mine.len(),
        if shard.count > 1 {
            format!(" (shard {}/{} of {})", shard.index, shard.count, all.len())
        } else {
            String::new()
        },
        began.elapsed().as_secs_f64()
    );
    let _ = write!(out, "{summary}");
    // A row the grader could not make is the instructor's to look at: say so in the status.
    Ok(if errors > 0 {
        crate::cli::EXIT_BELOW
    } else {
        crate::cli::EXIT_OK
    })
}

/// Grades one student into `student_dir`; the outcome is written last. Returns it, with
/// the points when the student was graded.
#[allow(clippy::too_many_arguments)]
fn grade_one(
    course: &Course,
    name: &str,
    dir: &Path,
    tree: Option<&Path>,
    katas: &[&str],
    options: &GradeOptions,
    student_dir: &Path,
    input: String,
) -> Result<(Outcome, Option<(u32, u32)>), String> {
    let began = Instant::now();
    let mut points = None;
    // What a previous grade left is stale from here on.
    let _ = std::fs::remove_dir_all(student_dir);
    std::fs::create_dir_all(student_dir.join("sources"))
        .map_err(|e| format!("cannot create {}: {e}", student_dir.display()))?;
    let mut outcome = Outcome {
        student: name.to_string(),
        status: Status::NoSubmission,
        message: String::new(),
        graded: String::new(),
        input,
        seconds: 0.0,
    };
    match tree {
        None => {
            outcome.message = format!(
                "no exercises/ and no kata folder in {} (nor in a single folder inside it)",
                dir.display()
            );
        }
        Some(tree) => {
            outcome.graded = tree
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let only: Vec<String> = katas.iter().map(|k| k.to_string()).collect();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::grade(course, Source::Path(tree.to_path_buf()), &only, options)
            }));
            match result {
                Ok(Ok(report)) => {
                    write_whole(
                        &student_dir.join("report.json"),
                        report.to_json().as_bytes(),
                    )?;
                    write_whole(
                        &student_dir.join("report.md"),
                        crate::report::markdown(&report).as_bytes(),
                    )?;
                    keep_sources(course, tree, &report, &student_dir.join("sources"))?;
                    outcome.status = Status::Graded;
                    points = Some((report.points, report.max));
                }
                Ok(Err(e)) => {
                    outcome.status = Status::Error;
                    outcome.message = e.to_string();
                }
                Err(panic) => {
                    outcome.status = Status::Error;
                    outcome.message = format!(
                        "the grader panicked (a grader bug): {}",
                        panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("no message")
                    );
                }
            }
        }
    }
    outcome.seconds = (began.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    write_whole(
        &student_dir.join("outcome.json"),
        serde_json::to_string_pretty(&outcome)
            .expect("serialises")
            .as_bytes(),
    )?;
    Ok((outcome, points))
}

/// Keeps each started kata's sources (every `.rs` file of its `src/`, one after the
/// other under its name) as `sources/<kata>.rs`, for the similarity check, also across
/// shards.
fn keep_sources(
    course: &Course,
    tree: &Path,
    report: &crate::report::Report,
    dir: &Path,
) -> Result<(), String> {
    for kata in &report.katas {
        if kata.state == KataState::NotStarted || course.kata(&kata.id).is_none() {
            continue;
        }
        let Ok(sources) = Sources::read(&tree.join(&kata.id).join("src")) else {
            continue;
        };
        let mut text = String::new();
        for (file, content) in &sources.files {
            text.push_str(&format!("// ==== {file}\n{content}\n"));
        }
        write_whole(&dir.join(format!("{}.rs", kata.id)), text.as_bytes())?;
    }
    Ok(())
}

/// Writes `grades.csv` and `similar.csv` into `out` for `names`, each under
/// `out/students/`; returns a summary to print and how many rows are errors.
fn write_outputs(
    course: &Course,
    out: &Path,
    names: &[String],
    threshold: f64,
) -> Result<(String, usize), String> {
    let find = |name: &str| out.join("students").join(name);
    // Rows: the outcome and, when graded, the report.
    let mut rows = Vec::new();
    let mut katas_seen: Vec<String> = Vec::new();
    for name in names {
        let dir = find(name);
        let outcome: Option<Outcome> = read_json(&dir.join("outcome.json"));
        let report: Option<serde_json::Value> = match &outcome {
            Some(o) if o.status == Status::Graded => read_json(&dir.join("report.json")),
            _ => None,
        };
        if let Some(r) = &report {
            for k in r["katas"].as_array().into_iter().flatten() {
                if let Some(id) = k["id"].as_str() {
                    if !katas_seen.iter().any(|s| s == id) {
                        katas_seen.push(id.to_string());
                    }
                }
            }
        }
        rows.push((name.clone(), dir, outcome, report));
    }
    // Columns in course order.
    let columns: Vec<&str> = course
        .katas
        .iter()
        .map(|k| k.id.as_str())
        .filter(|id| katas_seen.iter().any(|s| s == id))
        .collect();
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["student"];
    header.extend(&columns);
    header.extend(["total", "max", "status"]);
    csv.write_record(&header).map_err(|e| e.to_string())?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, _, outcome, report) in &rows {
        let status = match (outcome, report) {
            (Some(o), Some(_)) => o.status.as_str().to_string(),
            (Some(o), None) if o.status == Status::Graded => "error: report.json is missing".into(),
            (Some(o), None) => format!("{}: {}", o.status.as_str(), o.message),
            (None, _) => "error: not graded (no outcome.json)".into(),
        };
        *counts
            .entry(match status.split(':').next().unwrap_or("") {
                "graded" => "graded",
                "no-submission" => "no submission",
                _ => "error",
            })
            .or_default() += 1;
        let mut record = vec![name.clone()];
        match report {
            Some(r) => {
                let katas = r["katas"].as_array().cloned().unwrap_or_default();
                for column in &columns {
                    let cell = katas
                        .iter()
                        .find(|k| k["id"] == *column)
                        .map(|k| k["points"].to_string())
                        .unwrap_or_default();
                    record.push(cell);
                }
                record.push(r["points"].to_string());
                record.push(r["max"].to_string());
            }
            None => {
                record.extend(columns.iter().map(|_| String::new()));
                record.push(String::new());
                record.push(String::new());
            }
        }
        record.push(status);
        csv.write_record(&record).map_err(|e| e.to_string())?;
    }
    let gradebook = csv.into_inner().map_err(|e| e.to_string())?;
    write_whole(&out.join("grades.csv"), &gradebook)?;

    // Similar pairs, kata by kata, over the kept sources.
    let mut pairs = Vec::new();
    for kata in &course.katas {
        let sources: Vec<(String, String)> = rows
            .iter()
            .filter_map(|(name, dir, _, _)| {
                let text =
                    std::fs::read_to_string(dir.join("sources").join(format!("{}.rs", kata.id)))
                        .ok()?;
                Some((name.clone(), text))
            })
            .collect();
        if sources.len() < 2 {
            continue;
        }
        let stub = crate::stub::shipped(course, kata)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .map(|text| format!("// ==== src/lib.rs\n{text}\n"));
        pairs.extend(crate::similar::similar_pairs(
            &kata.id,
            stub.as_deref(),
            &sources,
            threshold,
        ));
    }
    let mut similar = csv::Writer::from_writer(Vec::new());
    similar
        .write_record(["kata", "student_a", "student_b", "similarity"])
        .map_err(|e| e.to_string())?;
    for p in &pairs {
        similar
            .write_record([&p.kata, &p.a, &p.b, &format!("{:.2}", p.similarity)])
            .map_err(|e| e.to_string())?;
    }
    write_whole(
        &out.join("similar.csv"),
        &similar.into_inner().map_err(|e| e.to_string())?,
    )?;

    let counted: Vec<String> = counts
        .iter()
        .map(|(what, n)| format!("{n} {what}"))
        .collect();
    let summary = format!(
        "gradebook: {} ({})\nsimilar pairs at {threshold} or above: {} ({}), to look at, not to score\n",
        out.join("grades.csv").display(),
        counted.join(", "),
        pairs.len(),
        out.join("similar.csv").display()
    );
    Ok((summary, counts.get("error").copied().unwrap_or(0)))
}

/// `grader merge`: joins the shards' outputs into one gradebook in `out`, with every
/// student's reports copied in. Refuses shards of different courses or shard counts, a
/// student graded in two shards, and an incomplete set of shards.
pub fn merge(
    course: &Course,
    shards: &[PathBuf],
    out: &Path,
    threshold: f64,
    say: &mut dyn Write,
) -> Result<i32, String> {
    if !(0.0..=1.0).contains(&threshold) {
        return Err(format!("--similarity {threshold} is not between 0 and 1"));
    }
    let mut infos = Vec::new();
    for dir in shards {
        let file = dir.join("batch.json");
        let info: BatchInfo = read_json(&file).ok_or_else(|| {
            format!(
                "{} is not the output of `grader batch` (no readable {})",
                dir.display(),
                file.display()
            )
        })?;
        infos.push((dir.clone(), info));
    }
    let first = &infos[0].1;
    for (dir, info) in &infos {
        if info.course_id != first.course_id {
            return Err(format!(
                "{} was graded with another course (or other hidden tests, or another grader) than {}",
                dir.display(),
                shards[0].display()
            ));
        }
        if info.shard.count != first.shard.count || info.submissions != first.submissions {
            return Err(format!(
                "{} is shard {}/{} of {} submissions, {} is shard {}/{} of {}: not one class split one way",
                dir.display(),
                info.shard.index,
                info.shard.count,
                info.submissions,
                shards[0].display(),
                first.shard.index,
                first.shard.count,
                first.submissions
            ));
        }
    }
    let mut seen = vec![None; first.shard.count];
    for (dir, info) in &infos {
        if let Some(other) = seen[info.shard.index - 1].replace(dir.clone()) {
            return Err(format!(
                "shard {}/{} is given twice: {} and {}",
                info.shard.index,
                info.shard.count,
                other.display(),
                dir.display()
            ));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_none())
        .map(|(i, _)| format!("{}/{}", i + 1, first.shard.count))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard(s) {} missing: the gradebook would leave students out",
            missing.join(", ")
        ));
    }
    let mut owner: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (dir, info) in &infos {
        for name in &info.students {
            if let Some(other) = owner.insert(name.clone(), dir.clone()) {
                return Err(format!(
                    "student `{name}` is in two shards: {} and {}",
                    other.display(),
                    dir.display()
                ));
            }
        }
    }
    if owner.len() != first.submissions {
        return Err(format!(
            "the shards hold {} students, the class had {}",
            owner.len(),
            first.submissions
        ));
    }
    // Copy every student's directory in, then write the joined gradebook from the copies.
    let students_dir = out.join("students");
    std::fs::create_dir_all(&students_dir)
        .map_err(|e| format!("cannot create {}: {e}", students_dir.display()))?;
    for (name, dir) in &owner {
        let from = dir.join("students").join(name);
        let to = students_dir.join(name);
        if from == to {
            continue;
        }
        let _ = std::fs::remove_dir_all(&to);
        copy_tree(&from, &to)
            .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    }
    let names: Vec<String> = owner.keys().cloned().collect();
    let (summary, errors) = write_outputs(course, out, &names, threshold)?;
    let info = BatchInfo {
        shard: Shard { index: 1, count: 1 },
        students: names.clone(),
        ..first.clone()
    };
    write_whole(
        &out.join("batch.json"),
        serde_json::to_string_pretty(&info)
            .expect("serialises")
            .as_bytes(),
    )?;
    let _ = writeln!(
        say,
        "{} shard(s), {} submission(s) merged",
        infos.len(),
        names.len()
    );
    let _ = write!(say, "{summary}");
    Ok(if errors > 0 {
        crate::cli::EXIT_BELOW
    } else {
        crate::cli::EXIT_OK
    })
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
