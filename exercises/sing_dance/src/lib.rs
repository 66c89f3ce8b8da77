//! Kata `sing_dance` — 多任务的引入. See README.md.
//!
//! Take your threads from `kata_sync::thread` (it is `std::thread` today; the grader may
//! swap in loom's model one day).

#[allow(unused_imports)] // you will need it
use kata_sync::thread;

/// The course's `sing()`: `times` lines, calling `pause(i)` after line `i` (the course
/// sleeps one second there). Returns the lines it sang. (Given: nothing to do here.)
pub fn sing(times: usize, mut pause: impl FnMut(usize)) -> Vec<String> {
    (0..times)
        .map(|i| {
            let line = format!("正在唱歌...{i}");
            pause(i);
            line
        })
        .collect()
}

/// The course's `dance()`: like [`sing`], with the dancer's lines. (Given.)
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
    // TODO: this is the course's first program: sing(), then dance(). `b` only starts
    // once `a` has finished, so the two never run at the same time (a task that waits for
    // its partner waits in vain). Start both on threads before waiting for either, then
    // wait for both, and if one panicked, hand its panic on only after both have ended.
    let ra = a();
    let rb = b();
    (ra, rb)
}
