//! Visible tests: run them with `cargo test -p blocking_queue`. The grader's hidden tests
//! go further (loom tries every interleaving of producers and consumers at capacity 1;
//! proptest checks random sequences of calls against a plain VecDeque, Vec and heap;
//! stress tests pass hundreds of thousands of items through real threads).

use blocking_queue::{Empty, Full, LifoQueue, PriorityQueue, Queue};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[test]
fn queue_is_first_in_first_out() {
    let q = Queue::new(0);
    for i in 1..=3 {
        q.put(i, true, None).unwrap();
    }
    assert_eq!(q.qsize(), 3);
    assert_eq!(q.get(true, None), Ok(1));
    assert_eq!(q.get(true, None), Ok(2));
    assert_eq!(q.get(true, None), Ok(3));
    assert!(q.empty());
}

#[test]
fn lifo_queue_is_a_stack() {
    let q = LifoQueue::new(0);
    for i in 1..=3 {
        q.put_nowait(i).unwrap();
    }
    assert_eq!(
        q.get_nowait(),
        Ok(3),
        "a LifoQueue hands out the newest item first"
    );
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.get_nowait(), Ok(1));
}

#[test]
fn priority_queue_gives_the_lowest_first() {
    let q = PriorityQueue::new(0);
    for job in [(5, "later"), (1, "urgent"), (3, "soon")] {
        q.put_nowait(job).unwrap();
    }
    assert_eq!(
        q.get_nowait(),
        Ok((1, "urgent")),
        "Python's PriorityQueue gives the lowest first"
    );
    assert_eq!(q.get_nowait(), Ok((3, "soon")));
    assert_eq!(q.get_nowait(), Ok((5, "later")));
}

#[test]
fn bounded_queue_refuses_when_full() {
    let q = Queue::new(2);
    q.put_nowait("a").unwrap();
    assert!(!q.full());
    q.put_nowait("b").unwrap();
    assert!(q.full(), "a queue of maxsize 2 holding 2 items is full");
    assert_eq!(
        q.put_nowait("c"),
        Err(Full("c")),
        "put_nowait on a full queue gives the item back"
    );
    assert_eq!(
        q.put("d", true, Some(Duration::from_millis(10))),
        Err(Full("d")),
        "a timed put on a full queue gives up"
    );
    assert_eq!(q.get_nowait(), Ok("a"));
    assert_eq!(q.qsize(), 1);
}

#[test]
fn empty_queue_refuses_a_get() {
    let q: Queue<u32> = Queue::new(1);
    assert_eq!(q.get_nowait(), Err(Empty));
    assert_eq!(q.get(true, Some(Duration::from_millis(10))), Err(Empty));
    assert!(q.empty() && !q.full());
}

#[test]
fn unbounded_queue_is_never_full() {
    let q = Queue::new(0);
    for i in 0..10_000 {
        q.put_nowait(i).unwrap();
    }
    assert!(
        !q.full(),
        "maxsize 0 means no limit: the queue is never full"
    );
    assert_eq!(q.qsize(), 10_000);
}

#[test]
fn producer_and_consumer_through_a_small_queue() {
    let q = Arc::new(Queue::new(2));
    let producer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            for i in 0..10_000 {
                q.put(i, true, None).unwrap();
            }
        })
    };
    for want in 0..10_000 {
        assert_eq!(
            q.get(true, None),
            Ok(want),
            "get(true, None) waits for the next item"
        );
    }
    producer.join().unwrap();
    assert!(q.empty());
}
