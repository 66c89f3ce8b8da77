//! Mutant: a global map keyed by the thread's name: threads without a name (or with the same name) share one slot.
//! expect-fail: thread_context_stress::unnamed_threads_keep_their_own_students, thread_context_stress::a_new_thread_starts_without_a_context

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

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

/// The course's global dict, keyed by the thread's name.
fn table() -> MutexGuard<'static, HashMap<String, Context>> {
    static TABLE: OnceLock<Mutex<HashMap<String, Context>>> = OnceLock::new();
    TABLE
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn key() -> String {
    kata_sync::thread::current()
        .name()
        .unwrap_or_default()
        .to_string()
}

struct Restore {
    key: String,
    previous: Option<Context>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let mut table = table();
        match self.previous.take() {
            Some(previous) => table.insert(self.key.clone(), previous),
            None => table.remove(&self.key),
        };
    }
}

pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    let key = key();
    let previous = table().insert(key.clone(), ctx);
    let _restore = Restore { key, previous };
    f()
}

pub fn current() -> Option<Context> {
    table().get(&key()).cloned()
}

/// The course's `process_student()`: greets this thread's current student, from a call
/// that was given no argument. None when no student is set.
pub fn process_student() -> Option<String> {
    let student = current()?.student;
    let thread = kata_sync::thread::current();
    let name = thread.name().unwrap_or("<unnamed>");
    Some(format!("Hello, {student} (in {name})"))
}

/// The course's `process_thread(name)`: binds the student, then calls process_student.
pub fn process_thread(student: &str) -> Option<String> {
    with_context(Context::new(student), process_student)
}
