//! Mutant: run_both hands a task's panic on with `std::panic::panic_any(payload)`, believing it re-raises the payload as it is.
//! expect-fail: sing_dance_stress::panic_in_a_reaches_the_caller, sing_dance_stress::panic_in_b_reaches_the_caller, sing_dance_stress::any_panic_payload_reaches_the_caller_untouched, sing_dance_stress::both_panic_and_a_s_payload_wins
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: run_both hands a task's panic on with `std::panic::panic_any(payload)`, believing it re-raises the payload as it is.
//! Breaks: "then panics with the panicking task's own payload" (README, run_both): panic_any boxes the Box<dyn Any> again, so the caller's payload is a Box<dyn Any + Send>, and downcasting it to &str or String fails.
//! Shows when: a = || panic!("boom"): catch_unwind(run_both(..)).unwrap_err().downcast_ref::<&str>() is None (as is downcast_ref::<String>()).
//! Evidence: ws-locks/sing_dance/tests/checks.rs: str_payload_comes_through_as_str, string_payload_of_b_comes_through, custom_payload_comes_through and both_panic_a_wins all fail 3/3 runs (payload is "some other type": a Box<dyn Any + Send> inside the Box), all pass on the reference. Visible tests pass 3/3.


use kata_sync::thread;

/// The course's `sing()`: `times` lines, calling `pause(i)` after line `i` (the course
/// sleeps one second there). Returns the lines it sang.
pub fn sing(times: usize, mut pause: impl FnMut(usize)) -> Vec<String> {
    (0..times)
        .map(|i| {
            let line = format!("正在唱歌...{i}");
            pause(i);
            line
        })
        .collect()
}

/// The course's `dance()`: like [`sing`], with the dancer's lines.
pub fn dance(times: usize, mut pause: impl FnMut(usize)) -> Vec<String> {
    (0..times)
        .map(|i| {
            let line = format!("正在跳舞...{i}");
            pause(i);
            line
        })
        .collect()
}

/// Runs `a` and `b` at the same time and returns when both have finished, with their
/// results in the order (a's, b's). If a task panics, run_both still waits for the
/// other one, then panics with the panicking task's own payload (a's if both panicked).
pub fn run_both<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send + 'static,
    B: FnOnce() -> RB + Send + 'static,
    RA: Send + 'static,
    RB: Send + 'static,
{
    // Both threads are started before either is waited for: that is what lets them run
    // at the same time. Joining `a` before spawning `b` would be sequential again.
    let a = thread::spawn(a);
    let b = thread::spawn(b);
    // Join both before looking at either result: `a.join().unwrap()` would unwind out of
    // run_both while `b` is still running, and replace a's message with unwrap's.
    let ra = a.join();
    let rb = b.join();
    match (ra, rb) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        // Raise the task's own payload again.
        (Err(payload), _) | (Ok(_), Err(payload)) => std::panic::panic_any(payload),

    }
}
