//! Visible tests: run them with `cargo test -p producer_consumer`. The grader's hidden
//! tests go further (loom tries every interleaving of producers and consumers; stress
//! tests push a hundred thousand items through real threads, and compare the channel
//! with crossbeam's bounded channel).

use producer_consumer::{channel, run, RecvError, RunError, SendError, TryRecvError, TrySendError};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

#[test]
fn try_send_on_a_full_channel_is_full() {
    let (tx, rx) = channel(2);
    assert_eq!(tx.try_send(1), Ok(()));
    assert_eq!(tx.try_send(2), Ok(()));
    assert_eq!(
        tx.try_send(3),
        Err(TrySendError::Full(3)),
        "a channel of bound 2 already holds 2 items"
    );
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(tx.try_send(3), Ok(()), "recv made room for one more");
    assert_eq!(
        (rx.recv(), rx.recv()),
        (Ok(2), Ok(3)),
        "first in, first out"
    );
}

#[test]
fn the_last_sender_closes_the_channel_after_the_queue_drains() {
    let (tx, rx) = channel(4);
    let tx2 = tx.clone();
    tx.send('a').unwrap();
    tx2.send('b').unwrap();
    drop(tx);
    assert_eq!(rx.try_recv(), Ok('a'));
    assert_eq!(rx.try_recv(), Ok('b'));
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "one Sender is still alive: more items may come"
    );
    drop(tx2);
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Disconnected),
        "every Sender is gone and the queue is empty: the channel is closed"
    );
    assert_eq!(rx.recv(), Err(RecvError), "recv on a closed, empty channel");
}

#[test]
fn send_fails_once_every_receiver_is_gone() {
    let (tx, rx) = channel(1);
    let rx2 = rx.clone();
    drop(rx);
    assert_eq!(tx.send(1), Ok(()), "one Receiver is still alive");
    drop(rx2);
    assert_eq!(
        tx.send(2),
        Err(SendError(2)),
        "no Receiver is left: nobody would ever take the item"
    );
    assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
}

#[test]
fn a_consumer_waits_for_a_slow_producer() {
    let (tx, rx) = channel(1);
    let producer = thread::spawn(move || {
        for i in 0..100 {
            if i % 10 == 0 {
                thread::sleep(std::time::Duration::from_millis(1));
            }
            tx.send(i).unwrap();
        }
    });
    let mut got = Vec::new();
    while let Ok(item) = rx.recv() {
        assert!(rx.len() <= 1, "the queue holds more than its bound of 1");
        got.push(item);
    }
    producer.join().unwrap();
    assert_eq!(
        got,
        (0..100).collect::<Vec<_>>(),
        "recv must wait for items while the producer is still at work, and end only \
         once its Sender is gone"
    );
}

#[test]
fn the_course_example_two_producers_five_consumers() {
    let caller = thread::current().id();
    let consumed = Arc::new(AtomicUsize::new(0));
    let on_caller = Arc::new(AtomicUsize::new(0));
    let producers: Vec<Vec<String>> = (0..2)
        .map(|p| {
            (0..500)
                .map(|i| format!("producer {p}: item {i}"))
                .collect()
        })
        .collect();
    let got = {
        let (consumed, on_caller) = (Arc::clone(&consumed), Arc::clone(&on_caller));
        run(producers, 5, 10, move |_item: &String| {
            consumed.fetch_add(1, Ordering::SeqCst);
            if thread::current().id() == caller {
                on_caller.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap()
    };
    assert_eq!(
        on_caller.load(Ordering::SeqCst),
        0,
        "consume ran on the caller's thread"
    );
    assert_eq!(consumed.load(Ordering::SeqCst), 1000);
    assert_eq!(got.len(), 5, "one list per consumer");
    let mut all: Vec<String> = got.into_iter().flatten().collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 1000, "every item is consumed exactly once");
}

#[test]
fn run_refuses_zero_consumers_and_zero_bound() {
    let nothing = |_: &u8| {};
    assert_eq!(
        run(vec![vec![1u8]], 0, 4, nothing),
        Err(RunError::NoConsumers)
    );
    assert_eq!(
        run(vec![vec![1u8]], 2, 0, nothing),
        Err(RunError::ZeroBound)
    );
}

/// The same calls on this channel and on crossbeam's bounded channel give the same
/// answers: crossbeam is the reference this kata copies.
#[test]
fn answers_like_crossbeams_bounded_channel() {
    let (tx, rx) = channel(2);
    let (ctx, crx) = crossbeam::channel::bounded(2);
    for round in 0..3u32 {
        for item in 0..3 {
            let mine = tx.try_send(round * 10 + item).is_ok();
            let reference = ctx.try_send(round * 10 + item).is_ok();
            assert_eq!(
                mine, reference,
                "try_send #{item} of round {round}: Ok here is {mine}, in crossbeam {reference}"
            );
        }
        for _ in 0..3 {
            let mine = rx.try_recv().ok();
            let reference = crx.try_recv().ok();
            assert_eq!(mine, reference, "try_recv in round {round}");
        }
    }
    drop((tx, ctx));
    assert!(
        rx.try_recv().is_err() && crx.try_recv().is_err(),
        "both are closed and empty"
    );
}
