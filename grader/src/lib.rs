//! The grader: a one-way pipeline, one stage per module.
//!
//! manifest (course.yaml) → plan (what to grade) → compile (hidden tests against the
//! submission) → run (each test isolated) → score → report (terminal, JSON, JUnit,
//! Gradescope, Markdown). The binary (`src/main.rs`) is a thin layer over [`cli`].

pub mod cli;
pub mod compile;
pub mod facade_check;
pub mod manifest;
pub mod plan;
pub mod process;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod score;
pub mod source_audit;

use std::path::PathBuf;
use std::time::Duration;

/// How to grade, beyond what to grade.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// Tests run at once.
    pub jobs: usize,
    /// The generated workspace for this grade; by default under the course's `target/`.
    pub work_dir: Option<PathBuf>,
    /// Print progress to stderr.
    pub progress: bool,
    /// Caps every test's wall-clock limit (seconds), e.g. for a quick run.
    pub max_time_limit: Option<u64>,
    /// Replaces the course's build time limit (seconds).
    pub build_time_limit: Option<u64>,
}

impl Default for GradeOptions {
    fn default() -> GradeOptions {
        GradeOptions {
            jobs: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            work_dir: None,
            progress: false,
            max_time_limit: None,
            build_time_limit: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GradeError {
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
    #[error(transparent)]
    Plan(#[from] plan::PlanError),
    #[error(transparent)]
    Build(#[from] compile::BuildError),
    #[error("cannot use the work directory {}: {source}", path.display())]
    WorkDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The work directory of a grade of `source`, when none is given.
pub fn default_work_dir(course: &manifest::Course, source: &plan::Source) -> PathBuf {
    let name = match source {
        plan::Source::Exercises => "exercises".to_string(),
        plan::Source::Solutions => "solutions".to_string(),
        plan::Source::Path(p) => {
            let p = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
            // A stable short name per submission path, so regrades reuse their build.
            let hash = p
                .to_string_lossy()
                .bytes()
                .fold(0xcbf29ce484222325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
                });
            format!("path-{hash:016x}")
        }
    };
    course.root.join("target").join("grader").join(name)
}

/// FNV-1a of a path made absolute: stable across runs, unlike std's hasher.
fn path_hash(path: &std::path::Path) -> u64 {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.to_string_lossy()
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
        })
}

/// Holds an exclusive lock on a work directory for the life of a grade.
struct WorkDirLock {
    _file: std::fs::File,
}

impl WorkDirLock {
    fn take(dir: &std::path::Path) -> std::io::Result<WorkDirLock> {
        use std::os::fd::AsRawFd;
        std::fs::create_dir_all(dir)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(".grader.lock"))?;
        // SAFETY: flock on a descriptor we own; released when the file is closed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(WorkDirLock { _file: file })
    }
}

/// Grades `only` (every kata when empty) from `source`: the whole pipeline.
pub fn grade(
    course: &manifest::Course,
    source: plan::Source,
    only: &[String],
    options: &GradeOptions,
) -> Result<report::Report, GradeError> {
    process::init();
    let mut plan = plan::plan(course, source, only)?;
    if let Some(cap) = options.max_time_limit {
        for suite in plan.katas.iter_mut().flat_map(|k| k.suites.iter_mut()) {
            suite.time_limit_secs = suite.time_limit_secs.min(cap.max(1));
        }
    }
    let dir = options
        .work_dir
        .clone()
        .unwrap_or_else(|| default_work_dir(course, &plan.source));
    let _lock = WorkDirLock::take(&dir).map_err(|source| GradeError::WorkDir {
        path: dir.clone(),
        source,
    })?;
    let ws = compile::Workspace {
        target: course.root.join("target").join("grader").join("target"),
        dir: dir.join("ws"),
        label: format!(
            "{}-{:08x}",
            dir.file_name()
                .map(|n| n.to_string_lossy().replace(
                    |c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_',
                    "_"
                ))
                .unwrap_or_else(|| "grade".into()),
            // Two work directories of one name must not share artifacts either.
            path_hash(&dir) as u32
        ),
    };
    let say = |what: &str| {
        if options.progress {
            eprintln!("grader: {what}");
        }
    };
    say(&format!(
        "building the hidden tests against {}",
        plan.submission.display()
    ));
    compile::stage(course, &plan, &ws)?;
    let build = compile::build(
        &plan,
        &ws,
        Duration::from_secs(
            options
                .build_time_limit
                .unwrap_or(course.defaults.build_time_limit_secs),
        ),
    )?;
    let count: usize = plan
        .katas
        .iter()
        .flat_map(|k| &k.suites)
        .map(|s| s.suite.tests.len())
        .sum();
    say(&format!(
        "running {count} hidden tests, {} at a time",
        options.jobs
    ));
    let runs = run::run_all(
        &plan,
        &build,
        &run::RunOptions {
            jobs: options.jobs,
            scratch: dir.join("scratch"),
            hide: sandbox::hidden_root(&course.root),
        },
    );
    Ok(score::score(course, &plan, runs))
}
