//! Hidden loom suite of kata `producer_consumer`: every interleaving of one or two
//! producers and one or two consumers (two of a kind side by side) on a channel of bound 1
//! or 2. Results are read by pattern, never through the kata's own `PartialEq`.
//!
//! The tests' own data lives in `std::sync::Arc` (only the atomics inside are loom's). A
//! thread that waits forever inside the channel (a lost wake-up: a consumer never told
//! that the last Sender is gone, a sender never told that the last Receiver is gone)
//! makes loom panic with "deadlock" and then abort, since the blocked threads hold the
//! channel's loom `Arc` (loom issue 291): the grader reports that as a deadlock.
#![cfg(feature = "loom")]

use kata_harness::hidden_test;
use kata_sync::atomic::{AtomicBool, Ordering};
use kata_sync::{model, thread};
use producer_consumer::{channel, run, SendError};
use std::sync::Arc;

const EARLY_END: &str = "recv() returned Err(RecvError) although an item was still to come: \
    recv must wait while the queue is empty and a Sender is alive, and may return Err only \
    once every Sender is gone AND every queued item has been received";

hidden_test! {
    /// Two producers send one item each into a channel of bound 1, then drop their
    /// Senders; the consumer receives until Err: it gets both items, once each, and stops.
    fn two_producers_one_consumer_get_every_item_once() {
        model(2, || {
            let (tx, rx) = channel(1);
            let producers: Vec<_> = [1, 2]
                .into_iter()
                .map(|item| {
                    let tx = tx.clone();
                    thread::spawn(move || tx.send(item))
                })
                .collect();
            drop(tx);
            let mut got = Vec::new();
            while let Ok(item) = rx.recv() {
                got.push(item);
                assert!(
                    got.len() <= 2,
                    "two items were sent, yet recv() returned {got:?}: an item was \
                     received twice"
                );
            }
            for (i, producer) in producers.into_iter().enumerate() {
                let sent = producer.join().expect("a producer thread panicked");
                assert!(
                    sent.is_ok(),
                    "producer #{i}'s send returned {sent:?} while the Receiver was alive"
                );
            }
            got.sort_unstable();
            assert_eq!(
                got,
                [1, 2],
                "two producers sent 1 and 2 and dropped their Senders; the consumer, \
                 receiving until Err, got {got:?}. Every item must be received exactly \
                 once: {EARLY_END}"
            );
        });
    }
}

hidden_test! {
    /// Two consumers wait on a channel; one item is sent, then the only Sender is
    /// dropped: one consumer gets the item, and both wake up and stop.
    fn close_wakes_every_waiting_consumer() {
        model(2, || {
            let (tx, rx) = channel(1);
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        while let Ok(item) = rx.recv() {
                            got.push(item);
                        }
                        got
                    })
                })
                .collect();
            drop(rx);
            assert!(tx.send(7).is_ok(), "send with two Receivers alive returned Err");
            drop(tx);
            let got: Vec<i32> = consumers
                .into_iter()
                .flat_map(|c| c.join().expect("a consumer thread panicked"))
                .collect();
            assert_eq!(
                got,
                [7],
                "one item was sent to two consumers, then the Sender was dropped; between \
                 them they received {got:?}, expected [7] exactly once. {EARLY_END}"
            );
        });
    }
}

hidden_test! {
    /// A producer sends 2 items into a channel of bound 1; the consumer looks at len()
    /// before each recv: the queue never holds more than 1 item.
    fn queue_never_holds_more_than_its_bound() {
        model(2, || {
            let (tx, rx) = channel(1);
            let producer = thread::spawn(move || {
                for item in 1..=2 {
                    tx.send(item).expect("send while the Receiver is alive");
                }
            });
            for _ in 0..2 {
                let len = rx.len();
                assert!(
                    len <= 1,
                    "a channel of bound 1 held {len} items: send must wait while the \
                     queue is full (in a loop on a condvar), until a receiver takes an item"
                );
                assert!(rx.recv().is_ok(), "{EARLY_END}");
            }
            producer.join().expect("the producer thread panicked");
        });
    }
}

hidden_test! {
    /// Two producers send 1 item each into a channel of bound 1 that already holds one;
    /// the consumer looks at len() before each recv: a sender woken for the free place
    /// must look again (the other may have filled it), so the queue never holds 2.
    fn two_senders_never_overfill_a_bound_of_1() {
        model(3, || {
            let (tx, rx) = channel(1);
            assert!(tx.send(0).is_ok(), "send into an empty channel of bound 1 returned Err");
            let producers: Vec<_> = [1, 2]
                .into_iter()
                .map(|item| {
                    let tx = tx.clone();
                    thread::spawn(move || tx.send(item).is_ok())
                })
                .collect();
            drop(tx);
            let mut got = Vec::new();
            for _ in 0..3 {
                let len = rx.len();
                assert!(
                    len <= 1,
                    "two producers were sending into a channel of bound 1, and it held {len} \
                     items: a sender woken for a free place must look again, in a `while` \
                     loop, since the other sender may have taken the place first"
                );
                match rx.recv() {
                    Ok(item) => got.push(item),
                    Err(_) => panic!("{EARLY_END}"),
                }
            }
            for p in producers {
                assert!(p.join().expect("a producer thread panicked"), "a send returned Err while the Receiver was alive");
            }
            got.sort_unstable();
            assert_eq!(got, [0, 1, 2], "three items were sent; the consumer got {got:?}");
        });
    }
}

