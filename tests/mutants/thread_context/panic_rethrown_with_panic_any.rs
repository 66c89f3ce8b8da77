//! Mutant: `with_context` catches `f`'s panic to restore the context, then re-raises it with `std::panic::panic_any(payload)` instead of `resume_unwind(payload)`.
//! expect-fail: thread_context_stress::the_panic_of_f_reaches_the_caller_unchanged
//!
//! Blind mutant: `with_context` catches `f`'s panic to restore the context, then re-raises it with `std::panic::panic_any(payload)` instead of `resume_unwind(payload)`.
//! Breaks: "Runs `f` with `ctx` as this thread's current context, and returns what `f` returns." — `with_context` must be transparent: a panic of `f` must reach the caller as `f`'s own panic. Here the payload is boxed once more (a `Box<dyn Any + Send>` inside the payload), so `downcast_ref::<&str>()` / `<String>()` of the caught panic find nothing, and the panic hook runs a second time ("Box<dyn Any>").
//! Shows when: `catch_unwind(|| with_context(ctx, || panic!("boom")))`: the payload is not "boom" any more (a pool that reports a job's panic message, or a test that checks it, sees garbage).
//! Evidence: ws-queues/thread_local/tests/blind.rs::the_panic_of_f_reaches_the_caller_unchanged: payload.downcast_ref::<&str>() is None (want "boom in f"); fails 3/3 runs, passes on the reference (5/5 runs of the whole file). All visible tests pass on it.


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

/// Runs `f` with `ctx` as this thread's current context, and returns what `f` returns.
/// Afterwards the thread's previous context (None, or the outer one of a nested call) is
/// back, also if `f` panicked. Other threads never see `ctx`.
pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    // The borrow ends before `f` runs, so `f` may call current() and with_context freely.
    let previous = CURRENT.with(|slot| slot.replace(Some(ctx)));
    // Catch a panic of f, so that the previous context is back whatever happens.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CURRENT.with(|slot| *slot.borrow_mut() = previous);
    match outcome {
        Ok(value) => value,
        // The context is restored: let the panic go on to the caller.
        Err(payload) => std::panic::panic_any(payload),
    }
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
