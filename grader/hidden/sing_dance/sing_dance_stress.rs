//! Hidden stress suite of kata `sing_dance`: real threads, verdicts from meetings.
//!
//! "At the same time" is decided by a rendezvous, never by a clock: each task tells the
//! other it has arrived, then waits for the other. Tasks run one after the other can never
//! both pass it: the first waits for a partner who has not started. So that such a
//! submission fails with a message instead of hanging, a task gives up after
//! `MEET_FALLBACK` and reports that it ran alone; a correct run_both meets at once.
//!
//! "run_both returns only after both tasks ended" is decided the same way: the task that
//! outlives its panicking partner listens for the test's word that run_both has already
//! returned, until the partner's thread is gone and run_both's caller is asleep (in a
//! join, or past run_both already), or for at most `LINGER`. It hears it only if run_both
//! left while it was still running.

use kata_harness::hidden_test;
use kata_testkit::threads::panic_quietly;
use sing_dance::{dance, run_both, sing};
use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use kata_sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

/// How long a task waits for its partner before it reports that it ran alone.
const MEET_FALLBACK: Duration = Duration::from_secs(5);
/// How long the surviving task of a panic listens for "run_both has returned".
const LINGER: Duration = Duration::from_secs(3);

/// One side of a two-task meeting.
struct Partner {
    arrived: Sender<()>,
    other: Receiver<()>,
    /// False once a meeting failed: later beats no longer wait (the verdict is made).
    together: bool,
}

impl Partner {
    /// Says "I'm here", then waits for the other side. True if it came.
    fn meet(&mut self) -> bool {
        let _ = self.arrived.send(());
        if self.together {
            self.together = kata_sync::hang::waiting_for_others(
                "for the other task to arrive (run_both must run the two tasks at the same time)",
                || self.other.recv_timeout(MEET_FALLBACK),
            )
            .is_ok();
        }
        self.together
    }
}

fn partners() -> (Partner, Partner) {
    let (to_b, from_a) = channel();
    let (to_a, from_b) = channel();
    let a = Partner {
        arrived: to_b,
        other: from_b,
        together: true,
    };
    let b = Partner {
        arrived: to_a,
        other: from_a,
        together: true,
    };
    (a, b)
}

const ONE_AFTER_THE_OTHER: &str = "a task waited 5 s at the meeting point and its partner \
    never came: run_both ran the tasks one after the other (or waited for the first before \
    starting the second), not at the same time. Start both threads before joining either";

static QUIET: AtomicBool = AtomicBool::new(false);

/// Runs `f` with panic reports switched off, so that a panic the test provokes (or one a
/// submission adds, like unwrap's) is not reported in place of the test's own verdict.
fn quietly<R>(f: impl FnOnce() -> R) -> R {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.load(Ordering::SeqCst) {
                report(info)
            }
        }));
    });
    QUIET.store(true, Ordering::SeqCst);
    let result = f();
    QUIET.store(false, Ordering::SeqCst);
    result
}

hidden_test! {
    /// A hundred duets in a row: in every one, task a and task b meet while both run.
    fn both_tasks_run_at_the_same_time() {
        for round in 0..100 {
            let (mut pa, mut pb) = partners();
            let (a_met, b_met) = run_both(move || pa.meet(), move || pb.meet());
            assert!(
                a_met && b_met,
                "duet #{round}: task a met task b: {a_met}, task b met task a: {b_met}. \
                 {ONE_AFTER_THE_OTHER}"
            );
        }
    }
}

hidden_test! {
    /// Results come back as (a's, b's), and what both tasks did is visible on return.
    fn results_come_back_as_a_then_b() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (la, lb) = (Arc::clone(&log), Arc::clone(&log));
        let (mut pa, mut pb) = partners();
        let (ra, rb) = run_both(
            move || {
                let met = pa.meet();
                la.lock().unwrap().push("a");
                (met, "sang three songs".to_string())
            },
            move || {
                let met = pb.meet();
                lb.lock().unwrap().push("b");
                (met, vec![1u8, 2, 3])
            },
        );
        assert!(ra.0 && rb.0, "{ONE_AFTER_THE_OTHER}");
        assert_eq!(ra.1, "sang three songs", "the first result is task a's");
        assert_eq!(rb.1, [1, 2, 3], "the second result is task b's");
        let mut log = log.lock().unwrap().clone();
        log.sort();
        assert_eq!(
            log,
            ["a", "b"],
            "when run_both returned, the tasks had logged {log:?}: it must return only \
             after both tasks have finished"
        );
    }
}

