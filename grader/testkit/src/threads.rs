//! Threads started together at a barrier, and joined with their results; and the other
//! pieces the real-thread (stress) suites keep repeating.
//!
//! A race shows only when the racing threads really run at the same time, so a stress
//! test starts them together: [`together`] spawns `n` threads that each wait at one
//! barrier before running their part, then joins every one of them and hands back their
//! results in order. A panic in one of them (a failed assertion, or the kata's own) is
//! passed on to the test with its own payload, once every thread has ended.
//!
//! ```ignore
//! use kata_testkit::threads;
//!
//! // 4 threads call start() 25 times each, all at once.
//! let names: Vec<Vec<String>> = threads::together(4, move |_| {
//!     (0..25).map(|_| group.start(|| ()).unwrap().name().to_string()).collect()
//! });
//! ```
//!
//! The API (stable: suites of several katas depend on it):
//! - [`together`]`(n, f)`: `n` threads start `f(i)` at one barrier; their results in order;
//! - [`together_with`]`(n, f)`: the same, and the calling thread joins the start too, so it
//!   can race with them (a [`Started`] that [`Started::join`] finishes);
//! - [`Gate`]: a gate any number of threads wait at, until it is opened once for all
//!   ([`Gate::open_on_drop`] opens it however the test ends, so that no pool's drop waits
//!   for a job still held at it);
//! - [`Latch`]: counts arrivals, so a test knows that `n` threads have reached a point;
//! - [`UntilAsleep`]: holds the test back until the threads that its next step must wake
//!   are asleep in the facade's waits, so that a lost wake-up is lost on every run;
//! - [`within`]`(limit, f)`: runs `f` on a helper thread, `None` if it has not returned
//!   within a generous `limit` (a hang turned into a message, never a speed test);
//! - [`panic_quietly`]`(message)`: panics with `message` as the payload (a `&'static str`
//!   for a literal, a `String` if given one) without running the panic hook (for jobs
//!   that panic on purpose: nothing is printed);
//! - [`panic_message`]`(payload)`: the text of a panic payload (`&str` or `String`);
//! - [`assert_matches!`](crate::assert_matches)`(value, pattern, message…)`: `assert_eq!` for
//!   a kata's own types, which compares by pattern (never through the kata's `PartialEq`,
//!   which a submission may make say yes to anything) and adds what came back to the
//!   message;
//! - [`share!`](crate::share)`(value, "TypeName")`: an `Arc` of a kata's value for several
//!   threads, with `Send + Sync` checked at run time, so that a type that is not `Sync`
//!   fails the tests that share it, with a message, rather than the whole suite's build.
//!
//! Verdicts never rest on how long something took. Timeouts here only turn a hang into a
//! clear message, and only after far longer than a correct solution needs on a crowded
//! machine; the grader's time limit catches any hang that is left.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Condvar, Mutex};
// The facade's threads: their joins are shown to the hang watch (`kata_sync::hang`).
use kata_sync::hang::waiting_for_others;
use kata_sync::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Runs `f(0)`, …, `f(n - 1)` on `n` new threads that start together (each waits at one
/// barrier for the others), and returns their results in that order once all have ended.
///
/// If one of them panicked, the first such panic (in thread order) is raised again on the
/// calling thread with its own payload, after every thread has ended.
pub fn together<T, F>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    together_with(n, f).join()
}

/// Threads started by [`together_with`]: waiting at their barrier until [`Started::go`]
/// (or [`Started::join`]) lets them and the caller go, all at once.
pub struct Started<T> {
    barrier: Arc<Barrier>,
    passed: bool,
    handles: Vec<JoinHandle<T>>,
}

/// Spawns `n` threads running `f(i)` that wait at one barrier with the calling thread:
/// they start only once the caller calls [`Started::go`], at the same moment as the
/// caller goes on. So the caller can race with them (say, call `close` while they call
/// `send`). [`Started::join`] waits for them and gives their results in order.
pub fn together_with<T, F>(n: usize, f: F) -> Started<T>
where
    T: Send + 'static,
    F: Fn(usize) -> T + Send + Sync + 'static,
{
    let barrier = Arc::new(Barrier::new(n + 1));
    let f = Arc::new(f);
    let handles = (0..n)
        .map(|i| {
            let (barrier, f) = (Arc::clone(&barrier), Arc::clone(&f));
            thread::Builder::new()
                .name(format!("together-{i}"))
                .spawn(move || {
                    barrier.wait();
                    f(i)
                })
                .expect("the test kit could not start a thread")
        })
        .collect();
    Started {
        barrier,
        passed: false,
        handles,
    }
}

impl<T> Started<T> {
    /// Lets the threads go, all at once, and goes on with them. (Only the first call
    /// waits at the barrier.)
    pub fn go(&mut self) {
        if !self.passed {
            self.barrier.wait();
            self.passed = true;
        }
    }

