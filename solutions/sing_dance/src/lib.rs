//! Reference solution of kata `sing_dance`.

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
        (Err(payload), _) | (Ok(_), Err(payload)) => std::panic::resume_unwind(payload),
    }
}
