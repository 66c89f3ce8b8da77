//! Stage 3: build the hidden tests against the submission.
//!
//! The submission is staged (copied) into a work directory outside itself, next to
//! generated crates: one per kata holding the student's `src/` under a Cargo.toml the
//! grader writes, and one per kata holding its hidden suites. The loom configuration is a
//! second set of packages over the same sources (the facade, the harness, the test kit,
//! each kata and its loom suites, under `loom/`, `katas-loom/` and `hidden-loom/`), so
//! that everything is built in one cargo call with `--keep-going`, both configurations
//! side by side, into one shared target directory: a kata that does not compile costs
//! only that kata, and a regrade rebuilds only what changed.

use crate::admit::AdmittedKata;
use crate::manifest::Course;
use crate::plan::{PlannedKata, PlannedSuite};
use crate::process::{self, Exit};
use crate::sandbox::Limits;
use crate::source::Sources;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The two ways hidden suites are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Config {
    Normal,
    Loom,
}

impl Config {
    /// The configuration a suite is built in.
    pub fn of(suite: &PlannedSuite) -> Config {
        if suite.is_loom() {
            Config::Loom
        } else {
            Config::Normal
        }
    }

    /// Where this configuration's copy of a kata crate (`katas…`) and of its hidden crate
    /// (`hidden…`) live in the generated workspace. The loom configuration is a second
    /// set of packages, not a feature: cargo unifies a package's features across one
    /// build, so only separate packages (the facade, the harness, the test kit and each
    /// kata compiled again under other names, over the same sources) let one cargo call
    /// build both configurations side by side.
    fn dirs(self) -> (&'static str, &'static str) {
        match self {
            Config::Normal => ("katas", "hidden"),
            Config::Loom => ("katas-loom", "hidden-loom"),
        }
    }

    /// The package names of a kata's crate and of its hidden crate in this configuration.
    fn packages(self, kata: &str) -> [String; 2] {
        match self {
            Config::Normal => [kata.to_string(), format!("hidden-{kata}")],
            Config::Loom => [format!("{kata}-loom"), format!("hidden-{kata}-loom")],
        }
    }
}

/// The course's own crates that the hidden crates link, by their directory in the
/// course; each is copied as it is and, under `loom/<last part>`, as its loom twin.
const COURSE_CRATES: [&str; 3] = ["sync", "grader/harness", "grader/testkit"];

/// Where a build puts things.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The generated workspace (staged katas, hidden crates).
    pub dir: PathBuf,
    /// Names this grade's crates inside `dir`: `<label>/katas/<kata>`, `<label>/hidden/<kata>`.
    /// Cargo names artifacts by a hash of each package's path relative to its workspace
    /// root, so two grades sharing the target directory must not share these paths, or
    /// one grade could run the other's binaries (cargo would find them fresh).
    pub label: String,
    /// The cargo target directory, shared by every grade of this course.
    pub target: PathBuf,
}

