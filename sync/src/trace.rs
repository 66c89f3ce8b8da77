//! Under loom: the steps of the execution being explored that touch the facade's locks
//! and condition variables, each with the thread and the student's line (the facade's
//! methods are `#[track_caller]`). When a model fails, [`crate::model`] prints the steps
//! of the failing execution on stderr between two marker lines, and the grader shows
//! them under the failure: the interleaving that broke the code, thread by thread.
//! The facade's atomics are traced too (see `traced_atomic`), each step with its value.

use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Mutex;

use crate::trace_marks::{BEGIN, END};

/// Most steps kept of one execution: the end of a long one is what failed.
const KEPT: usize = 4096;
/// Most steps printed: the last ones.
const SHOWN: usize = 40;

struct Step {
    thread: loom::thread::ThreadId,
    what: &'static str,
    value: Value,
    at: &'static Location<'static>,
}

/// The value an atomic step read or wrote, if any.
#[derive(Clone, Copy)]
pub enum Value {
    None,
    Bool(bool),
    Int(i128),
}

impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::Bool(value)
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Value {
            fn from(value: $t) -> Value {
                Value::Int(value as i128)
            }
        }
    )*};
}
int_value!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::None => Ok(()),
            Value::Bool(b) => write!(f, " {b}"),
            Value::Int(i) => write!(f, " {i}"),
        }
    }
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
    step_with(what, Value::None, at);
}

/// One step that read or wrote `value`.
pub(crate) fn step_with(what: &'static str, value: Value, at: &'static Location<'static>) {
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
    steps.kept.push_back(Step {
        thread,
        what,
        value,
        at,
    });
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
            "  {:>3}. {:<22} {:<32} at {}:{}\n",
            first + n + 1,
            thread_name(s.thread),
            format!("{}{}", s.what, s.value),
            s.at.file(),
            s.at.line()
        );
    }
    out += END;
    out += "\n";
    eprint!("{out}");
}
