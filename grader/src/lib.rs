//! The grader: a one-way pipeline of stages, each a module, and around it the commands
//! that drive it.
//!
//! The stages, in order: [`manifest`] (course.yaml) → [`plan`] (what to grade) → [`admit`]
//! (what may be built, from the source alone) → [`compile`] (hidden tests against the
//! submission) → [`run`] (each test walled in) → [`verdict`] (what each run proves) →
//! [`score`] → [`report`] (terminal, JSON, JUnit, Gradescope, GitHub Classroom, Markdown).
//!
//! Modules that serve stages: [`source`] reads Rust source (admission's checks, the hidden
//! suites' test names, [`similar`]'s tokens); [`process`] starts and reaps processes and
//! [`sandbox`] raises the walls around a test (both for `run`); [`stub`] knows each kata's
//! shipped stub (admission's "not started", `reset`); [`progress`] and [`lang`] are what a
//! person sees while it works and in which language.
//!
//! The commands over the pipeline: [`cli`] parses and dispatches (the binary,
//! `src/main.rs`, is a thin layer over it); [`grade`] runs the pipeline once; [`watch`]
//! runs it on every save; [`standing`] keeps where a student stands for `list`; [`batch`]
//! runs it for a whole class and [`similar`] compares the class's sources; [`export`]
//! builds what the course hands out; [`dev`] checks the course for its authors.

pub mod admit;
pub mod batch;
pub mod cli;
pub mod compile;
pub mod dev;
pub mod export;
pub mod lang;
pub mod manifest;
pub mod plan;
pub mod process;
pub mod progress;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod score;
pub mod similar;
pub mod source;
pub mod standing;
pub mod stub;
pub mod verdict;
pub mod watch;

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
    /// Build and run katas whose source is the untouched stub, rather than calling them
    /// not started (see [`admit::AdmitOptions`]).
    pub grade_untouched: bool,
    /// The language of the progress lines and bars.
    pub lang: lang::Lang,
    /// More directories to hide from the tests, besides the course (see
    /// [`sandbox::Spec::hide`]): `grader batch` hides the class's output.
    pub hide_also: Vec<PathBuf>,
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
            grade_untouched: false,
            lang: lang::Lang::En,
            hide_also: Vec::new(),
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
    /// The walls around the tests cannot be raised here: no verdict could be trusted.
    #[error("{0}")]
    Walls(String),
    /// Something of the grader's own failed while the tests ran.
    #[error("the grader failed while running {0} (a grader problem, not the submission's); no score was given")]
    GraderFault(#[from] run::GraderFault),
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
        // A stable short name per submission path, so regrades reuse their build.
        plan::Source::Path(p) => format!("path-{:016x}", path_hash(p)),
    };
    course.root.join("target").join("grader").join(name)
}

/// Refuses a file to be written into a directory that does not exist, naming both: said
/// before any work, not after minutes of it.
pub fn check_output_path(path: &std::path::Path) -> Result<(), String> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        return Err(format!(
            "cannot write {}: the directory {} does not exist",
            path.display(),
            parent.display()
        ));
    }
    Ok(())
}

/// Writes `content` to `path` whole: to a sibling file first, then renamed into place, so
/// that a reader never sees half of it.
pub fn write_whole(path: &std::path::Path, content: &[u8]) -> Result<(), String> {
    let tmp = path.with_extension("grader-tmp");
    std::fs::write(&tmp, content)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", path.display())
        })
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

