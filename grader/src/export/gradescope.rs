//! `grader export gradescope FILE.zip`: Gradescope's autograder bundle.
//!
//! Gradescope unzips the bundle into `/autograder/source`, runs `setup.sh` once when it
//! builds the image, and `run_autograder` for each submission. The bundle holds both
//! scripts (`grader/export/gradescope/`, mode 0755) and the course as the grader needs
//! it: the workspace, course.yaml, the grader with its hidden tests, harness and test kit,
//! the sync facade and the exercises' stubs. Never the solutions, the mutants, the
//! project's own tests or a build directory: the workspace manifest is rewritten without
//! the root package (whose library is the project's tests) and without `solutions/*`.
//!
//! Every entry has the same date (zip's default, 1980-01-01) and the entries come in
//! name order, so the same course gives the same bytes.

use crate::manifest::Course;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};

const SETUP: &str = include_str!("../../export/gradescope/setup.sh");
const RUN_AUTOGRADER: &str = include_str!("../../export/gradescope/run_autograder");

/// The top-level files of the course that go into the bundle, when they exist.
const ROOT_FILES: &[&str] = &[
    "Cargo.lock",
    "course.yaml",
    "rust-toolchain.toml",
    "rust-toolchain",
    ".cargo/config.toml",
];
/// The directories that go in whole, less what [`skipped`] leaves out.
const DIRS: &[&str] = &["sync", "grader", "exercises"];

/// One file of the bundle: its name in the zip, its bytes, its unix mode.
struct Entry {
    name: String,
    bytes: Vec<u8>,
    mode: u32,
}

/// Writes the bundle to `file`; returns what to tell the author.
pub fn export(course: &Course, file: &Path) -> Result<String, String> {
    crate::check_output_path(file)?;
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if file.is_dir() {
        return Err(format!(
            "cannot write {}: it is a directory",
            file.display()
        ));
    }
    let entries = entries(course)?;
    let tmp = parent.join(format!(
        ".{}.grader-tmp-{}",
        file.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "bundle".into()),
        std::process::id()
    ));
    let written = write_zip(&tmp, &entries).and_then(|size| {
        std::fs::rename(&tmp, file)
            .map(|_| size)
            .map_err(|e| format!("cannot write {}: {e}", file.display()))
    });
    let size = match written {
        Ok(size) => size,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    Ok(format!(
        "wrote {} ({} files, {} KiB): Gradescope's autograder bundle of {} katas. Upload it \
         as the assignment's autograder (Configure Autograder → Zip file upload); its \
         image build runs setup.sh, which takes some minutes.",
        file.display(),
        entries.len(),
        size.div_ceil(1024),
        course.katas.len()
    ))
}

/// Everything the bundle holds, in name order.
fn entries(course: &Course) -> Result<Vec<Entry>, String> {
    let root = &course.root;
    // A bundle built from edited exercises (an author trying a solution in place) would
    // pre-build, and ship, that edit.
    crate::stub::check_shipped(course, "the bundle would ship these edits")?;
    let mut entries = vec![
        Entry {
            name: "setup.sh".into(),
            bytes: SETUP.as_bytes().to_vec(),
            mode: 0o755,
        },
        Entry {
            name: "run_autograder".into(),
            bytes: RUN_AUTOGRADER.as_bytes().to_vec(),
            mode: 0o755,
        },
    ];
    let manifest_file = root.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_file)
        .map_err(|e| format!("cannot read {}: {e}", manifest_file.display()))?;
    entries.push(Entry {
        name: "Cargo.toml".into(),
        bytes: bundled_manifest(&manifest)
            .map_err(|e| format!("{}: {e}", manifest_file.display()))?
            .into_bytes(),
        mode: 0o644,
    });
    for name in ROOT_FILES {
        let path = root.join(name);
        if path.is_file() {
            entries.push(entry(&path, name)?);
        }
    }
    for dir in DIRS {
        walk(&root.join(dir), dir, &mut entries)?;
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

fn entry(path: &Path, name: &str) -> Result<Entry, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let executable = meta.permissions().mode() & 0o111 != 0;
    Ok(Entry {
        name: name.into(),
        bytes,
        mode: if executable { 0o755 } else { 0o644 },
    })
}

/// What a walk of the course's directories leaves out: build directories, hidden files,
/// the grader's own tests, and sources a `grader reset` kept aside.
fn skipped(name: &str, zip_name: &str) -> bool {
    name == "target"
        || name.starts_with('.')
        || name.starts_with("src.backup-")
        || name.ends_with(".grader-tmp")
        || zip_name == "grader/tests"
}

