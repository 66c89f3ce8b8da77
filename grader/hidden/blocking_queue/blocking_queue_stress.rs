//! Hidden stress suite of kata `blocking_queue`: real producers and consumers, hundreds of
//! thousands of items through small queues, and timeouts.
//!
//! Verdicts come from results, never from timing. A queue that waits where it must not (a
//! timeout it ignores) or never wakes a waiter makes its test hang, and the grader's time
//! limit reports it.

use blocking_queue::{BlockingQueue, Empty, Full, LifoQueue, PriorityQueue, Queue, Store};
use kata_harness::hidden_test;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;
use std::time::Duration;

/// An item: (producer, sequence number); `None` tells a consumer to stop.
type Item = Option<(u32, u32)>;

/// What the consumers saw.
struct Outcome {
    /// Per consumer, the items in the order it got them.
    got: Vec<Vec<(u32, u32)>>,
    /// Blocking gets without a timeout that returned Err(Empty).
    empty_gets: usize,
    /// Blocking puts without a timeout that returned Err(Full).
    full_puts: usize,
    /// Times a consumer saw qsize() above maxsize.
    overfull: usize,
}

/// `producers` threads each put `each` items into `q` with blocking puts, while
/// `consumers` threads take them with blocking gets; all start together at a barrier.
/// Once every item has been taken, one `None` per consumer tells it to stop (only then:
/// a LifoQueue or PriorityQueue would hand out a `None` before the items still inside).
fn run<S>(q: BlockingQueue<S>, producers: u32, each: u32, consumers: usize) -> Outcome
where
    S: Store<Item = Item> + Send + 'static,
{
    let q = Arc::new(q);
    let start = Arc::new(Barrier::new(producers as usize + consumers));
    let empty_gets = Arc::new(AtomicUsize::new(0));
    let full_puts = Arc::new(AtomicUsize::new(0));
    let overfull = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(AtomicUsize::new(0));
    let consumer_threads: Vec<_> = (0..consumers)
        .map(|_| {
            let (q, start) = (Arc::clone(&q), Arc::clone(&start));
            let (empty_gets, overfull) = (Arc::clone(&empty_gets), Arc::clone(&overfull));
            let taken = Arc::clone(&taken);
            thread::spawn(move || {
                start.wait();
                let mut got = Vec::new();
                loop {
                    if q.maxsize() > 0 && q.qsize() > q.maxsize() {
                        overfull.fetch_add(1, Ordering::Relaxed);
                    }
                    match q.get(true, None) {
                        Ok(Some(item)) => {
                            got.push(item);
                            taken.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(None) => return got,
                        Err(Empty) => {
                            empty_gets.fetch_add(1, Ordering::Relaxed);
                            thread::yield_now();
                        }
                    }
                }
            })
        })
        .collect();
    let producer_threads: Vec<_> = (0..producers)
        .map(|p| {
            let (q, start, full_puts) =
                (Arc::clone(&q), Arc::clone(&start), Arc::clone(&full_puts));
            thread::spawn(move || {
                start.wait();
                for i in 0..each {
                    let mut item = Some((p, i));
                    while let Err(Full(back)) = q.put(item, true, None) {
                        full_puts.fetch_add(1, Ordering::Relaxed);
                        item = back;
                        thread::yield_now();
                    }
                }
            })
        })
        .collect();
    for p in producer_threads {
        p.join().expect("a producer thread panicked");
    }
    let total = producers as usize * each as usize;
    while taken.load(Ordering::SeqCst) < total {
        // Waiting for the consumers to take the last items (a queue that loses an item
        // waits here until the time limit).
        thread::sleep(Duration::from_millis(1));
    }
    for _ in 0..consumers {
        while q.put(None, true, None).is_err() {
            full_puts.fetch_add(1, Ordering::Relaxed);
            thread::yield_now();
        }
    }
    let got = consumer_threads
        .into_iter()
        .map(|c| c.join().expect("a consumer thread panicked"))
        .collect();
    Outcome {
        got,
        empty_gets: empty_gets.load(Ordering::SeqCst),
        full_puts: full_puts.load(Ordering::SeqCst),
        overfull: overfull.load(Ordering::SeqCst),
    }
}

/// Every item (p, i) for p < producers, i < each was received exactly once.
fn assert_each_once(what: &str, outcome: &Outcome, producers: u32, each: u32) {
    let mut seen = vec![vec![0u32; each as usize]; producers as usize];
    for &(p, i) in outcome.got.iter().flatten() {
        seen[p as usize][i as usize] += 1;
    }
    let lost = seen.iter().flatten().filter(|&&n| n == 0).count();
    let twice = seen.iter().flatten().filter(|&&n| n > 1).count();
    assert!(
        lost == 0 && twice == 0,
        "{what}: {producers} producers put {each} items each; {lost} of them never came out \
         and {twice} came out more than once: every item must be delivered exactly once"
    );
}

fn assert_no_refusals(what: &str, outcome: &Outcome, maxsize: usize) {
    assert!(
        outcome.empty_gets == 0 && outcome.full_puts == 0 && outcome.overfull == 0,
        "{what}: blocking calls without a timeout failed: get(true, None) returned \
         Err(Empty) {} times and put(item, true, None) returned Err(Full) {} times; the \
         consumers saw qsize() above maxsize {maxsize} {} times. A blocking call without a \
         timeout waits until it can go ahead (a put, until the queue has room; a get, until \
         it has an item); after every wake-up it must check again, in a `while` loop, since \
         another thread may have taken the item (or the free place) it was woken for",
        outcome.empty_gets,
        outcome.full_puts,
        outcome.overfull
    );
}

hidden_test! {
    /// Queue of maxsize 2: 4 producers x 25 000 items, 4 consumers. Every item comes out
    /// exactly once, each consumer gets each producer's items in the order they were put,
    /// and no blocking call fails.
    fn four_producers_four_consumers_every_item_once() {
        const PRODUCERS: u32 = 4;
        const EACH: u32 = 25_000;
        let outcome = run(Queue::new(2), PRODUCERS, EACH, 4);
        let what = "Queue::new(2), 4 producers, 4 consumers";
        assert_no_refusals(what, &outcome, 2);
        assert_each_once(what, &outcome, PRODUCERS, EACH);
        for (c, got) in outcome.got.iter().enumerate() {
            let mut last = vec![None; PRODUCERS as usize];
            for &(p, i) in got {
                let before = last[p as usize].replace(i);
                assert!(
                    before < Some(i),
                    "{what}: consumer {c} got item {i} of producer {p} after item {} of the \
                     same producer: a FIFO queue hands out each producer's items in the order \
                     they were put",
                    before.unwrap_or_default()
                );
            }
        }
    }
}

hidden_test! {
    /// Queue of maxsize 1: 3 producers x 30 000 items, 3 consumers, every call waiting for
    /// another: every item exactly once, no blocking call fails, never more than 1 inside.
    fn capacity_1_with_three_producers_and_consumers() {
        const PRODUCERS: u32 = 3;
        const EACH: u32 = 30_000;
        let outcome = run(Queue::new(1), PRODUCERS, EACH, 3);
        let what = "Queue::new(1), 3 producers, 3 consumers";
        assert_no_refusals(what, &outcome, 1);
        assert_each_once(what, &outcome, PRODUCERS, EACH);
    }
}

hidden_test! {
    /// LifoQueue and PriorityQueue of maxsize 2, 4 producers x 15 000 items, 4 consumers:
    /// every item exactly once, no blocking call fails.
    fn lifo_and_priority_queues_deliver_every_item_once() {
        const PRODUCERS: u32 = 4;
        const EACH: u32 = 15_000;
        let outcome = run(LifoQueue::new(2), PRODUCERS, EACH, 4);
        let what = "LifoQueue::new(2), 4 producers, 4 consumers";
        assert_no_refusals(what, &outcome, 2);
        assert_each_once(what, &outcome, PRODUCERS, EACH);
        let outcome = run(PriorityQueue::new(2), PRODUCERS, EACH, 4);
        let what = "PriorityQueue::new(2), 4 producers, 4 consumers";
        assert_no_refusals(what, &outcome, 2);
        assert_each_once(what, &outcome, PRODUCERS, EACH);
    }
}

hidden_test! {
    /// A timed get of an empty queue gives up with Err(Empty) (a timeout that is ignored
    /// waits here forever); then, 20 times, a timed get waits for an item that another
    /// thread puts a little later, and gets it.
    fn timed_get_gives_up_then_takes_a_later_item() {
        let q: Arc<Queue<u32>> = Arc::new(Queue::new(1));
        for ms in [0, 1, 20] {
            let got = q.get(true, Some(Duration::from_millis(ms)));
            assert_eq!(
                got,
                Err(Empty),
                "get(true, Some({ms} ms)) of an empty queue that nobody puts into must give \
                 up after the timeout with Err(Empty)"
            );
        }
        for round in 0..20u32 {
            let (ready, go) = mpsc::channel();
            let producer = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    go.recv().unwrap();
                    // Only a chance for the get to be waiting already, never a verdict.
                    thread::sleep(Duration::from_millis(5));
                    q.put(round, true, None)
                })
            };
            ready.send(()).unwrap();
            let got = q.get(true, Some(Duration::from_secs(3600)));
            assert_eq!(
                got,
                Ok(round),
                "round {round}: get(true, Some(1 hour)) of an empty queue, while another \
                 thread puts {round} a few milliseconds later: a timed get waits for the item \
                 (up to its timeout) and returns it"
            );
            assert_eq!(producer.join().unwrap(), Ok(()), "round {round}: the producer's put");
        }
    }
}

