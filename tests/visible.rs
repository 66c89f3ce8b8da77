//! The visible tests keep AUTHORING.md's promise: `cargo test -p <kata>` fails on every
//! untouched stub, and the same tests pass on every reference solution
//! (`cargo test -p <kata>-solution`). A visible test that a solution fails would send a
//! student hunting for a bug that is not theirs; one that a stub passes tells them nothing.

use course_tests::*;
use grader::process::{self, Exit};
use grader::sandbox::Limits;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// Long enough for any stub's visible tests to fail on their own (a deadlocked stub's
/// test gives up after its own guard of a few seconds); a hang past it fails this test.
const WALL: Duration = Duration::from_secs(120);

/// The visible test binary of each package directory (`exercises/<kata>`, `solutions/<kata>`).
fn build_visible_tests(katas: &[String]) -> BTreeMap<PathBuf, PathBuf> {
    let root = root();
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(&root)
        .args(["test", "--no-run", "--message-format=json", "--target-dir"])
        // The grader's target directory: it already holds these crates' dependencies.
        .arg(root.join("target/grader/target"));
    for kata in katas {
        for (dir, package) in [
            ("exercises", kata.clone()),
            ("solutions", format!("{kata}-solution")),
        ] {
            // A path spec: a kata may share its name with a crate in the dependency graph.
            cmd.arg("-p").arg(format!(
                "path+file://{}#{package}",
                root.join(dir).join(kata).display()
            ));
        }
    }
    let out = cmd.output().expect("cannot run cargo");
    assert!(
        out.status.success(),
        "the exercises and solutions do not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut binaries = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-artifact" || message["target"]["kind"][0] != "test" {
            continue;
        }
        let (Some(id), Some(exe)) = (
            message["package_id"].as_str(),
            message["executable"].as_str(),
        ) else {
            continue;
        };
        // path+file:///abs/dir#name@version
        let dir = id
            .trim_start_matches("path+file://")
            .split('#')
            .next()
            .unwrap();
        binaries.insert(PathBuf::from(dir), PathBuf::from(exe));
    }
    binaries
}

#[test]
fn visible_tests_fail_on_every_stub_and_pass_on_every_solution() {
    let katas: Vec<String> = course().katas.iter().map(|k| k.id.clone()).collect();
    let binaries = build_visible_tests(&katas);
    let limits = Limits {
        wall: WALL,
        output_cap: 1 << 20,
        cpu_secs: None,
        address_space: None,
        file_size: None,
        open_files: None,
        processes: None,
    };
    let mut wrong = Vec::new();
    for kata in &katas {
        for (dir, must_pass) in [("exercises", false), ("solutions", true)] {
            let package = root().join(dir).join(kata);
            let Some(binary) = binaries.get(&package) else {
                wrong.push(format!("{dir}/{kata} has no visible test binary"));
                continue;
            };
            let mut cmd = Command::new(binary);
            // As `cargo test` runs them: from the package's directory.
            cmd.current_dir(&package).arg("-q");
            let outcome = process::run_trusted(cmd, &limits, &format!("visible-{kata}"))
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
            let summary = String::from_utf8_lossy(&outcome.stdout)
                .lines()
                .find(|l| l.starts_with("test result:"))
                .unwrap_or("(no test result line)")
                .to_string();
            match (must_pass, outcome.exit) {
                (_, Exit::TimedOut) => wrong.push(format!(
                    "{dir}/{kata}: the visible tests still ran after {}s",
                    WALL.as_secs()
                )),
                (true, Exit::Code(0)) | (false, Exit::Code(101)) => {}
                (true, exit) => wrong.push(format!(
                    "the visible tests fail on the reference solution {dir}/{kata} ({exit:?}): {summary}\n{}",
                    String::from_utf8_lossy(&outcome.stdout)
                )),
                (false, exit) => wrong.push(format!(
                    "the visible tests of {dir}/{kata} do not fail on the stub as a test failure \
                     ({exit:?}): {summary}"
                )),
            }
            if outcome.leftovers > 0 {
                wrong.push(format!(
                    "{dir}/{kata}: the visible tests left {} process(es) running",
                    outcome.leftovers
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}
