//! Hidden loom suite of kata `blocking_queue`: every interleaving of producers and
//! consumers around a small queue (capacity 1 or 2, or unbounded), where calls must wait,
//! with two consumers or two producers side by side.
//!
//! The queues live in `std::sync::Arc`s. A thread that waits while nobody will ever wake
//! it (a lost wake-up) makes loom report a "deadlock": every thread is then waiting.
//! Loom has no clock, so a timed wait never times out under it: the models below use
//! timeouts only where the queue changes anyway; giving up is left to the stress suite.
#![cfg(feature = "loom")]

use blocking_queue::{Empty, Full, LifoQueue, PriorityQueue, Queue};
use kata_harness::hidden_test;
use kata_sync::{model, thread};
use std::sync::Arc;
use std::time::Duration;

/// A blocking put without a timeout must succeed.
fn put(q: &Queue<u32>, item: u32, who: &str) {
    let got = q.put(item, true, None);
    assert!(
        got.is_ok(),
        "{who}: put({item:?}, true, None) on a queue of maxsize {} returned {got:?}: a \
         blocking put without a timeout waits until there is room, then puts the item",
        q.maxsize()
    );
}

/// A blocking get without a timeout must return an item.
fn get(q: &Queue<u32>, who: &str) -> u32 {
    match q.get(true, None) {
        Ok(item) => item,
        Err(Empty) => panic!(
            "{who}: get(true, None) returned Err(Empty): a blocking get without a timeout \
             waits until there is an item. (If your get waits, check the queue again after \
             every wake-up, in a `while` loop: another consumer may have taken the item \
             you were woken for.)"
        ),
    }
}

/// What a model's consumers received, sorted, must be exactly what was put.
fn assert_each_once(mut got: Vec<u32>, want: &[u32], setup: &str) {
    got.sort_unstable();
    assert_eq!(
        got, want,
        "{setup}: the consumers received {got:?} (sorted), but exactly {want:?} were put: \
         every item must be delivered exactly once"
    );
}

hidden_test! {
    /// Capacity 1: a producer puts 1, 2, 3 while the main thread gets three times; the
    /// producer waits for room, the consumer for items, and the items come in order.
    fn producer_and_consumer_take_turns_at_capacity_1() {
        model(2, || {
            let q = Arc::new(Queue::new(1));
            let producer = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    for i in 1..=3u32 {
                        put(&q, i, "the producer");
                    }
                })
            };
            let got: Vec<u32> = (0..3).map(|_| get(&q, "the consumer")).collect();
            producer.join().unwrap();
            assert_eq!(
                got,
                [1, 2, 3],
                "one producer put 1, 2, 3 into a Queue of maxsize 1; the consumer got \
                 {got:?}: a FIFO queue hands out every item once, in the order they were put"
            );
            assert!(q.empty(), "empty() after every item was taken");
        });
    }
}

hidden_test! {
    /// Capacity 1, one producer putting 1 and 2, two consumers getting one each: when one
    /// item is taken, the wake-up must reach the waiting producer, not the other waiting
    /// consumer (with one condvar and notify_one it can go to the wrong one).
    fn two_consumers_one_producer_at_capacity_1() {
        model(3, || {
            let q = Arc::new(Queue::new(1));
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || get(&q, "a consumer"))
                })
                .collect();
            put(&q, 1, "the producer");
            put(&q, 2, "the producer");
            let got = consumers.into_iter().map(|c| c.join().unwrap()).collect();
            assert_each_once(got, &[1, 2], "one producer, two consumers, maxsize 1");
            assert!(q.empty(), "empty() after every item was taken");
        });
    }
}

hidden_test! {
    /// Capacity 1, holding 1 already; two producers put 2 and 3 while the main thread gets
    /// three times: when an item is put, the wake-up must reach the waiting consumer, not
    /// the other waiting producer.
    fn two_producers_one_consumer_at_capacity_1() {
        model(3, || {
            let q = Arc::new(Queue::new(1));
            put(&q, 1, "the main thread, before the producers started");
            let producers: Vec<_> = [2u32, 3]
                .into_iter()
                .map(|item| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || put(&q, item, "a producer"))
                })
                .collect();
            let got = (0..3)
                .map(|_| {
                    let size = q.qsize();
                    assert!(
                        size <= 1,
                        "qsize() returned {size} on a Queue of maxsize 1: a put went through \
                         while the queue was full. A producer that is woken must check for \
                         room again, in a `while` loop: another producer may have filled \
                         the free place first"
                    );
                    get(&q, "the consumer")
                })
                .collect();
            for p in producers {
                p.join().unwrap();
            }
            assert_each_once(got, &[1, 2, 3], "two producers, one consumer, maxsize 1");
            assert!(q.empty(), "empty() after every item was taken");
        });
    }
}

