//! Mutant: once it is its turn, a thread first hands the turn to the next thread (and wakes it), then releases the mutex and calls `step(me)`, "so the next thread is already on its way".
//! expect-fail: ordered_tasks_loom::one_round_runs_1_2_3, ordered_tasks_loom::turn_wraps_from_3_back_to_1, ordered_tasks_loom::each_number_keeps_its_own_thread, ordered_tasks_stress::five_thousand_rounds_take_turns, ordered_tasks_stress::thousand_short_runs_side_by_side
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: once it is its turn, a thread first hands the turn to the next thread (and wakes it), then releases the mutex and calls `step(me)`, "so the next thread is already on its way".
//! Breaks: "step(2) may start only after step(1) has returned, and so on" and the order 1, 2, 3, … (README): the next thread may run its step while, or even before, this one runs its own.
//! Shows when: a step takes some time (or the thread is preempted between the hand-over and its step): step(2) starts before step(1) has returned, and can be recorded first.
//! Evidence: loom checks fail deterministically ("step(3) overlapped another step"); checks.rs::steps_never_overlap: 20 of 20 runs had 85-89 overlapping steps and wrong order. Reference passes all. WEAK AS A BLIND MUTANT: the visible tests catch it too (3/3 runs failed, e.g. one_round_goes_1_2_3_every_time).

//! The course passes a baton with three locks: Task1 holds lock1, prints, and releases
//! lock2, which Task2 is blocked on, and so on. Here the baton is a number, `turn`, behind
//! one mutex: thread `me` sleeps on a condition variable until `turn == me`, takes its
//! step, hands the turn to the next thread and wakes the others.

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
                    // Pass the baton first, so that the next thread is ready to go, and
                    // don't hold the mutex while the step runs.
                    *turn = me % 3 + 1;
                    baton.passed.notify_all();
                    drop(turn);
                    step(me);

                }
            })
        })
        .collect();
    for handle in threads {
        handle.join().expect("a task thread panicked");
    }
}