/// What the build produced for one kata.
#[derive(Debug, Clone, Default)]
pub struct KataBuild {
    /// Suite name → test binary.
    pub binaries: HashMap<String, PathBuf>,
    /// The first compiler error per configuration that failed for this kata.
    pub errors: HashMap<Config, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Build {
    pub katas: HashMap<String, KataBuild>,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot prepare the build directory {}: {source}", path.display())]
    Stage { path: PathBuf, source: io::Error },
    #[error("cannot run cargo: {0}")]
    Cargo(String),
    #[error("cargo failed without building anything ({configs:?}):\n{stderr}")]
    CargoFailed {
        configs: Vec<Config>,
        stderr: String,
    },
}

fn stage_err(path: &Path) -> impl FnOnce(io::Error) -> BuildError + '_ {
    move |source| BuildError::Stage {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `contents` to `path` unless it already holds exactly that, so that cargo's
/// fingerprints (which look at modification times) see only real changes.
fn write_if_changed(path: &Path, contents: &[u8]) -> io::Result<()> {
    if fs::read(path).map(|old| old == contents).unwrap_or(false) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    // Write a sibling and rename: a reader never sees a half-written file.
    let tmp = path.with_extension("grader-tmp");
    fs::write(&tmp, contents)?;
    fs::rename(&tmp, path)
}

/// Most bytes of source staged from one kata of a submission.
const MAX_STAGED_BYTES: u64 = 8 << 20;

/// Mirrors the regular files of `from` into `to` (symbolic links are not followed) and
/// removes what `from` no longer has.
fn mirror(from: &Path, to: &Path, budget: &mut u64) -> io::Result<()> {
    fs::create_dir_all(to)?;
    let mut keep = std::collections::HashSet::new();
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        if kind.is_dir() {
            mirror(&entry.path(), &to.join(&name), budget)?;
            keep.insert(name);
        } else if kind.is_file() {
            let len = entry.metadata()?.len();
            if len > *budget {
                return Err(io::Error::other(format!(
                    "the submission's sources are larger than {} MiB",
                    MAX_STAGED_BYTES >> 20
                )));
            }
            *budget -= len;
            write_if_changed(&to.join(&name), &fs::read(entry.path())?)?;
            keep.insert(name);
        }
    }
    for entry in fs::read_dir(to)? {
        let entry = entry?;
        if !keep.contains(&entry.file_name()) {
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                fs::remove_dir_all(path)?;
            } else {
                fs::remove_file(path)?;
            }
        }
    }
    Ok(())
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

fn dependency_lines(deps: &BTreeMap<String, String>) -> String {
    deps.iter()
        .map(|(name, value)| format!("{name} = {value}\n"))
        .collect()
}

const LINTS: &str =
    "[lints.rust]\nunexpected_cfgs = { level = \"warn\", check-cfg = [\"cfg(loom)\"] }\n";

/// A kata crate may not write `unsafe` (see `source::rules` and the README's threat
/// model); `forbid` cannot be lifted by an `#[allow]` in the source.
const KATA_LINTS: &str = "[lints.rust]\nunexpected_cfgs = { level = \"warn\", check-cfg = [\"cfg(loom)\"] }\nunsafe_code = \"forbid\"\n";

fn kata_manifest(course: &Course, kata: &str, config: Config) -> String {
    // The loom twin compiles the very same staged sources, under its own package name
    // and the facade's loom twin.
    let (lib, sync) = match config {
        Config::Normal => (
            "[lib]\npath = \"src/lib.rs\"\n".to_string(),
            "kata-sync = { path = \"../../../sync\" }".to_string(),
        ),
        Config::Loom => (
            format!(
                "[lib]\nname = {}\npath = {}\n",
                toml_str(kata),
                toml_str(&format!("../../katas/{kata}/src/lib.rs"))
            ),
            loom_sync_dependency("../../.."),
        ),
    };
    format!(
        "# Written by the grader: only src/ comes from the submission.\n\
         [package]\nname = {name}\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\
         build = false\nautobins = false\nautotests = false\nautoexamples = false\nautobenches = false\n\n\
         {lib}\n\
         [dependencies]\n{sync}\n{deps}\n{KATA_LINTS}",
        name = toml_str(&config.packages(kata)[0]),
        deps = dependency_lines(&course.kata_dependencies),
    )
}

/// The dependency on the facade's loom twin, from a directory `up` (such as `../..`)
/// below the generated workspace's root.
fn loom_sync_dependency(up: &str) -> String {
    format!("kata-sync = {{ path = \"{up}/loom/sync\", package = \"kata-sync-loom\", features = [\"loom\"] }}")
}

/// The manifest of a course crate's loom twin (`loom/<name>`), from the crate's own:
/// another package name, the same library name and sources, and the facade's loom twin
/// wherever the crate depends on the facade.
fn loom_twin_manifest(crate_dir: &str, manifest: &str) -> Result<String, String> {
    let mut out = String::from("# Written by the grader: the loom twin of a course crate.\n");
    let (mut section, mut name) = (String::new(), None);
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_string();
            if section == "[lib]" {
                return Err("it has a [lib] section".into());
            }
        }
        if section == "[package]" && name.is_none() {
            if let Some(value) = trimmed.strip_prefix("name = ") {
                let package = value.trim_matches('"').to_string();
                out += &format!("name = {}\n", toml_str(&format!("{package}-loom")));
                name = Some(package);
                continue;
            }
        }
        if section.ends_with("dependencies]") && trimmed.starts_with("kata-sync = ") {
            out += &loom_sync_dependency("../..");
            out.push('\n');
            continue;
        }
        out += line;
        out.push('\n');
    }
    let name = name.ok_or("it has no package name")?;
    out += &format!(
        "\n[lib]\nname = {}\npath = {}\n",
        toml_str(&name.replace('-', "_")),
        toml_str(&format!("../../{crate_dir}/src/lib.rs"))
    );
    Ok(out)
}

