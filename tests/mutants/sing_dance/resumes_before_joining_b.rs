//! Mutant: resumes a's panic as soon as a's join fails, before joining b: b is still running when the panic leaves run_both.
//! expect-fail: sing_dance_stress::panic_in_a_still_waits_for_b

use kata_sync::thread;

pub fn sing(times: usize, mut pause: impl FnMut(usize)) -> Vec<String> {
    (0..times)
        .map(|i| {
            let line = format!("正在唱歌...{i}");
            pause(i);
            line
        })
        .collect()
}

pub fn dance(times: usize, mut pause: impl FnMut(usize)) -> Vec<String> {
    (0..times)
        .map(|i| {
            let line = format!("正在跳舞...{i}");
            pause(i);
            line
        })
        .collect()
}

pub fn run_both<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send + 'static,
    B: FnOnce() -> RB + Send + 'static,
    RA: Send + 'static,
    RB: Send + 'static,
{
    let a = thread::spawn(a);
    let b = thread::spawn(b);
    let ra = a
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
    let rb = b
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
    (ra, rb)
}
