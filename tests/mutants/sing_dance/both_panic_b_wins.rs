//! Mutant: after joining both tasks, run_both looks at b's result first when choosing which panic to hand on.
//! expect-fail: sing_dance_stress::both_panic_and_a_s_payload_wins
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: after joining both tasks, run_both looks at b's result first when choosing which panic to hand on.
//! Breaks: "then panics with the panicking task's own payload (a's if both panicked)" (README, run_both).
//! Shows when: both tasks panic (a with "a", b with "b"): the caller receives b's payload "b".
//! Evidence: ws-locks/sing_dance/tests/checks.rs::both_panic_a_wins fails 3/3 runs (left: &str "b", right: &str "a"), passes on the reference; single-panic payload and waiting checks pass. Visible tests pass 3/3.


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
        // resume_unwind hands the task's own payload on, untouched.
        (_, Err(payload)) | (Err(payload), Ok(_)) => std::panic::resume_unwind(payload),

    }
}
