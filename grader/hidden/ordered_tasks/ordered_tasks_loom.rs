//! Hidden loom suite of kata `ordered_tasks`: every interleaving of the three task threads.
//!
//! A model is the caller plus the kata's three threads: four of loom's five. A thread that
//! sleeps through its turn shows up as loom's "deadlock" report.
#![cfg(feature = "loom")]

use kata_harness::hidden_test;
use kata_sync::{model, thread, Arc, Mutex};
use ordered_tasks::run_in_order;
use std::fmt::Debug;

/// What the step closure saw: every call's number and thread, in the order the calls
/// began, how many calls had returned, and the thread that called `run_in_order`.
#[derive(Clone)]
struct Log<I> {
    calls: Vec<(u8, I)>,
    returned: usize,
    caller: I,
}

/// Runs `run_in_order(rounds, step)` with a step that logs itself; the log as it was when
/// `run_in_order` returned.
fn record(rounds: usize) -> Log<impl Copy + Eq + Debug + Send + 'static> {
    let log = Arc::new(Mutex::new(Log {
        calls: Vec::new(),
        returned: 0,
        caller: thread::current().id(),
    }));
    let in_step = Arc::clone(&log);
    run_in_order(rounds, move |n| {
        in_step.lock().calls.push((n, thread::current().id()));
        in_step.lock().returned += 1;
    });
    let seen = log.lock().clone();
    seen
}

fn assert_all_returned<I>(rounds: usize, log: &Log<I>) {
    let want = 3 * rounds;
    assert!(
        log.returned <= want && log.calls.len() <= want,
        "run_in_order({rounds}, step) made {} step calls, but {rounds} rounds of three \
         threads make {want}",
        log.calls.len().max(log.returned)
    );
    assert_eq!(
        log.returned, want,
        "run_in_order({rounds}, step) returned when only {} of its {want} step calls had \
         returned: it must join its three threads before it returns",
        log.returned
    );
}

fn assert_in_order<I>(rounds: usize, log: &Log<I>) {
    let got: Vec<u8> = log.calls.iter().map(|&(n, _)| n).collect();
    let want: Vec<u8> = (0..rounds).flat_map(|_| [1, 2, 3]).collect();
    if let Some(at) = (0..want.len()).find(|&i| got.get(i) != Some(&want[i])) {
        let what = match got.get(at) {
            Some(n) => format!("step({n})"),
            None => "missing".to_string(),
        };
        panic!(
            "run_in_order({rounds}, step) made the calls {got:?}, but they must come as \
             {want:?}: call {} was {what} while it was thread {}'s turn. A thread ran \
             before the thread ahead of it had handed it the turn.",
            at + 1,
            want[at]
        );
    }
}

fn assert_own_threads<I: Copy + Eq + Debug>(rounds: usize, log: &Log<I>) {
    let mut owners: Vec<I> = Vec::new();
    for n in 1..=3u8 {
        let from: Vec<I> = log.calls.iter().filter(|c| c.0 == n).map(|c| c.1).collect();
        let Some(&first) = from.first() else {
            panic!("run_in_order({rounds}, step) never called step({n})");
        };
        assert!(
            from.iter().all(|&t| t == first),
            "run_in_order({rounds}, step) called step({n}) from the threads {from:?}: each \
             number must always come from the same thread (thread {n}), not from whichever \
             thread takes the next number"
        );
        assert_ne!(
            first, log.caller,
            "step({n}) was called by the thread that called run_in_order: it must come \
             from one of the three threads run_in_order starts"
        );
        if let Some(k) = owners.iter().position(|&t| t == first) {
            panic!(
                "run_in_order({rounds}, step) called step({}) and step({n}) from the same \
                 thread ({first:?}): the three numbers must come from three different threads",
                k + 1
            );
        }
        owners.push(first);
    }
}

hidden_test! {
    /// One round: in every interleaving the calls are 1, 2, 3, and all of them have
    /// returned when run_in_order does.
    fn one_round_runs_1_2_3() {
        model(2, || {
            let log = record(1);
            assert_all_returned(1, &log);
            assert_in_order(1, &log);
        });
    }
}

hidden_test! {
    /// Two rounds: after thread 3 the turn goes back to thread 1, giving 1, 2, 3, 1, 2, 3.
    fn turn_wraps_from_3_back_to_1() {
        model(2, || {
            let log = record(2);
            assert_all_returned(2, &log);
            assert_in_order(2, &log);
        });
    }
}

hidden_test! {
    /// Two rounds: step(n) always comes from the same thread, three different threads,
    /// none of them the caller (and the calls in order).
    fn each_number_keeps_its_own_thread() {
        model(2, || {
            let log = record(2);
            assert_all_returned(2, &log);
            assert_own_threads(2, &log);
            assert_in_order(2, &log);
        });
    }
}
