//! Mutant: after its step a thread first wakes the others (`notify_all`), lets go of the mutex, and then takes it again to write the next turn ("wake them up, then tell them whose turn it is").
//! expect-fail: ordered_tasks_loom::one_round_runs_1_2_3, ordered_tasks_loom::turn_wraps_from_3_back_to_1, ordered_tasks_loom::each_number_keeps_its_own_thread, ordered_tasks_stress::five_thousand_rounds_take_turns, ordered_tasks_stress::thousand_short_runs_side_by_side
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: after its step a thread first wakes the others (`notify_all`), lets go of the mutex, and then takes it again to write the next turn ("wake them up, then tell them whose turn it is").
//! Breaks: the order promise and "run_in_order returns after all 3 * rounds calls have returned" (README): the notification comes before the state change; a woken thread that re-checks before the new turn is written goes back to sleep, and nobody notifies it again (lost wake-up, deadlock).
//! Shows when: thread 1 notifies and drops the mutex; thread 2 (woken) takes the mutex first, still sees turn == 1 and waits again; thread 1 then writes turn = 2 without notifying: all three wait forever.
//! Evidence: loom check fails deterministically (deadlock: every task thread Blocked at the wait); checks.rs: all 4 checks fail (20 of 20 runs of steps_never_overlap stuck). Reference passes all. WEAK AS A BLIND MUTANT: the visible tests hang too (3/3 runs hit the timeout).

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
                    // Step while holding the turn: no other thread can start its step
                    // until this one has returned and handed the turn on.
                    step(me);
                    // notify_all, not notify_one: notify_one may wake the one thread whose
                    // turn it is not; it would go back to sleep and nobody would wake the
                    // right one (a lost wake-up).
                    baton.passed.notify_all();
                    drop(turn);
                    *baton.turn.lock() = me % 3 + 1;

                }
            })
        })
        .collect();
    for handle in threads {
        handle.join().expect("a task thread panicked");
    }
}
