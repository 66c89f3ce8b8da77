//! Visible tests: run them with `cargo test -p ordered_tasks`. The grader's hidden tests go
//! further (loom tries every interleaving of the three threads).

use ordered_tasks::run_in_order;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

/// Runs `run_in_order(rounds, …)` with a step that records each call's number and thread.
fn record(rounds: usize) -> Vec<(u8, ThreadId)> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let in_step = Arc::clone(&log);
    run_in_order(rounds, move |n| {
        in_step
            .lock()
            .unwrap()
            .push((n, std::thread::current().id()))
    });
    let calls = log.lock().unwrap().clone();
    calls
}

fn numbers(calls: &[(u8, ThreadId)]) -> Vec<u8> {
    calls.iter().map(|&(n, _)| n).collect()
}

#[test]
fn zero_rounds_make_no_call() {
    assert_eq!(record(0), vec![], "run_in_order(0, step) called step");
}

#[test]
fn one_round_goes_1_2_3_every_time() {
    for attempt in 1..=50 {
        let got = numbers(&record(1));
        assert_eq!(
            got,
            [1, 2, 3],
            "attempt {attempt}: one round made the calls {got:?}"
        );
    }
}

#[test]
fn hundred_rounds_take_turns() {
    let got = numbers(&record(100));
    let want: Vec<u8> = (0..100).flat_map(|_| [1, 2, 3]).collect();
    assert_eq!(got.len(), 300, "100 rounds should make 300 calls");
    if let Some(at) = (0..300).find(|&i| got[i] != want[i]) {
        panic!(
            "call {} was step({}), but it was thread {}'s turn",
            at + 1,
            got[at],
            want[at]
        );
    }
}

#[test]
fn each_number_comes_from_its_own_thread() {
    let calls = record(20);
    for n in 1..=3u8 {
        let threads: Vec<ThreadId> = calls.iter().filter(|c| c.0 == n).map(|c| c.1).collect();
        assert_eq!(threads.len(), 20, "step({n}) should be called 20 times");
        assert!(
            threads.iter().all(|&t| t == threads[0]),
            "step({n}) was called from more than one thread"
        );
    }
    assert_eq!(
        numbers(&calls)[..3],
        [1, 2, 3],
        "the first round was out of order"
    );
}
