//! Hidden stress suite of kata `thread_context`: real threads, overlapping for sure.
//!
//! Threads that must not see each other's context meet at a std Barrier while each is
//! inside its own `with_context`: at that moment every context is set at once, so a
//! shared slot holds only one of them and all the other threads read the wrong one, on
//! every run. Reused threads are made with a tiny pool of the test's own (one worker
//! thread and a channel of jobs), so one thread runs job after job.

use kata_harness::hidden_test;
use std::panic::{catch_unwind, AssertUnwindSafe};
use kata_sync::mpsc::{channel, Sender};
use std::sync::{Arc, Barrier};
use kata_sync::thread::JoinHandle;
use kata_testkit::threads::{panic_message, panic_quietly};
use thread_context::{current, process_student, process_thread, with_context, Context};

/// Three calls deep, and none of them is given the student: the current student's name
/// (read from the context's public field, never through the kata's own `PartialEq`).
fn school() -> Option<String> {
    class()
}
fn class() -> Option<String> {
    desk()
}
fn desk() -> Option<String> {
    current().map(|ctx| ctx.student)
}

fn student(name: &str) -> Option<String> {
    Some(name.to_string())
}

/// The payload of the jobs' deliberate panics, raised with `panic_quietly` (no panic hook),
/// so the test's own verdict is the one reported.
const ON_PURPOSE: &str = "a job panics on purpose";

type Job = Box<dyn FnOnce() + Send>;

/// A pool of one worker thread: it runs every job it is sent, one after the other, and
/// survives a job's panic.
struct Worker {
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    fn new() -> Worker {
        let (jobs, queue) = channel::<Job>();
        let thread = kata_sync::thread::spawn(move || {
            for job in queue {
                let _ = catch_unwind(AssertUnwindSafe(job));
            }
        });
        Worker {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }

    /// Runs `job` on the worker and waits for its value (None if it panicked).
    fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Option<T> {
        let (tx, rx) = channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(job());
        });
        self.jobs
            .as_ref()
            .unwrap()
            .send(job)
            .expect("the worker is running");
        rx.recv().ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

hidden_test! {
    /// The course's example: Thread-A processes Alice while Thread-B processes Bob, at the
    /// same time; each greets its own student, from a call given no argument.
    fn the_course_example_greets_each_student() {
        for round in 0..20 {
            let both_in = Arc::new(Barrier::new(2));
            let threads: Vec<_> = [("Thread-A", "Alice"), ("Thread-B", "Bob")]
                .into_iter()
                .map(|(thread, name)| {
                    let both_in = Arc::clone(&both_in);
                    kata_sync::thread::Builder::new()
                        .name(thread.to_string())
                        .spawn(move || {
                            let together = with_context(Context::new(name), || {
                                both_in.wait(); // both students are set now
                                let greeting = process_student();
                                both_in.wait(); // both have read theirs
                                greeting
                            });
                            (together, process_thread(name))
                        })
                        .expect("spawn a test thread")
                })
                .collect();
            let got: Vec<_> = threads
                .into_iter()
                .map(|t| t.join().expect("a test thread panicked"))
                .collect();
            for ((together, alone), (thread, name)) in
                got.into_iter().zip([("Thread-A", "Alice"), ("Thread-B", "Bob")])
            {
                let want = format!("Hello, {name} (in {thread})");
                assert_eq!(
                    together.as_deref(),
                    Some(want.as_str()),
                    "round {round}: {thread} set student {name:?} while the other thread set \
                     its own, and process_student() on {thread} said {together:?}: the two \
                     threads share one slot (the course's global dict without the thread as \
                     its key). Each thread needs its own"
                );
                assert_eq!(alone.as_deref(), Some(want.as_str()), "process_thread({name:?}) on {thread}");
            }
        }
    }
}

hidden_test! {
    /// Eight unnamed threads, 200 rounds: in each round all eight are inside their own
    /// with_context at once, and each finds its own student three calls deep.
    fn unnamed_threads_keep_their_own_students() {
        const THREADS: usize = 8;
        const ROUNDS: usize = 200;
        let all_in = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let all_in = Arc::clone(&all_in);
                kata_sync::thread::spawn(move || {
                    let mut wrong = Vec::new();
                    for round in 0..ROUNDS {
                        let name = format!("student {t}.{round}");
                        let seen = with_context(Context::new(&name), || {
                            all_in.wait(); // every thread's student is set now
                            let seen = school();
                            all_in.wait(); // every thread has looked
                            seen
                        });
                        if seen != student(&name) {
                            wrong.push((name, seen));
                        }
                    }
                    wrong
                })
            })
            .collect();
        let wrong: Vec<_> = threads
            .into_iter()
            .flat_map(|t| t.join().expect("a test thread panicked"))
            .collect();
        if let Some((want, got)) = wrong.first() {
            panic!(
                "{} of {} lookups found another thread's student, e.g. a thread inside \
                 with_context({want:?}) got current() = {got:?}. These threads have no \
                 names: is the slot shared, or keyed by the thread's name? Two threads \
                 must never share a slot",
                wrong.len(),
                THREADS * ROUNDS
            );
        }
    }
}

