//! The command line: parse, run the pipeline, render, and choose the exit status.

use crate::lang::Lang;
use crate::manifest::{self, Course};
use crate::plan::Source;
use crate::report::{self, Report, TerminalOptions};
use crate::GradeOptions;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "grader",
    version,
    about = "Grades the systems-programming katas: hidden tests, each in its own process, with loom, proptest and process checks."
)]
pub struct Cli {
    /// The course directory (holding course.yaml). Default: found upward from the current
    /// directory, else the course this grader was built in.
    #[arg(long, global = true, value_name = "DIR")]
    pub course: Option<PathBuf>,
    /// The grader's own words in English or Chinese (the tests' messages stay English).
    /// Default: from the locale (LC_ALL, LC_MESSAGES, LANG; zh_* is Chinese).
    #[arg(long, global = true, value_enum)]
    pub lang: Option<Lang>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade every kata (or those named with --kata): a table, the failing tests, a total.
    Grade(GradeArgs),
    /// Grade one kata and show each failure in full: the fast path while working on it.
    Check {
        /// The kata, e.g. `race`.
        kata: String,
        #[command(flatten)]
        args: GradeArgs,
    },
    /// Show a kata's hints, one level at a time.
    Hint {
        kata: String,
        /// How many hint levels to show.
        #[arg(long, default_value_t = 1)]
        level: usize,
    },
    /// List the katas: where you stand with each (from your last grade or check), its
    /// points, its checkers.
    List {
        /// A submission tree graded with `grade --path DIR` (default: exercises/).
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        /// The work directory its grades used, if not the default.
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
    /// Work kata by kata: the first one short of full marks is checked on every save of
    /// its sources; keys give a hint, the list, the next kata; it moves on by itself.
    Watch {
        /// A submission tree laid out like exercises/ (default: exercises/).
        #[arg(long, value_name = "DIR")]
        path: Option<PathBuf>,
        /// Where to build (default: <course>/target/grader/<submission>).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<PathBuf>,
    },
    /// Put a kata's stub back, keeping your sources aside (the command says where).
    Reset {
        /// The kata, e.g. `race`.
        kata: String,
    },
    /// Show which walls the grader can raise around tests on this machine, and the limits.
    Doctor,
    /// Grade a whole class: every submission under a directory, into a gradebook.
    Batch(crate::batch::BatchArgs),
    /// Join the outputs of `batch --shard` runs into one gradebook.
    Merge {
        /// The `--out` directories of the shards.
        #[arg(required = true, value_name = "SHARD_DIR")]
        shards: Vec<PathBuf>,
        /// Where to write the joined gradebook.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// List pairs at or above this similarity (0 to 1) in similar.csv.
        #[arg(long, value_name = "FRACTION", default_value_t = crate::batch::DEFAULT_SIMILARITY)]
        similarity: f64,
    },
    /// Build what the course hands out: a student repository, a Gradescope bundle.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Tools for course authors.
    #[command(subcommand)]
    Dev(DevCommand),
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// A repository for students: stubs, statements, hints, visible tests, the facade and
    /// a grader for the visible tests; no solutions, hidden tests or mutants.
    Student {
        /// Where to write it (must not exist, or be empty).
        dir: PathBuf,
    },
    /// Gradescope's autograder bundle (setup.sh, run_autograder and the course).
    Gradescope {
        /// The zip file to write.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Check the course for what an author left out: each kata's files and hints, the
    /// hidden suites against course.yaml, the mutants' headers, and the statements'
    /// tables of promises (every promise tested, every test a promise).
    Check,
}

#[derive(Debug, Args, Default, Clone)]
pub struct GradeArgs {
    /// Grade the reference solutions (for course authors).
    #[arg(long, conflicts_with = "path")]
    pub solutions: bool,
    /// Grade a submission tree laid out like exercises/ (<DIR>/<kata>/src/lib.rs).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Only these katas (repeatable).
    #[arg(long = "kata", value_name = "ID")]
    pub katas: Vec<String>,
    /// Write the JSON report (schema: docs/report-schema.md).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write Gradescope's results.json.
    #[arg(long, value_name = "FILE")]
    pub gradescope: Option<PathBuf>,
    /// Write a Markdown summary.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Append `result=<payload>` to FILE for GitHub Classroom's grading reporter (pass
    /// `$GITHUB_OUTPUT`; the runner id is `grader`). Written even when no grade could be
    /// made, as an `error` payload that says why.
    #[arg(long, value_name = "FILE")]
    pub github_classroom: Option<PathBuf>,
    /// Exit with status 1 unless the score is at least this many points.
    #[arg(long, value_name = "POINTS")]
    pub min_score: Option<u32>,
    /// Tests run at once (default: the number of cores).
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Where to build (default: <course>/target/grader/<submission>).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Cap every test's time limit at SECS (a quicker run; a slow but correct solution may
    /// then time out, so scores are comparable only at the same cap).
    #[arg(long, value_name = "SECS")]
    pub time_limit: Option<u64>,
    /// Stop a build of the hidden tests after SECS (default: course.yaml's).
    #[arg(long, value_name = "SECS")]
    pub build_time_limit: Option<u64>,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Show every failing test with its whole message (`grade` shows each started kata's
    /// first failure).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Build and run katas whose source is still the stub as shipped, instead of calling
    /// them not started (course authors: the proof that a stub earns nothing).
    #[arg(long)]
    pub grade_untouched: bool,
}

/// Exit statuses.
pub const EXIT_OK: i32 = 0;
pub const EXIT_BELOW: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Runs the command line; returns the process exit status. Reports go to `out`,
/// errors to `err`.
pub fn main(
    args: impl IntoIterator<Item = String>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            if e.use_stderr() {
                let _ = write!(err, "{}", e.render());
                return EXIT_ERROR;
            }
            let _ = write!(out, "{}", e.render());
            return EXIT_OK;
        }
    };
    match execute(cli, out) {
        Ok(code) => code,
        Err(message) => {
            let _ = writeln!(err, "grader: error: {message}");
            EXIT_ERROR
        }
    }
}

fn find_course(explicit: Option<PathBuf>) -> Result<PathBuf, String> {
    if let Some(dir) = explicit {
        if !dir.join(manifest::MANIFEST_FILE).is_file() {
            return Err(format!(
                "{} has no {}",
                dir.display(),
                manifest::MANIFEST_FILE
            ));
        }
        // Absolute: the generated workspace names the hidden suites by path, from
        // another directory than this one.
        return std::fs::canonicalize(&dir)
            .map_err(|e| format!("cannot resolve the course directory {}: {e}", dir.display()));
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join(manifest::MANIFEST_FILE).is_file() {
                return Ok(dir.to_path_buf());
            }
        }
    }
    let built_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if built_in.join(manifest::MANIFEST_FILE).is_file() {
        return Ok(std::fs::canonicalize(&built_in).unwrap_or(built_in));
    }
    Err(format!(
        "no {} here or in any parent directory: run the grader inside the course, or pass --course DIR",
        manifest::MANIFEST_FILE
    ))
}

