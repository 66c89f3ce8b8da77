//! Hidden stress suite of kata `producer_consumer`: real threads, a hundred thousand
//! items, hundreds of pipelines, and crossbeam's bounded channel as the reference.
//!
//! Verdicts come from results, never from timing. Where a bug needs an unlucky moment
//! (a full queue at the instant the channel closes, consumers asleep when the last
//! Sender goes), a test makes that moment happen over and over: slow consumers keep the
//! queue full, slow producers keep the consumers waiting, and the rounds repeat it
//! hundreds of times. Every test turns on the facade's chaos (`kata_sync::chaos`) first:
//! lock holders dawdle, and a woken waiter now and then lets a thread already waiting for
//! the lock have it first, as on any scheduler; so a bug that needs an unlucky moment
//! fails its test on every run, not by luck (`scripts/catch-matrix.sh` measures it).

use crossbeam::channel as reference;
use kata_harness::hidden_test;
use kata_testkit::threads::{panic_message, within, UntilAsleep};
use producer_consumer::{
    channel, run, Receiver, RecvError, RunError, SendError, Sender, TryRecvError, TrySendError,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use kata_sync::thread;

const EARLY_END: &str = "recv() returned Err(RecvError) before every item had arrived: recv \
    may return Err only once every Sender is gone AND every queued item has been received \
    (the queue is drained first)";

/// A small deterministic generator (xorshift64*), so every run makes the same scripts.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as usize % n
    }
}

/// What one operation gave, in terms both channels share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Full(u32),
    Disconnected(u32),
    Got(u32),
    Empty,
    Closed,
    Len(usize),
}

fn ours_try_send(tx: &Sender<u32>, item: u32) -> Outcome {
    match tx.try_send(item) {
        Ok(()) => Outcome::Ok,
        Err(TrySendError::Full(x)) => Outcome::Full(x),
        Err(TrySendError::Disconnected(x)) => Outcome::Disconnected(x),
    }
}

fn theirs_try_send(tx: &reference::Sender<u32>, item: u32) -> Outcome {
    match tx.try_send(item) {
        Ok(()) => Outcome::Ok,
        Err(reference::TrySendError::Full(x)) => Outcome::Full(x),
        Err(reference::TrySendError::Disconnected(x)) => Outcome::Disconnected(x),
    }
}

fn ours_try_recv(rx: &Receiver<u32>) -> Outcome {
    match rx.try_recv() {
        Ok(x) => Outcome::Got(x),
        Err(TryRecvError::Empty) => Outcome::Empty,
        Err(TryRecvError::Disconnected) => Outcome::Closed,
    }
}

fn theirs_try_recv(rx: &reference::Receiver<u32>) -> Outcome {
    match rx.try_recv() {
        Ok(x) => Outcome::Got(x),
        Err(reference::TryRecvError::Empty) => Outcome::Empty,
        Err(reference::TryRecvError::Disconnected) => Outcome::Closed,
    }
}

