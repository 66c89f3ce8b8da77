//! Mutant: waits for both, then expect()s the results: the task's own panic message is replaced by expect's.
//! expect-fail: sing_dance_stress::panic_in_a_reaches_the_caller, sing_dance_stress::panic_in_b_reaches_the_caller, sing_dance_stress::any_panic_payload_reaches_the_caller_untouched, sing_dance_stress::both_panic_and_a_s_payload_wins

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
    let ra = a.join();
    let rb = b.join();
    (ra.expect("task a panicked"), rb.expect("task b panicked"))
}