hidden_test! {
    /// While one thread is inside with_context, a new thread starts with no context.
    fn a_new_thread_starts_without_a_context() {
        let inside = Arc::new(Barrier::new(2));
        let holder = {
            let inside = Arc::clone(&inside);
            kata_sync::thread::spawn(move || {
                with_context(Context::new("Alice"), || {
                    inside.wait(); // Alice is set
                    inside.wait(); // the newcomer has looked
                })
            })
        };
        inside.wait();
        let seen = kata_sync::thread::spawn(|| (current().map(|ctx| ctx.student), process_student()))
            .join()
            .expect("the new thread panicked");
        inside.wait();
        holder.join().expect("the holder thread panicked");
        assert_eq!(
            seen,
            (None, None),
            "a brand-new thread called current() and process_student() while another \
             thread was inside with_context(\"Alice\"), and got {seen:?}: a thread starts \
             with no context, and never sees another thread's"
        );
    }
}

hidden_test! {
    /// Nested with_context calls: the inner context lasts exactly as long as the inner
    /// call, then the outer one is back; after the outermost, there is none.
    fn the_inner_context_gives_way_to_the_outer_one() {
        kata_sync::thread::spawn(|| {
            let value = with_context(Context::new("Alice"), || {
                assert_eq!(school(), student("Alice"), "inside with_context(\"Alice\")");
                let inner = with_context(Context::new("Bob"), || {
                    let bob = school();
                    let carol = with_context(Context::new("Carol"), school);
                    (bob, carol, school())
                });
                assert_eq!(
                    inner,
                    (student("Bob"), student("Carol"), student("Bob")),
                    "inside with_context(\"Bob\"): current(), then inside a third \
                     with_context(\"Carol\"), then current() again after it returned: when \
                     a with_context returns, the context it replaced must be back"
                );
                let back = school();
                assert_eq!(
                    back,
                    student("Alice"),
                    "with_context(\"Bob\") ran inside with_context(\"Alice\") and has \
                     returned, yet current() is {back:?}: put the outer context back, not \
                     None and not the inner one"
                );
                42
            });
            assert_eq!(value, 42, "with_context returns what its closure returned");
            let after = school();
            assert_eq!(
                after,
                None,
                "every with_context has returned, yet current() is {after:?}"
            );
        })
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
    }
}

hidden_test! {
    /// One worker thread runs 200 jobs in turn, every other one inside with_context: a job
    /// without a context sees none, whatever the job before it set.
    fn a_reused_worker_starts_each_job_clean() {
        let worker = Worker::new();
        for job in 0..200 {
            if job % 2 == 0 {
                let name = format!("student {job}");
                let seen = worker
                    .run({
                        let name = name.clone();
                        move || with_context(Context::new(&name), school)
                    })
                    .expect("the job does not panic");
                assert_eq!(seen, student(&name), "job #{job} ran inside with_context({name:?})");
            } else {
                let seen = worker.run(school).expect("the job does not panic");
                assert_eq!(
                    seen,
                    None,
                    "job #{job} ran on a reused worker thread without any context, yet \
                     current() gave {seen:?}, left over from the job before it: \
                     with_context must remove its context when it returns"
                );
            }
        }
    }
}

