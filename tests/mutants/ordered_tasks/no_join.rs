//! Mutant: `run_in_order` starts the three threads and returns without joining them: it returns while steps are still to come.
//! expect-fail: ordered_tasks_loom::one_round_runs_1_2_3, ordered_tasks_loom::turn_wraps_from_3_back_to_1, ordered_tasks_loom::each_number_keeps_its_own_thread, ordered_tasks_stress::five_thousand_rounds_take_turns, ordered_tasks_stress::thousand_short_runs_side_by_side

use kata_sync::{thread, Arc, Condvar, Mutex};

/// The baton: whose turn it is (1, 2 or 3), and a condition variable to sleep on until
/// it is yours.
struct Baton {
    turn: Mutex<u8>,
    passed: Condvar,
}

/// Starts three threads. Thread i (1, 2 or 3) calls `step(i)` `rounds` times. The calls come
/// in the order 1, 2, 3, 1, 2, 3, …, each number always from the same thread, and
/// `run_in_order` returns after all 3 * rounds calls have returned.
pub fn run_in_order<F>(rounds: usize, step: F)
where
    F: Fn(u8) + Send + Sync + 'static,
{
    let baton = Arc::new(Baton {
        turn: Mutex::new(1),
        passed: Condvar::new(),
    });
    let step = Arc::new(step);
    let threads: Vec<_> = (1..=3u8)
        .map(|me| {
            let baton = Arc::clone(&baton);
            let step = Arc::clone(&step);
            thread::spawn(move || {
                for _ in 0..rounds {
                    let mut turn = baton.turn.lock();
                    // `while`, not `if`: all three threads sleep on the one condition
                    // variable, so a wake-up only says "the turn has moved", not "it is
                    // yours". Re-check after every wake-up (spurious ones included).
                    while *turn != me {
                        baton.passed.wait(&mut turn);
                    }
                    // Step while holding the turn: no other thread can start its step
                    // until this one has returned and handed the turn on.
                    step(me);
                    *turn = me % 3 + 1;
                    // notify_all, not notify_one: notify_one may wake the one thread whose
                    // turn it is not; it would go back to sleep and nobody would wake the
                    // right one (a lost wake-up).
                    baton.passed.notify_all();
                }
            })
        })
        .collect();
    drop(threads);
}
