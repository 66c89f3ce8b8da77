//! Hidden stress suite of kata `threads`: real threads held at gates.
//!
//! Every count is made exact by gates: a thread tells the test it has arrived, then
//! waits until the test opens its gate, so the test knows which threads are running
//! without looking at a clock. Where the right answer is "still waiting" (join_all, and
//! dropping the group, must not return while a thread runs), the test waits until the
//! waiting thread is asleep in the facade's wait (or has returned: a wrong early return),
//! for at most `EARLY_FALLBACK` (a wait that polls is never seen asleep), and a hang is
//! reported after `HANG_FALLBACK`; a correct group never comes near either.
//!
//! Most tests leak their group (`Box::leak`): dropping a group waits for its threads, so
//! a failed assertion in a test that did not mean to test dropping must not hang there.

use kata_harness::hidden_test;
use kata_testkit::threads::UntilAsleep;
use std::any::Any;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use kata_sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};
use threads::{Handle, ThreadGroup};

/// How long a wrong early return of join_all (or of drop) has to show itself.
const EARLY_FALLBACK: Duration = Duration::from_secs(2);
/// How long the tests wait for something a correct group does at once, before saying it
/// never happened.
const HANG_FALLBACK: Duration = Duration::from_secs(10);
/// How long a thread may stay listed once its kernel thread has ended (all its code, the
/// group's own included, has run by then): for a group that notices a little later.
const AFTER_THE_END: Duration = Duration::from_secs(2);

fn leaked_group() -> &'static ThreadGroup {
    Box::leak(Box::new(ThreadGroup::new()))
}

/// A thread's body that reports its arrival, then waits until its gate is opened (or
/// dropped).
fn gated(arrived: &Sender<()>) -> (Sender<()>, impl FnOnce() + Send + 'static) {
    let (open, gate) = channel::<()>();
    let arrived = arrived.clone();
    let body = move || {
        arrived.send(()).expect("the test is waiting for arrivals");
        let _ = gate.recv();
    };
    (open, body)
}

fn start(
    group: &ThreadGroup,
    name: Option<&str>,
    body: impl FnOnce() + Send + 'static,
) -> Handle<()> {
    let result = match name {
        Some(name) => group.start_named(name, body),
        None => group.start(body),
    };
    match result {
        Ok(handle) => handle,
        Err(e) => panic!("starting a thread failed: {e}"),
    }
}

fn wait_for_arrivals(arrivals: &Receiver<()>, count: usize) {
    for _ in 0..count {
        kata_sync::hang::waiting_for_others("for a started thread to begin its body", || {
            arrivals.recv_timeout(HANG_FALLBACK)
        })
        .expect("a started thread never began to run its body");
    }
}

fn join(handle: Handle<()>) {
    let name = handle.name().to_string();
    if let Err(payload) = handle.join() {
        panic!(
            "join() of {name:?} gave Err({}), yet its body returned normally",
            text_of(payload.as_ref())
        );
    }
}

fn text_of(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else {
        "(a payload that is not text)".to_string()
    }
}

hidden_test! {
    /// Three unnamed threads held at a gate are listed as Thread-1..3 after MainThread,
    /// each from the moment its start() returns; once they have ended and been joined,
    /// only MainThread is left. 10 rounds, each on a fresh group.
    fn started_threads_are_listed_until_they_end() {
        // Each start() is checked at once, before the new thread has run any code (it
        // needs tens of microseconds for that): a thread that lists itself, first thing in
        // its body, is missing then. Now and then a new thread is that quick, on an idle
        // core, most often in a process's first round: in 1,600 runs, on one core or two,
        // beside busy loops or not, a self-listing thread was in time for every check of
        // round 1 in 9 runs, and of rounds 1 and 2 in none.
        let (arrived, arrivals) = channel();
        for round in 1..=10 {
            three_listed_until_they_end(round, &arrived, &arrivals);
        }
    }
}