hidden_test! {
    /// The course's story: the singer and the dancer meet at every one of five beats.
    fn singer_and_dancer_keep_every_beat() {
        let (mut ps, mut pd) = partners();
        let ((song, sang_together), (steps, danced_together)) = run_both(
            move || {
                let mut together = true;
                let song = sing(5, |_| together &= ps.meet());
                (song, together)
            },
            move || {
                let mut together = true;
                let steps = dance(5, |_| together &= pd.meet());
                (steps, together)
            },
        );
        assert!(
            sang_together && danced_together,
            "the singer and the dancer did not meet at every beat: {ONE_AFTER_THE_OTHER}"
        );
        let want_song: Vec<String> = (0..5).map(|i| format!("正在唱歌...{i}")).collect();
        let want_steps: Vec<String> = (0..5).map(|i| format!("正在跳舞...{i}")).collect();
        assert_eq!(song, want_song);
        assert_eq!(steps, want_steps);
    }
}

/// What run_both gave back to the caller of a duet: its results, or its panic.
type Outcome = Result<(u8, u8), Box<dyn Any + Send>>;

/// True if both tasks ran and met each other.
fn both_met(met_a: &Receiver<bool>, met_b: &Receiver<bool>) -> bool {
    let a = met_a.recv() == Ok(true);
    let b = met_b.recv() == Ok(true);
    a && b
}

/// What the test can tell about a payload, for messages.
fn describe(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        format!("the &'static str {s:?}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("the String {s:?}")
    } else if let Some(injury) = payload.downcast_ref::<Injury>() {
        format!("{injury:?}")
    } else if payload.is::<Box<dyn Any + Send>>() {
        "a Box<dyn Any + Send> (the payload boxed a second time: panic_any(payload) wraps \
         it again, resume_unwind(payload) hands it on as it is)"
            .to_string()
    } else {
        "a payload of some other type".to_string()
    }
}

/// A payload that is neither a &str nor a String, as `panic_any` can raise.
#[derive(Debug, PartialEq)]
struct Injury {
    who: char,
    beat: u32,
}

/// A duet whose tasks meet, then run `a_then` and `b_then` (which may panic). Returns
/// whether both met, and what run_both gave back.
fn duet(
    a_then: impl FnOnce() -> u8 + Send + 'static,
    b_then: impl FnOnce() -> u8 + Send + 'static,
) -> (bool, Outcome) {
    let (met_a_tx, met_a) = channel();
    let (met_b_tx, met_b) = channel();
    let (mut pa, mut pb) = partners();
    let outcome = quietly(|| {
        catch_unwind(AssertUnwindSafe(|| {
            run_both(
                move || {
                    let _ = met_a_tx.send(pa.meet());
                    a_then()
                },
                move || {
                    let _ = met_b_tx.send(pb.meet());
                    b_then()
                },
            )
        }))
    });
    (both_met(&met_a, &met_b), outcome)
}

/// The payload run_both's caller got from a duet where `task` panicked with `what`.
fn payload_of(task: &str, what: &str, (met, outcome): (bool, Outcome)) -> Box<dyn Any + Send> {
    assert!(met, "{ONE_AFTER_THE_OTHER}");
    match outcome {
        Ok(results) => panic!(
            "task {task} panicked with {what}, yet run_both returned {results:?}: a task's \
             panic must reach run_both's caller"
        ),
        Err(payload) => payload,
    }
}

const HAND_IT_ON: &str = "run_both must hand the task's own payload on untouched: \
    std::panic::resume_unwind(payload) does; unwrap(), expect(), panic!(\"{msg}\") and \
    panic_any(payload) each raise a new payload instead";

