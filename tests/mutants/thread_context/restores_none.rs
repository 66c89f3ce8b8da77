//! Mutant: the guard clears the slot to None instead of putting the previous context back: a nested call loses the outer context.
//! expect-fail: thread_context_stress::the_inner_context_gives_way_to_the_outer_one, thread_context_stress::a_panic_still_restores_the_context

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

/// Empties this thread's slot when dropped.
struct Clear;

impl Drop for Clear {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|slot| *slot.borrow_mut() = None);
    }
}

/// Runs `f` with `ctx` as this thread's current context, and returns what `f` returns.
/// Afterwards the thread's previous context (None, or the outer one of a nested call) is
/// back, also if `f` panicked. Other threads never see `ctx`.
pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    CURRENT.with(|slot| *slot.borrow_mut() = Some(ctx));
    let _clear = Clear;
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