/// One round of `started_threads_are_listed_until_they_end`, on a fresh group.
fn three_listed_until_they_end(round: usize, arrived: &Sender<()>, arrivals: &Receiver<()>) {
    let group = leaked_group();
    let mut gates = Vec::new();
    let mut handles = Vec::new();
    for n in 1..=3 {
        let (open, body) = gated(arrived);
        gates.push(open);
        handles.push(start(group, None, body));
        let listed = group.enumerate();
        let want: Vec<String> = std::iter::once("MainThread".to_string())
            .chain((1..=n).map(|k| format!("Thread-{k}")))
            .collect();
        assert_eq!(
            listed, want,
            "round {round}: start() of Thread-{n} had just returned, yet enumerate() gave \
             {listed:?}: a thread is listed from the moment start() returns, in start order, \
             even if it has not begun to run yet (list it in start() itself, not in the new \
             thread)"
        );
    }
    wait_for_arrivals(arrivals, 3);
    let listed = group.enumerate();
    assert_eq!(
        listed,
        ["MainThread", "Thread-1", "Thread-2", "Thread-3"],
        "round {round}: three unnamed threads were started and all three are blocked in their \
         body, yet enumerate() gave {listed:?} (a thread is listed from start() until its \
         body ends, and unnamed threads are Thread-1, Thread-2, …)"
    );
    assert_eq!(group.active_count(), 4, "round {round}: active_count() with three threads running");
    for h in &handles {
        assert!(
            h.is_alive(),
            "round {round}: is_alive() of {:?}, blocked in its body, was false",
            h.name()
        );
    }
    gates.clear();
    for h in handles {
        join(h);
    }
    let listed = group.enumerate();
    assert_eq!(
        listed,
        ["MainThread"],
        "round {round}: all three threads have ended and were joined, yet enumerate() still \
         gave {listed:?}: a thread must leave the list when its body ends"
    );
    assert_eq!(group.active_count(), 1, "round {round}: active_count() once every thread has ended");
}

hidden_test! {
    /// Of sing, dance and drink, dance ends and is joined: exactly dance leaves the list.
    fn joining_one_thread_removes_exactly_that_one() {
        let group = leaked_group();
        let (arrived, arrivals) = channel();
        let mut gates = Vec::new();
        let mut handles = Vec::new();
        for name in ["sing", "dance", "drink"] {
            let (open, body) = gated(&arrived);
            gates.push(open);
            handles.push(start(group, Some(name), body));
            // Each runs its body before the next starts: this test is about leaving, and
            // which of three new threads runs first is the scheduler's choice (a thread
            // that lists itself, in whatever order they run, is caught at once, on every
            // run, by started_threads_are_listed_until_they_end).
            wait_for_arrivals(&arrivals, 1);
        }
        let listed = group.enumerate();
        assert_eq!(
            listed,
            ["MainThread", "sing", "dance", "drink"],
            "sing, dance and drink are all blocked in their bodies, yet enumerate() gave \
             {listed:?}: a thread is listed from start() until its body ends"
        );
        drop(gates.remove(1));
        join(handles.remove(1));
        let listed = group.enumerate();
        assert_eq!(
            listed,
            ["MainThread", "sing", "drink"],
            "dance's body ended and dance was joined, while sing and drink still run: \
             enumerate() gave {listed:?}"
        );
        assert_eq!(group.active_count(), 3, "active_count() with sing and drink running");
        for h in &handles {
            assert!(h.is_alive(), "{:?} is still blocked in its body, yet is_alive() was false", h.name());
        }
        gates.clear();
        for h in handles {
            join(h);
        }
        let listed = group.enumerate();
        assert_eq!(listed, ["MainThread"], "every thread was joined, yet enumerate() gave {listed:?}");
    }
}

hidden_test! {
    /// Default names count 1, 2, 3, … in start order; a named thread takes no number,
    /// and a number is never handed out twice, even after its thread has ended.
    fn default_names_count_from_one() {
        let group = leaked_group();
        let (arrived, arrivals) = channel();
        let (open1, body1) = gated(&arrived);
        let (open_sing, body_sing) = gated(&arrived);
        let (open2, body2) = gated(&arrived);
        let first = start(group, None, body1);
        let sing = start(group, Some("sing"), body_sing);
        let second = start(group, None, body2);
        let names = [first.name(), sing.name(), second.name()];
        assert_eq!(
            names,
            ["Thread-1", "sing", "Thread-2"],
            "start(), start_named(\"sing\"), start() gave these names: Python counts the \
             unnamed threads from 1 (Thread-1, Thread-2), and a named one takes no number"
        );
        wait_for_arrivals(&arrivals, 3);
        drop((open1, open_sing));
        join(first);
        join(sing);
        let third = start(group, None, || ());
        assert_eq!(
            third.name(),
            "Thread-3",
            "after Thread-1 and sing had ended, with Thread-2 still running, the next \
             unnamed thread was called {:?}: numbers keep counting up and are never reused \
             (do not derive them from how many threads are running now)",
            third.name()
        );
        join(third);
        drop(open2);
        join(second);
    }
}

