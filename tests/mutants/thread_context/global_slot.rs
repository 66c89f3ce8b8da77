//! Mutant: one static Mutex slot for all threads (restored properly): the course's global dict without the thread as its key.
//! expect-fail: thread_context_stress::the_course_example_greets_each_student, thread_context_stress::unnamed_threads_keep_their_own_students, thread_context_stress::a_new_thread_starts_without_a_context

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

/// One slot, shared by every thread.
static CURRENT: Mutex<Option<Context>> = Mutex::new(None);

fn slot() -> std::sync::MutexGuard<'static, Option<Context>> {
    CURRENT.lock().unwrap_or_else(|e| e.into_inner())
}

struct Restore {
    previous: Option<Context>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        *slot() = self.previous.take();
    }
}

pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    let previous = slot().replace(ctx);
    let _restore = Restore { previous };
    f()
}

pub fn current() -> Option<Context> {
    slot().clone()
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
