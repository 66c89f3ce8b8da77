//! Under loom: the steps of the execution being explored that touch the facade's locks
//! and condition variables, each with the thread and the student's line (the facade's
//! methods are `#[track_caller]`). When a model fails, [`crate::model`] prints the steps
//! of the failing execution on stderr between two marker lines, and the grader shows
//! them under the failure: the interleaving that broke the code, thread by thread.
//! Atomics are loom's own types and are not traced.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Mutex;

/// The first line of a printed trace; [`END`] is its last.
pub const BEGIN: &str = "kata-sync: the failing interleaving, step by step:";
pub const END: &str = "kata-sync: end of the interleaving";

/// Most steps kept of one execution: the end of a long one is what failed.
const KEPT: usize = 4096;
/// Most steps printed: the last ones.
const SHOWN: usize = 40;

struct Step {
    thread: loom::thread::ThreadId,
    what: &'static str,
    at: &'static Location<'static>,
}

/// The steps kept of this execution, and how many it took in all.
struct Steps {
    kept: VecDeque<Step>,
    count: usize,
}

static STEPS: Mutex<Steps> = Mutex::new(Steps {
    kept: VecDeque::new(),
    count: 0,
});

fn steps() -> std::sync::MutexGuard<'static, Steps> {
    STEPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Forgets the last execution's steps: a new one begins.
pub(crate) fn begin_execution() {
    let mut steps = steps();
    steps.kept.clear();
    steps.count = 0;
}

/// One step of the current thread at `at`. Cheap: a model takes thousands of executions.
pub(crate) fn step(what: &'static str, at: &'static Location<'static>) {
    // While a panic unwinds, loom may be tearing the execution down (a deadlock, a failed
    // assertion), and asking it which thread runs would panic again and abort.
    if std::thread::panicking() {
        return;
    }
    let thread = loom::thread::current().id();
    let mut steps = steps();
    steps.count += 1;
    if steps.kept.len() == KEPT {
        steps.kept.pop_front();
    }
    steps.kept.push_back(Step { thread, what, at });
}

/// "the test's main thread" for loom's first thread, "thread N" for the others.
fn thread_name(id: loom::thread::ThreadId) -> String {
    match format!("{id:?}") {
        id if id.ends_with("(0)") => "the test's main thread".to_string(),
        id => format!(
            "thread {}",
            id.trim_start_matches("ThreadId(").trim_end_matches(')')
        ),
    }
}

/// The failing execution's last steps, as printed between [`BEGIN`] and [`END`].
pub(crate) fn print_failing_execution() {
    let steps = steps();
    if steps.kept.is_empty() {
        return;
    }
    let shown = steps.kept.len().min(SHOWN);
    let first = steps.count - shown;
    let mut out = format!("{BEGIN}\n");
    if first > 0 {
        out += &format!("  … {first} earlier steps\n");
    }
    for (n, s) in steps.kept.iter().skip(steps.kept.len() - shown).enumerate() {
        out += &format!(
            "  {:>3}. {:<22} {:<28} at {}:{}\n",
            first + n + 1,
            thread_name(s.thread),
            s.what,
            s.at.file(),
            s.at.line()
        );
    }
    out += END;
    out += "\n";
    eprint!("{out}");
}
