//! The hang watch: real deadlocks and lost wake-ups are reported with each thread's line,
//! and threads that are merely slow, sleeping, in a timed wait or busy are never called
//! hung.
//!
//! A reported hang ends the process (as a failed test does), so each scenario runs in a
//! child process: this same test binary, asked for one ignored test by name.

use kata_sync::{hang, thread, Arc, Condvar, Mutex};
use std::process::{Command, Output};
use std::time::Duration;

const CHILD: &str = "KATA_SYNC_HANG_SCENARIO";

/// Runs the ignored test `name` in a child process, with the hang watch on.
fn scenario(name: &str) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            name,
            "--include-ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the test binary starts");
    // A hang guard only: a scenario that the watch misses would otherwise never end.
    let started = std::time::Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Inside the child only (the parent runs these as ignored no-ops).
fn in_child(name: &str) -> bool {
    if std::env::var(CHILD).as_deref() != Ok(name) {
        return false;
    }
    hang::watch();
    true
}

/// A one-shot event on the facade's Mutex and Condvar: `wait` blocks until `set`.
#[derive(Clone)]
struct Flag(Arc<(Mutex<bool>, Condvar)>);

impl Flag {
    fn new() -> Flag {
        Flag(Arc::new((Mutex::new(false), Condvar::new())))
    }

    fn wait(&self) {
        let mut set = self.0 .0.lock();
        while !*set {
            self.0 .1.wait(&mut set);
        }
    }

    fn set(&self) {
        *self.0 .0.lock() = true;
        self.0 .1.notify_all();
    }
}

fn assert_hang(out: &Output, lines: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(101),
        "the child should fail; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("hang: every thread of the test is blocked"),
        "{stderr}"
    );
    for line in lines {
        assert!(
            stderr.contains(line),
            "the report should say {line:?}:\n{stderr}"
        );
    }
}

