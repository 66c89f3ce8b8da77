//! Kata `ordered_tasks` — 同步应用: 多个线程有序执行. See README.md.
//!
//! Take every thread, lock and condition variable from `kata_sync` (never `std::sync`,
//! `std::thread` or parking_lot directly): the grader swaps in loom's models to try every
//! interleaving.

use kata_sync::{thread, Arc};

/// Starts three threads. Thread i (1, 2 or 3) calls `step(i)` `rounds` times. The calls come
/// in the order 1, 2, 3, 1, 2, 3, …, each number always from the same thread, and
/// `run_in_order` returns after all 3 * rounds calls have returned.
pub fn run_in_order<F>(rounds: usize, step: F)
where
    F: Fn(u8) + Send + Sync + 'static,
{
    // TODO: the three threads share nothing that says whose turn it is. Add a baton that
    // they all can see (the course uses three locks; a `Mutex` holding the turn plus a
    // `Condvar` to sleep on works well) and clone it into each thread like `step`.
    let step = Arc::new(step);
    let threads: Vec<_> = (1..=3u8)
        .map(|me| {
            let step = Arc::clone(&step);
            thread::spawn(move || {
                for _ in 0..rounds {
                    // TODO: nothing makes this thread wait for its turn: all three threads
                    // call `step` as soon as they run, in whatever order the scheduler
                    // picks. Wait here until it is thread `me`'s turn.
                    step(me);
                    // TODO: hand the turn to the next thread (3 hands it back to 1) and
                    // wake the thread that is waiting for it.
                }
            })
        })
        .collect();
    for handle in threads {
        handle.join().expect("a task thread panicked");
    }
}
