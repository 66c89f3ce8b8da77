//! Hidden stress suite of kata `blocking_queue`: real producers and consumers, hundreds of
//! thousands of items through small queues, and timeouts.
//!
//! Verdicts come from results, never from speed. A queue that waits where it must not (a
//! timeout it ignores) or never wakes a waiter makes its test hang, and the grader's time
//! limit reports it. Timeouts are checked by causality, on the test's own clock: a timed
//! call must not give up before its timeout has passed since the call, and must give up
//! while the traffic that keeps waking it in vain is still going (8 s of it, twenty times
//! the 400 ms timeout). Stores of the test's own (the trait is public) make every wake-up
//! a wake-up in vain, without racing threads. Results are read by pattern, never through
//! the kata's own `PartialEq`.
//!
//! Every test turns on the facade's chaos (`kata_sync::chaos`) first: lock holders and
//! waiters dawdle, and a woken waiter now and then lets a thread already waiting for the
//! lock have it first. The many-item tests run in rounds, each ending with consumers
//! asleep on an empty queue and stop items put back to back, where a lost wake-up stays
//! lost; so such a bug fails them on every run (`scripts/catch-matrix.sh` measures it).

use blocking_queue::{BlockingQueue, Empty, Full, LifoQueue, PriorityQueue, Queue, Store};
use kata_harness::hidden_test;
use kata_testkit::threads::{panic_message, within, UntilAsleep};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use kata_sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use kata_sync::thread;
use std::time::{Duration, Instant};

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
    /// Queue of maxsize 2, 20 rounds of 4 producers x 1 250 items and 4 consumers. Every
    /// item comes out exactly once, each consumer gets each producer's items in the order
    /// they were put, and no blocking call fails. (Rounds, not one long run: a lost
    /// wake-up mends itself while items keep coming, and stays lost only at a round's end.)
    fn four_producers_four_consumers_every_item_once() {
        kata_sync::chaos::enable();
        const PRODUCERS: u32 = 4;
        const EACH: u32 = 1_250;
        for round in 0..20 {
            let outcome = run(Queue::new(2), PRODUCERS, EACH, 4);
            let what = format!("round {round}: Queue::new(2), 4 producers, 4 consumers");
            assert_no_refusals(&what, &outcome, 2);
            assert_each_once(&what, &outcome, PRODUCERS, EACH);
            for (c, got) in outcome.got.iter().enumerate() {
                let mut last = vec![None; PRODUCERS as usize];
                for &(p, i) in got {
                    let before = last[p as usize].replace(i);
                    assert!(
                        before < Some(i),
                        "{what}: consumer {c} got item {i} of producer {p} after item {} of \
                         the same producer: a FIFO queue hands out each producer's items in \
                         the order they were put",
                        before.unwrap_or_default()
                    );
                }
            }
        }
    }
}

hidden_test! {
    /// Queue of maxsize 1: 3 producers x 30 000 items, 3 consumers, every call waiting for
    /// another: every item exactly once, no blocking call fails, never more than 1 inside.
    fn capacity_1_with_three_producers_and_consumers() {
        kata_sync::chaos::enable();
        const PRODUCERS: u32 = 3;
        const EACH: u32 = 30_000;
        let outcome = run(Queue::new(1), PRODUCERS, EACH, 3);
        let what = "Queue::new(1), 3 producers, 3 consumers";
        assert_no_refusals(what, &outcome, 1);
        assert_each_once(what, &outcome, PRODUCERS, EACH);
    }
}

hidden_test! {
    /// LifoQueue and PriorityQueue of maxsize 2, 10 rounds each of 4 producers x 1 500
    /// items and 4 consumers: every item exactly once, no blocking call fails.
    fn lifo_and_priority_queues_deliver_every_item_once() {
        kata_sync::chaos::enable();
        const PRODUCERS: u32 = 4;
        const EACH: u32 = 1_500;
        for round in 0..10 {
            let outcome = run(LifoQueue::new(2), PRODUCERS, EACH, 4);
            let what = format!("round {round}: LifoQueue::new(2), 4 producers, 4 consumers");
            assert_no_refusals(&what, &outcome, 2);
            assert_each_once(&what, &outcome, PRODUCERS, EACH);
            let outcome = run(PriorityQueue::new(2), PRODUCERS, EACH, 4);
            let what = format!("round {round}: PriorityQueue::new(2), 4 producers, 4 consumers");
            assert_no_refusals(&what, &outcome, 2);
            assert_each_once(&what, &outcome, PRODUCERS, EACH);
        }
    }
}

