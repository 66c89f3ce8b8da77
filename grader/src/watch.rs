//! `grader watch`: the student's loop, as rustlings has it. The current kata is the first
//! one short of full marks; every save of its sources checks it again and shows the result
//! in one screenful; keys give a hint, the list, the next kata, a check, or quit. When the
//! kata earns full marks, the watch moves on by itself, and says when the course is done.
//!
//! Plain ANSI and a terminal in non-canonical mode through termios: it works over ssh and
//! inside tmux, and without a terminal (keys then come as lines).

use crate::manifest::{Course, Kata};
use crate::plan::Source;
use crate::report::{self, KataState, TerminalOptions};
use crate::GradeOptions;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, RecvTimeoutError, Sender};
use std::time::Duration;

/// What wakes the watch.
enum Input {
    Key(u8),
    /// A source file of some kata changed: its path.
    Saved(PathBuf),
    /// The keyboard is gone (stdin closed): go on watching files until killed.
    NoKeys,
}

/// Saves closer together than this are one save (an editor writes a file in steps).
const DEBOUNCE: Duration = Duration::from_millis(300);

pub fn watch(
    course: &Course,
    source: Source,
    work_dir: Option<PathBuf>,
    options: &GradeOptions,
    out: &mut dyn Write,
) -> Result<(), String> {
    let submission = source.dir(course);
    if !submission.is_dir() {
        return Err(format!(
            "the submission directory {} does not exist",
            submission.display()
        ));
    }
    let work_dir = work_dir.unwrap_or_else(|| crate::default_work_dir(course, &source));
    let (tx, rx) = channel();
    let _watcher = watch_files(&submission, tx.clone())?;
    let _raw = RawMode::enter();
    spawn_key_reader(tx);
    let mut w = Watch {
        course,
        source,
        submission,
        options: GradeOptions {
            work_dir: Some(work_dir.clone()),
            progress: false,
            ..options.clone()
        },
        work_dir,
        current: None,
        hints_shown: 0,
        body: String::new(),
        note: String::new(),
    };
    w.arrive(w.first_short_of_full_marks(0), out);
    while let Ok(input) = rx.recv() {
        match input {
            Input::Key(b'q') | Input::Key(3) | Input::Key(4) => break,
            Input::Key(b'h') => w.hint(out),
            Input::Key(b'l') => w.list(out),
            Input::Key(b'n') => {
                let from = w.current.map_or(0, |c| c + 1);
                w.arrive(w.first_short_of_full_marks(from), out);
            }
            Input::Key(b'c') => w.check(out),
            Input::Key(_) => {}
            Input::NoKeys => {}
            Input::Saved(path) => {
                // One save is several events: wait for the last of them.
                let mut relevant = w.is_current(&path);
                loop {
                    match rx.recv_timeout(DEBOUNCE) {
                        Ok(Input::Saved(path)) => relevant |= w.is_current(&path),
                        Ok(Input::Key(b'q')) | Ok(Input::Key(3)) | Ok(Input::Key(4)) => {
                            return Ok(());
                        }
                        Ok(_) => {}
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return Ok(()),
                    }
                }
                if relevant {
                    w.check(out);
                }
            }
        }
    }
    let _ = write!(out, "\r\n");
    Ok(())
}

struct Watch<'a> {
    course: &'a Course,
    source: Source,
    submission: PathBuf,
    options: GradeOptions,
    work_dir: PathBuf,
    /// Index of the current kata; None once every kata earns full marks.
    current: Option<usize>,
    hints_shown: usize,
    /// What the screen shows under the heading.
    body: String,
    /// One line above the keys: what just happened.
    note: String,
}

impl<'a> Watch<'a> {
    fn lang(&self) -> crate::lang::Lang {
        self.options.lang
    }