    /// Lets the threads go if [`Started::go`] has not, waits for every one of them, and
    /// returns their results in order; the first panic among them is raised again here,
    /// with its own payload, once all have ended.
    pub fn join(mut self) -> Vec<T> {
        if !self.passed {
            self.barrier.wait();
            self.passed = true;
        }
        let mut panic = None;
        let mut results = Vec::with_capacity(self.handles.len());
        for handle in self.handles.drain(..) {
            match handle.join() {
                Ok(value) => results.push(value),
                Err(payload) => {
                    panic.get_or_insert(payload);
                }
            }
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        results
    }
}

/// A gate that any number of threads wait at until it is opened, once for all (a
/// one-shot event, like Python's `threading.Event`).
#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Waits until the gate is open (at once if it is).
    pub fn wait(&self) {
        waiting_for_others("at a test's gate, for the test to open it", || {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            while !*open {
                open = self.opened.wait(open).unwrap_or_else(|e| e.into_inner());
            }
        })
    }

    /// Opens the gate: every thread waiting goes on, and later waits return at once.
    pub fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.opened.notify_all();
    }

    pub fn is_open(&self) -> bool {
        *self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A guard that opens the gate when it is dropped: declared after a pool whose job
    /// waits at the gate, it lets that job go on before the pool's own drop waits for it,
    /// also when the test fails (panics) before it opened the gate itself.
    pub fn open_on_drop(gate: &Arc<Gate>) -> OpenOnDrop {
        OpenOnDrop(Arc::clone(gate))
    }
}

/// Opens its gate when dropped: see [`Gate::open_on_drop`].
pub struct OpenOnDrop(Arc<Gate>);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// Holds a test back, before the event that must wake some threads (a close, a drop, a
/// result completed), until those threads are asleep in the facade's waits (see
/// `kata_sync::hang::until_asleep_in_waits`). Then a submission that loses the wake-up
/// leaves them asleep on every run, and the hang watch names their lines, instead of only
/// on runs where they happened to be asleep in time.
///
/// One per test, over its rounds: a round waits up to [`UntilAsleep::FALLBACK`] for them.
/// Once a round has waited in vain (a submission whose threads poll or spin instead of
/// sleeping in a wait), later rounds do not wait, so such a submission loses that time
/// once, and its rounds go on as they would without the gate.
pub struct UntilAsleep {
    gave_up: bool,
}

impl UntilAsleep {
    /// Far longer than a thread needs to reach its wait on a crowded machine (a few ms of
    /// CPU), short enough that a submission whose threads never sleep there (a stub, a
    /// poller) loses little.
    pub const FALLBACK: Duration = Duration::from_secs(2);

    pub fn new() -> UntilAsleep {
        UntilAsleep { gave_up: false }
    }

    /// Until `n` threads besides the caller are asleep in waits.
    pub fn others(&mut self, n: usize) {
        if !self.gave_up {
            self.gave_up = !kata_sync::hang::until_asleep_in_waits(n, Self::FALLBACK);
        }
    }

    /// Until the threads `tids` (each one's `kata_sync::hang::tid()`) are asleep in waits.
    pub fn these(&mut self, tids: &[i32]) {
        if !self.gave_up {
            self.gave_up = !kata_sync::hang::until_these_asleep_in_waits(tids, Self::FALLBACK);
        }
    }
}

impl Default for UntilAsleep {
    fn default() -> Self {
        UntilAsleep::new()
    }
}

/// Counts arrivals: threads call [`Latch::arrive`], the test waits until `n` have.
#[derive(Default)]
pub struct Latch {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Latch {
    pub fn new() -> Latch {
        Latch::default()
    }

    pub fn arrive(&self) {
        *self.count.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.changed.notify_all();
    }

