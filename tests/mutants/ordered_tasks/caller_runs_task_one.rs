//! Mutant: `run_in_order` spawns threads only for tasks 2 and 3 and runs task 1's loop on the calling thread ("the caller would just sit in join anyway"), then joins the two.
//! expect-fail: ordered_tasks_loom::each_number_keeps_its_own_thread, ordered_tasks_stress::five_thousand_rounds_take_turns, ordered_tasks_stress::thousand_short_runs_side_by_side
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: `run_in_order` spawns threads only for tasks 2 and 3 and runs task 1's loop on the calling thread ("the caller would just sit in join anyway"), then joins the two.
//! Breaks: "Starts three threads. Thread i (1, 2 or 3) calls step(i) rounds times" (README/CURRICULUM contract): step(1) is called on the caller's own thread, not on a thread run_in_order started.
//! Shows when: always: the ThreadId seen inside step(1) is the ThreadId of the thread that called run_in_order (order, thread consistency and the return after all calls are all still right).
//! Evidence: ws-locks/ordered_tasks/tests/checks.rs::every_step_runs_on_a_thread_run_in_order_started fails 3/3 runs ("step([1, 1, 1]) ran on the caller's own thread"), passes on the reference. Visible tests pass 3/3 runs (each_number_comes_from_its_own_thread only checks that a number always comes from the same thread); loom checks pass. Arguable only if one reads "Starts three threads" loosely.

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
    // Task 1 runs here, on the calling thread, which would otherwise just wait in join.
    let task = |me: u8, baton: Arc<Baton>, step: Arc<F>| {
        move || {
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
            }
    };
    let threads: Vec<_> = (2..=3u8)
        .map(|me| thread::spawn(task(me, Arc::clone(&baton), Arc::clone(&step))))
        .collect();
    task(1, Arc::clone(&baton), Arc::clone(&step))();
    for handle in threads {

        handle.join().expect("a task thread panicked");
    }
}
