//! Reference solution of kata `thread_context`.

use std::cell::RefCell;

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

thread_local! {
    /// Each thread has its own slot: Python's `threading.local()`. Nothing is shared, so
    /// nothing needs a lock.
    static CURRENT: RefCell<Option<Context>> = const { RefCell::new(None) };
}

/// Puts the context it holds back into this thread's slot when dropped: when `f`
/// returns, and also while a panic unwinds out of `f`.
struct Restore {
    previous: Option<Context>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // try_with: during thread teardown the slot may already be gone; nothing to do then.
        let _ = CURRENT.try_with(|slot| *slot.borrow_mut() = previous);
    }
}

/// Runs `f` with `ctx` as this thread's current context, and returns what `f` returns.
/// Afterwards the thread's previous context (None, or the outer one of a nested call) is
/// back, also if `f` panicked; `f`'s panic then goes on to the caller unchanged. Other
/// threads never see `ctx`.
pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    // The borrow ends before `f` runs, so `f` may call current() and with_context freely.
    let previous = CURRENT.with(|slot| slot.replace(Some(ctx)));
    let _restore = Restore { previous };
    f()
}

/// This thread's current context: the innermost `with_context` running on this thread.
pub fn current() -> Option<Context> {
    CURRENT.with(|slot| slot.borrow().clone())
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