    pub fn count(&self) -> usize {
        *self.count.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until at least `n` arrivals; false if they have not come within `limit` (a
    /// hang guard: pick a limit far beyond what a correct solution needs).
    pub fn wait_for(&self, n: usize, limit: Duration) -> bool {
        waiting_for_others("for other threads to arrive", || self.wait_until(n, limit))
    }

    fn wait_until(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut count = self.count.lock().unwrap_or_else(|e| e.into_inner());
        while *count < n {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            count = self
                .changed
                .wait_timeout(count, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// Runs `f` on a helper thread and gives its value, or `None` if it has not returned
/// within `limit`: then the helper is left behind, stuck in the code under test, and the
/// test should fail with a message saying what never returned. If `f` panics, the panic
/// is raised again here with its own payload.
///
/// A hang guard, not a speed test: choose a `limit` many times longer than a correct
/// solution needs even on a crowded machine.
pub fn within<T, F>(limit: Duration, f: F) -> Option<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = mpsc::channel();
    thread::Builder::new()
        .name("within".to_string())
        .spawn(move || {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
        })
        .expect("the test kit could not start a thread");
    match waiting_for_others("for the code under test to return", || {
        rx.recv_timeout(limit)
    }) {
        Ok(Ok(value)) => Some(value),
        Ok(Err(payload)) => resume_unwind(payload),
        Err(_) => None,
    }
}

/// Panics with `message` as the payload, of `message`'s own type (a `&'static str` for a
/// literal, a `String` for a `String`), without running the panic hook, so that a job that
/// panics on purpose prints nothing. (A `Box<dyn Any + Send>` would be boxed once more:
/// hand one on with `std::panic::resume_unwind` instead.)
pub fn panic_quietly<M: Any + Send>(message: M) -> ! {
    resume_unwind(Box::new(message))
}

/// The text of a panic payload: the `&str` or `String` it holds, or a note that it holds
/// some other type.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is neither a &str nor a String)".to_string()
    }
}

/// `assert_eq!` for a kata's own types: passes when `value` matches `pattern` (an `if`
/// guard may follow it), else panics with the message, then "; it gave {value:?}".
///
/// A verdict must never rest on a trait the kata implements for the purpose: a submission
/// may implement `PartialEq` to say yes to anything. A pattern looks at the variant and the
/// public fields themselves. (`Debug` is used only for the message.)
///
/// ```ignore
/// kata_testkit::assert_matches!(pool.join(), Ok(()), "join() after close()");
/// kata_testkit::assert_matches!(q.put(7, false, None), Err(Full(back)) if back == 7,
///     "put(7, false, None) on a full queue gives the item back");
/// ```
#[macro_export]
macro_rules! assert_matches {
    ($value:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {
        $crate::assert_matches!($value, $pattern $(if $guard)?, "{}", stringify!($value))
    };
    ($value:expr, $pattern:pat $(if $guard:expr)?, $($message:tt)+) => {
        match $value {
            $pattern $(if $guard)? => {}
            #[allow(unreachable_patterns)]
            other => {
                #[allow(unused_imports)]
                use $crate::threads::{DescribeByDebug as _, DescribeWithoutDebug as _};
                panic!(
                    "{}; it gave {}",
                    format_args!($($message)+),
                    (&$crate::threads::Described(&other)).describe()
                )
            }
        }
    };
}

/// Shares a kata's value between threads, as `Arc` does, but asks for `Send + Sync` at run
/// time instead of compile time: `share!(value, "AsyncResult")` gives a [`Shared`] (an
/// `Arc` that threads can take), or, if the value's type is not `Send + Sync`, fails the
/// test with a message saying so. So a kata whose type is not `Sync` loses the tests that
/// share it, not (by a compile error) every test of the suite.
///
/// `$what` names the type for the message: "ThreadPool", "AsyncResult", ….
#[macro_export]
macro_rules! share {
    ($value:expr, $what:expr $(,)?) => {{
        let value = $value;
        #[allow(unused_imports)]
        use $crate::threads::{ProbeNotSendSync as _, ProbeSendSync as _};
        if !(&$crate::threads::SendSyncProbe::of(&value)).is_send_sync() {
            panic!(
                "{} is not Send + Sync, so several threads cannot share one: this test has \
                 threads use one {} at the same time (by reference or in an Arc), as the \
                 statement allows. Keep its state in kata_sync's Mutex and atomics, not in \
                 Cell or RefCell",
                $what, $what
            );
        }
        // SAFETY: the probe just checked that the value's type is Send + Sync.
        unsafe { $crate::threads::Shared::new_unchecked(value) }
    }};
}

/// What [`share!`] gives: an `Arc` of a value whose type was checked (at run time) to be
/// `Send + Sync`. Clone it for each thread; `*shared` is the value.
pub struct Shared<T>(Arc<T>);

// SAFETY: a Shared is only made by `share!`, after its probe found T: Send + Sync.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// # Safety
    /// `T` must be `Send + Sync` (`share!` checks it first).
    #[doc(hidden)]
    pub unsafe fn new_unchecked(value: T) -> Shared<T> {
        Shared(Arc::new(value))
    }

    /// The value back, once no other clone is left (`None` while one is).
    pub fn try_unwrap(self) -> Option<T> {
        Arc::try_unwrap(self.0).ok()
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Shared<T> {
        Shared(Arc::clone(&self.0))
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[doc(hidden)]
pub struct SendSyncProbe<'a, T>(std::marker::PhantomData<&'a T>);

impl<'a, T> SendSyncProbe<'a, T> {
    #[doc(hidden)]
    pub fn of(_value: &'a T) -> SendSyncProbe<'a, T> {
        SendSyncProbe(std::marker::PhantomData)
    }
}

#[doc(hidden)]
pub trait ProbeSendSync {
    fn is_send_sync(&self) -> bool;
}

impl<T: Send + Sync> ProbeSendSync for SendSyncProbe<'_, T> {
    fn is_send_sync(&self) -> bool {
        true
    }
}

#[doc(hidden)]
pub trait ProbeNotSendSync {
    fn is_send_sync(&self) -> bool;
}

impl<T> ProbeNotSendSync for &SendSyncProbe<'_, T> {
    fn is_send_sync(&self) -> bool {
        false
    }
}

/// A value for [`assert_matches!`]'s message: described with `Debug` when its type has it,
/// else as "a value without Debug" (a kata type such as an `AsyncResult` may have none).
#[doc(hidden)]
pub struct Described<'a, T>(pub &'a T);

#[doc(hidden)]
pub trait DescribeByDebug {
    fn describe(&self) -> String;
}

impl<T: std::fmt::Debug> DescribeByDebug for Described<'_, T> {
    fn describe(&self) -> String {
        format!("{:?}", self.0)
    }
}

#[doc(hidden)]
pub trait DescribeWithoutDebug {
    fn describe(&self) -> String;
}

impl<T> DescribeWithoutDebug for &Described<'_, T> {
    fn describe(&self) -> String {
        "a value without Debug".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn together_returns_results_in_order() {
        let inside = Arc::new(AtomicUsize::new(0));
        let seen = {
            let inside = Arc::clone(&inside);
            together(4, move |i| {
                inside.fetch_add(1, Ordering::SeqCst);
                i * 10
            })
        };
        assert_eq!(seen, [0, 10, 20, 30]);
        assert_eq!(inside.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn together_passes_on_the_first_panic() {
        let caught = catch_unwind(|| {
            together(3, |i| {
                if i == 1 {
                    panic_quietly("thread 1 fails");
                }
                i
            })
        });
        let payload = caught.expect_err("a thread panicked");
        assert_eq!(panic_message(payload.as_ref()), "thread 1 fails");
    }

    #[test]
    fn panic_quietly_keeps_the_payload_type() {
        let caught = catch_unwind(|| panic_quietly("a literal"));
        let payload = caught.expect_err("panic_quietly panics");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"a literal"));
        let caught = catch_unwind(|| panic_quietly(String::from("a String")));
        let payload = caught.expect_err("panic_quietly panics");
        assert_eq!(
            payload.downcast_ref::<String>().map(String::as_str),
            Some("a String")
        );
    }

    #[test]
    fn together_with_races_the_caller() {
        let gate = Arc::new(Gate::new());
        let mut started = {
            let gate = Arc::clone(&gate);
            together_with(2, move |i| {
                gate.wait();
                i
            })
        };
        started.go();
        gate.open();
        assert_eq!(started.join(), [0, 1]);
    }

    #[test]
    fn assert_matches_compares_by_pattern() {
        crate::assert_matches!(Some(3), Some(3), "a three");
        crate::assert_matches!(Some(4), Some(n) if n % 2 == 0, "an even number");
        let caught =
            catch_unwind(|| crate::assert_matches!(Some(5), None, "nothing, for {}", "once"));
        let payload = caught.expect_err("Some(5) is not None");
        assert_eq!(
            panic_message(payload.as_ref()),
            "nothing, for once; it gave Some(5)"
        );
        struct Opaque;
        let caught =
            catch_unwind(|| crate::assert_matches!(Err::<u8, _>(Opaque), Ok(_), "a value"));
        let payload = caught.expect_err("Err is not Ok");
        assert_eq!(
            panic_message(payload.as_ref()),
            "a value; it gave a value without Debug"
        );
    }

    #[test]
    fn share_checks_send_and_sync_at_run_time() {
        let shared = crate::share!(std::sync::Mutex::new(5), "a Mutex");
        let other = shared.clone();
        let seen = thread::spawn(move || *other.lock().unwrap())
            .join()
            .unwrap();
        assert_eq!(seen, 5);
        assert!(shared.try_unwrap().is_some());
        let caught = catch_unwind(|| {
            let _ = crate::share!(std::cell::Cell::new(5), "a Cell");
        });
        let payload = caught.expect_err("a Cell is not Sync");
        assert!(panic_message(payload.as_ref()).starts_with("a Cell is not Send + Sync"));
    }

    #[test]
    fn latch_and_within() {
        let latch = Arc::new(Latch::new());
        let l = Arc::clone(&latch);
        let value = within(Duration::from_secs(10), move || {
            l.arrive();
            7
        });
        assert_eq!(value, Some(7));
        assert!(latch.wait_for(1, Duration::from_secs(10)));
        assert_eq!(
            within(Duration::from_millis(10), || loop {
                thread::sleep(Duration::from_secs(1))
            }),
            None::<()>
        );
    }
}