hidden_test! {
    /// Task a panics with a &'static str (`panic!("a literal")`): run_both's caller gets
    /// that very &'static str.
    fn panic_in_a_reaches_the_caller() {
        const MESSAGE: &str = "the singer lost her voice";
        let payload = payload_of(
            "a",
            "panic!(\"the singer lost her voice\")",
            duet(|| panic!("the singer lost her voice"), || 2),
        );
        assert!(
            payload.downcast_ref::<&'static str>() == Some(&MESSAGE),
            "task a called panic!(\"{MESSAGE}\"), whose payload is a &'static str, but \
             run_both's caller got {}: {HAND_IT_ON}",
            describe(payload.as_ref())
        );
    }
}

hidden_test! {
    /// Task b panics with a String made at run time: run_both's caller gets that String.
    fn panic_in_b_reaches_the_caller() {
        let beat = std::hint::black_box(3u32);
        let message = format!("the dancer twisted his ankle at beat {beat}");
        let expected = message.clone();
        let payload = payload_of(
            "b",
            &format!("the String {message:?}"),
            duet(|| 1, move || std::panic::panic_any(message)),
        );
        assert!(
            payload.downcast_ref::<String>() == Some(&expected),
            "task b panicked with the String {expected:?}, but run_both's caller got {}: \
             {HAND_IT_ON}",
            describe(payload.as_ref())
        );
    }
}

hidden_test! {
    /// A task panics with a payload of its own type (`panic_any(value)`), first a, then
    /// b: run_both's caller gets that value, as it is.
    fn any_panic_payload_reaches_the_caller_untouched() {
        for (task, who) in [("a", 'a'), ("b", 'b')] {
            let injury = move || -> u8 { std::panic::panic_any(Injury { who, beat: 7 }) };
            let outcome = if who == 'a' { duet(injury, || 2) } else { duet(|| 1, injury) };
            let payload = payload_of(task, "panic_any(Injury { .. })", outcome);
            assert!(
                payload.downcast_ref::<Injury>() == Some(&Injury { who, beat: 7 }),
                "task {task} called panic_any(Injury {{ who: {who:?}, beat: 7 }}), but \
                 run_both's caller got {}: {HAND_IT_ON}",
                describe(payload.as_ref())
            );
        }
    }
}

/// Sends on `tx` when dropped: in a panicking task, once its panic is under way.
struct SayWhenUnwinding(Option<Sender<()>>);