fn hidden_manifest(course: &Course, planned: &PlannedKata, config: Config) -> String {
    let kata = &planned.kata.id;
    let [kata_package, name] = config.packages(kata);
    let (katas, _) = config.dirs();
    let mut out = format!(
        "# Written by the grader: the {what} suites of kata `{kata}`.\n\
         [package]\nname = {name}\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\
         autobins = false\nautotests = false\nautoexamples = false\nautobenches = false\n\n",
        what = match config {
            Config::Normal => "hidden",
            Config::Loom => "hidden loom",
        },
        name = toml_str(&name),
    );
    for suite in planned.suites.iter().filter(|s| Config::of(s) == config) {
        out += &format!(
            "[[test]]\nname = {}\npath = {}\nharness = true\n\n",
            toml_str(&suite.suite.name),
            toml_str(&suite.file.display().to_string())
        );
    }
    let course_crates = match config {
        Config::Normal => "kata-sync = { path = \"../../../sync\" }\n\
             kata-harness = { path = \"../../../grader/harness\" }\n\
             kata-testkit = { path = \"../../../grader/testkit\" }\n"
            .to_string(),
        // The facade's and the kit's loom twins, each with its `loom` feature on.
        Config::Loom => format!(
            "{}\n\
             kata-harness = {{ path = \"../../../loom/harness\", package = \"kata-harness-loom\" }}\n\
             kata-testkit = {{ path = \"../../../loom/testkit\", package = \"kata-testkit-loom\", features = [\"loom\"] }}\n",
            loom_sync_dependency("../../..")
        ),
    };
    // A loom suite file starts with `#![cfg(feature = "loom")]`: on in the loom twin.
    let features = match config {
        Config::Normal => "[features]\nloom = []\n",
        Config::Loom => "[features]\ndefault = [\"loom\"]\nloom = []\n",
    };
    out += &format!(
        "[dependencies]\n{kata} = {{ path = {path}, package = {package} }}\n{course_crates}{}\n\
         {features}\n{LINTS}",
        dependency_lines(&course.hidden_dependencies),
        path = toml_str(&format!("../../{katas}/{kata}")),
        package = toml_str(&kata_package),
    );
    out
}

fn workspace_manifest(label: &str, loom: bool) -> String {
    // The loom twins' directories are members only when some kata has them: a member glob
    // that matches nothing is an error to cargo.
    let mut members = vec![format!("{label}/katas/*"), format!("{label}/hidden/*")];
    if loom {
        members.push(format!("{label}/katas-loom/*"));
        members.push(format!("{label}/hidden-loom/*"));
    }
    let members: Vec<String> = members.iter().map(|m| toml_str(m)).collect();
    format!(
        "# Written by the grader: one grade's generated workspace.\n\
     [workspace]\nresolver = \"2\"\nmembers = [{}]\n\n\
     # Loom and proptest explore many cases: optimised dependencies keep them quick, while\n\
     # the crates that change between grades stay quick to build.\n\
     [profile.dev.package.\"*\"]\nopt-level = 2\n\n\
     # Every verdict's line numbers come from #[track_caller] and panic locations, and\n\
     # tests run without backtraces: no debug info is read. Incremental state is never\n\
     # reused by the next submission. Without both, a grade's artifacts take a fraction\n\
     # of the disk, and an edit builds sooner (0.18 s of 0.9 for `race`).\n\
     [profile.dev]\nincremental = false\ndebug = false\n",
        members.join(", "),
    )
}