/// One random script of sends, receives, clones, drops and len() on both channels side
/// by side. Blocking calls are made only when crossbeam's channel would not block.
/// Returns the script so far and the first difference, if any.
fn compare_one_script(rng: &mut Rng) -> Option<(Vec<String>, String)> {
    let bound = 1 + rng.below(3);
    let (tx, rx) = channel::<u32>(bound);
    let (ctx, crx) = reference::bounded::<u32>(bound);
    let mut senders = vec![(tx, ctx)];
    let mut receivers = vec![(rx, crx)];
    let mut script = vec![format!("let (tx0, rx0) = channel({bound});")];
    let (mut next_item, mut next_tx, mut next_rx) = (1u32, 1, 1);
    let mut tx_names = vec![0];
    let mut rx_names = vec![0];
    for _ in 0..40 {
        if senders.is_empty() && receivers.is_empty() {
            break;
        }
        let op = rng.below(12);
        let (call, ours, theirs) = match op {
            // try_send / send on a random live Sender.
            0..=3 if !senders.is_empty() => {
                let i = rng.below(senders.len());
                let (tx, ctx) = &senders[i];
                let item = next_item;
                next_item += 1;
                let name = tx_names[i];
                let would_block = !receivers.is_empty() && ctx.len() == bound;
                if op == 0 && !would_block {
                    let ours = match tx.send(item) {
                        Ok(()) => Outcome::Ok,
                        Err(SendError(x)) => Outcome::Disconnected(x),
                    };
                    let theirs = match ctx.send(item) {
                        Ok(()) => Outcome::Ok,
                        Err(reference::SendError(x)) => Outcome::Disconnected(x),
                    };
                    (format!("tx{name}.send({item})"), ours, theirs)
                } else {
                    (
                        format!("tx{name}.try_send({item})"),
                        ours_try_send(tx, item),
                        theirs_try_send(ctx, item),
                    )
                }
            }
            // try_recv / recv on a random live Receiver.
            4..=7 if !receivers.is_empty() => {
                let i = rng.below(receivers.len());
                let (rx, crx) = &receivers[i];
                let name = rx_names[i];
                let would_block = !senders.is_empty() && crx.is_empty();
                if op == 4 && !would_block {
                    let ours = match rx.recv() {
                        Ok(x) => Outcome::Got(x),
                        Err(_) => Outcome::Closed,
                    };
                    let theirs = match crx.recv() {
                        Ok(x) => Outcome::Got(x),
                        Err(_) => Outcome::Closed,
                    };
                    (format!("rx{name}.recv()"), ours, theirs)
                } else {
                    (
                        format!("rx{name}.try_recv()"),
                        ours_try_recv(rx),
                        theirs_try_recv(crx),
                    )
                }
            }
            // Clone a Sender or a Receiver.
            8 if !senders.is_empty() => {
                let i = rng.below(senders.len());
                let (tx, ctx) = &senders[i];
                let pair = (tx.clone(), ctx.clone());
                script.push(format!("let tx{next_tx} = tx{}.clone();", tx_names[i]));
                senders.push(pair);
                tx_names.push(next_tx);
                next_tx += 1;
                continue;
            }
            9 if !receivers.is_empty() => {
                let i = rng.below(receivers.len());
                let (rx, crx) = &receivers[i];
                let pair = (rx.clone(), crx.clone());
                script.push(format!("let rx{next_rx} = rx{}.clone();", rx_names[i]));
                receivers.push(pair);
                rx_names.push(next_rx);
                next_rx += 1;
                continue;
            }
            // Drop a Sender or a Receiver.
            10 => {
                if rng.below(2) == 0 && !senders.is_empty() {
                    let i = rng.below(senders.len());
                    drop(senders.remove(i));
                    script.push(format!("drop(tx{});", tx_names.remove(i)));
                } else if !receivers.is_empty() {
                    let i = rng.below(receivers.len());
                    drop(receivers.remove(i));
                    script.push(format!("drop(rx{});", rx_names.remove(i)));
                }
                continue;
            }
            // len() on any live handle.
            11 => {
                if let Some((rx, crx)) = receivers.first() {
                    (
                        format!("rx{}.len()", rx_names[0]),
                        Outcome::Len(rx.len()),
                        Outcome::Len(crx.len()),
                    )
                } else if let Some((tx, ctx)) = senders.first() {
                    (
                        format!("tx{}.len()", tx_names[0]),
                        Outcome::Len(tx.len()),
                        Outcome::Len(ctx.len()),
                    )
                } else {
                    continue;
                }
            }
            _ => continue,
        };
        script.push(format!("{call}  // {ours:?}"));
        if ours != theirs {
            return Some((
                script,
                format!("{call} gave {ours:?}, but crossbeam's bounded channel gives {theirs:?}"),
            ));
        }
    }
    None
}

hidden_test! {
    /// 3 000 random single-threaded scripts (bounds 1 to 3; send, try_send, recv,
    /// try_recv, len, clone and drop of both ends), run on the kata's channel and on
    /// crossbeam's `bounded` channel side by side: every call gives the same result.
    fn behaves_like_crossbeam_bounded_channel() {
        kata_sync::chaos::enable();
        let mut rng = Rng(0x5EED_CAFE_F00D_1234);
        for n in 0..3000 {
            if let Some((script, difference)) = compare_one_script(&mut rng) {
                panic!(
                    "script #{n} (each call with the kata's result):\n    {}\n{difference}.\n\
                     The channel must behave like crossbeam::channel::bounded: a FIFO queue \
                     of at most `bound` items (Full when it holds that many); \
                     Disconnected(item) / Err(SendError(item)) once every Receiver is gone; \
                     items sent before the last Sender went are still received, and only \
                     then Disconnected / Err(RecvError)",
                    script.join("\n    ")
                );
            }
        }
    }
}

/// Spins a little, without sleeping: a slow consumer or producer.
fn dawdle(spins: usize) {
    for _ in 0..spins {
        std::hint::spin_loop();
    }
    thread::yield_now();
}