hidden_test! {
    /// A timed put to a full queue gives up and gives the item back (a timeout that is
    /// ignored waits here forever); then, 20 times, a timed put waits for room that
    /// another thread makes a little later, and puts its item.
    fn timed_put_gives_up_then_puts_once_there_is_room() {
        let q: Arc<Queue<u32>> = Arc::new(Queue::new(1));
        assert_eq!(q.put_nowait(1000), Ok(()), "put_nowait into an empty Queue::new(1)");
        for ms in [0, 1, 20] {
            let got = q.put(ms, true, Some(Duration::from_millis(u64::from(ms))));
            assert_eq!(
                got,
                Err(Full(ms)),
                "put({ms}, true, Some({ms} ms)) to a full queue that nobody takes from must \
                 give up after the timeout with Err(Full({ms})), giving the item back"
            );
        }
        assert_eq!(q.qsize(), 1, "qsize() of a Queue::new(1) after refused puts");
        for round in 0..20u32 {
            let (ready, go) = mpsc::channel();
            let consumer = {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    go.recv().unwrap();
                    // Only a chance for the put to be waiting already, never a verdict.
                    thread::sleep(Duration::from_millis(5));
                    q.get(true, None)
                })
            };
            ready.send(()).unwrap();
            let put = q.put(round, true, Some(Duration::from_secs(3600)));
            assert_eq!(
                put,
                Ok(()),
                "round {round}: put({round}, true, Some(1 hour)) to a full queue, while another \
                 thread takes an item a few milliseconds later: a timed put waits for room \
                 (up to its timeout) and then puts the item"
            );
            let want = if round == 0 { 1000 } else { round - 1 };
            assert_eq!(
                consumer.join().unwrap(),
                Ok(want),
                "round {round}: the consumer's get(true, None) of the full queue"
            );
        }
        assert_eq!(q.get_nowait(), Ok(19), "get_nowait() of the last item put");
    }
}