fn execute(cli: Cli, out: &mut dyn Write) -> Result<i32, String> {
    let root = find_course(cli.course)?;
    let course = manifest::load(&root).map_err(|e| e.to_string())?;
    let lang = cli.lang.unwrap_or_else(Lang::from_env);
    match cli.command.unwrap_or(Command::Grade(GradeArgs::default())) {
        Command::Grade(args) => {
            let katas = args.katas.clone();
            grade_and_report(
                &course,
                &args,
                &katas,
                TerminalOptions {
                    full_messages: args.verbose,
                    first_failure_whole: false,
                    suggest_hints: false,
                    colour: crate::report::colour_wanted(),
                    lang,
                    visible_only: course.edition == manifest::Edition::Student,
                },
                out,
            )
        }
        Command::Check { kata, args } => {
            if !args.katas.is_empty() {
                return Err("`check` takes one kata as its argument, not --kata".into());
            }
            let code = grade_and_report(
                &course,
                &args,
                std::slice::from_ref(&kata),
                TerminalOptions {
                    full_messages: true,
                    first_failure_whole: false,
                    suggest_hints: true,
                    colour: crate::report::colour_wanted(),
                    lang,
                    visible_only: course.edition == manifest::Edition::Student,
                },
                out,
            )?;
            Ok(code)
        }
        Command::Hint { kata, level } => {
            let k = course
                .kata(&kata)
                .ok_or_else(|| unknown_kata(&course, &kata))?;
            let hints = k.hints_in(lang);
            let level = level.clamp(1, hints.len());
            let _ = writeln!(out, "{} — {} ({})", k.id, k.title, k.section);
            for (i, hint) in hints.iter().take(level).enumerate() {
                let _ = writeln!(out, "\n{}: {hint}", lang.hint(i + 1, hints.len()));
            }
            if level < hints.len() {
                let _ = writeln!(out, "\n{}", lang.more_hints(&k.id, level + 1));
            }
            Ok(EXIT_OK)
        }
        Command::Doctor => {
            crate::process::init().map_err(|e| format!("cannot guard the grader itself: {e}"))?;
            let p = crate::process::probe_protections()?;
            let yes = |b: bool| if b { "yes" } else { "no" };
            let _ = writeln!(
                out,
                "PID and mount namespaces per test: {}",
                yes(p.namespaces)
            );
            let _ = writeln!(
                out,
                "tests run as:                      {}",
                p.user.as_str()
            );
            let _ = writeln!(
                out,
                "seccomp filter, non-dumpable tests, no unsafe in katas: yes (the grader refuses to grade otherwise)"
            );
            if let Some(note) = &p.note {
                let _ = writeln!(out, "note: {note}");
            }
            let l = course.defaults.limits;
            let _ = writeln!(
                out,
                "default limits per test: {}s wall, {} MiB memory, {} processes, {} open files, {} MiB files, {} KiB output",
                course.defaults.time_limit_secs, l.memory_mib, l.processes, l.open_files, l.file_size_mib, l.output_kib
            );
            Ok(EXIT_OK)
        }
        Command::Batch(args) => crate::batch::run(&course, &args, lang, out),
        Command::Merge {
            shards,
            out: dir,
            similarity,
        } => crate::batch::merge(&course, &shards, &dir, similarity, out),
        Command::Export(ExportCommand::Student { dir }) => {
            let said = crate::export::student::export(&course, &dir)?;
            let _ = writeln!(out, "{said}");
            Ok(EXIT_OK)
        }
        Command::Export(ExportCommand::Gradescope { file }) => {
            let said = crate::export::gradescope::export(&course, &file)?;
            let _ = writeln!(out, "{said}");
            Ok(EXIT_OK)
        }
        Command::Dev(DevCommand::Check) => {
            let problems = crate::dev::check(&course);
            for p in &problems {
                let _ = writeln!(out, "{p}");
            }
            if problems.is_empty() {
                let _ = writeln!(
                    out,
                    "dev check: {} katas, nothing to fix",
                    course.katas.len()
                );
                Ok(EXIT_OK)
            } else {
                let _ = writeln!(out, "dev check: {} problem(s)", problems.len());
                Ok(EXIT_BELOW)
            }
        }
        Command::List { path, work_dir } => {
            let source = path.map_or(Source::Exercises, Source::Path);
            let work_dir = work_dir.unwrap_or_else(|| crate::default_work_dir(&course, &source));
            list(&course, &source, &work_dir, lang, out);
            Ok(EXIT_OK)
        }
        Command::Watch { path, work_dir } => {
            let source = path.map_or(Source::Exercises, Source::Path);
            let options = GradeOptions {
                lang,
                ..GradeOptions::default()
            };
            crate::watch::watch(&course, source, work_dir, &options, out)?;
            Ok(EXIT_OK)
        }
        Command::Reset { kata } => {
            let k = course
                .kata(&kata)
                .ok_or_else(|| unknown_kata(&course, &kata))?;
            let file = crate::stub::exercise_file(&course, k);
            let shown = file.strip_prefix(&course.root).unwrap_or(&file).display();
            match crate::stub::reset(&course, k)? {
                crate::stub::Reset::AlreadyTheStub => {
                    let _ = writeln!(out, "{}", lang.reset_already(&shown.to_string()));
                }
                crate::stub::Reset::Restored => {
                    let _ = writeln!(out, "{}", lang.reset_restored(&shown.to_string()));
                }
                crate::stub::Reset::Done { backup } => {
                    let backup = backup.strip_prefix(&course.root).unwrap_or(&backup);
                    let _ = writeln!(
                        out,
                        "{}",
                        lang.reset_done(&shown.to_string(), &backup.display().to_string())
                    );
                }
            }
            Ok(EXIT_OK)
        }
    }
}