hidden_test! {
    /// Inside its body, a thread's std::thread::current().name() is its group name; a
    /// name with a NUL byte is refused with InvalidInput and starts nothing.
    fn each_body_runs_under_its_own_name() {
        let group = leaked_group();
        let current = || std::thread::current().name().map(String::from);
        let sing = group.start_named("sing", current).expect("start_named(\"sing\")");
        let seen = sing.join().expect("the body returns normally");
        assert_eq!(
            seen.as_deref(),
            Some("sing"),
            "inside the thread started as \"sing\", thread::current().name() was {seen:?}: \
             name the OS thread too (thread::Builder::new().name(..))"
        );
        let unnamed = group.start(current).expect("start()");
        let listed_as = unnamed.name().to_string();
        let seen = unnamed.join().expect("the body returns normally");
        assert_eq!(
            seen.as_deref(),
            Some(listed_as.as_str()),
            "inside the thread listed as {listed_as:?}, thread::current().name() was {seen:?}"
        );
        assert_eq!(listed_as, "Thread-1", "the first unnamed thread of a group");
        let before = group.active_count();
        match group.start_named("bad\0name", || ()) {
            Err(e) => assert_eq!(
                e.kind(),
                std::io::ErrorKind::InvalidInput,
                "start_named with a NUL byte in the name gave {e}"
            ),
            Ok(h) => panic!(
                "start_named(\"bad\\0name\") started a thread called {:?}: an OS thread \
                 name cannot hold a NUL byte, so refuse it with InvalidInput",
                h.name()
            ),
        }
        assert_eq!(group.active_count(), before, "a refused start_named changed active_count()");
    }
}

hidden_test! {
    /// The course's loop: `while len(threading.enumerate()) > 1` ends once sing and dance
    /// have finished, without anyone joining them.
    fn finished_threads_leave_without_being_joined() {
        let group = leaked_group();
        // Each body says which kernel thread ran it: once both have ended, the test knows
        // the list has had its chance to change, instead of waiting a fixed while.
        let ran_on = Arc::new(Mutex::new(Vec::new()));
        let body = |what: &'static str| {
            let ran_on = Arc::clone(&ran_on);
            move || {
                ran_on.lock().unwrap().push(kata_sync::hang::tid());
                (0..3).map(|i| format!("{what}...{i}")).collect::<Vec<_>>()
            }
        };
        let sing = group.start(body("正在唱歌")).expect("start(sing)");
        let dance = group.start(body("正在跳舞")).expect("start(dance)");
        let deadline = Instant::now() + HANG_FALLBACK;
        let mut ended_at: Option<Instant> = None;
        while group.active_count() > 1 {
            let now = Instant::now();
            if ended_at.is_none() {
                let tids = ran_on.lock().unwrap().clone();
                if tids.len() == 2 && tids.iter().all(|&tid| kata_sync::hang::thread_ended(tid)) {
                    ended_at = Some(now);
                }
            }
            let listed_after_the_end = ended_at.is_some_and(|at| now - at >= AFTER_THE_END);
            assert!(
                now < deadline && !listed_after_the_end,
                "sing and dance returned from their bodies (and their threads have ended), \
                 yet enumerate() still gives {:?}: a thread must leave the list when its \
                 body ends, not only when someone joins it (the course's \
                 `while len(threading.enumerate()) > 1` loop would never end)",
                group.enumerate()
            );
            std::thread::yield_now();
        }
        assert!(!sing.is_alive(), "is_alive() of a thread whose body has ended");
        assert!(!dance.is_alive(), "is_alive() of a thread whose body has ended");
        assert_eq!(sing.join().expect("sing returns normally").len(), 3);
        assert_eq!(dance.join().expect("dance returns normally").len(), 3);
    }
}

