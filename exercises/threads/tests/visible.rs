//! Visible tests: run them with `cargo test -p threads`. The grader's hidden tests go
//! further (panicking threads, join_all, dropping the group, many threads at once).
//!
//! Threads here wait at a gate (a channel) until the test opens it, so the counts are
//! exact: nothing depends on how fast a thread runs.

use std::sync::mpsc::channel;
use threads::ThreadGroup;

#[test]
fn the_course_example_counts_three_then_one() {
    let group = ThreadGroup::new();
    let (arrived, arrivals) = channel();
    let (open_sing, sing_gate) = channel::<()>();
    let (open_dance, dance_gate) = channel::<()>();
    let a = arrived.clone();
    let sing = group
        .start(move || {
            a.send(()).unwrap();
            let _ = sing_gate.recv();
            "sang"
        })
        .unwrap();
    let dance = group
        .start(move || {
            arrived.send(()).unwrap();
            let _ = dance_gate.recv();
            "danced"
        })
        .unwrap();
    arrivals.recv().unwrap();
    arrivals.recv().unwrap();
    assert_eq!(group.enumerate(), ["MainThread", "Thread-1", "Thread-2"]);
    assert_eq!(group.active_count(), 3);
    drop((open_sing, open_dance));
    assert_eq!(sing.join().unwrap(), "sang");
    assert_eq!(dance.join().unwrap(), "danced");
    assert_eq!(
        group.enumerate(),
        ["MainThread"],
        "both threads have ended and were joined"
    );
}

#[test]
fn a_named_thread_knows_its_name() {
    let group = ThreadGroup::new();
    let handle = group
        .start_named("sing", || std::thread::current().name().map(String::from))
        .unwrap();
    assert_eq!(handle.name(), "sing");
    assert_eq!(handle.join().unwrap().as_deref(), Some("sing"));
}

#[test]
fn a_name_with_a_nul_byte_is_refused() {
    let group = ThreadGroup::new();
    let err = group.start_named("bad\0name", || ()).err();
    assert_eq!(
        err.map(|e| e.kind()),
        Some(std::io::ErrorKind::InvalidInput)
    );
    assert_eq!(group.active_count(), 1, "nothing was started");
}

#[test]
fn join_all_waits_for_every_thread() {
    let group = ThreadGroup::new();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..4 {
        let done = std::sync::Arc::clone(&done);
        group
            .start(move || {
                for _ in 0..1000 {
                    std::thread::yield_now();
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
            .unwrap();
    }
    group.join_all();
    assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 4);
    assert_eq!(group.active_count(), 1);
}