hidden_test! {
    /// A timed get of an empty queue gives up with Err(Empty) (a timeout that is ignored
    /// waits here forever); then, 20 times, a timed get waits for an item that another
    /// thread puts a little later, and gets it.
    fn timed_get_gives_up_then_takes_a_later_item() {
        kata_sync::chaos::enable();
        let q: Arc<Queue<u32>> = Arc::new(Queue::new(1));
        for ms in [0, 1, 20] {
            let got = q.get(true, Some(Duration::from_millis(ms)));
            assert!(
                matches!(got, Err(Empty)),
                "get(true, Some({ms} ms)) of an empty queue that nobody puts into returned \
                 {got:?}: it must give up after the timeout with Err(Empty)"
            );
        }
        let until_asleep = Arc::new(Mutex::new(UntilAsleep::new()));
        for round in 0..20u32 {
            let (ready, go) = mpsc::channel();
            let producer = {
                let (q, until_asleep) = (Arc::clone(&q), Arc::clone(&until_asleep));
                thread::spawn(move || {
                    let getter = go.recv().unwrap();
                    // Until the get is asleep waiting (a correct queue passes either way).
                    until_asleep.lock().unwrap().these(&[getter]);
                    q.put(round, true, None)
                })
            };
            ready.send(kata_sync::hang::tid()).unwrap();
            let got = q.get(true, Some(Duration::from_secs(3600)));
            assert!(
                matches!(got, Ok(r) if r == round),
                "round {round}: get(true, Some(1 hour)) of an empty queue, while another \
                 thread puts {round} a few milliseconds later, returned {got:?}: a timed get \
                 waits for the item (up to its timeout) and returns it"
            );
            let put = producer.join().unwrap();
            assert!(put.is_ok(), "round {round}: the producer's put(round, true, None) returned {put:?}");
        }
    }
}

hidden_test! {
    /// A timed put to a full queue gives up and gives the item back (a timeout that is
    /// ignored waits here forever); then, 20 times, a timed put waits for room that
    /// another thread makes a little later, and puts its item.
    fn timed_put_gives_up_then_puts_once_there_is_room() {
        kata_sync::chaos::enable();
        let q: Arc<Queue<u32>> = Arc::new(Queue::new(1));
        let put = q.put_nowait(1000);
        assert!(put.is_ok(), "put_nowait into an empty Queue::new(1) returned {put:?}");
        for ms in [0, 1, 20] {
            let got = q.put(ms, true, Some(Duration::from_millis(u64::from(ms))));
            assert!(
                matches!(got, Err(Full(back)) if back == ms),
                "put({ms}, true, Some({ms} ms)) to a full queue that nobody takes from \
                 returned {got:?}: it must give up after the timeout with Err(Full({ms})), \
                 giving the item back"
            );
        }
        assert_eq!(q.qsize(), 1, "qsize() of a Queue::new(1) after refused puts");
        let until_asleep = Arc::new(Mutex::new(UntilAsleep::new()));
        for round in 0..20u32 {
            let (ready, go) = mpsc::channel();
            let consumer = {
                let (q, until_asleep) = (Arc::clone(&q), Arc::clone(&until_asleep));
                thread::spawn(move || {
                    let putter = go.recv().unwrap();
                    // Until the put is asleep waiting (a correct queue passes either way).
                    until_asleep.lock().unwrap().these(&[putter]);
                    q.get(true, None)
                })
            };
            ready.send(kata_sync::hang::tid()).unwrap();
            let put = q.put(round, true, Some(Duration::from_secs(3600)));
            assert!(
                put.is_ok(),
                "round {round}: put({round}, true, Some(1 hour)) to a full queue, while another \
                 thread takes an item a few milliseconds later, returned {put:?}: a timed put \
                 waits for room (up to its timeout) and then puts the item"
            );
            let want = if round == 0 { 1000 } else { round - 1 };
            let got = consumer.join().unwrap();
            assert!(
                matches!(got, Ok(item) if item == want),
                "round {round}: the consumer's get(true, None) of the full queue returned \
                 {got:?}, expected Ok({want})"
            );
        }
        let last = q.get_nowait();
        assert!(matches!(last, Ok(19)), "get_nowait() of the last item put returned {last:?}, expected Ok(19)");
    }
}

