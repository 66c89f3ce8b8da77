//! Mutant: the slot is a `Cell<Option<Context>>`; `current()` reads it with `take()` and forgets to put the context back.
//! expect-fail: thread_context_stress::the_inner_context_gives_way_to_the_outer_one
//!
//! Blind mutant: the slot is a `Cell<Option<Context>>`; `current()` reads it with `take()` and forgets to put the context back.
//! Breaks: "`current()`: This thread's current context: the innermost `with_context` running on this thread." — reading it must not change it (README).
//! Shows when: `current()` (or `process_student()`) is called twice inside one `with_context`: the second call returns `None`.
//! Evidence: ws-queues/thread_local/tests/blind.rs::current_can_be_read_twice: the second current() is None; fails 3/3 runs, passes on the reference (5/5 runs of the whole file). All visible tests pass on it.


use std::cell::Cell;

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
    static CURRENT: Cell<Option<Context>> = const { Cell::new(None) };
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
        let _ = CURRENT.try_with(|slot| slot.set(previous));
    }
}

/// Runs `f` with `ctx` as this thread's current context, and returns what `f` returns.
/// Afterwards the thread's previous context (None, or the outer one of a nested call) is
/// back, also if `f` panicked. Other threads never see `ctx`.
pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    // A Cell is never borrowed, so `f` may call current() and with_context freely.
    let previous = CURRENT.with(|slot| slot.replace(Some(ctx)));
    let _restore = Restore { previous };
    f()
}

/// This thread's current context: the innermost `with_context` running on this thread.
pub fn current() -> Option<Context> {
    // Context is not Copy, so Cell::get is not available: take() hands out the value.
    CURRENT.with(|slot| slot.take())
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