/// `grader list`: every kata with where the student stands, from the last grade or check
/// (kept in `work_dir`) and from the sources as they are now.
pub(crate) fn list(
    course: &Course,
    source: &Source,
    work_dir: &Path,
    lang: Lang,
    out: &mut dyn Write,
) {
    use crate::lang::display_width;
    use crate::report::KataState;
    let colour = crate::report::colour_wanted();
    let standings = crate::standing::load(work_dir);
    let submission = source.dir(course);
    let id_width = course.katas.iter().map(|k| k.id.len()).max().unwrap_or(4);
    let (mut points, mut max) = (0, 0);
    let mut counts = [0usize; 3];
    let mut next: Option<(&str, KataState)> = None;
    let [n_col, kata_col, points_col, stand_col, last_col] = lang.list_columns();
    let pad = |text: &str, width: usize| {
        format!(
            "{text}{}",
            " ".repeat(width.saturating_sub(display_width(text)))
        )
    };
    let _ = writeln!(
        out,
        "{:>3}  {}  {:>7}  {}  {last_col}",
        n_col,
        pad(kata_col, id_width),
        points_col,
        pad(stand_col, 28)
    );
    for (n, k) in course.katas.iter().enumerate() {
        let src = submission.join(&k.id).join("src");
        let now = crate::standing::now(k, &src, standings.get(&k.id));
        let state = now.state;
        let earned = now.points;
        let mut status = if now.missing {
            lang.missing().to_string()
        } else if now.unchecked {
            lang.not_checked_yet().to_string()
        } else {
            lang.state(state).to_string()
        };
        if now.edited {
            status += lang.edited_since();
        }
        let kata_max = k.max_points();
        points += earned;
        max += kata_max;
        counts[match state {
            KataState::Done => 0,
            KataState::Started => 1,
            KataState::NotStarted => 2,
        }] += 1;
        if next.is_none() && state != KataState::Done {
            next = Some((&k.id, state));
        }
        let mut checkers: Vec<&str> = k.suites.iter().map(|s| s.checker.as_str()).collect();
        checkers.dedup();
        let mark = crate::report::paint(state, colour);
        let _ = writeln!(
            out,
            "{:>3}  {:id_width$}  {:>7}  {mark} {}  {} — {} ({})",
            n + 1,
            k.id,
            format!("{earned}/{kata_max}"),
            pad(&status, 26),
            k.title,
            k.section,
            checkers.join(", ")
        );
    }
    let _ = writeln!(out, "\n{}", lang.list_total(points, max, counts));
    let _ = match next {
        None => writeln!(out, "{}", lang.course_done()),
        Some((id, KataState::NotStarted)) => writeln!(out, "{}", lang.list_next_start(id)),
        Some((id, _)) => writeln!(out, "{}", lang.list_next_check(id)),
    };
}