/// Every item was received and every Sender is gone: try_recv must say Disconnected.
#[track_caller]
fn assert_closed<T: std::fmt::Debug>(rx: &Receiver<T>) {
    let last = rx.try_recv();
    assert!(
        matches!(last, Err(TryRecvError::Disconnected)),
        "every item was received and every Sender is gone: the channel is closed, and \
         try_recv() must say Err(Disconnected) (not Empty: nothing can ever come again); \
         it said {last:?}"
    );
}

/// Starts `n` producer threads, the `i`-th running `make(i)`, which returns its Sender
/// once it has sent everything; the thread drops that Sender only once the consumer drops
/// the returned handle (when it has received every item), so the channel closes only
/// then. (The threads wait on the facade's channel, which the hang watch sees.)
fn hold_senders_until_received<T, B, F>(
    n: usize,
    mut make: B,
) -> (Vec<thread::JoinHandle<()>>, Vec<kata_sync::mpsc::Sender<()>>)
where
    T: Send + 'static,
    B: FnMut(usize) -> F,
    F: FnOnce() -> Sender<T> + Send + 'static,
{
    (0..n)
        .map(|i| {
            let body = make(i);
            let (release, released) = kata_sync::mpsc::channel::<()>();
            let handle = thread::spawn(move || {
                let tx = body();
                let _ = released.recv();
                drop(tx);
            });
            (handle, release)
        })
        .unzip()
}

/// 4 producers x 1 000 items into a channel of bound `bound`, one slow consumer: returns
/// the largest len() seen from either side. Every item must arrive. The producers keep
/// their Senders until the consumer has every item (the channel closes only then): this
/// test is about the bound, and a consumer woken just as the channel closes is
/// `run_stops_every_consumer_and_loses_nothing`'s to catch, on every run rather than by
/// luck here.
fn most_ever_queued(bound: usize) -> usize {
    const PRODUCERS: usize = 4;
    const EACH: usize = 1_000;
    let (tx, rx) = channel(bound);
    let most = Arc::new(AtomicUsize::new(0));
    let start = Arc::new(Barrier::new(PRODUCERS + 1));
    let (producers, received) = hold_senders_until_received(PRODUCERS, |_| {
        let (tx, most, start) = (tx.clone(), Arc::clone(&most), Arc::clone(&start));
        move || {
            start.wait();
            for i in 0..EACH {
                tx.send(i).expect("send while the Receiver is alive");
                most.fetch_max(tx.len(), Ordering::SeqCst);
            }
            tx
        }
    });
    drop(tx);
    start.wait();
    for n in 0..PRODUCERS * EACH {
        most.fetch_max(rx.len(), Ordering::SeqCst);
        if rx.recv().is_err() {
            panic!("item #{n} of {}: {EARLY_END}", PRODUCERS * EACH);
        }
        dawdle(20);
    }
    drop(received);
    for p in producers {
        p.join().expect("a producer thread panicked");
    }
    assert_closed(&rx);
    most.load(Ordering::SeqCst)
}

hidden_test! {
    /// 4 producers x 1 000 items into a channel of bound 4, then of bound 1, one slow
    /// consumer: len() never exceeds the bound, seen from either side, and every item
    /// arrives.
    fn queue_never_exceeds_its_bound() {
        kata_sync::chaos::enable();
        for bound in [4, 1] {
            let most = most_ever_queued(bound);
            assert!(
                most <= bound,
                "4 producers and a slow consumer on a channel of bound {bound}: len() \
                 returned {most}. send must wait while the queue holds `bound` items (in a \
                 `while` loop on a condvar: another sender may fill the place it was woken \
                 for) until a receiver takes one"
            );
        }
    }
}

hidden_test! {
    /// 4 producers x 1 000 numbered items, bound 8, one consumer: every item arrives
    /// exactly once, and each producer's items in the order it sent them.
    fn one_consumer_gets_every_item_once_in_order() {
        kata_sync::chaos::enable();
        const PRODUCERS: usize = 4;
        const EACH: usize = 1_000;
        let (tx, rx) = channel(8);
        let start = Arc::new(Barrier::new(PRODUCERS + 1));
        // The Senders stay until every item is in: see `most_ever_queued`.
        let (producers, received) = hold_senders_until_received(PRODUCERS, |p| {
            let (tx, start) = (tx.clone(), Arc::clone(&start));
            move || {
                start.wait();
                for i in 0..EACH {
                    tx.send((p, i)).expect("send while the Receiver is alive");
                }
                tx
            }
        });
        drop(tx);
        start.wait();
        let mut next = [0; PRODUCERS];
        for n in 0..PRODUCERS * EACH {
            let (p, i) = match rx.recv() {
                Ok(item) => item,
                Err(_) => panic!("item #{n} of {}: {EARLY_END}", PRODUCERS * EACH),
            };
            assert!(
                i == next[p],
                "producer {p} sent 0, 1, 2, … in order; after its item {} the consumer \
                 received its item {i}: {}",
                next[p] as isize - 1,
                if i < next[p] {
                    "an item arrived twice, or late: the channel is a FIFO queue (push at the \
                     back, take from the front)"
                } else {
                    "items were skipped or overtaken: the channel is a FIFO queue (push at \
                     the back, take from the front)"
                }
            );
            next[p] += 1;
            dawdle(5);
        }
        drop(received);
        for p in producers {
            p.join().expect("a producer thread panicked");
        }
        assert_closed(&rx);
    }
}