impl Drop for SayWhenUnwinding {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

hidden_test! {
    /// Both tasks panic, a after b, then b after a: run_both's caller gets a's payload
    /// both times, whichever panicked first.
    fn both_panic_and_a_s_payload_wins() {
        for a_first in [false, true] {
            let (first_tx, first_rx) = channel::<()>();
            // The task that goes second waits until the other's panic is under way (or
            // gives up after MEET_FALLBACK, when the tasks do not run at the same time).
            let first = move |who: char| -> u8 {
                let _say = SayWhenUnwinding(Some(first_tx));
                std::panic::panic_any(Injury { who, beat: 1 })
            };
            let second = move |who: char| -> u8 {
                let _ = kata_sync::hang::waiting_for_others(
                    "for the other task's panic (run_both must run the two tasks at the same time)",
                    || first_rx.recv_timeout(MEET_FALLBACK),
                );
                std::panic::panic_any(Injury { who, beat: 2 })
            };
            let outcome = if a_first {
                duet(move || first('a'), move || second('b'))
            } else {
                duet(move || second('a'), move || first('b'))
            };
            let order = if a_first { "a, then b" } else { "b, then a" };
            let payload = payload_of("a", "panic_any(Injury { who: 'a', .. })", outcome);
            let want = Injury { who: 'a', beat: if a_first { 1 } else { 2 } };
            assert!(
                payload.downcast_ref::<Injury>() == Some(&want),
                "both tasks panicked ({order}), with Injury {{ who: 'a', .. }} and Injury \
                 {{ who: 'b', .. }}, and run_both's caller got {}: when both panic, a's \
                 payload is the one handed on, whichever came first (join both, then look \
                 at a's result before b's). {HAND_IT_ON}",
                describe(payload.as_ref())
            );
        }
    }
}

/// One task panics right after the meeting; the other lingers, listening for the test's
/// word that run_both has returned. run_both must not return (or unwind) before the
/// lingering task has finished.
fn check_waits_for_the_survivor(a_panics: bool) {
    let (panicker, survivor) = if a_panics { ("a", "b") } else { ("b", "a") };
    let (met_a_tx, met_a) = channel();
    let (met_b_tx, met_b) = channel();
    let (returned_tx, returned_rx) = channel::<()>();
    let (verdict_tx, verdict_rx) = channel::<bool>();
    // The survivor: after the meeting, listen for "run_both has returned". It listens
    // until its panicking partner's thread is gone and the caller of run_both is asleep:
    // then the caller either waits for this task (a join) or has already returned and
    // sent its word (it then waits for this verdict). A run_both that waits in some way
    // the facade does not see gets LINGER.
    let caller = kata_sync::hang::tid();
    let panicker_tid = Arc::new(AtomicI32::new(0));
    let panicked_on = Arc::clone(&panicker_tid);
    let linger = move || {
        let began = Instant::now();
        loop {
            let tid = panicker_tid.load(Ordering::SeqCst);
            let gone = tid != 0 && tid != caller && kata_sync::hang::thread_ended(tid);
            if gone || began.elapsed() >= LINGER {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let left = LINGER.saturating_sub(began.elapsed());
        kata_sync::hang::until_these_asleep_in_waits(&[caller], left);
        let heard = returned_rx.try_recv().is_ok();
        let _ = verdict_tx.send(heard);
    };
    // The panicking task says which thread it is, then panics.
    let panics = |panicked_on: Arc<AtomicI32>| {
        move |message: &'static str| -> ! {
            panicked_on.store(kata_sync::hang::tid(), Ordering::SeqCst);
            // A String payload, raised without the panic hook: a correct run_both hands
            // it on untouched.
            panic_quietly(message.to_string())
        }
    };
    let (a_panics_now, b_panics_now) = (panics(Arc::clone(&panicked_on)), panics(panicked_on));
    let (mut pa, mut pb) = partners();
    let mut linger = Some(linger);
    let (a_linger, b_linger) = if a_panics {
        (None, linger.take())
    } else {
        (linger.take(), None)
    };
    let outcome = quietly(|| {
        catch_unwind(AssertUnwindSafe(|| {
            run_both(
                move || {
                    let _ = met_a_tx.send(pa.meet());
                    match a_linger {
                        Some(linger) => linger(),
                        None => a_panics_now("task a panics on purpose"),
                    }
                },
                move || {
                    let _ = met_b_tx.send(pb.meet());
                    match b_linger {
                        Some(linger) => linger(),
                        None => b_panics_now("task b panics on purpose"),
                    }
                },
            )
        }))
    });
    let _ = returned_tx.send(());
    assert!(both_met(&met_a, &met_b), "{ONE_AFTER_THE_OTHER}");
    assert!(
        outcome.is_err(),
        "task {panicker} panicked, yet run_both returned normally: a task's panic must \
         reach run_both's caller"
    );
    match verdict_rx.recv() {
        Err(_) => panic!(
            "task {survivor} never finished: after task {panicker} panicked, run_both \
             dropped task {survivor} without running it to its end"
        ),
        Ok(true) => panic!(
            "task {panicker} panicked and run_both passed the panic on while task \
             {survivor} was still running: run_both must wait for both tasks to end, and \
             only then hand the panic on (join both threads before looking at the results)"
        ),
        Ok(false) => {}
    }
}

hidden_test! {
    /// Task a panics while task b still runs: run_both waits for b, then panics.
    fn panic_in_a_still_waits_for_b() {
        check_waits_for_the_survivor(true);
    }
}

hidden_test! {
    /// Task b panics while task a still runs: run_both waits for a, then panics.
    fn panic_in_b_still_waits_for_a() {
        check_waits_for_the_survivor(false);
    }
}