fn walk(dir: &Path, zip_dir: &str, entries: &mut Vec<Entry>) -> Result<(), String> {
    let read = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut children: Vec<PathBuf> = read.flatten().map(|e| e.path()).collect();
    children.sort();
    for path in children {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let zip_name = format!("{zip_dir}/{name}");
        if skipped(&name, &zip_name) {
            continue;
        }
        let kind = std::fs::symlink_metadata(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .file_type();
        if kind.is_dir() {
            walk(&path, &zip_name, entries)?;
        } else if kind.is_file() {
            entries.push(entry(&path, &zip_name)?);
        } else {
            return Err(format!(
                "{}: a symbolic link or special file; the bundle holds regular files only",
                path.display()
            ));
        }
    }
    Ok(())
}

fn write_zip(path: &Path, entries: &[Entry]) -> Result<u64, String> {
    let fail = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", path.display());
    let out = std::fs::File::create(path).map_err(|e| fail(&e))?;
    let mut zip = zip::ZipWriter::new(out);
    for entry in entries {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(entry.mode);
        zip.start_file(entry.name.as_str(), options)
            .map_err(|e| fail(&e))?;
        zip.write_all(&entry.bytes).map_err(|e| fail(&e))?;
    }
    let out = zip.finish().map_err(|e| fail(&e))?;
    out.sync_all().map_err(|e| fail(&e))?;
    out.metadata().map(|m| m.len()).map_err(|e| fail(&e))
}

/// The tables of the root package, which the bundle leaves out: its library is the
/// project's own tests (`tests/support`), which the bundle does not hold.
fn package_table(header: &str) -> bool {
    let name = header.trim_start_matches('[').trim_end_matches(']').trim();
    matches!(
        name,
        "package"
            | "lib"
            | "dependencies"
            | "dev-dependencies"
            | "build-dependencies"
            | "lints"
            | "features"
            | "badges"
            | "bin"
            | "test"
            | "example"
            | "bench"
    ) || name.starts_with("package.")
        || name.starts_with("target.")
        || name.starts_with("dependencies.")
        || name.starts_with("dev-dependencies.")
        || name.starts_with("lints.")
}

/// A workspace member the bundle does not hold.
fn left_out(member: &str) -> bool {
    let member = member.trim_start_matches("./");
    member == "."
        || member == "solutions"
        || member.starts_with("solutions/")
        || member == "tests"
        || member.starts_with("tests/")
}

/// The course's workspace manifest as the bundle needs it: a virtual workspace (the root
/// package's tables dropped) whose members leave out `.` and `solutions/*`. A reading of
/// the lines, enough for the layout this workspace has (tables, one `members` array).
pub fn bundled_manifest(text: &str) -> Result<String, String> {
    let mut out = String::from(
        "# Written by `grader export gradescope`: the course's workspace without its root\n\
         # package (the project's own tests) and without solutions/, which the bundle leaves out.\n",
    );
    let mut table: Option<String> = None;
    let mut lines = text.lines().peekable();
    let mut saw_workspace = false;
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && !trimmed.starts_with("[\"") {
            let header = trimmed.split('#').next().unwrap_or("").trim().to_string();
            saw_workspace |= header == "[workspace]";
            table = Some(header);
        }
        let Some(header) = &table else {
            continue; // the preamble: comments about the root package
        };
        if package_table(header) {
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or("").trim();
        if header == "[workspace]" && matches!(key, "members" | "default-members") {
            let mut value = trimmed
                .split_once('=')
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            while value.matches('[').count() > value.matches(']').count() {
                match lines.next() {
                    Some(more) => {
                        value.push('\n');
                        value.push_str(more);
                    }
                    None => return Err(format!("`{key}` never ends")),
                }
            }
            let members: Vec<String> = strings(&value)
                .map_err(|e| format!("`{key}`: {e}"))?
                .into_iter()
                .filter(|m| !left_out(m))
                .map(|m| format!("\"{m}\""))
                .collect();
            if !members.is_empty() {
                out += &format!("{key} = [{}]\n", members.join(", "));
            }
            continue;
        }
        out += line;
        out.push('\n');
    }
    if !saw_workspace {
        return Err("no [workspace] table".into());
    }
    Ok(out)
}

/// The strings of a TOML array (with its comments, over several lines), in order.
fn strings(array: &str) -> Result<Vec<String>, toml::de::Error> {
    #[derive(Deserialize)]
    struct Line {
        value: Vec<String>,
    }
    toml::from_str::<Line>(&format!("value = {array}")).map(|line| line.value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_workspace_is_virtual_and_has_no_solutions() {
        let text = "\
# about the root package
[package]
name = \"kata-course\"

# Shared helpers
[lib]
path = \"tests/support/lib.rs\"

[lints]
workspace = true

[dev-dependencies]
insta = { workspace = true }

[workspace]
resolver = \"2\"
members = [\".\", \"sync\", \"grader\",
  \"exercises/*\", # the stubs
  \"solutions/*\"]
default-members = [\".\", \"sync\", \"grader\"]

[workspace.dependencies]
kata-sync = { path = \"sync\" }

[workspace.lints.rust]
unexpected_cfgs = \"warn\"

[profile.dev.package.\"*\"]
opt-level = 2
";
        let out = bundled_manifest(text).unwrap();
        for gone in [
            "[package]",
            "[lib]",
            "[dev-dependencies]",
            "tests/support",
            "\"solutions",
            "\".\"",
            "about the root package",
            "\n[lints]",
        ] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
        for kept in [
            "members = [\"sync\", \"grader\", \"exercises/*\"]\n",
            "default-members = [\"sync\", \"grader\"]\n",
            "[workspace.dependencies]\nkata-sync = { path = \"sync\" }\n",
            "[workspace.lints.rust]\n",
            "[profile.dev.package.\"*\"]\nopt-level = 2\n",
            "resolver = \"2\"\n",
        ] {
            assert!(out.contains(kept), "{kept} missing from:\n{out}");
        }
        assert!(bundled_manifest("[package]\nname = \"x\"\n").is_err());
        // A member list that is not an array of strings is an error, not a guess.
        assert!(bundled_manifest("[workspace]\nmembers = [sync]\n").is_err());
    }
}