/// Stages the admitted katas into `ws.dir` and writes the generated manifests. A kata's
/// `src/` gets exactly the sources admission read, nothing else.
pub fn stage(course: &Course, admitted: &[AdmittedKata], ws: &Workspace) -> Result<(), BuildError> {
    let dir = &ws.dir;
    fs::create_dir_all(dir).map_err(stage_err(dir))?;
    let loom = admitted
        .iter()
        .any(|k| k.sources().is_some() && staged_in(k, Config::Loom));
    write_if_changed(
        &dir.join("Cargo.toml"),
        workspace_manifest(&ws.label, loom).as_bytes(),
    )
    .map_err(stage_err(dir))?;
    // Start from the course's lock file, so that a grade resolves the same versions the
    // course was tested with (and needs no registry when they are cached).
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        if let Ok(course_lock) = fs::read(course.root.join("Cargo.lock")) {
            write_if_changed(&lock, &course_lock).map_err(stage_err(&lock))?;
        }
    }
    // The facade, the harness and the test kit come from the course, never from the
    // submission. They keep the course's layout, so that their own path dependencies on
    // one another hold in both places. Each also gets its loom twin, a manifest only.
    for crate_dir in COURSE_CRATES {
        let src = course.root.join(crate_dir);
        let dst = dir.join(crate_dir);
        let mut budget = MAX_STAGED_BYTES;
        mirror(&src.join("src"), &dst.join("src"), &mut budget).map_err(stage_err(&src))?;
        let manifest = fs::read(src.join("Cargo.toml")).map_err(stage_err(&src))?;
        write_if_changed(&dst.join("Cargo.toml"), &manifest).map_err(stage_err(&dst))?;
        let twin =
            loom_twin_manifest(crate_dir, &String::from_utf8_lossy(&manifest)).map_err(|why| {
                BuildError::Stage {
                    path: src.join("Cargo.toml"),
                    source: io::Error::other(format!("cannot make its loom twin: {why}")),
                }
            })?;
        let twin_dir = dir
            .join("loom")
            .join(crate_dir.rsplit('/').next().unwrap_or(crate_dir));
        write_if_changed(&twin_dir.join("Cargo.toml"), twin.as_bytes())
            .map_err(stage_err(&twin_dir))?;
    }
    // Only the admitted katas are members, and a kata's loom twins only when its loom
    // suites will be built: remove any other.
    let wanted: Vec<(&AdmittedKata, &Sources)> = admitted
        .iter()
        .filter_map(|k| Some((k, k.sources()?)))
        .collect();
    let mine = dir.join(&ws.label);
    for config in [Config::Normal, Config::Loom] {
        for sub in <[&str; 2]>::from(config.dirs()) {
            let parent = mine.join(sub);
            fs::create_dir_all(&parent).map_err(stage_err(&parent))?;
            for entry in fs::read_dir(&parent).map_err(stage_err(&parent))?.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !wanted
                    .iter()
                    .any(|(k, _)| k.id() == name && staged_in(k, config))
                {
                    fs::remove_dir_all(entry.path()).map_err(stage_err(&entry.path()))?;
                }
            }
        }
    }
    for (kata, sources) in wanted {
        let (id, planned) = (kata.id(), &kata.planned);
        let kata_dir = mine.join("katas").join(id);
        write_sources(sources, &kata_dir).map_err(stage_err(&kata_dir))?;
        for config in [Config::Normal, Config::Loom] {
            if !staged_in(kata, config) {
                continue;
            }
            let (katas, hidden) = config.dirs();
            let crate_dir = mine.join(katas).join(id);
            write_if_changed(
                &crate_dir.join("Cargo.toml"),
                kata_manifest(course, id, config).as_bytes(),
            )
            .map_err(stage_err(&crate_dir))?;
            let hidden_dir = mine.join(hidden).join(id);
            write_if_changed(
                &hidden_dir.join("Cargo.toml"),
                hidden_manifest(course, planned, config).as_bytes(),
            )
            .map_err(stage_err(&hidden_dir))?;
        }
    }
    Ok(())
}

/// Whether `kata`'s crates of `config` are staged: the normal ones always (the kata's
/// sources live there); the loom twins when it has loom suites and does not bypass the
/// facade (then its loom suites are left out).
fn staged_in(kata: &AdmittedKata, config: Config) -> bool {
    match config {
        Config::Normal => true,
        Config::Loom => {
            kata.loom_allowed() && kata.planned.suites.iter().any(|s| Config::of(s) == config)
        }
    }
}

/// Writes `sources` (names relative to the kata directory: `src/…`) under `kata_dir`,
/// and removes every other file of its `src/`.
fn write_sources(sources: &Sources, kata_dir: &Path) -> io::Result<()> {
    let mut keep = std::collections::HashSet::new();
    for (name, text) in &sources.files {
        let path = kata_dir.join(name);
        write_if_changed(&path, text.as_bytes())?;
        keep.insert(path);
    }
    fn prune(dir: &Path, keep: &std::collections::HashSet<PathBuf>) -> io::Result<bool> {
        let mut any = false;
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                if prune(&path, keep)? {
                    any = true;
                } else {
                    fs::remove_dir(&path)?;
                }
            } else if keep.contains(&path) {
                any = true;
            } else {
                fs::remove_file(&path)?;
            }
        }
        Ok(any)
    }
    prune(&kata_dir.join("src"), &keep).map(|_| ())
}

/// How to build, beyond what.
#[derive(Debug, Clone, Copy)]
pub struct BuildOptions {
    /// One cargo call's wall-clock limit.
    pub limit: Duration,
    /// Draw a progress bar on stderr, when it is a terminal.
    pub progress: bool,
    pub lang: crate::lang::Lang,
}

