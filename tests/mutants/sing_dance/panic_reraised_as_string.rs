//! Mutant: when a task panicked, run_both reads the panic message out of the payload (a &str or a String) and panics again with `panic!("{msg}")`.
//! expect-fail: sing_dance_stress::panic_in_a_reaches_the_caller, sing_dance_stress::any_panic_payload_reaches_the_caller_untouched, sing_dance_stress::both_panic_and_a_s_payload_wins
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: when a task panicked, run_both reads the panic message out of the payload (a &str or a String) and panics again with `panic!("{msg}")`.
//! Breaks: "then panics with the panicking task's own payload (a's if both panicked)" (README, run_both): the new payload is always a String, so a task's `panic!("literal")` (&'static str payload) or `panic_any(value)` arrives as something else.
//! Shows when: a = || panic!("boom"): catch_unwind(run_both(..)) gives a payload whose downcast_ref::<&str>() is None (it is a String "boom"); with panic_any(42u32) the payload becomes the String "a task panicked".
//! Evidence: ws-locks/sing_dance/tests/checks.rs::str_payload_comes_through_as_str fails 3/3 runs (left: String "boom", right: &str "boom"), custom_payload_comes_through fails (String "a task panicked" instead of u32 42), both_panic_a_wins fails (String "a"); all pass on the reference. string_payload_of_b_comes_through PASSES on this mutant (a String stays a String), and a test that accepts either &str or String would miss it. NB: panic!("... {}", 3) with a literal argument has a &'static str payload in current Rust, so a test needs a run-time argument to get a String payload. Visible tests pass 3/3.


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
        // Pass the task's panic message on to our caller.
        (Err(payload), _) | (Ok(_), Err(payload)) => {
            let message = if let Some(s) = payload.downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "a task panicked".to_string()
            };
            panic!("{message}")
        }
    }

}