hidden_test! {
    /// A job that panics inside with_context leaves no context behind for the next job,
    /// and an inner with_context that panics gives the outer context back.
    fn a_panic_still_restores_the_context() {
        let worker = Worker::new();
        let panicked = worker.run(|| with_context(Context::new("Alice"), || panic_quietly(ON_PURPOSE)));
        assert!(panicked.is_none(), "the job panicked on purpose");
        let next = worker.run(school).expect("the job does not panic");
        assert_eq!(
            next,
            None,
            "the job before this one panicked inside with_context(\"Alice\"), and this job, \
             on the same worker thread, got current() = {next:?}: the context must be \
             restored also when the closure panics (a guard whose Drop restores it runs \
             while the panic unwinds)"
        );
        let outer = worker
            .run(|| {
                with_context(Context::new("Alice"), || {
                    let caught = catch_unwind(|| with_context(Context::new("Bob"), || panic_quietly(ON_PURPOSE)));
                    assert!(caught.is_err(), "the inner call panicked on purpose");
                    school()
                })
            })
            .expect("the job does not panic");
        assert_eq!(
            outer,
            student("Alice"),
            "with_context(\"Bob\") panicked inside with_context(\"Alice\"); after catching \
             the panic, current() was {outer:?}: the outer context must be back"
        );
        let last = worker.run(school).expect("the job does not panic");
        assert_eq!(last, None, "after the last job's with_context, current() was {last:?}");
    }
}

/// A panic payload of a type of the test's own.
#[derive(Debug, PartialEq)]
struct Oops(u32);

hidden_test! {
    /// f panics inside with_context, on a thread that catches it: the caller gets f's very
    /// panic, its payload unchanged (a &str stays a &str, a String a String, an Oops an
    /// Oops), and the thread's previous context is back.
    fn the_panic_of_f_reaches_the_caller_unchanged() {
        kata_sync::thread::spawn(|| {
            let caught = catch_unwind(|| {
                with_context(Context::new("Alice"), || -> () {
                    std::panic::resume_unwind(Box::new("boom in f"))
                })
            });
            let payload = caught.expect_err("f panicked, so with_context must panic too");
            assert!(
                payload.downcast_ref::<&str>() == Some(&"boom in f"),
                "f panicked with the &str \"boom in f\"; the caller of with_context caught a \
                 panic whose payload is {:?} instead. with_context must let f's panic through \
                 unchanged: restore the context in a guard's Drop (which runs while the panic \
                 unwinds), or catch it and raise it again with std::panic::resume_unwind(payload) \
                 (never panic!/panic_any with it, which wraps it in a new panic)",
                panic_message(payload.as_ref())
            );
            let after = school();
            assert_eq!(
                after,
                None,
                "f panicked inside with_context(\"Alice\") and the caller caught it; then \
                 current() gave {after:?}: the previous context (none) must be back"
            );
            let caught = catch_unwind(|| {
                with_context(Context::new("Bob"), || -> () {
                    std::panic::resume_unwind(Box::new(format!("boom number {}", 2)))
                })
            });
            let payload = caught.expect_err("f panicked, so with_context must panic too");
            assert!(
                payload.downcast_ref::<String>().map(String::as_str) == Some("boom number 2"),
                "f panicked with the String \"boom number 2\"; the caller caught a panic whose \
                 payload is {:?}: a String payload must stay a String",
                panic_message(payload.as_ref())
            );
            let caught = catch_unwind(|| {
                with_context(Context::new("Carol"), || {
                    with_context(Context::new("Dave"), || -> () {
                        std::panic::resume_unwind(Box::new(Oops(7)))
                    })
                })
            });
            let payload = caught.expect_err("f panicked, so with_context must panic too");
            assert!(
                payload.downcast_ref::<Oops>() == Some(&Oops(7)),
                "f panicked with a value of the test's own type, Oops(7), inside two nested \
                 with_context calls; the caller caught a panic whose payload is not that \
                 Oops(7) ({}): any payload must come through unchanged",
                panic_message(payload.as_ref())
            );
            let after = school();
            assert_eq!(after, None, "after nested with_context calls that panicked, current() gave {after:?}");
        })
        .join()
        .unwrap_or_else(|payload| std::panic::resume_unwind(payload));
    }
}
