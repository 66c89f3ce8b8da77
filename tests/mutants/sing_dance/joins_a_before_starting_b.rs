//! Mutant: spawns a's thread and joins it before spawning b's: threads, but still one after the other.
//! expect-fail: sing_dance_stress::both_tasks_run_at_the_same_time, sing_dance_stress::results_come_back_as_a_then_b, sing_dance_stress::singer_and_dancer_keep_every_beat, sing_dance_stress::panic_in_a_reaches_the_caller, sing_dance_stress::panic_in_b_reaches_the_caller, sing_dance_stress::any_panic_payload_reaches_the_caller_untouched, sing_dance_stress::both_panic_and_a_s_payload_wins, sing_dance_stress::panic_in_a_still_waits_for_b, sing_dance_stress::panic_in_b_still_waits_for_a

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
    let ra = thread::spawn(a).join();
    let rb = thread::spawn(b).join();
    match (ra, rb) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(payload), _) | (Ok(_), Err(payload)) => std::panic::resume_unwind(payload),
    }
}