    fn kata(&self) -> Option<&'a Kata> {
        self.current.map(|i| &self.course.katas[i])
    }

    fn src(&self, kata: &Kata) -> PathBuf {
        self.submission.join(&kata.id).join("src")
    }

    fn is_current(&self, path: &Path) -> bool {
        self.kata().is_some_and(|k| {
            path.starts_with(self.src(k)) && path.extension().is_some_and(|e| e == "rs")
        })
    }

    /// The first kata from `from` on short of full marks: not done at its last check, or
    /// edited since; else None.
    fn first_short_of_full_marks(&self, from: usize) -> Option<usize> {
        let standings = crate::standing::load(&self.work_dir);
        (from..self.course.katas.len()).find(|&i| {
            let kata = &self.course.katas[i];
            let now = crate::standing::now(kata, &self.src(kata), standings.get(&kata.id));
            now.state != KataState::Done || now.edited
        })
    }

    /// Makes `index` the current kata: checks it, unless it is still its stub.
    fn arrive(&mut self, index: Option<usize>, out: &mut dyn Write) {
        self.current = index;
        self.hints_shown = 0;
        let Some(kata) = self.kata() else {
            self.body = format!("{}\n", self.lang().course_done());
            self.note.clear();
            self.draw(out);
            return;
        };
        let src = self.src(kata);
        if crate::standing::now(kata, &src, None).state == KataState::NotStarted {
            // As the student types it: from the course's root when it is in the course.
            let lib = src.join("lib.rs");
            let lib = lib.strip_prefix(&self.course.root).unwrap_or(&lib);
            self.body = self
                .lang()
                .watch_not_started(&kata.id, &lib.display().to_string());
            self.draw(out);
        } else {
            self.check(out);
        }
    }

    /// Checks the current kata and shows the result; moves on when it earns full marks.
    fn check(&mut self, out: &mut dyn Write) {
        let Some(kata) = self.kata() else { return };
        let id = kata.id.clone();
        self.note = self.lang().watch_checking(&id);
        self.draw(out);
        let graded = crate::grade(
            self.course,
            self.source.clone(),
            std::slice::from_ref(&id),
            &self.options,
        );
        self.note.clear();
        match graded {
            Err(e) => {
                self.body = self.lang().could_not_check(&id, &e.to_string());
                self.draw(out);
            }
            Ok(report) => {
                let done = report.points == report.max;
                self.body = report::terminal(
                    &report,
                    &TerminalOptions {
                        full_messages: false,
                        first_failure_whole: true,
                        suggest_hints: true,
                        colour: crate::report::colour_wanted(),
                        lang: self.lang(),
                        visible_only: self.course.edition == crate::manifest::Edition::Student,
                    },
                );
                if done {
                    let from = self.current.map_or(0, |c| c + 1);
                    self.arrive(self.first_short_of_full_marks(from), out);
                    self.note = self.lang().watch_full_marks(&id);
                    self.draw(out);
                } else {
                    self.draw(out);
                }
            }
        }
    }

    fn hint(&mut self, out: &mut dyn Write) {
        let Some(kata) = self.kata() else { return };
        let lang = self.lang();
        let hints = kata.hints_in(lang);
        self.hints_shown = (self.hints_shown + 1).min(hints.len());
        let mut body = String::new();
        for (i, hint) in hints.iter().take(self.hints_shown).enumerate() {
            body += &format!("{}: {hint}\n\n", lang.hint(i + 1, hints.len()));
        }
        if self.hints_shown < hints.len() {
            body += lang.watch_next_hint();
            body += "\n";
        }
        self.body = body;
        self.draw(out);
    }

    fn list(&mut self, out: &mut dyn Write) {
        let mut listed = Vec::new();
        crate::cli::list(
            self.course,
            &self.source,
            &self.work_dir,
            self.lang(),
            &mut listed,
        );
        self.body = String::from_utf8_lossy(&listed).into_owned();
        self.draw(out);
    }

    /// Clears the screen and draws: a heading, the body cut to the screen, the note, the keys.
    fn draw(&self, out: &mut dyn Write) {
        let (rows, cols) = terminal_size();
        let heading = match self.kata() {
            Some(k) => format!(
                "grader watch — {} ({}/{}): {} — {}",
                k.id,
                self.current.unwrap_or(0) + 1,
                self.course.katas.len(),
                k.title,
                k.section
            ),
            None => self.lang().watch_course_done().into(),
        };
        // The heading and its blank line, the "more" line, a blank line, the note, the keys.
        let room = rows.saturating_sub(6).max(3);
        let lines: Vec<&str> = self.body.lines().collect();
        let mut screen = format!("\x1b[2J\x1b[H{heading}\r\n\r\n");
        // A long line takes as many rows as the terminal wraps it into.
        let mut used = 0;
        let mut shown = 0;
        for line in &lines {
            let takes = crate::lang::display_width(line)
                .div_ceil(cols.max(1))
                .max(1);
            if used + takes > room {
                break;
            }
            used += takes;
            shown += 1;
            screen += line;
            screen += "\r\n";
        }
        if shown < lines.len() {
            let more = lines.len() - shown;
            let command = match self.kata() {
                Some(k) => format!("cargo grader check {}", k.id),
                None => "cargo grader list".into(),
            };
            screen += &self.lang().more_lines(more, &command);
            screen += "\r\n";
        }
        screen += &format!("\r\n{}\r\n{}", self.note, self.lang().watch_keys());
        let _ = out.write_all(screen.as_bytes());
        let _ = out.flush();
    }
}