hidden_test! {
    /// A thread whose body panics leaves the list too, and join() gives its payload.
    fn a_panicking_thread_still_leaves() {
        let group = leaked_group();
        let (arrived, arrivals) = channel();
        let (open, steady_body) = gated(&arrived);
        let steady = start(group, Some("steady"), steady_body);
        wait_for_arrivals(&arrivals, 1);
        let clumsy = group
            .start_named::<_, ()>("clumsy", || {
                std::panic::resume_unwind(Box::new("clumsy fell over".to_string()))
            })
            .expect("start_named(\"clumsy\")");
        match clumsy.join() {
            Ok(()) => panic!("clumsy's body panicked, yet join() gave Ok"),
            Err(payload) => assert_eq!(
                text_of(payload.as_ref()),
                "clumsy fell over",
                "join() of a panicked thread gives the panic's own payload"
            ),
        }
        let listed = group.enumerate();
        assert_eq!(
            listed,
            ["MainThread", "steady"],
            "clumsy's body panicked and clumsy was joined, yet enumerate() gave {listed:?}: \
             a thread whose body panics has ended too. Take it off the list in a guard's \
             Drop, which also runs while a panic unwinds"
        );
        drop(open);
        join(steady);
        assert_eq!(group.enumerate(), ["MainThread"]);
    }
}

hidden_test! {
    /// Thread-1 .. Thread-4 run, held at gates; Thread-1 ends, then Thread-3: each leaves
    /// the list, and the others keep their places in start order (the list is not
    /// shuffled when a thread leaves); a thread started afterwards is Thread-5, at the end.
    fn the_list_keeps_start_order_when_an_early_thread_ends() {
        let group = leaked_group();
        let (arrived, arrivals) = channel();
        let mut gates = Vec::new();
        let mut handles = Vec::new();
        for _ in 0..4 {
            let (open, body) = gated(&arrived);
            gates.push(Some(open));
            handles.push(Some(start(group, None, body)));
            // Each runs its body before the next starts: this test is about leaving, and
            // which of four new threads runs first is the scheduler's choice (see
            // joining_one_thread_removes_exactly_that_one).
            wait_for_arrivals(&arrivals, 1);
        }
        let mut end = |i: usize| {
            drop(gates[i].take());
            join(handles[i].take().expect("each thread is ended once"));
        };
        end(0);
        let listed = group.enumerate();
        assert_eq!(
            listed,
            ["MainThread", "Thread-2", "Thread-3", "Thread-4"],
            "Thread-1 .. Thread-4 were started in that order, then Thread-1 ended and was \
             joined: enumerate() gave {listed:?}. The others stay in start order when a \
             thread leaves (remove its entry in place, do not move the last one into its \
             slot)"
        );
        end(2);
        let listed = group.enumerate();
        assert_eq!(
            listed,
            ["MainThread", "Thread-2", "Thread-4"],
            "then Thread-3 ended too: enumerate() gave {listed:?}"
        );
        let (open5, body5) = gated(&arrived);
        let fifth = start(group, None, body5);
        wait_for_arrivals(&arrivals, 1);
        let listed = group.enumerate();
        assert_eq!(
            listed,
            ["MainThread", "Thread-2", "Thread-4", "Thread-5"],
            "a fifth unnamed thread started after Thread-1 and Thread-3 had ended: \
             enumerate() gave {listed:?}. Numbers keep counting up (never reused), and a new \
             thread comes last"
        );
        drop(open5);
        join(fifth);
        end(1);
        end(3);
        assert_eq!(group.enumerate(), ["MainThread"], "every thread has ended and was joined");
    }
}

