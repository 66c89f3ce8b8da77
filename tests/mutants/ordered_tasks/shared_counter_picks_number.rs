//! Mutant: the three threads take the next number from a shared call counter: the order is right, but step(n) comes from whichever thread gets the lock, not always from thread n.
//! expect-fail: ordered_tasks_loom::each_number_keeps_its_own_thread, ordered_tasks_stress::five_thousand_rounds_take_turns, ordered_tasks_stress::thousand_short_runs_side_by_side

use kata_sync::{thread, Arc, Mutex};

pub fn run_in_order<F>(rounds: usize, step: F)
where
    F: Fn(u8) + Send + Sync + 'static,
{
    let calls = Arc::new(Mutex::new(0usize));
    let step = Arc::new(step);
    let threads: Vec<_> = (1..=3u8)
        .map(|_| {
            let calls = Arc::clone(&calls);
            let step = Arc::clone(&step);
            thread::spawn(move || loop {
                let mut calls = calls.lock();
                if *calls == 3 * rounds {
                    break;
                }
                let next = (*calls % 3) as u8 + 1;
                step(next);
                *calls += 1;
            })
        })
        .collect();
    for handle in threads {
        handle.join().expect("a task thread panicked");
    }
}