/// Builds every admitted kata's suites, both configurations in one cargo call. Loom
/// suites are left out for a kata that bypasses the facade.
pub fn build(
    admitted: &[AdmittedKata],
    ws: &Workspace,
    options: BuildOptions,
) -> Result<Build, BuildError> {
    let fresh = || {
        let mut result = Build::default();
        for kata in admitted {
            result
                .katas
                .insert(kata.id().to_string(), KataBuild::default());
        }
        result
    };
    // One call for both: the compiler's two slots then build a kata's normal and loom
    // crates side by side (after an edit of `race`, 0.45 s instead of 0.9 s one
    // configuration after the other).
    let both = [Config::Normal, Config::Loom];
    let mut result = fresh();
    if build_round(&both, admitted, &[], ws, options, &mut result, "build")?.is_empty() {
        return Ok(result);
    }
    // The build ran out of time. A kata whose compile never ends held both slots with
    // its two crates, and the katas behind it may never have started: they must not be
    // blamed (tests/hostile.rs, `never_compiles`). So build again one configuration at a
    // time, where it holds one slot and every other kata gets the other; what was built
    // is not built again.
    let mut result = fresh();
    let mut excluded: Vec<String> = Vec::new();
    for config in both {
        // A kata whose compile never ends must cost only that kata: when the build runs
        // out of time, the katas whose library never got built are blamed and left out
        // (of this configuration and the next), and the rest is built again.
        for _attempt in 0..3 {
            let label = format!("build-{config:?}");
            let hung = build_round(
                &[config],
                admitted,
                &excluded,
                ws,
                options,
                &mut result,
                &label,
            )?;
            if hung.is_empty() {
                break;
            }
            for kata in &hung {
                if let Some(entry) = result.katas.get_mut(kata) {
                    let note = entry.errors[&config].clone();
                    entry
                        .errors
                        .entry(Config::Loom)
                        .or_insert_with(|| note.clone());
                    entry.errors.entry(Config::Normal).or_insert(note);
                }
            }
            excluded.extend(hung);
        }
    }
    Ok(result)
}

/// One cargo call building the suites of `configs` of every staged kata but `excluded`.
/// Returns the katas blamed for a build that ran out of time.
fn build_round(
    configs: &[Config],
    admitted: &[AdmittedKata],
    excluded: &[String],
    ws: &Workspace,
    options: BuildOptions,
    result: &mut Build,
    label: &str,
) -> Result<Vec<String>, BuildError> {
    let mut crates: Vec<(String, Config)> = Vec::new();
    let mut suites: Vec<&str> = Vec::new();
    for kata in admitted {
        if kata.sources().is_none() || excluded.iter().any(|e| e == kata.id()) {
            continue;
        }
        for &config in configs {
            let in_config: Vec<&str> = kata
                .planned
                .suites
                .iter()
                .filter(|s| Config::of(s) == config)
                .map(|s| s.suite.name.as_str())
                .collect();
            if staged_in(kata, config) && !in_config.is_empty() {
                crates.push((kata.id().to_string(), config));
                suites.extend(in_config);
            }
        }
    }
    if suites.is_empty() {
        return Ok(Vec::new());
    }
    let round = Round {
        configs,
        crates: &crates,
        suites: &suites,
        excluded,
    };
    crate::timed(label, || build_config(&round, ws, options, result))
}

/// What one cargo call builds.
struct Round<'a> {
    configs: &'a [Config],
    /// Each kata crate built, with its configuration.
    crates: &'a [(String, Config)],
    suites: &'a [&'a str],
    excluded: &'a [String],
}

/// The mode of a built test binary: `-wx--x--x`.
const EXECUTE_ONLY: u32 = 0o311;

/// Gives back the owner's write bit to test binaries an older grader left at `--x--x--x`,
/// over which rustc would refuse to relink ("output file … is not writeable").
fn writable_again(deps: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = fs::read_dir(deps) else {
        return;
    };
    for entry in entries.flatten() {
        if let Ok(meta) = entry.metadata() {
            if meta.is_file() && meta.permissions().mode() & 0o777 == 0o111 {
                let _ = fs::set_permissions(entry.path(), fs::Permissions::from_mode(EXECUTE_ONLY));
            }
        }
    }
}