hidden_test! {
    /// One producer sends 1 then 2 into a channel of bound 2: they come out 1, then 2.
    fn one_producers_items_arrive_in_order() {
        model(2, || {
            let (tx, rx) = channel(2);
            let producer = thread::spawn(move || {
                for item in 1..=2 {
                    tx.send(item).expect("send while the Receiver is alive");
                }
            });
            let first = rx.recv();
            let second = rx.recv();
            producer.join().expect("the producer thread panicked");
            assert!(first.is_ok() && second.is_ok(), "{EARLY_END}");
            assert!(
                matches!((first, second), (Ok(1), Ok(2))),
                "one producer sent 1 then 2; they were received in the other order: the \
                 channel is a FIFO queue (push at the back, take from the front), so each \
                 producer's items arrive in the order it sent them"
            );
        });
    }
}

hidden_test! {
    /// A sender waits on a full channel of bound 1; the only Receiver is dropped: its
    /// send returns Err with the item instead of waiting forever.
    fn dropping_the_receiver_wakes_a_blocked_sender() {
        model(2, || {
            let (tx, rx) = channel(1);
            assert!(tx.send(1).is_ok(), "send into an empty channel of bound 1 returned Err");
            let sender = thread::spawn(move || tx.send(2));
            drop(rx);
            match sender.join().expect("the sending thread panicked") {
                Err(SendError(2)) => {}
                Ok(()) => panic!(
                    "send(2) into a full channel of bound 1 returned Ok although nobody \
                     ever received: send must wait while the queue is full, and once the \
                     last Receiver is gone give the item back in Err(SendError(item))"
                ),
                Err(SendError(other)) => {
                    panic!("send(2) failed but gave back {other}, not the item it was sent")
                }
            }
        });
    }
}

hidden_test! {
    /// A channel of bound 1 is full; two senders wait in send; the only Receiver is
    /// dropped: both must wake up and get their own items back. (Waking one sender is not
    /// enough, and a sender that looks only at the room, not at the receivers, sleeps on.)
    fn dropping_the_receiver_wakes_both_blocked_senders() {
        model(2, || {
            let (tx, rx) = channel(1);
            assert!(tx.send(0).is_ok(), "send into an empty channel of bound 1 returned Err");
            let senders: Vec<_> = [1, 2]
                .into_iter()
                .map(|item| {
                    let tx = tx.clone();
                    thread::spawn(move || (item, tx.send(item)))
                })
                .collect();
            drop(tx);
            drop(rx);
            for sender in senders {
                match sender.join().expect("a sending thread panicked") {
                    (item, Err(SendError(back))) if back == item => {}
                    (item, Err(SendError(back))) => panic!(
                        "send({item}) failed but gave back {back}, not the item it was sent"
                    ),
                    (item, Ok(())) => panic!(
                        "send({item}) into a full channel of bound 1 returned Ok although \
                         nobody ever received: send waits while the queue is full, and once \
                         the last Receiver is gone gives the item back in \
                         Err(SendError(item))"
                    ),
                }
            }
        });
    }
}

hidden_test! {
    /// A channel of bound 1 is full and a producer waits in send; the consumer takes the
    /// item with try_recv (Python's get_nowait), then waits in recv: the take made room,
    /// so it must wake the producer, whose item the recv then gets.
    fn try_recv_wakes_a_blocked_sender() {
        model(2, || {
            let (tx, rx) = channel(1);
            assert!(tx.send(1).is_ok(), "send into an empty channel of bound 1 returned Err");
            let producer = thread::spawn(move || tx.send(2).is_ok());
            let first = rx.try_recv();
            assert!(
                matches!(first, Ok(1)),
                "try_recv() on a channel holding 1 returned {first:?}, expected Ok(1)"
            );
            let second = rx.recv();
            assert!(
                matches!(second, Ok(2)),
                "a producer was sending 2; recv() returned {second:?}: {EARLY_END}"
            );
            assert!(
                producer.join().expect("the producer thread panicked"),
                "send(2) returned Err while the Receiver was alive"
            );
        });
    }
}

hidden_test! {
    /// run: one producer with 2 items, two consumers, bound 1: between them the
    /// consumers get both items once, each in order, on threads of their own, and run
    /// returns.
    fn run_delivers_every_item_and_returns() {
        model(2, || {
            let caller = thread::current().id();
            let on_caller = Arc::new(AtomicBool::new(false));
            let got = {
                let on_caller = Arc::clone(&on_caller);
                run(vec![vec![1, 2]], 2, 1, move |_: &i32| {
                    if thread::current().id() == caller {
                        on_caller.store(true, Ordering::SeqCst);
                    }
                })
            };
            assert!(
                !on_caller.load(Ordering::SeqCst),
                "consume ran on the thread that called run: every consumer (and every \
                 producer) is a thread of its own, started by run"
            );
            let got = got.expect("run with 2 consumers and bound 1");
            assert_eq!(got.len(), 2, "run with 2 consumers returned {got:?}: one list per consumer");
            let ok = matches!(
                (got[0].as_slice(), got[1].as_slice()),
                ([1, 2], []) | ([], [1, 2]) | ([1], [2]) | ([2], [1])
            );
            assert!(
                ok,
                "run(vec![vec![1, 2]], 2 consumers, bound 1) returned {got:?}: between them \
                 the consumers must get 1 and 2 exactly once, and a consumer that gets both \
                 gets them in the order they were sent. {EARLY_END}"
            );
        });
    }
}