/// A producer for `run`: `count` numbered items, made slowly or at once. A slow producer
/// dawdles between items and holds its last item back until every item made so far has
/// been consumed and every consumer is asleep in recv; then it hands that item out and
/// ends at once. So the last producer's last item wakes a sleeping consumer and the
/// channel closes (run drops that producer's Sender) before the consumer can run, on
/// every run: a recv that, once woken, asks "closed?" before it looks at the queue loses
/// that item.
struct Producer {
    id: usize,
    next: usize,
    count: usize,
    slow: bool,
    made: Arc<AtomicUsize>,
    consumed: Arc<AtomicUsize>,
    /// The consumer threads (`kata_sync::hang::tid()`), as they are first seen.
    consumers: Arc<Mutex<Vec<i32>>>,
    until_asleep: Arc<Mutex<UntilAsleep>>,
}

impl Producer {
    fn until_drained_and_consumers_asleep(&self) {
        for _ in 0..20_000 {
            if self.consumed.load(Ordering::SeqCst) >= self.made.load(Ordering::SeqCst) {
                break;
            }
            thread::yield_now();
        }
        let consumers = self.consumers.lock().unwrap().clone();
        self.until_asleep.lock().unwrap().these(&consumers);
    }
}

impl Iterator for Producer {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        if self.next == self.count {
            return None;
        }
        if self.slow {
            if self.next + 1 == self.count {
                self.until_drained_and_consumers_asleep();
            } else {
                dawdle(50);
            }
        }
        self.made.fetch_add(1, Ordering::SeqCst);
        self.next += 1;
        Some((self.id, self.next - 1))
    }
}

hidden_test! {
    /// 100 pipelines through run: 3 producers x 40 items, 3 consumers, bound 2, turn by
    /// turn with slow consumers (the queue is full when it closes) and slow producers
    /// (the consumers are asleep when each producer's last item comes, and the channel
    /// closes right after the last of them). Each run returns, every item is
    /// consumed exactly once, each consumer gets each producer's items in order, and the
    /// 3 consumers are 3 threads of their own that work at the same time.
    fn run_stops_every_consumer_and_loses_nothing() {
        kata_sync::chaos::enable();
        const PRODUCERS: usize = 3;
        const CONSUMERS: usize = 3;
        const EACH: usize = 40;
        let caller = thread::current().id();
        let until_asleep = Arc::new(Mutex::new(UntilAsleep::new()));
        for round in 0..100 {
            let slow_producers = round % 2 == 1;
            let made = Arc::new(AtomicUsize::new(0));
            let consumed = Arc::new(AtomicUsize::new(0));
            let consumers = Arc::new(Mutex::new(Vec::new()));
            let producers: Vec<Producer> = (0..PRODUCERS)
                .map(|id| Producer {
                    id,
                    next: 0,
                    count: EACH,
                    slow: slow_producers,
                    made: Arc::clone(&made),
                    consumed: Arc::clone(&consumed),
                    consumers: Arc::clone(&consumers),
                    until_asleep: Arc::clone(&until_asleep),
                })
                .collect();
            // The first CONSUMERS calls of consume meet at a barrier: they can only all
            // get there from CONSUMERS different threads running at once.
            let meet = Arc::new(Barrier::new(CONSUMERS));
            let calls = Arc::new(AtomicUsize::new(0));
            let on_caller = Arc::new(AtomicBool::new(false));
            let threads = Arc::new(Mutex::new(Vec::new()));
            let consume = {
                let (consumed, meet, calls) = (Arc::clone(&consumed), meet, calls);
                let (on_caller, threads) = (Arc::clone(&on_caller), Arc::clone(&threads));
                let consumers = Arc::clone(&consumers);
                move |_: &(usize, usize)| {
                    let me = thread::current().id();
                    if me == caller {
                        on_caller.store(true, Ordering::SeqCst);
                    } else if calls.fetch_add(1, Ordering::SeqCst) < CONSUMERS {
                        threads.lock().unwrap().push(me);
                        consumers.lock().unwrap().push(kata_sync::hang::tid());
                        meet.wait();
                    }
                    if !slow_producers {
                        dawdle(200);
                    }
                    consumed.fetch_add(1, Ordering::SeqCst);
                }
            };
            let got = run(producers, CONSUMERS, 2, consume);
            assert!(
                !on_caller.load(Ordering::SeqCst),
                "consume ran on the thread that called run: run starts a thread for every \
                 producer and every consumer, which meet only in the channel"
            );
            let got = match got {
                Ok(got) => got,
                Err(e) => panic!("run(3 producers, 3 consumers, bound 2) gave Err({e:?})"),
            };
            assert_eq!(
                got.len(),
                CONSUMERS,
                "run with {CONSUMERS} consumers must return one list per consumer"
            );
            let threads = threads.lock().unwrap();
            assert!(
                threads.iter().all(|t| *t != caller),
                "consume ran on the caller's thread"
            );
            let mut seen = HashMap::new();
            for (c, items) in got.iter().enumerate() {
                let mut last = [None; PRODUCERS];
                for &(p, i) in items {
                    *seen.entry((p, i)).or_insert(0) += 1;
                    assert!(
                        p < PRODUCERS && last[p] < Some(i),
                        "round {round}: consumer {c} got producer {p}'s item {i} after its \
                         item {:?}: each producer's items must arrive in the order it sent \
                         them (a FIFO queue: push at the back, take from the front)",
                        last[p.min(PRODUCERS - 1)]
                    );
                    last[p] = Some(i);
                }
            }
            let twice = seen.values().filter(|n| **n > 1).count();
            let lost = PRODUCERS * EACH - seen.len();
            assert!(
                twice == 0 && lost == 0,
                "round {round} ({}): of {} items, {lost} were never consumed and {twice} \
                 were consumed more than once. Every item is consumed exactly once; {}",
                if slow_producers { "slow producers" } else { "slow consumers" },
                PRODUCERS * EACH,
                EARLY_END
            );
        }
    }
}