/// A store that refills itself: every pop hands out the oldest item and puts a fresh one at
/// the back, so a queue of this store that was full stays full however many items are
/// taken. Each `get` still tells the queue that an item was taken, and wakes a waiting
/// putter, who finds the queue full again: a wake-up in vain, every time.
#[derive(Default)]
struct Conveyor {
    items: VecDeque<u64>,
    next: u64,
}

impl Store for Conveyor {
    type Item = u64;
    fn push(&mut self, item: u64) {
        self.items.push_back(item);
    }
    fn pop(&mut self) -> Option<u64> {
        let item = self.items.pop_front()?;
        self.next += 1;
        self.items.push_back(1_000_000 + self.next);
        Some(item)
    }
    fn len(&self) -> usize {
        self.items.len()
    }
}

/// A store that keeps only even items and throws odd ones away: a put of an odd item
/// wakes a waiting getter, who finds the queue as empty as before.
#[derive(Default)]
struct EvenOnly(VecDeque<u64>);

impl Store for EvenOnly {
    type Item = u64;
    fn push(&mut self, item: u64) {
        if item % 2 == 0 {
            self.0.push_back(item);
        }
    }
    fn pop(&mut self) -> Option<u64> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The timeout of the timed calls woken in vain, and how long their traffic goes on at
/// most: far longer than the timeout, so that only a wait that started again after a
/// wake-up is still waiting when the traffic ends.
const IN_VAIN_TIMEOUT: Duration = Duration::from_millis(400);
const TRAFFIC_LIMIT: Duration = Duration::from_secs(8);

/// Runs `traffic` on a helper thread every millisecond or so until `timed_call` (on this
/// thread) returns, or until TRAFFIC_LIMIT has passed. Returns what the call returned,
/// how long it took, how many times the traffic ran before it returned, and whether the
/// traffic was still going when it returned.
fn with_traffic<T>(
    traffic: impl Fn() + Send + 'static,
    timed_call: impl FnOnce() -> T,
) -> (T, Duration, usize, bool) {
    let done = Arc::new(AtomicBool::new(false));
    let runs = Arc::new(AtomicUsize::new(0));
    let gave_out = Arc::new(AtomicBool::new(false));
    let helper = {
        let (done, runs, gave_out) = (Arc::clone(&done), Arc::clone(&runs), Arc::clone(&gave_out));
        thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::SeqCst) {
                if start.elapsed() > TRAFFIC_LIMIT {
                    gave_out.store(true, Ordering::SeqCst);
                    return;
                }
                traffic();
                runs.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let start = Instant::now();
    let got = timed_call();
    let took = start.elapsed();
    let still_going = !gave_out.load(Ordering::SeqCst);
    let runs_before = runs.load(Ordering::SeqCst);
    done.store(true, Ordering::SeqCst);
    helper.join().expect("the traffic thread panicked");
    (got, took, runs_before, still_going)
}

hidden_test! {
    /// A full queue of a store that refills itself: a timed put waits while another
    /// thread takes an item every millisecond, each take waking it in vain (the queue is
    /// full again). It must give up with its item after its timeout: not before (a
    /// wake-up is not the end of the wait), and while the takes still go on (a wake-up
    /// does not start the timeout again).
    fn a_timed_put_woken_in_vain_gives_up_on_time() {
        kata_sync::chaos::enable();
        let q: Arc<BlockingQueue<Conveyor>> = Arc::new(BlockingQueue::new(1));
        let first = q.put(1, false, None);
        assert!(first.is_ok(), "put(1, false, None) into an empty queue of maxsize 1 returned {first:?}");
        for round in 0..3u64 {
            let item = 500 + round;
            let taker = Arc::clone(&q);
            let (got, took, takes, still_going) = with_traffic(
                move || {
                    let _ = taker.get(false, None);
                },
                || q.put(item, true, Some(IN_VAIN_TIMEOUT)),
            );
            let what = format!(
                "round {round}: put({item}, true, Some(400 ms)) on a full queue of maxsize 1, \
                 while another thread took an item every millisecond or so and the queue \
                 was full again each time (its store refills itself)"
            );
            match got {
                Ok(()) => panic!(
                    "{what}, returned Ok(()): the queue never had room (its store's len() \
                     was always 1); a put waits while store.len() >= maxsize"
                ),
                Err(Full(back)) => assert!(
                    back == item,
                    "{what}, gave back {back} in Err(Full(..)), not the item it was given"
                ),
            }
            assert!(
                took >= IN_VAIN_TIMEOUT,
                "{what}, gave up after {took:?}, before its timeout had run out ({takes} \
                 takes had woken it): a wake-up that finds the queue still full is no reason \
                 to give up; wait again, for what is left of the timeout"
            );
            assert!(
                still_going,
                "{what}, was still waiting after {:?} of takes, although its timeout was 400 \
                 ms: does each wake-up start the whole timeout again? Compute the deadline \
                 once, when the call starts, and wait only for what is left of it",
                TRAFFIC_LIMIT
            );
        }
    }
}

hidden_test! {
    /// An empty queue of a store that throws odd items away: a timed get waits while
    /// another thread puts an odd item every millisecond, each put waking it in vain (the
    /// queue is still empty). It must give up after its timeout: not before, and while the
    /// puts still go on. Then an even item comes through.
    fn a_timed_get_woken_in_vain_gives_up_on_time() {
        kata_sync::chaos::enable();
        let q: Arc<BlockingQueue<EvenOnly>> = Arc::new(BlockingQueue::new(0));
        for round in 0..3u64 {
            let putter = Arc::clone(&q);
            let (got, took, puts, still_going) = with_traffic(
                move || {
                    let _ = putter.put(2 * round + 1, false, None);
                },
                || q.get(true, Some(IN_VAIN_TIMEOUT)),
            );
            let what = format!(
                "round {round}: get(true, Some(400 ms)) on an empty unbounded queue, while \
                 another thread put an item every millisecond or so that its store threw \
                 away (the queue stayed empty)"
            );
            match got {
                Ok(item) => panic!(
                    "{what}, returned Ok({item}): its store never held an item (its len() \
                     was always 0); a get waits while the store is empty"
                ),
                Err(Empty) => {}
            }
            assert!(
                took >= IN_VAIN_TIMEOUT,
                "{what}, gave up after {took:?}, before its timeout had run out ({puts} puts \
                 had woken it): a wake-up that finds the queue still empty is no reason to \
                 give up; wait again, for what is left of the timeout"
            );
            assert!(
                still_going,
                "{what}, was still waiting after {:?} of puts, although its timeout was 400 \
                 ms: does each wake-up start the whole timeout again? Compute the deadline \
                 once, when the call starts, and wait only for what is left of it",
                TRAFFIC_LIMIT
            );
        }
        let put = q.put(8, false, None);
        assert!(put.is_ok(), "put(8, false, None) into an unbounded queue returned {put:?}");
        let got = q.get(true, Some(IN_VAIN_TIMEOUT));
        assert!(
            matches!(got, Ok(8)),
            "get(true, Some(400 ms)) of a queue holding 8 returned {got:?}, expected Ok(8)"
        );
    }
}

hidden_test! {
    /// With block == false the timeout is ignored: put(x, false, Some(1 hour)) on a full
    /// queue and get(false, Some(1 hour)) on an empty one answer at once, Full and Empty.
    fn a_non_blocking_call_ignores_its_timeout() {
        kata_sync::chaos::enable();
        let hour = Some(Duration::from_secs(3600));
        let answers = within(Duration::from_secs(10), move || {
            let q: Queue<u32> = Queue::new(1);
            let first = q.put(1, false, hour);
            let refused = q.put(2, false, hour);
            let taken = q.get(false, hour);
            let empty = q.get(false, hour);
            (first, refused, taken, empty)
        });
        let Some((first, refused, taken, empty)) = answers else {
            panic!(
                "put(x, false, Some(1 hour)) on a full Queue::new(1), or get(false, Some(1 \
                 hour)) on an empty one, had not returned 10 s later: with block == false a \
                 call never waits, and the timeout is ignored"
            );
        };
        assert!(
            first.is_ok(),
            "put(1, false, Some(1 hour)) into an empty Queue::new(1) returned {first:?}"
        );
        assert!(
            matches!(refused, Err(Full(2))),
            "put(2, false, Some(1 hour)) on a full Queue::new(1) returned {refused:?}: with \
             block == false it gives the item back at once, Err(Full(2))"
        );
        assert!(matches!(taken, Ok(1)), "get(false, Some(1 hour)) of a queue holding 1 returned {taken:?}");
        assert!(
            matches!(empty, Err(Empty)),
            "get(false, Some(1 hour)) on an empty queue returned {empty:?}: with block == \
             false it says Err(Empty) at once"
        );
    }
}

hidden_test! {
    /// A timeout too long to add to the clock (Duration::MAX) waits like no timeout: a
    /// timed get of an empty queue gets the item another thread puts later, and a timed
    /// put to a full queue puts its item once another thread takes one; neither panics.
    fn a_huge_timeout_waits_like_no_timeout() {
        kata_sync::chaos::enable();
        let forever = Some(Duration::MAX);
        let q: Arc<Queue<u32>> = Arc::new(Queue::new(1));
        let mut until_asleep = UntilAsleep::new();
        let (tid_tx, tid_rx) = mpsc::channel();
        let getter = {
            let (q, tid_tx) = (Arc::clone(&q), tid_tx.clone());
            thread::spawn(move || {
                tid_tx.send(kata_sync::hang::tid()).unwrap();
                q.get(true, forever)
            })
        };
        // Until the get is asleep waiting (a correct queue passes either way).
        until_asleep.these(&[tid_rx.recv().unwrap()]);
        let put = q.put(5, true, None);
        assert!(put.is_ok(), "put(5, true, None) into an empty Queue::new(1) returned {put:?}");
        match getter.join() {
            Ok(got) => assert!(
                matches!(got, Ok(5)),
                "get(true, Some(Duration::MAX)) of an empty queue, while another thread put \
                 5, returned {got:?}: a timeout too long to represent waits like no timeout"
            ),
            Err(payload) => panic!(
                "get(true, Some(Duration::MAX)) panicked: {}. A timeout too long to add to \
                 the clock (Instant::now() + Duration::MAX overflows) waits like no timeout: \
                 use Instant::now().checked_add(timeout), and wait without a deadline when \
                 it gives None",
                panic_message(payload.as_ref())
            ),
        }
        let put = q.put(6, true, None);
        assert!(put.is_ok(), "put(6, true, None) into an empty Queue::new(1) returned {put:?}");
        let putter = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                tid_tx.send(kata_sync::hang::tid()).unwrap();
                q.put(7, true, forever)
            })
        };
        until_asleep.these(&[tid_rx.recv().unwrap()]);
        let got = q.get(true, None);
        assert!(matches!(got, Ok(6)), "get(true, None) of a queue holding 6 returned {got:?}");
        match putter.join() {
            Ok(put) => assert!(
                put.is_ok(),
                "put(7, true, Some(Duration::MAX)) on a full queue, while another thread took \
                 an item, returned {put:?}: a timeout too long to represent waits like no \
                 timeout"
            ),
            Err(payload) => panic!(
                "put(7, true, Some(Duration::MAX)) panicked: {}. A timeout too long to add \
                 to the clock waits like no timeout",
                panic_message(payload.as_ref())
            ),
        }
        let got = q.get(false, None);
        assert!(matches!(got, Ok(7)), "get(false, None) after put(7, ..) returned {got:?}");
    }
}