hidden_test! {
    /// An unbounded queue, two consumers waiting; the producer puts twice in a row: the
    /// second put lands on a queue that is not empty any more (the first consumer has not
    /// taken its item yet), and must still wake the second consumer.
    fn two_puts_in_a_row_wake_both_waiting_consumers() {
        model(3, || {
            let q = Arc::new(Queue::new(0));
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || get(&q, "a consumer"))
                })
                .collect();
            put(&q, 1, "the producer");
            put(&q, 2, "the producer");
            let got = consumers.into_iter().map(|c| c.join().unwrap()).collect();
            assert_each_once(got, &[1, 2], "one producer, two consumers, unbounded");
        });
    }
}

hidden_test! {
    /// Capacity 2, full, two producers waiting; the consumer gets twice in a row: the
    /// second get takes from a queue that is not full any more (the first producer has not
    /// put its item yet), and must still wake the second producer.
    fn two_gets_in_a_row_wake_both_waiting_producers() {
        model(3, || {
            let q = Arc::new(Queue::new(2));
            put(&q, 10, "the main thread, before the producers started");
            put(&q, 11, "the main thread, before the producers started");
            let producers: Vec<_> = [1u32, 2]
                .into_iter()
                .map(|item| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || put(&q, item, "a producer"))
                })
                .collect();
            let got = (0..4).map(|_| get(&q, "the consumer")).collect();
            for p in producers {
                p.join().unwrap();
            }
            assert_each_once(got, &[1, 2, 10, 11], "two producers, one consumer, maxsize 2");
        });
    }
}

hidden_test! {
    /// Timed calls (with timeouts far longer than the test) wait like blocking ones: a
    /// put to a full queue and a get of an empty one are woken by the other thread.
    fn timed_put_and_get_are_woken() {
        model(2, || {
            let q = Arc::new(Queue::new(1));
            let hour = Some(Duration::from_secs(3600));
            let producer = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    (1..=2u32)
                        .map(|i| q.put(i, true, hour))
                        .collect::<Vec<Result<(), Full<u32>>>>()
                })
            };
            let got: Vec<Result<u32, Empty>> = (0..2).map(|_| q.get(true, hour)).collect();
            let put = producer.join().unwrap();
            assert!(
                put.iter().all(|p| p.is_ok()),
                "put(i, true, Some(1 hour)) for i = 1, 2 into a queue of maxsize 1 returned \
                 {put:?}; the consumer took both items long before the hour was up, so both \
                 puts must succeed"
            );
            assert!(
                matches!(got[..], [Ok(1), Ok(2)]),
                "get(true, Some(1 hour)) twice, while a producer put 1 and 2, returned \
                 {got:?}: a timed get waits for an item (or gives up only once the timeout \
                 has run out)"
            );
        });
    }
}

hidden_test! {
    /// LifoQueue and PriorityQueue block like Queue: a get of an empty one is woken by a
    /// put from another thread, and gets that item.
    fn lifo_and_priority_queues_block_too() {
        model(2, || {
            let lifo = Arc::new(LifoQueue::new(1));
            let prio = Arc::new(PriorityQueue::new(1));
            let producer = {
                let (lifo, prio) = (Arc::clone(&lifo), Arc::clone(&prio));
                thread::spawn(move || (lifo.put(7u32, true, None), prio.put(9u32, true, None)))
            };
            let from_lifo = lifo.get(true, None);
            let from_prio = prio.get(true, None);
            let (put_lifo, put_prio) = producer.join().unwrap();
            assert!(
                put_lifo.is_ok() && put_prio.is_ok(),
                "put(item, true, None) into an empty LifoQueue / PriorityQueue of maxsize 1 \
                 returned {put_lifo:?} / {put_prio:?}"
            );
            assert!(
                matches!((from_lifo, from_prio), (Ok(7), Ok(9))),
                "get(true, None) on an empty LifoQueue and then on an empty PriorityQueue, \
                 while another thread put 7 and 9 into them, returned {from_lifo:?} and \
                 {from_prio:?}: each get must wait for its item"
            );
        });
    }
}