hidden_test! {
    /// Two helper threads call join_all() on one group while its thread is held at a gate;
    /// when it ends, both join_alls return (the thread's leaving wakes every waiter).
    fn two_join_alls_at_once_both_return() {
        let mut until_asleep = UntilAsleep::new();
        for round in 0..10 {
            let group = Arc::new(ThreadGroup::new());
            let (arrived, arrivals) = channel();
            let (open, body) = gated(&arrived);
            let handle = start(&group, None, body);
            wait_for_arrivals(&arrivals, 1);
            let (returned, returns) = channel();
            let (tid_tx, tid_rx) = std::sync::mpsc::channel();
            for _ in 0..2 {
                let (group, returned, tid_tx) =
                    (Arc::clone(&group), returned.clone(), tid_tx.clone());
                kata_sync::thread::spawn(move || {
                    let _ = tid_tx.send(kata_sync::hang::tid());
                    group.join_all();
                    let _ = returned.send(group.active_count());
                });
            }
            // Until both are asleep in join_all, so that a leaving that wakes only one
            // leaves the other there on every run.
            let tids: Vec<i32> = tid_rx.iter().take(2).collect();
            until_asleep.these(&tids);
            drop(open);
            for n in 0..2 {
                match kata_sync::hang::waiting_for_others("for the thread that waits for the group", || {
                    returns.recv_timeout(HANG_FALLBACK)
                }) {
                    Ok(count) => assert_eq!(
                        count, 1,
                        "round {round}: join_all() returned while active_count() was {count}"
                    ),
                    Err(_) => panic!(
                        "round {round}: two threads called join_all() while the group's only \
                         thread ran; it ended, yet {} of the two join_all calls had not \
                         returned 10 s later: a thread's leaving must wake every thread \
                         waiting in join_all (notify_all), not one",
                        2 - n
                    ),
                }
            }
            join(handle);
            // The helpers hold the group in an Arc: leak it, in case one still waits.
            std::mem::forget(group);
        }
    }
}

/// Three threads held at gates; `wait_for_all` (join_all, or dropping the group) runs on
/// a helper thread. Thread-1 and Thread-2 are let go and joined; with Thread-3 still
/// blocked, `wait_for_all` must not have returned. Then Thread-3 is let go, and
/// `wait_for_all` must return with every body ended.
fn check_waits_for_every_thread(
    what: &str,
    group: ThreadGroup,
    wait_for_all: impl FnOnce(ThreadGroup) + Send + 'static,
) {
    let (arrived, arrivals) = channel();
    let done: Arc<Vec<AtomicBool>> = Arc::new((0..3).map(|_| AtomicBool::new(false)).collect());
    let mut gates = Vec::new();
    let mut handles = Vec::new();
    for i in 0..3 {
        let (open, body) = gated(&arrived);
        let done = Arc::clone(&done);
        gates.push(open);
        handles.push(
            group
                .start(move || {
                    body();
                    done[i].store(true, Ordering::SeqCst);
                })
                .expect("start()"),
        );
    }
    wait_for_arrivals(&arrivals, 3);
    let (returned, returns) = channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let seen_done = Arc::clone(&done);
    kata_sync::thread::spawn(move || {
        let _ = tid_tx.send(kata_sync::hang::tid());
        wait_for_all(group);
        let snapshot: Vec<bool> = seen_done.iter().map(|d| d.load(Ordering::SeqCst)).collect();
        let _ = returned.send(snapshot);
    });
    let third = handles.pop().expect("three handles");
    let open_third = gates.pop().expect("three gates");
    gates.clear();
    for h in handles {
        h.join().expect("the body returns normally");
    }
    // Until the thread that waits for the group is asleep in that wait, or has returned
    // (then its word is already sent): a wait that does not wait shows itself on every
    // run. One that polls instead of sleeping gets EARLY_FALLBACK to show itself.
    let waiter = tid_rx.recv().expect("the waiting thread starts");
    kata_sync::hang::until_these_asleep_in_waits(&[waiter], EARLY_FALLBACK);
    if returns.try_recv().is_ok() {
        panic!(
            "{what} returned while Thread-3 was still running (blocked in its body): it \
             must wait until the body of every thread of the group has ended"
        );
    }
    drop(open_third);
    match kata_sync::hang::waiting_for_others("for the thread that waits for the group", || {
                    returns.recv_timeout(HANG_FALLBACK)
                }) {
        Err(_) => panic!(
            "every thread's body had ended, yet {what} still had not returned 10 s later: \
             is a thread that ended still counted as running?"
        ),
        Ok(snapshot) => assert_eq!(
            snapshot,
            [true, true, true],
            "{what} returned before every thread's body had ended (true = ended)"
        ),
    }
    third.join().expect("the body returns normally");
}