/// About how many units (cargo's compiler-artifact messages) a build will report, for the
/// progress bar's first build, before any build of this workspace has counted them: one
/// per package the workspace's members reach (a hidden crate has no library), one more
/// for each build script, one per test suite. From `cargo metadata`; None if it fails.
fn estimate_units(ws: &Workspace, excluded: &[String], suites: usize) -> Option<u64> {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&ws.dir)
        .args(["metadata", "--format-version", "1"]);
    cmd.env_clear().envs(build_environment());
    let limits = Limits::trusted(Duration::from_secs(30), 64 << 20);
    let outcome =
        process::run_trusted(cmd, &limits, &format!("metadata-{}", std::process::id())).ok()?;
    let meta: serde_json::Value = serde_json::from_slice(&outcome.stdout).ok()?;
    let packages: std::collections::HashMap<&str, &serde_json::Value> = meta["packages"]
        .as_array()?
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let deps: std::collections::HashMap<&str, Vec<&str>> = meta["resolve"]["nodes"]
        .as_array()?
        .iter()
        .filter_map(|n| {
            let deps = n["deps"]
                .as_array()?
                .iter()
                .filter_map(|d| d["pkg"].as_str());
            Some((n["id"].as_str()?, deps.collect()))
        })
        .collect();
    let left_out = |id: &str| {
        let name = packages
            .get(id)
            .and_then(|p| p["name"].as_str())
            .unwrap_or("");
        excluded.iter().any(|k| {
            [Config::Normal, Config::Loom]
                .iter()
                .any(|c| c.packages(k).iter().any(|p| p == name))
        })
    };
    let mut todo: Vec<&str> = meta["workspace_members"]
        .as_array()?
        .iter()
        .filter_map(|m| m.as_str())
        .filter(|id| !left_out(id))
        .collect();
    let mut seen = std::collections::HashSet::new();
    while let Some(id) = todo.pop() {
        if seen.insert(id) {
            todo.extend(deps.get(id).into_iter().flatten().copied());
        }
    }
    let units: usize = seen
        .iter()
        .filter_map(|id| packages.get(id))
        .map(|p| {
            let kinds: Vec<&str> = p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|t| t["kind"].as_array().into_iter().flatten())
                .filter_map(|k| k.as_str())
                .collect();
            let library = kinds.iter().any(|k| *k != "test" && *k != "custom-build");
            usize::from(library) + usize::from(kinds.contains(&"custom-build"))
        })
        .sum();
    Some((units + suites) as u64)
}