hidden_test! {
    /// 20 rounds: 4 producers send into a channel of bound 2 that nobody reads, until all
    /// 4 wait in send; then the only Receiver is dropped: each send returns
    /// Err(SendError(its item)), and exactly 2 sends ever succeeded.
    fn dropping_the_receiver_fails_every_blocked_sender() {
        kata_sync::chaos::enable();
        const PRODUCERS: usize = 4;
        const BOUND: usize = 2;
        const LIMIT: usize = 10_000;
        for round in 0..20 {
            let (tx, rx) = channel(BOUND);
            let attempts = Arc::new(AtomicUsize::new(0));
            let sent = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|_| {
                    let (tx, attempts, sent) =
                        (tx.clone(), Arc::clone(&attempts), Arc::clone(&sent));
                    thread::spawn(move || {
                        for i in 0..LIMIT {
                            attempts.fetch_add(1, Ordering::SeqCst);
                            match tx.send(i) {
                                Ok(()) => sent.fetch_add(1, Ordering::SeqCst),
                                Err(SendError(back)) => return Some((i, back)),
                            };
                        }
                        None
                    })
                })
                .collect();
            drop(tx);
            // Wait until every producer is inside a send that cannot succeed (or, with a
            // channel that never fills, until they have sent far too much).
            while attempts.load(Ordering::SeqCst) < BOUND + PRODUCERS {
                thread::yield_now();
            }
            // In the first round, until every producer is asleep in the channel's wait, so
            // that a drop that wakes nobody leaves them asleep on every run (the hang watch
            // then names their line); later rounds drop it at whatever moment comes.
            if round == 0 {
                kata_sync::hang::until_asleep_in_waits(PRODUCERS, UntilAsleep::FALLBACK);
            }
            for _ in 0..50 {
                thread::yield_now();
            }
            drop(rx);
            for p in producers {
                match p.join().expect("a producer thread panicked") {
                    Some((i, back)) => assert_eq!(
                        back, i,
                        "send({i}) failed but gave back {back}, not the item it was sent"
                    ),
                    None => panic!(
                        "a producer sent {LIMIT} items into a channel of bound {BOUND} that \
                         nobody reads, and every send returned Ok: send must wait while the \
                         queue is full, and fail once every Receiver is gone"
                    ),
                }
            }
            let sent = sent.load(Ordering::SeqCst);
            assert_eq!(
                sent, BOUND,
                "round {round}: nobody ever received from a channel of bound {BOUND}, yet \
                 {sent} sends returned Ok: only {BOUND} items fit; the others must wait, and \
                 return Err(SendError(item)) when the last Receiver is dropped"
            );
        }
    }
}

