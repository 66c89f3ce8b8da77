//! Visible tests: run them with `cargo test -p thread_context`. The grader's hidden tests
//! go further (many threads at once, reused threads, panics).

use std::sync::{Arc, Barrier};
use thread_context::{current, process_student, process_thread, with_context, Context};

/// Three calls deep, and none of them is given the student.
fn school() -> Option<Context> {
    class()
}
fn class() -> Option<Context> {
    desk()
}
fn desk() -> Option<Context> {
    current()
}

#[test]
fn nested_calls_find_the_student() {
    let seen = with_context(Context::new("Alice"), school);
    assert_eq!(seen, Some(Context::new("Alice")));
}

#[test]
fn the_context_ends_with_with_context() {
    std::thread::spawn(|| {
        with_context(Context::new("Alice"), || {
            with_context(Context::new("Bob"), || {
                assert_eq!(school(), Some(Context::new("Bob")))
            });
            assert_eq!(
                school(),
                Some(Context::new("Alice")),
                "the outer student is back"
            );
        });
        assert_eq!(current(), None, "no student once with_context has returned");
    })
    .join()
    .unwrap();
}

#[test]
fn two_threads_at_once_keep_their_own_student() {
    let both_in = Arc::new(Barrier::new(2));
    let threads: Vec<_> = [("Thread-A", "Alice"), ("Thread-B", "Bob")]
        .into_iter()
        .map(|(thread, student)| {
            let both_in = Arc::clone(&both_in);
            std::thread::Builder::new()
                .name(thread.to_string())
                .spawn(move || {
                    with_context(Context::new(student), || {
                        both_in.wait(); // both students are set now
                        let greeting = process_student();
                        both_in.wait(); // both have read theirs
                        greeting
                    })
                })
                .unwrap()
        })
        .collect();
    let greetings: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        greetings,
        [
            Some("Hello, Alice (in Thread-A)".to_string()),
            Some("Hello, Bob (in Thread-B)".to_string())
        ]
    );
}

#[test]
fn process_thread_is_the_course_example() {
    let greeting = std::thread::Builder::new()
        .name("Thread-A".to_string())
        .spawn(|| process_thread("Alice"))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(greeting.as_deref(), Some("Hello, Alice (in Thread-A)"));
}