/// Runs `f`; with `KATA_GRADER_TIMINGS` set, says on stderr how long it took, as
/// `timing: <stage> <ms> ms` (for `scripts/bench.sh`: where a check's time goes).
pub(crate) fn timed<T>(stage: &str, f: impl FnOnce() -> T) -> T {
    if std::env::var_os("KATA_GRADER_TIMINGS").is_none() {
        return f();
    }
    let began = std::time::Instant::now();
    let value = f();
    eprintln!("timing: {stage} {} ms", began.elapsed().as_millis());
    value
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

/// A grade planned, admitted and built: what the run stage needs.
pub struct Prepared {
    pub plan: plan::Plan,
    pub admitted: Vec<admit::AdmittedKata>,
    pub build: compile::Build,
    /// The walls this machine allows, found once for the whole grade.
    pub protections: sandbox::Protections,
    pub run_options: run::RunOptions,
    /// This grade's work directory: its build, its timings, its standings.
    pub work_dir: PathBuf,
    _lock: WorkDirLock,
}

/// Plans, admits and builds a grade of `only` (every kata when empty) from `source`.
pub fn prepare(
    course: &manifest::Course,
    source: plan::Source,
    only: &[String],
    options: &GradeOptions,
) -> Result<Prepared, GradeError> {
    process::init()
        .map_err(|e| GradeError::Walls(format!("cannot guard the grader itself: {e}")))?;
    let protections = timed("probe", process::probe_protections).map_err(GradeError::Walls)?;
    let plan = plan::plan(
        course,
        source,
        only,
        plan::PlanOptions {
            max_time_limit: options.max_time_limit,
        },
    )?;
    let admitted = admit::admit(
        &plan,
        admit::AdmitOptions {
            grade_untouched: options.grade_untouched,
        },
    );
    let dir = options
        .work_dir
        .clone()
        .unwrap_or_else(|| default_work_dir(course, &plan.source));
    let lock = WorkDirLock::take(&dir).map_err(|source| GradeError::WorkDir {
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
    if options.progress && admitted.iter().any(|k| k.sources().is_some()) {
        eprintln!(
            "{}",
            options
                .lang
                .building(&plan.submission.display().to_string())
        );
    }
    timed("stage", || compile::stage(course, &admitted, &ws))?;
    let build = compile::build(
        &admitted,
        &ws,
        compile::BuildOptions {
            limit: Duration::from_secs(
                options
                    .build_time_limit
                    .unwrap_or(course.defaults.build_time_limit_secs),
            ),
            progress: options.progress,
            lang: options.lang,
        },
    )?;
    // As root without namespaces, tests run as users of their own, who may not reach a
    // course kept in root's home: their scratch directories go to the system's.
    // SAFETY: a getter.
    let root = unsafe { libc::geteuid() } == 0;
    let scratch = if protections.namespaces || !root {
        dir.join("scratch")
    } else {
        std::env::temp_dir().join(format!(
            "kata-grader-scratch-{:08x}",
            path_hash(&dir) as u32
        ))
    };
    Ok(Prepared {
        plan,
        admitted,
        build,
        run_options: run::RunOptions {
            jobs: options.jobs,
            scratch,
            hide: std::iter::once(sandbox::hidden_root(&course.root))
                .chain(options.hide_also.iter().map(|p| sandbox::hidden_root(p)))
                .collect(),
            // What each test of this submission took last time: the next run starts the
            // longest first (see `run::execute`).
            history: Some(dir.join("timings.json")),
            // And what each took for the reference solutions, for tests it has not run.
            prior: Some(course.hidden_dir().join("timings.json")),
            progress: options.progress,
            lang: options.lang,
        },
        protections,
        work_dir: dir,
        _lock: lock,
    })
}

/// Grades `only` (every kata when empty) from `source`: the whole pipeline.
pub fn grade(
    course: &manifest::Course,
    source: plan::Source,
    only: &[String],
    options: &GradeOptions,
) -> Result<report::Report, GradeError> {
    let prepared = prepare(course, source, only, options)?;
    let schedule = run::schedule(&prepared.admitted, &prepared.build);
    let jobs = schedule.jobs();
    if options.progress && !jobs.is_empty() {
        let at_once = if prepared.protections.namespaces {
            options.jobs
        } else {
            1
        };
        eprintln!("{}", options.lang.running(jobs.len(), at_once));
    }
    let runs = timed("run", || {
        run::execute(&jobs, &prepared.protections, &prepared.run_options)
    })?;
    let report = score::score(
        course,
        &prepared.plan,
        &prepared.admitted,
        report::Protections::from(&prepared.protections),
        schedule.complete(runs),
    );
    // Where the student stands, for `grader list`: a convenience, so a failure to keep it
    // costs no grade.
    let sources = prepared
        .admitted
        .iter()
        .map(|k| (k.id().to_string(), k.sources_id.clone()))
        .collect();
    if let Err(e) = standing::record(&prepared.work_dir, &report, &sources) {
        if options.progress {
            eprintln!("grader: could not keep the standings for `grader list`: {e}");
        }
    }
    Ok(report)
}
