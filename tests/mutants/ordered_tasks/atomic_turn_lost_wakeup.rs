//! Mutant: the turn is an `AtomicU8` (cheap to read); a thread checks it without taking the condvar's mutex and only locks the (empty) mutex to sleep, and the previous thread stores the new turn and notifies without the mutex.
//! expect-fail: ordered_tasks_loom::one_round_runs_1_2_3, ordered_tasks_loom::turn_wraps_from_3_back_to_1, ordered_tasks_loom::each_number_keeps_its_own_thread, ordered_tasks_stress::five_thousand_rounds_take_turns, ordered_tasks_stress::thousand_short_runs_side_by_side
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: the turn is an `AtomicU8` (cheap to read); a thread checks it without taking the condvar's mutex and only locks the (empty) mutex to sleep, and the previous thread stores the new turn and notifies without the mutex.
//! Breaks: "run_in_order returns after all 3 * rounds calls have returned" (README) / "When loom finds an interleaving where every thread is waiting, the grader reports a deadlock: some thread slept through its turn": the check and the wait are not atomic with the hand-over, so a wake-up can be lost.
//! Shows when: thread 2 reads turn == 1 and is about to wait; thread 1 stores turn = 2 and calls notify_all before 2 is waiting (nobody to wake); thread 2 then waits forever, and so do 1 and 3.
//! Evidence: loom check fails deterministically ("deadlock; threads = [... Blocked at lib.rs:39 (the wait) ...]"); checks.rs::stress_no_lost_wakeup: 3 stuck runs (3 s watchdog) before it stopped counting. Reference passes all. WEAK AS A BLIND MUTANT: the visible tests hang too (3/3 runs hit the timeout).

use kata_sync::atomic::{AtomicU8, Ordering};
use kata_sync::{thread, Arc, Condvar, Mutex};

/// The baton: whose turn it is (1, 2 or 3), and a condition variable to sleep on until
/// it is yours.
struct Baton {
    turn: AtomicU8,
    sleep: Mutex<()>,
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
        turn: AtomicU8::new(1),
        sleep: Mutex::new(()),
        passed: Condvar::new(),
    });
    let step = Arc::new(step);
    let threads: Vec<_> = (1..=3u8)
        .map(|me| {
            let baton = Arc::clone(&baton);
            let step = Arc::clone(&step);
            thread::spawn(move || {
                for _ in 0..rounds {
                    // `while`, not `if`: a wake-up only says "the turn has moved".
                    while baton.turn.load(Ordering::SeqCst) != me {
                        let mut sleeping = baton.sleep.lock();
                        baton.passed.wait(&mut sleeping);
                    }
                    // Only the thread whose turn it is gets here, so no lock is needed.
                    step(me);
                    baton.turn.store(me % 3 + 1, Ordering::SeqCst);
                    baton.passed.notify_all();
                }
            })
        })
        .collect();
    for handle in threads {
        handle.join().expect("a task thread panicked");
    }
}