/// Builds `round`. Returns the katas blamed for a build that ran out of time.
fn build_config(
    round: &Round,
    ws: &Workspace,
    options: BuildOptions,
    result: &mut Build,
) -> Result<Vec<String>, BuildError> {
    let BuildOptions {
        limit,
        progress,
        lang,
    } = options;
    let Round {
        configs,
        crates,
        suites,
        excluded,
    } = *round;
    writable_again(&ws.target.join("debug").join("deps"));
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&ws.dir)
        .args([
            "build",
            "--keep-going",
            "--workspace",
            "--message-format=json",
        ])
        .arg("--target-dir")
        .arg(&ws.target);
    for suite in suites {
        cmd.args(["--test", suite]);
    }
    for kata in excluded {
        for config in [Config::Normal, Config::Loom] {
            if ws
                .dir
                .join(&ws.label)
                .join(config.dirs().0)
                .join(kata)
                .exists()
            {
                for package in config.packages(kata) {
                    cmd.args(["--exclude", &package]);
                }
            }
        }
    }
    // No flags (the configuration is a set of packages), and the submission's `env!` and
    // `option_env!` see only what cargo needs: nothing of the caller's environment (a CI
    // job's secrets) is compiled into a submission. Both configurations build with the
    // same flags, so they share every dependency's artifacts.
    cmd.env_clear().envs(build_environment());
    cmd.env("CARGO_TERM_COLOR", "never");
    let limits = Limits::trusted(limit, 256 << 20);
    let name: Vec<String> = configs.iter().map(|c| format!("{c:?}")).collect();
    let name = name.join("-");
    let marker = format!("build-{name}-{}", std::process::id());
    let outcome = if crate::progress::wanted(progress) {
        // One tick per unit cargo reports, read from its JSON messages as they come.
        let what = match (configs, lang) {
            ([Config::Loom], crate::lang::Lang::En) => "the loom models",
            ([Config::Loom], crate::lang::Lang::Zh) => "loom 模型",
            (_, crate::lang::Lang::En) => "the hidden tests",
            (_, crate::lang::Lang::Zh) => "隐藏测试",
        };
        let bar = std::sync::Arc::new(std::sync::Mutex::new(Some(crate::progress::Build::start(
            what,
            &ws.dir.join(format!("units-{name}")),
            || estimate_units(ws, excluded, suites.len()),
            lang,
        ))));
        let ticks = std::sync::Arc::clone(&bar);
        let mut line = Vec::new();
        let outcome = process::run_trusted_observed(
            cmd,
            &limits,
            &marker,
            Box::new(move |bytes: &[u8]| {
                for &b in bytes {
                    if b != b'\n' {
                        line.push(b);
                        continue;
                    }
                    if line.windows(18).any(|w| w == b"\"compiler-artifact") {
                        if let Some(bar) = ticks.lock().unwrap().as_mut() {
                            bar.unit();
                        }
                    }
                    line.clear();
                }
            }),
        );
        if let Some(bar) = bar.lock().unwrap().take() {
            bar.finish();
        }
        outcome
    } else {
        process::run_trusted(cmd, &limits, &marker)
    }
    .map_err(|e| BuildError::Cargo(e.to_string()))?;
    let stdout = String::from_utf8_lossy(&outcome.stdout);
    let mut built_any = false;
    let mut built_libs = std::collections::HashSet::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let package = message["package_id"].as_str().and_then(package_of);
        let (kata, config) = match package {
            Some((kata, config)) => (Some(kata), config),
            None => (None, Config::Normal),
        };
        match message["reason"].as_str() {
            Some("compiler-artifact") => {
                built_any = true;
                if message["target"]["kind"][0].as_str() == Some("lib") {
                    if let Some(kata) = &kata {
                        built_libs.insert((kata.clone(), config));
                    }
                }
                let (Some(kata), Some(exe)) = (kata, message["executable"].as_str()) else {
                    continue;
                };
                if message["target"]["kind"][0].as_str() == Some("test") {
                    if let (Some(name), Some(entry)) = (
                        message["target"]["name"].as_str(),
                        result.katas.get_mut(&kata),
                    ) {
                        // Execute-only for everyone but its owner: the test runs it, but
                        // cannot read the compiled hidden tests back out of it (nor can the
                        // code under test, whose process it becomes). The owner keeps the
                        // write bit: rustc refuses to relink over an output without one. A
                        // test cannot use it: it runs as another user or sees the binary
                        // through a read-only mount; only without namespaces, as a non-root
                        // grader, is it the owner, who could chmod the file anyway.
                        use std::os::unix::fs::PermissionsExt;
                        let _ = fs::set_permissions(exe, fs::Permissions::from_mode(EXECUTE_ONLY));
                        entry.binaries.insert(name.to_string(), PathBuf::from(exe));
                    }
                }
            }
            Some("compiler-message") if message["message"]["level"] == "error" => {
                let Some(kata) = kata else { continue };
                let rendered = message["message"]["rendered"]
                    .as_str()
                    .unwrap_or("")
                    .trim_end();
                let in_hidden = message["package_id"]
                    .as_str()
                    .is_some_and(|p| p.contains(&format!("/{}/", config.dirs().1)));
                if let Some(entry) = result.katas.get_mut(&kata) {
                    entry.errors.entry(config).or_insert_with(|| {
                        if in_hidden {
                            format!(
                                "the hidden tests do not compile against this code: has the public API \
                                 changed?\n{rendered}"
                            )
                        } else {
                            rendered.to_string()
                        }
                    });
                }
            }
            _ => {}
        }
    }
    if outcome.exit == Exit::TimedOut {
        let note = format!(
            "the build did not finish within {}s and was stopped: something in this code keeps \
             the compiler busy (an endless loop in a const, a macro that never stops expanding?)",
            limit.as_secs()
        );
        let mut hung = Vec::new();
        for (kata, config) in crates {
            let Some(entry) = result.katas.get_mut(kata) else {
                continue;
            };
            if !built_libs.contains(&(kata.clone(), *config)) && !entry.errors.contains_key(config)
            {
                entry.errors.insert(*config, note.clone());
                hung.push(kata.clone());
            }
        }
        hung.sort();
        hung.dedup();
        return Ok(hung);
    }
    if !built_any
        && outcome.exit != Exit::Code(0)
        && result.katas.values().all(|k| k.errors.is_empty())
    {
        return Err(BuildError::CargoFailed {
            configs: configs.to_vec(),
            stderr: String::from_utf8_lossy(&outcome.stderr)
                .trim_end()
                .to_string(),
        });
    }
    Ok(Vec::new())
}

