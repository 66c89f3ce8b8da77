//! Hidden property suite of kata `blocking_queue`: random sequences of calls, on one
//! thread, checked against a plain sequential model: a `VecDeque` for `Queue`, a `Vec`
//! for `LifoQueue`, a `BinaryHeap` of `Reverse` for `PriorityQueue`.
//!
//! After every call, its result and `qsize()`, `empty()` and `full()` must be the model's.
//! A blocking call is made only when the model says it will not have to wait (otherwise
//! the non-blocking form is called instead), so a correct queue never waits here.
//! Proptest runs through the test kit's runner (`kata_testkit::prop`): a fixed seed and no
//! persistence, so every run sees the same cases; a failure is shrunk to a shortest
//! sequence of calls, which the message lists. Results are compared by pattern, never
//! through the kata's own `PartialEq` or `Debug`.

use blocking_queue::{BlockingQueue, Empty, Full, LifoQueue, PriorityQueue, Queue, Store};
use kata_harness::hidden_test;
use kata_testkit::prop::{self, TestCaseError};
use proptest::collection::vec;
use proptest::prelude::*;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

/// The seed of every property; fixed, so that every run tries the same cases.
const SEED: [u8; 32] = *b"blocking_queue kata: fixed seed!";

/// Runs `property` on `cases` values of `strategy` with the suite's fixed seed (the test
/// kit's runner: no persistence, nothing read from the environment); panics with the
/// smallest failure.
fn check<S>(cases: u32, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
{
    prop::check(&SEED, cases, strategy, property);
}

/// What a put returned, in words that do not depend on the kata's own `Debug`: the
/// outcome is read by pattern, and the item given back is a plain `u8`.
fn put_text(got: Result<(), Full<u8>>) -> String {
    match got {
        Ok(()) => "Ok(())".to_string(),
        Err(Full(item)) => format!("Err(Full({item}))"),
    }
}

/// What a get returned, likewise.
fn get_text(got: Result<u8, Empty>) -> String {
    match got {
        Ok(item) => format!("Ok({item})"),
        Err(Empty) => "Err(Empty)".to_string(),
    }
}

/// One call on the queue. `Blocking` calls become their non-blocking form when the model
/// says they would have to wait.
#[derive(Debug, Clone, Copy)]
enum Call {
    PutNowait(u8),
    /// `put(item, false, timeout)`: the timeout is ignored.
    PutNoBlock(u8, bool),
    /// `put(item, true, None)` or `put(item, true, Some(1 hour))`.
    PutBlocking(u8, bool),
    GetNowait,
    GetNoBlock(bool),
    GetBlocking(bool),
}

fn calls() -> impl Strategy<Value = Vec<Call>> {
    let item = 0u8..10;
    let call = prop_oneof![
        3 => item.clone().prop_map(Call::PutNowait),
        1 => (item.clone(), any::<bool>()).prop_map(|(i, t)| Call::PutNoBlock(i, t)),
        2 => (item, any::<bool>()).prop_map(|(i, t)| Call::PutBlocking(i, t)),
        3 => Just(Call::GetNowait),
        1 => any::<bool>().prop_map(Call::GetNoBlock),
        2 => any::<bool>().prop_map(Call::GetBlocking),
    ];
    vec(call, 1..40)
}

fn hour(timed: bool) -> Option<Duration> {
    timed.then(|| Duration::from_secs(3600))
}

fn timeout_text(timed: bool) -> &'static str {
    if timed {
        "Some(1 hour)"
    } else {
        "None"
    }
}

/// The sequential model: a plain collection and the same maxsize.
trait Model: Default {
    const KIND: &'static str;
    const STORE: &'static str;
    fn push(&mut self, item: u8);
    fn pop(&mut self) -> Option<u8>;
    fn len(&self) -> usize;
}

#[derive(Default)]
struct FifoModel(VecDeque<u8>);
#[derive(Default)]
struct LifoModel(Vec<u8>);
#[derive(Default)]
struct PriorityModel(BinaryHeap<Reverse<u8>>);

