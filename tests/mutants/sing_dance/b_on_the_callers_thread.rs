//! Mutant: runs b on the caller's thread while a runs on a new one: when b panics, the panic unwinds out of run_both and a is left running.
//! expect-fail: sing_dance_stress::both_panic_and_a_s_payload_wins, sing_dance_stress::panic_in_b_still_waits_for_a

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
    let rb = b();
    let ra = a
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
    (ra, rb)
}