hidden_test! {
    /// Items sent before the last Sender was dropped are all still received, by recv and by
    /// try_recv, before either says the channel is closed; a Receiver that is not the last
    /// keeps the channel open for the senders; once the last Receiver is gone, try_send says
    /// Disconnected(item) even on a full channel, and send gives the item back.
    fn a_closed_channel_is_drained_first() {
        kata_sync::chaos::enable();
        let (tx, rx) = channel(3);
        for i in 1..=3 {
            assert!(tx.send(i).is_ok(), "send({i}) into a channel of bound 3 returned Err");
        }
        drop(tx);
        let first = rx.try_recv();
        assert!(
            matches!(first, Ok(1)),
            "three items were sent, then the only Sender was dropped; try_recv() returned \
             {first:?}, expected Ok(1): a closed channel still hands out what it holds, and \
             says Disconnected only once it is empty (crossbeam's try_recv does the same)"
        );
        let second = rx.recv();
        assert!(matches!(second, Ok(2)), "then recv() returned {second:?}, expected Ok(2): {EARLY_END}");
        let third = rx.try_recv();
        assert!(matches!(third, Ok(3)), "then try_recv() returned {third:?}, expected Ok(3)");
        let end = rx.try_recv();
        assert!(
            matches!(end, Err(TryRecvError::Disconnected)),
            "the closed channel is empty now: try_recv() must say Err(Disconnected), it said \
             {end:?}"
        );
        let end = rx.recv();
        assert!(
            matches!(end, Err(RecvError)),
            "the closed channel is empty now: recv() must say Err(RecvError), it said {end:?}"
        );

        let (tx, rx) = channel(1);
        let spare = rx.clone();
        drop(rx);
        assert!(
            tx.send(10).is_ok(),
            "send(10) while a clone of the Receiver is alive returned Err: the channel closes \
             for the senders only when the last Receiver goes"
        );
        let full = tx.try_send(11);
        assert!(
            matches!(full, Err(TrySendError::Full(11))),
            "try_send(11) on a full channel of bound 1 with a Receiver alive returned {full:?}, \
             expected Err(Full(11))"
        );
        drop(spare);
        let gone = tx.try_send(12);
        assert!(
            matches!(gone, Err(TrySendError::Disconnected(12))),
            "try_send(12) on a full channel whose Receivers are all gone returned {gone:?}: \
             Disconnected is looked at first (as crossbeam does): expected \
             Err(Disconnected(12)), the item given back"
        );
        let gone = tx.send(13);
        assert!(
            matches!(gone, Err(SendError(13))),
            "send(13) on a full channel whose Receivers are all gone returned {gone:?}: \
             expected Err(SendError(13)) at once, the item given back"
        );
    }
}

hidden_test! {
    /// channel(0) panics (a queue that can hold nothing); run with 0 consumers is
    /// Err(NoConsumers), and with bound 0 Err(ZeroBound), before any item is taken.
    fn a_bound_or_consumer_count_of_0_is_refused() {
        kata_sync::chaos::enable();
        let made = catch_unwind(|| {
            let (tx, _rx) = channel::<u8>(0);
            tx.capacity()
        });
        assert!(
            made.is_err(),
            "channel::<u8>(0) returned a channel (capacity() = {:?}) instead of panicking: a \
             channel's bound must be at least 1 (crossbeam's bounded(0) is no unbounded queue \
             either)",
            made.ok()
        );
        let taken = Arc::new(AtomicBool::new(false));
        let producer = {
            let taken = Arc::clone(&taken);
            std::iter::from_fn(move || {
                taken.store(true, Ordering::SeqCst);
                None::<u32>
            })
        };
        let refused = within(Duration::from_secs(10), move || {
            run(vec![producer], 0, 2, |_: &u32| {})
        });
        match refused {
            None => panic!(
                "run(.., consumers = 0, bound = 2) had not returned 10 s later: with no \
                 consumer it must refuse at once with Err(NoConsumers)"
            ),
            Some(Err(RunError::NoConsumers)) => {}
            Some(other) => panic!(
                "run(.., consumers = 0, bound = 2) returned {other:?}: expected \
                 Err(NoConsumers), since nobody would ever take an item"
            ),
        }
        let refused = within(Duration::from_secs(10), || run(vec![vec![1u32, 2]], 2, 0, |_: &u32| {}));
        match refused {
            None => panic!(
                "run(.., consumers = 2, bound = 0) had not returned 10 s later: it must refuse \
                 at once with Err(ZeroBound)"
            ),
            Some(Err(RunError::ZeroBound)) => {}
            Some(other) => panic!(
                "run(.., consumers = 2, bound = 0) returned {other:?}: expected \
                 Err(ZeroBound), a queue that can hold nothing"
            ),
        }
        assert!(
            !taken.load(Ordering::SeqCst),
            "run(.., consumers = 0, ..) took an item from a producer before refusing: refuse \
             before anything starts"
        );
    }
}

