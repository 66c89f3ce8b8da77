//! `grader watch` as a student uses it: in a real terminal (a tmux pane), typing keys and
//! saving files, reading the screen.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A tmux server of the test's own (`-L`), killed when the test ends however it ends.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Tmux {
        let tmux = Tmux {
            socket: format!("grader-watch-test-{}", std::process::id()),
        };
        let started = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "watch",
            "-x",
            "120",
            "-y",
            "45",
            command,
        ]);
        assert!(
            started.status.success(),
            "tmux could not start (the test needs tmux installed): {started:?}"
        );
        tmux
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs (the test needs tmux installed)")
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "watch"]).stdout)
            .into_owned()
    }

    fn keys(&self, keys: &str) {
        assert!(self
            .run(&["send-keys", "-t", "watch", "-l", keys])
            .status
            .success());
    }

    /// Waits until the screen shows `text`; fails with the screen after `limit`.
    fn until(&self, text: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let screen = self.screen();
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {text:?}; it shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn alive(&self) -> bool {
        self.run(&["has-session", "-t", "watch"]).status.success()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn watch_checks_on_save_gives_hints_and_moves_on() {
    let scratch = root().join("target/e2e/watch");
    let _ = std::fs::remove_dir_all(&scratch);
    let tree = scratch.join("tree");
    let src = tree.join("sing_dance/src");
    std::fs::create_dir_all(&src).unwrap();
    let lib = src.join("lib.rs");
    std::fs::copy(root().join("exercises/sing_dance/src/lib.rs"), &lib).unwrap();
    let command = format!(
        "{} --course {} watch --path {} --work-dir {}",
        env!("CARGO_BIN_EXE_grader"),
        root().display(),
        tree.display(),
        scratch.join("work").display()
    );
    let tmux = Tmux::start(&command);
    // The first kata is the current one, and it is not started: nothing to build yet.
    let screen = tmux.until("Not started", Duration::from_secs(30));
    assert!(
        screen.contains("grader watch — sing_dance (1/18)"),
        "{screen}"
    );
    assert!(screen.contains("[h] hint"), "{screen}");

    tmux.keys("h");
    tmux.until("Hint 1/", Duration::from_secs(10));
    tmux.keys("h");
    tmux.until("Hint 2/", Duration::from_secs(10));

    // A save with a wrong start: checked, its failures shown.
    let stub = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{stub}\n// started\n")).unwrap();
    // Long enough for a cold build of the kata's hidden tests and their dependencies.
    tmux.until("tests fail; the first:", Duration::from_secs(900));

    // The solution, saved: full marks, and the watch moves on to the next kata.
    std::fs::copy(root().join("solutions/sing_dance/src/lib.rs"), &lib).unwrap();
    let screen = tmux.until("sing_dance earns full marks", Duration::from_secs(600));
    assert!(
        screen.contains("grader watch — fork_basics (2/18)"),
        "{screen}"
    );

    tmux.keys("l");
    let screen = tmux.until("where you stand", Duration::from_secs(10));
    assert!(
        screen
            .lines()
            .any(|l| l.contains("sing_dance") && l.contains("✓ done")),
        "{screen}"
    );

    tmux.keys("q");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tmux.alive() {
        assert!(
            Instant::now() < deadline,
            "q did not end the watch:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