fn unknown_kata(course: &Course, name: &str) -> String {
    let known: Vec<&str> = course.katas.iter().map(|k| k.id.as_str()).collect();
    format!(
        "no kata named `{name}` in course.yaml; the katas are: {}",
        known.join(", ")
    )
}

fn grade_and_report(
    course: &Course,
    args: &GradeArgs,
    katas: &[String],
    view: TerminalOptions,
    out: &mut dyn Write,
) -> Result<i32, String> {
    let source = if args.solutions {
        Source::Solutions
    } else if let Some(path) = &args.path {
        Source::Path(path.clone())
    } else {
        Source::Exercises
    };
    // Refuse bad report paths before spending minutes on a build.
    for path in [
        &args.json,
        &args.junit,
        &args.gradescope,
        &args.markdown,
        &args.github_classroom,
    ]
    .into_iter()
    .flatten()
    {
        crate::check_output_path(path)?;
    }
    let mut options = GradeOptions {
        progress: !args.quiet,
        work_dir: args.work_dir.clone(),
        max_time_limit: args.time_limit,
        build_time_limit: args.build_time_limit,
        grade_untouched: args.grade_untouched,
        lang: view.lang,
        ..GradeOptions::default()
    };
    if let Some(jobs) = args.jobs {
        options.jobs = jobs.max(1);
    }
    let report = match crate::grade(course, source, katas, &options) {
        Ok(report) => report,
        Err(e) => {
            let why = e.to_string();
            if let Some(path) = &args.github_classroom {
                let max = course
                    .katas
                    .iter()
                    .filter(|k| katas.is_empty() || katas.contains(&k.id))
                    .map(|k| k.max_points())
                    .sum();
                // The grade's own error is the one to tell; this one only adds to it.
                if let Err(e2) = append_output(path, &report::github_classroom_error(max, &why)) {
                    return Err(format!("{why}; and {e2}"));
                }
            }
            return Err(why);
        }
    };
    let _ = write!(out, "{}", report::terminal(&report, &view));
    write_reports(&report, args)?;
    if let Some(path) = &args.github_classroom {
        append_output(path, &report::github_classroom(&report))?;
    }
    let full = report.points == report.max;
    Ok(match args.min_score {
        Some(min) if report.points < min => EXIT_BELOW,
        Some(_) => EXIT_OK,
        // `check` is a test run: it fails unless the kata earns full marks.
        None if view.suggest_hints && !full => EXIT_BELOW,
        None => EXIT_OK,
    })
}

/// Appends `result=<payload>` to a GitHub Actions output file (`$GITHUB_OUTPUT`), which
/// other steps may have written to before: appended, never replaced.
fn append_output(path: &Path, payload: &str) -> Result<(), String> {
    use std::fs::OpenOptions;
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "result={payload}"))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Writes each asked-for report whole: to a sibling file first, then renamed into place.
fn write_reports(report: &Report, args: &GradeArgs) -> Result<(), String> {
    type Render = fn(&Report) -> String;
    let renderers: [(&Option<PathBuf>, Render); 4] = [
        (&args.json, |r| r.to_json()),
        (&args.junit, report::junit),
        (&args.gradescope, report::gradescope),
        (&args.markdown, report::markdown),
    ];
    for (path, render) in renderers {
        let Some(path) = path else { continue };
        crate::write_whole(path, render(report).as_bytes())?;
    }
    Ok(())
}