fn assert_passes(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "no hang here; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore]
fn opposite_locks() {
    if !in_child("opposite_locks") {
        return;
    }
    let a = Arc::new(Mutex::new(0));
    let b = Arc::new(Mutex::new(0));
    let (a2, b2) = (a.clone(), b.clone());
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let barrier2 = barrier.clone();
    let other = thread::spawn(move || {
        let _b = b2.lock();
        barrier2.wait();
        let _a = a2.lock(); // line A
    });
    let _a = a.lock();
    barrier.wait();
    let _b = b.lock(); // line B
    drop(other);
}

#[test]
fn a_deadlock_is_reported_with_both_lines() {
    let source = include_str!("hang.rs");
    let line_of = |marker: &str| source.lines().position(|l| l.ends_with(marker)).unwrap() + 1;
    let out = scenario("opposite_locks");
    assert_hang(
        &out,
        &[
            &format!(
                "waits for a lock at sync/tests/hang.rs:{}",
                line_of("// line A")
            ),
            &format!(
                "waits for a lock at sync/tests/hang.rs:{}",
                line_of("// line B")
            ),
        ],
    );
}

#[test]
#[ignore]
fn nobody_notifies() {
    if !in_child("nobody_notifies") {
        return;
    }
    let flag = Flag::new();
    let waiter = thread::spawn({
        let flag = flag.clone();
        move || flag.wait()
    });
    waiter.join().unwrap();
}

#[test]
fn a_lost_wake_up_is_reported_with_the_waiter_and_the_joiner() {
    assert_hang(
        &scenario("nobody_notifies"),
        &[
            "waits on a condition variable at sync/tests/hang.rs:",
            "waits for a thread to end (join) at sync/tests/hang.rs:",
        ],
    );
}

#[test]
#[ignore]
fn waiting_for_a_message_that_never_comes() {
    if !in_child("waiting_for_a_message_that_never_comes") {
        return;
    }
    let (_tx, rx) = std::sync::mpsc::channel::<()>();
    let _ = hang::waiting_for_others("for the other task to arrive", || {
        rx.recv_timeout(Duration::from_secs(20))
    });
}

#[test]
fn a_wait_for_others_is_reported_with_its_words() {
    assert_hang(
        &scenario("waiting_for_a_message_that_never_comes"),
        &["waits for the other task to arrive at sync/tests/hang.rs:"],
    );
}

#[test]
#[ignore]
fn an_hour_long_wait_and_a_receive() {
    if !in_child("an_hour_long_wait_and_a_receive") {
        return;
    }
    // A timed wait longer than any test lives, which nobody ends, and the test's thread
    // waiting on a facade channel for the waiter's word.
    let pair = Arc::new((Mutex::new(()), Condvar::new()));
    let (tx, rx) = kata_sync::mpsc::channel();
    let pair2 = pair.clone();
    let _waiter = thread::spawn(move || {
        let mut guard = pair2.0.lock();
        let _ = pair2.1.wait_for(&mut guard, Duration::from_secs(3600));
        tx.send(()).unwrap();
    });
    rx.recv().unwrap();
}

#[test]
fn an_hour_long_wait_nobody_ends_is_a_hang() {
    assert_hang(
        &scenario("an_hour_long_wait_and_a_receive"),
        &[
            "waits on a condition variable at sync/tests/hang.rs:",
            "waits for a message on a channel at sync/tests/hang.rs:",
        ],
    );
}

#[test]
#[ignore]
fn sleeper_notifies_late() {
    if !in_child("sleeper_notifies_late") {
        return;
    }
    // The test's thread sleeps (the watch cannot know for how long) while the waiter is
    // blocked: not a hang.
    let flag = Flag::new();
    let waiter = thread::spawn({
        let flag = flag.clone();
        move || flag.wait()
    });
    std::thread::sleep(Duration::from_millis(1500));
    flag.set();
    waiter.join().unwrap();
}

#[test]
fn a_sleeping_thread_is_not_a_hang() {
    assert_passes(&scenario("sleeper_notifies_late"));
}

#[test]
#[ignore]
fn unknown_thread_notifies_late() {
    if !in_child("unknown_thread_notifies_late") {
        return;
    }
    // A thread started around the facade, which the watch knows nothing of, may wake the
    // others at any time.
    let flag = Flag::new();
    let _late = std::thread::spawn({
        let flag = flag.clone();
        move || {
            std::thread::sleep(Duration::from_millis(1500));
            flag.set();
        }
    });
    flag.wait();
}

#[test]
fn a_thread_unknown_to_the_facade_is_not_a_hang() {
    assert_passes(&scenario("unknown_thread_notifies_late"));
}

#[test]
#[ignore]
fn timed_wait_runs_out() {
    if !in_child("timed_wait_runs_out") {
        return;
    }
    // A wait with a timeout that is meant to run out: nobody ever notifies.
    let pair = Arc::new((Mutex::new(()), Condvar::new()));
    let pair2 = pair.clone();
    let waiter = thread::spawn(move || {
        let mut guard = pair2.0.lock();
        pair2
            .1
            .wait_for(&mut guard, Duration::from_millis(1500))
            .timed_out()
    });
    assert!(waiter.join().unwrap());
}

#[test]
fn a_timed_wait_is_not_a_hang() {
    assert_passes(&scenario("timed_wait_runs_out"));
}

#[test]
#[ignore]
fn busy_queue() {
    if !in_child("busy_queue") {
        return;
    }
    // Four producers and four consumers on one bounded queue, with one condition variable
    // and notify_one: much blocking, many wake-ups, never a hang.
    const ITEMS: usize = 200_000;
    let queue = Arc::new((Mutex::new(Vec::<usize>::new()), Condvar::new()));
    let mut threads = Vec::new();
    for _ in 0..4 {
        let q = queue.clone();
        threads.push(thread::spawn(move || {
            for i in 0..ITEMS {
                let mut items = q.0.lock();
                while items.len() >= 4 {
                    q.1.wait(&mut items);
                }
                items.push(i);
                q.1.notify_all();
            }
        }));
        let q = queue.clone();
        threads.push(thread::spawn(move || {
            for _ in 0..ITEMS {
                let mut items = q.0.lock();
                while items.is_empty() {
                    q.1.wait(&mut items);
                }
                items.pop();
                q.1.notify_all();
            }
        }));
    }
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn a_busy_queue_is_not_a_hang() {
    assert_passes(&scenario("busy_queue"));
}

#[test]
fn without_watch_nothing_is_recorded() {
    // Not in a child: a plain test process, where the watch is off. A join and a lock
    // behave as std's and parking_lot's do.
    let m = Arc::new(Mutex::new(1));
    let m2 = m.clone();
    let t = thread::spawn(move || *m2.lock() + 1);
    assert_eq!(t.join().unwrap(), 2);
    assert_eq!(*m.lock(), 1);
}

#[test]
#[ignore]
fn gate_on_sleepers() {
    if !in_child("gate_on_sleepers") {
        return;
    }
    // Two threads asleep on a flag: the gate opens, and they are still waiting when it
    // does (the flag is not set yet), so the event the test then sends finds them asleep.
    let flag = Flag::new();
    let woken = Arc::new(Mutex::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (flag, woken) = (flag.clone(), woken.clone());
            thread::spawn(move || {
                flag.wait();
                *woken.lock() += 1;
            })
        })
        .collect();
    assert!(hang::until_asleep_in_waits(2, Duration::from_secs(20)));
    assert_eq!(*woken.lock(), 0);
    flag.set();
    for t in threads {
        t.join().unwrap();
    }
    // A thread that sleeps (not in a facade wait) is not counted: the gate gives up.
    let sleeper = thread::spawn(|| std::thread::sleep(Duration::from_millis(600)));
    assert!(!hang::until_asleep_in_waits(1, Duration::from_millis(300)));
    sleeper.join().unwrap();

    // Gating on one named thread: another thread asleep in a wait is not it.
    let (other, target) = (Flag::new(), Flag::new());
    let bystander = {
        let other = other.clone();
        thread::spawn(move || other.wait())
    };
    let reached_its_wait = Arc::new(Mutex::new(false));
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let named = {
        let (target, reached) = (target.clone(), reached_its_wait.clone());
        thread::spawn(move || {
            tid_tx.send(hang::tid()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            *reached.lock() = true;
            target.wait();
        })
    };
    let tid = tid_rx.recv().unwrap();
    assert!(hang::until_these_asleep_in_waits(
        &[tid],
        Duration::from_secs(20)
    ));
    assert!(
        *reached_its_wait.lock(),
        "the gate opened before the named thread waited"
    );
    other.set();
    target.set();
    bystander.join().unwrap();
    named.join().unwrap();

    // With no other thread left, there is nobody to wait for: false at once, not after the
    // fallback (the scenario's 30 s guard would end a wait of ten minutes).
    assert!(!hang::until_asleep_in_waits(1, Duration::from_secs(600)));
}

#[test]
fn the_gate_opens_once_threads_sleep_in_a_wait_and_only_then() {
    assert_passes(&scenario("gate_on_sleepers"));
}

/// `thread_ended` tells a thread that has run to its end from one still running.
#[test]
fn thread_ended_sees_only_ended_threads() {
    assert!(!hang::thread_ended(hang::tid()), "the calling thread runs");
    let (tx, rx) = std::sync::mpsc::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let t = thread::spawn(move || {
        tx.send(hang::tid()).unwrap();
        go_rx.recv().unwrap();
    });
    let tid = rx.recv().unwrap();
    assert!(
        !hang::thread_ended(tid),
        "a thread waiting for its go still runs"
    );
    go_tx.send(()).unwrap();
    t.join().unwrap();
    // join returns when the kernel clears the thread's id, a moment before it is gone.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !hang::thread_ended(tid) {
        assert!(
            std::time::Instant::now() < deadline,
            "a joined thread never ended"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}
