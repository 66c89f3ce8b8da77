//! Hidden stress suite of kata `ordered_tasks`: real threads, far more rounds and runs than
//! loom's small models reach. A thread that sleeps through its turn hangs the run, and the
//! facade reports the hang (every thread asleep on its condition variables).
//!
//! Both tests turn on the facade's chaos first (`kata_sync::chaos`): a thread that has
//! just taken a facade lock now and then naps while it holds it, and atomics now and then
//! yield before a step. A lost wake-up needs a thread paused between its check of the turn
//! and its wait, which the nap makes likely on any machine and with any lock library
//! underneath (under parking_lot 0.13 without chaos, the mutant that checks an atomic turn
//! outside the lock was caught in 2 runs of 8).

use kata_harness::hidden_test;
use ordered_tasks::run_in_order;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

/// What the step closure saw: every call's number and thread, in the order the calls
/// began, and how many calls had returned.
#[derive(Clone, Default)]
struct Log {
    calls: Vec<(u8, ThreadId)>,
    returned: usize,
}

/// Runs `run_in_order(rounds, step)` with a step that logs itself; the log as it was when
/// `run_in_order` returned.
fn record(rounds: usize) -> Log {
    let log = Arc::new(Mutex::new(Log::default()));
    let in_step = Arc::clone(&log);
    run_in_order(rounds, move |n| {
        in_step
            .lock()
            .unwrap()
            .calls
            .push((n, std::thread::current().id()));
        in_step.lock().unwrap().returned += 1;
    });
    let seen = log.lock().unwrap().clone();
    seen
}

/// Every property of one run: all calls returned, the order 1, 2, 3, …, and each number
/// from one thread of its own (not the caller's). `run` names the run in messages.
fn check(run: &str, rounds: usize, log: &Log) {
    let want_calls = 3 * rounds;
    assert!(
        log.returned <= want_calls && log.calls.len() <= want_calls,
        "{run}: run_in_order({rounds}, step) made {} step calls, but {rounds} rounds of three \
         threads make {want_calls}",
        log.calls.len().max(log.returned)
    );
    assert_eq!(
        log.returned, want_calls,
        "{run}: run_in_order({rounds}, step) returned when only {} of its {want_calls} step \
         calls had returned: it must join its three threads before it returns",
        log.returned
    );
    let got: Vec<u8> = log.calls.iter().map(|&(n, _)| n).collect();
    if let Some(at) = (0..want_calls).find(|&i| got.get(i) != Some(&[1, 2, 3][i % 3])) {
        let shown = &got[at.saturating_sub(6)..(at + 3).min(got.len())];
        panic!(
            "{run}: in run_in_order({rounds}, step), call {} was step({}) while it was \
             thread {}'s turn (calls {}..: {shown:?}). A thread ran before the thread ahead \
             of it had handed it the turn.",
            at + 1,
            got[at],
            at % 3 + 1,
            at.saturating_sub(6) + 1
        );
    }
    let caller = std::thread::current().id();
    let mut owners: Vec<ThreadId> = Vec::new();
    for n in 1..=3u8 {
        let mut from = log.calls.iter().filter(|c| c.0 == n).map(|c| c.1);
        let first = from.next().expect("the order check saw every number");
        assert!(
            from.all(|t| t == first),
            "{run}: run_in_order({rounds}, step) called step({n}) from more than one \
             thread: each number must always come from the same thread (thread {n}), not \
             from whichever thread takes the next number"
        );
        assert_ne!(
            first, caller,
            "{run}: step({n}) was called by the thread that called run_in_order: it must \
             come from one of the three threads run_in_order starts"
        );
        if let Some(k) = owners.iter().position(|&t| t == first) {
            panic!(
                "{run}: run_in_order({rounds}, step) called step({}) and step({n}) from \
                 the same thread: the three numbers must come from three different threads",
                k + 1
            );
        }
        owners.push(first);
    }
}

hidden_test! {
    /// Zero rounds make no call; then 5000 rounds: 15 000 calls in turn, each number from
    /// its own thread. (At 1000 rounds, the mutant that checks an atomic turn outside the
    /// lock lost its wake-up in 17 runs of 20 under chaos; 5000 rounds take the solution
    /// a quarter of a second.)
    fn five_thousand_rounds_take_turns() {
        kata_sync::chaos::enable();
        let none = record(0);
        assert!(
            none.calls.is_empty() && none.returned == 0,
            "run_in_order(0, step) called step {} times: zero rounds make no call",
            none.calls.len()
        );
        check("5000 rounds", 5000, &record(5000));
    }
}

hidden_test! {
    /// 4 callers side by side, each starting 250 runs of 3 rounds: every run starts its
    /// threads afresh, so every start-up order gets tried, and each run must be in turn.
    fn thousand_short_runs_side_by_side() {
        kata_sync::chaos::enable();
        let callers: Vec<_> = (0..4)
            .map(|caller| {
                kata_sync::thread::spawn(move || {
                    for run in 0..250 {
                        check(&format!("caller {caller}, run {run}"), 3, &record(3));
                    }
                })
            })
            .collect();
        for caller in callers {
            if let Err(panic) = caller.join() {
                std::panic::resume_unwind(panic);
            }
        }
    }
}