impl Model for FifoModel {
    const KIND: &'static str = "Queue";
    const STORE: &'static str = "a VecDeque: push_back, then pop_front";
    fn push(&mut self, item: u8) {
        self.0.push_back(item)
    }
    fn pop(&mut self) -> Option<u8> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Model for LifoModel {
    const KIND: &'static str = "LifoQueue";
    const STORE: &'static str = "a Vec: push, then pop, the newest item first";
    fn push(&mut self, item: u8) {
        self.0.push(item)
    }
    fn pop(&mut self) -> Option<u8> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

impl Model for PriorityModel {
    const KIND: &'static str = "PriorityQueue";
    const STORE: &'static str = "a min-heap: the smallest item first";
    fn push(&mut self, item: u8) {
        self.0.push(Reverse(item))
    }
    fn pop(&mut self) -> Option<u8> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Runs one call into the kata: a panic in it fails the case with the calls so far.
fn call<T>(what: &str, log: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    prop::catch(what, &format!("The calls before it:\n{log}"), f)
}

/// Plays `calls` on a fresh queue of `maxsize` and on the model; fails at the first
/// difference, with the calls that led to it.
fn agree<S, M>(maxsize: usize, calls: &[Call]) -> Result<(), TestCaseError>
where
    S: Store<Item = u8>,
    M: Model,
{
    let kind = M::KIND;
    let mut log = format!("    let q = {kind}::new({maxsize});\n");
    let q = call(&format!("{kind}::new({maxsize})"), &log, || {
        BlockingQueue::<S>::new(maxsize)
    })?;
    let mut model = M::default();
    let model_full = |m: &M| maxsize > 0 && m.len() >= maxsize;
    for &c in calls {
        // What was called, what came back, what the model says.
        let (what, got, want) = match c {
            Call::PutNowait(item) | Call::PutNoBlock(item, _) | Call::PutBlocking(item, _) => {
                let (what, got) = match c {
                    Call::PutBlocking(_, timed) if !model_full(&model) => {
                        let what = format!("q.put({item}, true, {})", timeout_text(timed));
                        let got = call(&what, &log, || q.put(item, true, hour(timed)))?;
                        (what, got)
                    }
                    Call::PutNoBlock(_, timed) => {
                        let what = format!("q.put({item}, false, {})", timeout_text(timed));
                        let got = call(&what, &log, || q.put(item, false, hour(timed)))?;
                        (what, got)
                    }
                    _ => {
                        let what = format!("q.put_nowait({item})");
                        let got = call(&what, &log, || q.put_nowait(item))?;
                        (what, got)
                    }
                };
                let want = if model_full(&model) {
                    format!("Err(Full({item}))")
                } else {
                    model.push(item);
                    "Ok(())".to_string()
                };
                (what, put_text(got), want)
            }
            Call::GetNowait | Call::GetNoBlock(_) | Call::GetBlocking(_) => {
                let (what, got) = match c {
                    Call::GetBlocking(timed) if model.len() > 0 => {
                        let what = format!("q.get(true, {})", timeout_text(timed));
                        let got = call(&what, &log, || q.get(true, hour(timed)))?;
                        (what, got)
                    }
                    Call::GetNoBlock(timed) => {
                        let what = format!("q.get(false, {})", timeout_text(timed));
                        let got = call(&what, &log, || q.get(false, hour(timed)))?;
                        (what, got)
                    }
                    _ => {
                        let what = "q.get_nowait()".to_string();
                        let got = call(&what, &log, || q.get_nowait())?;
                        (what, got)
                    }
                };
                let want = get_text(model.pop().ok_or(Empty));
                (what, get_text(got), want)
            }
        };
        if got != want {
            return Err(TestCaseError::fail(format!(
                "{kind}::new({maxsize}): {what} returned {got}, expected {want} by the model, \
                 {}. The calls:\n{log}    {what}; // <- here",
                M::STORE
            )));
        }
        log += &format!("    {what}; // {got}\n");
        let (size, empty, full) = call("q.qsize(), q.empty() and q.full()", &log, || {
            (q.qsize(), q.empty(), q.full())
        })?;
        let want = (model.len(), model.len() == 0, model_full(&model));
        if (size, empty, full) != want {
            return Err(TestCaseError::fail(format!(
                "{kind}::new({maxsize}) after the calls below: \
                 (qsize(), empty(), full()) gave {:?}, expected {want:?}. full() is true \
                 only when a queue with a limit holds maxsize items; a queue of maxsize 0 \
                 is never full. The calls:\n{log}",
                (size, empty, full)
            )));
        }
    }
    Ok(())
}

fn cases() -> impl Strategy<Value = (usize, Vec<Call>)> {
    (0usize..=4, calls())
}

hidden_test! {
    /// Queue (FIFO) against a VecDeque: random put/get calls of every kind, random maxsize.
    fn queue_agrees_with_a_vecdeque() {
        check(400, cases(), |(maxsize, calls)| {
            agree::<<Queue<u8> as HasStore>::S, FifoModel>(maxsize, &calls)
        });
    }
}

hidden_test! {
    /// LifoQueue against a Vec used as a stack: random calls, random maxsize.
    fn lifo_queue_agrees_with_a_vec() {
        check(400, cases(), |(maxsize, calls)| {
            agree::<<LifoQueue<u8> as HasStore>::S, LifoModel>(maxsize, &calls)
        });
    }
}

hidden_test! {
    /// PriorityQueue against a min-heap: random calls, random maxsize.
    fn priority_queue_agrees_with_a_min_heap() {
        check(400, cases(), |(maxsize, calls)| {
            agree::<<PriorityQueue<u8> as HasStore>::S, PriorityModel>(maxsize, &calls)
        });
    }
}

/// Names the store of a queue type alias, so the tests use the kata's own aliases.
trait HasStore {
    type S: Store<Item = u8>;
}

impl<S: Store<Item = u8>> HasStore for BlockingQueue<S> {
    type S = S;
}