/// What cargo may see of the grader's environment: where the toolchain and the crates
/// are, and how to reach the registry; never tokens, never flags.
fn build_environment() -> Vec<(String, String)> {
    const KEEP: &[&str] = &[
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "LC_ALL",
        "CARGO_HOME",
        "RUSTUP_HOME",
        "RUSTUP_TOOLCHAIN",
        "RUSTC",
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "no_proxy",
        "NO_PROXY",
        "ALL_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
    ];
    const KEEP_PREFIXES: &[&str] = &[
        "CARGO_NET_",
        "CARGO_HTTP_",
        "CARGO_SOURCE_",
        "CARGO_REGISTRIES_",
    ];
    std::env::vars()
        .filter(|(name, _)| {
            KEEP.contains(&name.as_str())
                || (KEEP_PREFIXES.iter().any(|p| name.starts_with(p))
                    && !name.contains("TOKEN")
                    && !name.contains("CREDENTIAL"))
        })
        .collect()
}

/// `path+file:///…/katas/race#0.0.0` or `…/hidden/race#…` → `race`, normal;
/// `…/katas-loom/race#race-loom@0.0.0` or `…/hidden-loom/race#…` → `race`, loom.
fn package_of(id: &str) -> Option<(String, Config)> {
    let path = id.split('#').next()?;
    for config in [Config::Normal, Config::Loom] {
        let (katas, hidden) = config.dirs();
        for dir in [katas, hidden] {
            let marker = format!("/{dir}/");
            if let Some(at) = path.rfind(&marker) {
                let rest = &path[at + marker.len()..];
                let name = rest.split('/').next()?;
                if !name.is_empty() {
                    return Some((name.to_string(), config));
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_ids_name_their_kata_and_configuration() {
        let of = package_of;
        assert_eq!(
            of("path+file:///w/katas/race#0.0.0"),
            Some(("race".into(), Config::Normal))
        );
        assert_eq!(
            of("path+file:///w/hidden/deadlock#hidden-deadlock@0.0.0"),
            Some(("deadlock".into(), Config::Normal))
        );
        assert_eq!(
            of("path+file:///w/katas-loom/race#race-loom@0.0.0"),
            Some(("race".into(), Config::Loom))
        );
        assert_eq!(
            of("path+file:///w/hidden-loom/lock#hidden-lock-loom@0.0.0"),
            Some(("lock".into(), Config::Loom))
        );
        assert_eq!(
            of("registry+https://github.com/rust-lang/crates.io-index#loom@0.7.3"),
            None
        );
    }

    #[test]
    fn a_course_crate_gets_a_loom_twin_over_the_same_sources() {
        let harness = "[package]\nname = \"kata-harness\"\nversion = \"0.1.0\"\n\n\
                       [dependencies]\nlibc = \"0.2\"\nkata-sync = { path = \"../../sync\" }\n";
        let twin = loom_twin_manifest("grader/harness", harness).unwrap();
        assert!(twin.contains("name = \"kata-harness-loom\"\n"), "{twin}");
        assert!(twin.contains("libc = \"0.2\"\n"), "{twin}");
        assert!(
            twin.contains(
                "kata-sync = { path = \"../../loom/sync\", package = \"kata-sync-loom\", features = [\"loom\"] }\n"
            ),
            "{twin}"
        );
        assert!(
            twin.ends_with(
                "[lib]\nname = \"kata_harness\"\npath = \"../../grader/harness/src/lib.rs\"\n"
            ),
            "{twin}"
        );
        let sync = "[package]\nname = \"kata-sync\"\n[dependencies]\nloom = { version = \"0.7\", optional = true }\n[features]\nloom = [\"dep:loom\"]\n";
        let twin = loom_twin_manifest("sync", sync).unwrap();
        assert!(
            twin.contains("name = \"kata-sync-loom\"\n")
                && twin.contains("path = \"../../sync/src/lib.rs\""),
            "{twin}"
        );
        // What the rewrite cannot do is refused, not guessed at.
        assert!(
            loom_twin_manifest("x", "[package]\nname = \"x\"\n[lib]\npath = \"a.rs\"\n").is_err()
        );
        assert!(loom_twin_manifest("x", "[dependencies]\n").is_err());
        // A crate that does not use the facade (the student edition's stand-in test kit)
        // is only renamed.
        let twin =
            loom_twin_manifest("grader/testkit", "[package]\nname = \"kata-testkit\"\n").unwrap();
        assert!(twin.contains("name = \"kata-testkit-loom\"\n"), "{twin}");
    }
}