/// Watches every kata's sources under `submission`.
fn watch_files(submission: &Path, tx: Sender<Input>) -> Result<notify::RecommendedWatcher, String> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            if matches!(
                event.kind,
                notify::EventKind::Create(_)
                    | notify::EventKind::Modify(_)
                    | notify::EventKind::Remove(_)
            ) {
                for path in event.paths {
                    let _ = tx.send(Input::Saved(path));
                }
            }
        }
    })
    .map_err(|e| format!("cannot watch {}: {e}", submission.display()))?;
    watcher
        .watch(submission, notify::RecursiveMode::Recursive)
        .map_err(|e| format!("cannot watch {}: {e}", submission.display()))?;
    Ok(watcher)
}

/// Reads keys from stdin, one byte each, on a thread of its own.
fn spawn_key_reader(tx: Sender<Input>) {
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut byte = [0u8; 1];
        loop {
            match stdin.read(&mut byte) {
                Ok(1) => {
                    if tx.send(Input::Key(byte[0])).is_err() {
                        return;
                    }
                }
                Ok(_) | Err(_) => {
                    let _ = tx.send(Input::NoKeys);
                    return;
                }
            }
        }
    });
}

/// The terminal in non-canonical mode without echo (a key arrives when it is pressed, and
/// Ctrl-C arrives as a key, so the terminal is always restored); put back on drop.
struct RawMode {
    saved: Option<libc::termios>,
}

impl RawMode {
    fn enter() -> RawMode {
        // SAFETY: termios calls on stdin with a zeroed struct that tcgetattr fills.
        unsafe {
            if libc::isatty(0) != 1 {
                return RawMode { saved: None };
            }
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut saved) != 0 {
                return RawMode { saved: None };
            }
            let mut raw = saved;
            raw.c_lflag &= !(libc::ICANON | libc::ECHO | libc::ISIG);
            raw.c_cc[libc::VMIN] = 1;
            raw.c_cc[libc::VTIME] = 0;
            libc::tcsetattr(0, libc::TCSANOW, &raw);
            RawMode { saved: Some(saved) }
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            // SAFETY: restores the settings read in `enter`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, saved);
            }
        }
    }
}

/// Rows and columns of the terminal on stdout; 24 × 80 when there is none.
fn terminal_size() -> (usize, usize) {
    // SAFETY: TIOCGWINSZ fills a winsize.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(1, libc::TIOCGWINSZ, &mut size) == 0 && size.ws_row > 0 {
            return (size.ws_row as usize, size.ws_col as usize);
        }
    }
    (24, 80)
}