/// The payloads of consume's deliberate panics.
const CONSUME_FAILS: &str = "consume fails on purpose";

/// What consume reports when it runs on the thread that called run.
const ON_CALLER: &str = "consume ran on the thread that called run: run starts a thread for \
    every producer and every consumer, and a consumer's panic reaches the caller only \
    through run, once the other threads have stopped";

/// Fails (with ON_CALLER) when consume runs on the caller's thread.
/// A producer for `run` that counts the items taken from it (into `pulled`, shared).
struct Counting {
    items: std::ops::Range<u32>,
    pulled: Arc<AtomicUsize>,
}

impl Iterator for Counting {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        let item = self.items.next()?;
        self.pulled.fetch_add(1, Ordering::SeqCst);
        Some(item)
    }
}

fn assert_on_a_consumer_thread(caller: thread::ThreadId) {
    if thread::current().id() == caller {
        std::panic::resume_unwind(Box::new(ON_CALLER));
    }
}

hidden_test! {
    /// consume panics on one item (with a &str payload, then with a String): run panics on
    /// the caller's thread with that very payload, not a panic of its own.
    fn run_passes_on_the_panic_of_consume() {
        kata_sync::chaos::enable();
        let caller = thread::current().id();
        for round in 0..10u32 {
            let pulled = Arc::new(AtomicUsize::new(0));
            let producers = vec![
                Counting { items: 0..30u32, pulled: Arc::clone(&pulled) },
                Counting { items: 100..130, pulled: Arc::clone(&pulled) },
            ];
            let received = Arc::new(AtomicUsize::new(0));
            let caught = catch_unwind(AssertUnwindSafe(|| {
                run(producers, 1, 2, move |_item: &u32| {
                    assert_on_a_consumer_thread(caller);
                    let received = received.fetch_add(1, Ordering::SeqCst) + 1;
                    // By count, not by item: one producer may send all its 30 items before
                    // the other sends its eighth, and then one sender is left to wake.
                    if received == 8 + round as usize {
                        // In the first round, not before both producers are asleep in send
                        // on the full queue, each with its next item in hand (`received`
                        // items taken, 2 queued, 2 in hand): then no wake-up is still on
                        // its way to either, and the consumer's end must wake them both,
                        // on every run. The count first: it only grows, and once it is met
                        // the producers can only go to sleep. (A submission that lets the
                        // queue overfill never meets it, and goes on after a second or so.)
                        if round == 0 {
                            let mut tries = 0;
                            while pulled.load(Ordering::SeqCst) != received + 4 && tries < 1_000 {
                                std::thread::sleep(Duration::from_millis(1));
                                tries += 1;
                            }
                            kata_sync::hang::until_asleep_in_waits(2, UntilAsleep::FALLBACK);
                        }
                        std::panic::resume_unwind(Box::new(CONSUME_FAILS));
                    }
                })
            }));
            let payload = match caught {
                Err(payload) => payload,
                Ok(got) => panic!(
                    "round {round}: consume panicked on the {}th item it was given, yet run \
                     returned {:?} instead of panicking",
                    8 + round,
                    got.map(|lists| lists.iter().map(Vec::len).sum::<usize>())
                ),
            };
            assert!(
                payload.downcast_ref::<&str>() == Some(&CONSUME_FAILS),
                "round {round}: consume panicked with the &str {CONSUME_FAILS:?}; the caller of \
                 run caught a panic with the payload {:?} instead. Keep the payload that \
                 join() gives in Err, and raise it again with std::panic::resume_unwind(payload) \
                 once every thread has stopped (unwrap() on the join result makes a new \
                 panic and loses the payload)",
                panic_message(payload.as_ref())
            );
        }
        let caught = catch_unwind(AssertUnwindSafe(|| {
            run(vec![vec![1u32, 2, 3]], 1, 1, move |item: &u32| {
                assert_on_a_consumer_thread(caller);
                if *item == 2 {
                    std::panic::resume_unwind(Box::new(format!("consume fails on item {item}")));
                }
            })
        }));
        let payload = caught.expect_err("consume panicked on item 2, yet run returned");
        assert!(
            payload.downcast_ref::<String>().map(String::as_str) == Some("consume fails on item 2"),
            "consume panicked with the String \"consume fails on item 2\"; the caller of run \
             caught {:?} instead: the very payload must come through, a String as a String",
            panic_message(payload.as_ref())
        );
    }
}

