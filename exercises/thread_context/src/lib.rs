//! Kata `thread_context` — 多线程-非共享数据, ThreadLocal. See README.md.

use std::sync::Mutex;

/// What a thread is working on: the course's student.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub student: String,
}

impl Context {
    pub fn new(student: &str) -> Context {
        Context {
            student: student.to_string(),
        }
    }
}

// TODO: one global slot for the whole program: the course's global dict, without the
// thread as its key. Every thread reads and overwrites the same student. Give each thread
// a slot of its own (std's `thread_local!` with a `RefCell<Option<Context>>` inside).
static CURRENT: Mutex<Option<Context>> = Mutex::new(None);

/// Runs `f` with `ctx` as this thread's current context, and returns what `f` returns.
/// Afterwards the thread's previous context (None, or the outer one of a nested call) is
/// back, also if `f` panicked; `f`'s panic then goes on to the caller unchanged. Other
/// threads never see `ctx`.
pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    *CURRENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctx);
    // TODO: the context stays set after `f` returns: the next job on this thread sees it,
    // and an outer with_context gets the inner one's context back. Remember the previous
    // context and put it back when `f` ends, also when `f` panics (a guard's Drop runs
    // while a panic unwinds).
    f()
}

/// This thread's current context: the innermost `with_context` running on this thread.
pub fn current() -> Option<Context> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// The course's `process_student()`: greets this thread's current student, from a call
/// that was given no argument. None when no student is set. (Given.)
pub fn process_student() -> Option<String> {
    let student = current()?.student;
    let thread = kata_sync::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    Some(format!("Hello, {student} (in {name})"))
}

/// The course's `process_thread(name)`: binds the student, then calls process_student.
/// (Given.)
pub fn process_thread(student: &str) -> Option<String> {
    with_context(Context::new(student), process_student)
}
