//! Mutant: the panic guard is bound with `let _ = RestoreOnPanic { .. }`, which drops it on the spot (not at the end of the scope), so it never sees the panic it was written for; only the normal return restores the context.
//! expect-fail: thread_context_stress::a_panic_still_restores_the_context, thread_context_stress::the_panic_of_f_reaches_the_caller_unchanged
//!
//! Blind mutant: the panic guard is bound with `let _ = RestoreOnPanic { .. }`, which drops it on the spot (not at the end of the scope), so it never sees the panic it was written for; only the normal return restores the context.
//! Breaks: "Afterwards the thread's previous context (None, or the outer one of a nested call) is back, also if `f` panicked." and "A thread that runs many jobs (a pool's worker) never hands one job's context to the next." (README).
//! Shows when: `f` panics and the thread goes on (a worker that catches each job's panic): the next job on that thread sees the panicked job's context.
//! Evidence: ws-queues/thread_local/tests/blind.rs::a_panicking_job_leaves_no_context_for_the_next (Some(Alice)) and an_inner_panic_restores_the_outer_context (Bob) fail 3/3 runs, passes on the reference (5/5 runs of the whole file). All visible tests pass on it.


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

/// Puts the context it holds back into this thread's slot if it is dropped while a panic
/// unwinds out of `f` (a normal return restores the context itself).
struct RestoreOnPanic {
    previous: Option<Context>,
}

impl Drop for RestoreOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let previous = self.previous.take();
            // try_with: during thread teardown the slot may already be gone.
            let _ = CURRENT.try_with(|slot| *slot.borrow_mut() = previous);
        }
    }
}

/// Runs `f` with `ctx` as this thread's current context, and returns what `f` returns.
/// Afterwards the thread's previous context (None, or the outer one of a nested call) is
/// back, also if `f` panicked. Other threads never see `ctx`.
pub fn with_context<R>(ctx: Context, f: impl FnOnce() -> R) -> R {
    // The borrow ends before `f` runs, so `f` may call current() and with_context freely.
    let previous = CURRENT.with(|slot| slot.replace(Some(ctx)));
    let _ = RestoreOnPanic {
        previous: previous.clone(),
    };
    let result = f();
    CURRENT.with(|slot| *slot.borrow_mut() = previous);
    result
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