hidden_test! {
    /// 20 rounds: two consumers each take one item; the consumer of item 0 panics once the
    /// other has started on item 1, which takes a while. When run's panic reaches the
    /// caller, the other consumer must have finished: run waits for every thread first.
    fn run_panics_only_once_every_thread_has_stopped() {
        kata_sync::chaos::enable();
        for round in 0..20 {
            let started = Arc::new(AtomicUsize::new(0));
            let finished = Arc::new(AtomicBool::new(false));
            let caught = {
                let (started, finished) = (Arc::clone(&started), Arc::clone(&finished));
                // The producer ends (and drops its Sender) only once both consumers have
                // taken their item (a bounded wait), so the test does not hang on how a
                // closed channel is drained.
                let producer = {
                    let started = Arc::clone(&started);
                    let mut items = vec![0u32, 1].into_iter();
                    std::iter::from_fn(move || {
                        let item = items.next();
                        if item.is_none() {
                            for _ in 0..2_000 {
                                if started.load(Ordering::SeqCst) >= 2 {
                                    break;
                                }
                                thread::sleep(Duration::from_millis(1));
                            }
                        }
                        item
                    })
                };
                catch_unwind(AssertUnwindSafe(move || {
                    run(vec![producer], 2, 2, move |item: &u32| {
                        started.fetch_add(1, Ordering::SeqCst);
                        if *item == 0 {
                            // Wait (a bounded while) until the other consumer is busy with
                            // item 1, then fail.
                            for _ in 0..2_000 {
                                if started.load(Ordering::SeqCst) >= 2 {
                                    break;
                                }
                                thread::sleep(Duration::from_millis(1));
                            }
                            std::panic::resume_unwind(Box::new(CONSUME_FAILS));
                        }
                        // Item 1 takes a while (never a verdict: a correct run waits for it
                        // however long it takes).
                        thread::sleep(Duration::from_millis(30));
                        finished.store(true, Ordering::SeqCst);
                    })
                }))
            };
            let done_when_caught = finished.load(Ordering::SeqCst);
            assert!(caught.is_err(), "round {round}: consume panicked on item 0, yet run returned");
            assert!(
                done_when_caught,
                "round {round}: consume panicked on item 0 while another consumer was still \
                 working on item 1; run's panic reached the caller before that consumer had \
                 finished. Join every thread first, keep the first panic's payload, and raise \
                 it once all have stopped"
            );
        }
    }
}

hidden_test! {
    /// run with one consumer whose consume panics at once, and one producer with far more
    /// items than the bound: once the consumer is gone the producer's send fails and it
    /// stops, so run ends (with the consumer's panic) instead of waiting forever.
    fn run_ends_when_every_consumer_has_panicked() {
        kata_sync::chaos::enable();
        let outcome = within(Duration::from_secs(20), || {
            let caller = thread::current().id();
            catch_unwind(AssertUnwindSafe(|| {
                run(vec![0..1_000u32], 1, 2, move |_: &u32| {
                    assert_on_a_consumer_thread(caller);
                    // Not before the producer is asleep in send on the full queue: the
                    // consumer's end must wake it, on every run.
                    kata_sync::hang::until_asleep_in_waits(1, UntilAsleep::FALLBACK);
                    std::panic::resume_unwind(Box::new(CONSUME_FAILS))
                })
            }))
            .map(|got| got.map(|lists| lists.len()))
        });
        match outcome {
            None => panic!(
                "run(vec![0..1000], 1 consumer, bound 2), whose only consumer panics on its first \
                 item, had not returned 20 s later: once every consumer is gone, nobody takes \
                 items, so the producer's send must fail (the last Receiver is gone: run must \
                 not keep one of its own) and the producer stop"
            ),
            Some(Ok(got)) => panic!(
                "run's only consumer panicked, yet run returned {got:?} instead of panicking"
            ),
            Some(Err(payload)) => assert!(
                payload.downcast_ref::<&str>() == Some(&CONSUME_FAILS),
                "run's only consumer panicked with {CONSUME_FAILS:?}; the caller caught {:?}",
                panic_message(payload.as_ref())
            ),
        }
    }
}