hidden_test! {
    /// join_all returns only once the body of every thread of the group has ended.
    fn join_all_waits_for_every_thread() {
        // The helper leaks the group after join_all, so a failure cannot hang in drop.
        check_waits_for_every_thread("join_all()", ThreadGroup::new(), |group| {
            group.join_all();
            std::mem::forget(group);
        });
    }
}

hidden_test! {
    /// Dropping the group waits for its threads, like Python's main thread.
    fn dropping_the_group_waits_for_its_threads() {
        check_waits_for_every_thread("dropping the ThreadGroup", ThreadGroup::new(), drop);
    }
}

/// A gate many threads wait at, opened once for all.
struct SharedGate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl SharedGate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap();
        while !*open {
            open = self.opened.wait(open).unwrap();
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.opened.notify_all();
    }
}

hidden_test! {
    /// Four threads start 25 threads each, all at once, on one group: the hundred are
    /// listed while they run, named Thread-1 .. Thread-100 with no number twice. Under
    /// chaos, 40 rounds, each on a fresh group.
    fn a_hundred_threads_started_at_once() {
        // Two start() calls clash only when one is paused between reading the counter and
        // writing it back. Chaos makes a thread yield, dawdle or nap before a facade atomic
        // operation now and then, so a counter that is read, then written, gives two
        // threads one number in about every other round: in 900 runs, on one core or two,
        // beside busy loops or not, the first such round was round 1 to 6.
        kata_sync::chaos::enable();
        const ROUNDS: usize = 40;
        const STARTERS: usize = 4;
        const EACH: usize = 25;
        for round in 1..=ROUNDS {
            a_hundred_started_at_once(round, STARTERS, EACH);
        }
    }
}

/// One round of `a_hundred_threads_started_at_once` on a fresh group.
fn a_hundred_started_at_once(round: usize, starters: usize, each: usize) {
    let total = starters * each;
    let group = leaked_group();
    let gate = Arc::new(SharedGate { open: Mutex::new(false), opened: Condvar::new() });
    let together = Arc::new(Barrier::new(starters));
    let (arrived, arrivals) = channel::<()>();
    let starter_threads: Vec<_> = (0..starters)
        .map(|_| {
            let (gate, together, arrived) = (Arc::clone(&gate), Arc::clone(&together), arrived.clone());
            kata_sync::thread::spawn(move || {
                together.wait();
                (0..each)
                    .map(|_| {
                        let (gate, arrived) = (Arc::clone(&gate), arrived.clone());
                        start(group, None, move || {
                            arrived.send(()).expect("the test is waiting for arrivals");
                            gate.wait();
                        })
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let handles: Vec<Handle<()>> = starter_threads
        .into_iter()
        .flat_map(|s| s.join().expect("a starter thread panicked"))
        .collect();
    wait_for_arrivals(&arrivals, total);
    let want: BTreeSet<String> = (1..=total).map(|n| format!("Thread-{n}")).collect();
    let named: BTreeSet<String> = handles.iter().map(|h| h.name().to_string()).collect();
    assert_eq!(
        named.len(),
        handles.len(),
        "round {round}: {total} unnamed threads started at once from {starters} threads got \
         only {} different names: each needs its own number, also when two start() calls \
         come at the same time",
        named.len()
    );
    assert_eq!(named, want, "round {round}: the names of {total} unnamed threads on a fresh group");
    let listed = group.enumerate();
    assert_eq!(listed.first().map(String::as_str), Some("MainThread"), "round {round}: enumerate()");
    let listed_set: BTreeSet<String> = listed[1..].iter().cloned().collect();
    assert!(
        listed.len() == total + 1 && listed_set == want,
        "round {round}: {total} threads are blocked in their bodies, yet enumerate() listed {} \
         threads besides MainThread",
        listed.len() - 1
    );
    gate.open();
    for h in handles {
        join(h);
    }
    let listed = group.enumerate();
    assert_eq!(
        listed,
        ["MainThread"],
        "round {round}: all {total} threads have ended and were joined, yet enumerate() gave {} \
         names",
        listed.len()
    );
}
