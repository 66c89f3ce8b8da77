//! Hidden property suite of kata `bankers`: random books checked against a brute-force
//! banker that tries every order of the customers.
//!
//! Proptest runs with a fixed seed and no persistence, so every run sees the same cases;
//! a failure is shrunk to a smallest state, printed as a table.

use bankers::{release, request, safe_sequence, RequestError, State, StateError};
use kata_harness::hidden_test;
use kata_testkit::prop as kit;
use kata_testkit::prop::{check_examples, TestCaseError};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

/// The seed of every property; fixed, so that every run tries the same cases.
const SEED: [u8; 32] = *b"bankers kata, fixed proptest rng";

/// Runs `property` on `cases` values of `strategy` (the kit's fixed-seed runner); panics
/// with the smallest failure.
fn check<S>(cases: u32, strategy: S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S: Strategy,
{
    kit::check(&SEED, cases, strategy, property)
}

/// Fails the current case with a message (proptest then shrinks it).
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(TestCaseError::fail(format!($($msg)+)));
        }
    };
}

/// Runs one call into the kata: a panic in it fails the case (proptest then shrinks it)
/// with a message that names the call and shows the books.
fn call<T>(what: &str, books: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    kit::catch(what, &format!("The books:\n{books}"), f)
}

/// The verdicts compare the kata's error types by pattern, never with the kata's own
/// `PartialEq` (a submission may implement it to say yes to anything).
fn same_request_result(got: &Result<(), RequestError>, want: &Result<(), RequestError>) -> bool {
    use RequestError::*;
    matches!(
        (got, want),
        (Ok(()), Ok(()))
            | (Err(NoSuchCustomer), Err(NoSuchCustomer))
            | (Err(WrongLength), Err(WrongLength))
            | (Err(ExceedsClaim), Err(ExceedsClaim))
            | (Err(MustWait), Err(MustWait))
            | (Err(Unsafe), Err(Unsafe))
            | (Err(ReleasesMoreThanHeld), Err(ReleasesMoreThanHeld))
    )
}

fn same_state_error(got: &StateError, want: &StateError) -> bool {
    match (got, want) {
        (StateError::EmptyRow, StateError::EmptyRow)
        | (StateError::RaggedRows, StateError::RaggedRows) => true,
        (
            StateError::AllocationExceedsMax { customer, resource },
            StateError::AllocationExceedsMax {
                customer: c,
                resource: r,
            },
        ) => (customer, resource) == (c, r),
        _ => false,
    }
}

/// The books as plain tables, kept by the test so that the oracle never trusts the kata.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Books {
    available: Vec<u32>,
    max: Vec<Vec<u32>>,
    allocation: Vec<Vec<u32>>,
}

impl Books {
    fn customers(&self) -> usize {
        self.max.len()
    }

    fn need(&self, c: usize) -> Vec<u32> {
        (0..self.available.len())
            .map(|r| self.max[c][r] - self.allocation[c][r])
            .collect()
    }

    fn build(&self) -> Result<State, TestCaseError> {
        call("State::new", &self.table(), || {
            State::new(
                self.available.clone(),
                self.max.clone(),
                self.allocation.clone(),
            )
        })?
        .map_err(|e| {
            TestCaseError::fail(format!(
                "State::new refused valid books with {e:?}:\n{}",
                self.table()
            ))
        })
    }

    /// The books as a table: one line per customer.
    fn table(&self) -> String {
        let mut out = format!("    available {:?}\n", self.available);
        for c in 0..self.customers() {
            out += &format!(
                "    customer {c}: max {:?}, allocation {:?}, need {:?}\n",
                self.max[c],
                self.allocation[c],
                self.need(c)
            );
        }
        out
    }

    /// Whether `order` lets every customer finish, one after the other: `Err` says where it
    /// goes wrong.
    fn replay(&self, order: &[usize]) -> Result<(), String> {
        let n = self.customers();
        if order.len() != n {
            return Err(format!("it has {} customers, the books {n}", order.len()));
        }
        let mut seen = vec![false; n];
        let mut work: Vec<u64> = self.available.iter().map(|&a| u64::from(a)).collect();
        for (step, &c) in order.iter().enumerate() {
            if c >= n || seen[c] {
                return Err(format!(
                    "it is not an order of the customers 0..{n}: entry {step} is {c}"
                ));
            }
            seen[c] = true;
            let need = self.need(c);
            if let Some(r) = (0..work.len()).find(|&r| u64::from(need[r]) > work[r]) {
                return Err(format!(
                    "at step {step}, customer {c} still needs {need:?}, but only {work:?} is \
                     free then (resource {r} is short): customer {c} cannot finish there"
                ));
            }
            for (free, &held) in work.iter_mut().zip(&self.allocation[c]) {
                *free += u64::from(held);
            }
        }
        Ok(())
    }

    /// The oracle: safe when some order of the customers (all of them are tried) replays.
    fn safe_by_brute_force(&self) -> bool {
        fn orders(
            rest: &mut Vec<usize>,
            done: &mut Vec<usize>,
            f: &mut dyn FnMut(&[usize]) -> bool,
        ) -> bool {
            if rest.is_empty() {
                return f(done);
            }
            for i in 0..rest.len() {
                let c = rest.remove(i);
                done.push(c);
                let found = orders(rest, done, f);
                done.pop();
                rest.insert(i, c);
                if found {
                    return true;
                }
            }
            false
        }
        let needs: Vec<Vec<u32>> = (0..self.customers()).map(|c| self.need(c)).collect();
        let mut all: Vec<usize> = (0..self.customers()).collect();
        orders(&mut all, &mut Vec::new(), &mut |order| {
            let mut work = self.available.clone();
            order.iter().all(|&c| {
                let fits = needs[c].iter().zip(&work).all(|(need, free)| need <= free);
                for (free, &held) in work.iter_mut().zip(&self.allocation[c]) {
                    *free += held;
                }
                fits
            })
        })
    }

    /// What `request` must answer, by the documented order of the checks.
    fn expected_request(&self, c: usize, units: &[u32]) -> Result<Books, RequestError> {
        if c >= self.customers() {
            return Err(RequestError::NoSuchCustomer);
        }
        if units.len() != self.available.len() {
            return Err(RequestError::WrongLength);
        }
        if units.iter().zip(self.need(c)).any(|(&u, need)| u > need) {
            return Err(RequestError::ExceedsClaim);
        }
        if units.iter().zip(&self.available).any(|(u, free)| u > free) {
            return Err(RequestError::MustWait);
        }
        let mut after = self.clone();
        for (r, &u) in units.iter().enumerate() {
            after.available[r] -= u;
            after.allocation[c][r] += u;
        }
        if after.safe_by_brute_force() {
            Ok(after)
        } else {
            Err(RequestError::Unsafe)
        }
    }

    /// What `release` must answer, by the documented order of the checks.
    fn expected_release(&self, c: usize, units: &[u32]) -> Result<Books, RequestError> {
        if c >= self.customers() {
            return Err(RequestError::NoSuchCustomer);
        }
        if units.len() != self.available.len() {
            return Err(RequestError::WrongLength);
        }
        if units
            .iter()
            .zip(&self.allocation[c])
            .any(|(u, held)| u > held)
        {
            return Err(RequestError::ReleasesMoreThanHeld);
        }
        let mut after = self.clone();
        for (r, &u) in units.iter().enumerate() {
            after.allocation[c][r] -= u;
            after.available[r] += u;
        }
        Ok(after)
    }

    /// Whether `state` holds exactly these books; `Err` names the first difference.
    fn compare(&self, state: &State) -> Result<(), String> {
        if state.available() != self.available.as_slice() {
            return Err(format!("available is {:?}", state.available()));
        }
        if state.max() != self.max.as_slice() {
            return Err(format!("max is {:?}", state.max()));
        }
        if state.allocation() != self.allocation.as_slice() {
            return Err(format!("allocation is {:?}", state.allocation()));
        }
        Ok(())
    }
}

/// Valid books with `m` resources and `customers` customers, small numbers (so that safe
/// and unsafe states both come up often, and shrink to small ones).
fn books_with(
    m: usize,
    customers: std::ops::RangeInclusive<usize>,
) -> impl Strategy<Value = Books> {
    let customer = vec((0..=4u32, 0..=4u32), m); // (held, may still ask for)
    (vec(0..=4u32, m), vec(customer, customers)).prop_map(|(available, rows)| Books {
        available,
        max: rows
            .iter()
            .map(|row| row.iter().map(|&(held, more)| held + more).collect())
            .collect(),
        allocation: rows
            .iter()
            .map(|row| row.iter().map(|&(held, _)| held).collect())
            .collect(),
    })
}

/// Valid books: `customers` customers and 1..=`resources` resources.
fn books(
    customers: std::ops::RangeInclusive<usize>,
    resources: usize,
) -> impl Strategy<Value = Books> {
    (1..=resources).prop_flat_map(move |m| books_with(m, customers.clone()))
}

/// Books, a customer index, and a vector of units for it. The customer is mostly one of
/// the books', sometimes one past the end; the units mostly fit in what the customer may
/// still ask for, sometimes go past it; the vector sometimes has one entry too many or
/// too few.
fn books_who_units() -> impl Strategy<Value = (Books, usize, Vec<u32>)> {
    let past_end = prop_oneof![12 => Just(None), 1 => (0..2usize).prop_map(Some)];
    let length = prop_oneof![12 => Just(0i8), 1 => Just(1i8), 1 => Just(-1i8)];
    (1..=3usize)
        .prop_flat_map(move |m| {
            // per resource: a number, and whether to go past the need
            let raw = vec((0..=4u32, prop::bool::weighted(0.15)), m + 1);
            (
                books_with(m, 1..=4),
                any::<Index>(),
                past_end.clone(),
                raw,
                length.clone(),
            )
        })
        .prop_map(|(b, pick, past_end, raw, length)| {
            let n = b.customers();
            let c = match past_end {
                None => pick.index(n),
                Some(k) => n + k,
            };
            let m = b.available.len();
            let need = if c < n { b.need(c) } else { vec![2; m] };
            let mut units: Vec<u32> = (0..m)
                .map(|r| match raw[r] {
                    (x, false) => x % (need[r] + 1),
                    (x, true) => need[r] + 1 + x % 2,
                })
                .collect();
            match length {
                1 => units.push(raw[m].0),
                -1 => {
                    units.pop();
                }
                _ => {}
            }
            (b, c, units)
        })
}

/// Tables for State::new: valid books, then up to two random corruptions.
#[derive(Debug, Clone)]
enum Damage {
    EmptyAvailable,
    EmptyRow(Index, bool),
    LongerRow(Index, bool),
    DropLastAllocationRow,
    Overdraw(Index, Index, u32),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        1 => Just(Damage::EmptyAvailable),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(i, a)| Damage::EmptyRow(i, a)),
        2 => (any::<Index>(), any::<bool>()).prop_map(|(i, a)| Damage::LongerRow(i, a)),
        2 => Just(Damage::DropLastAllocationRow),
        4 => (any::<Index>(), any::<Index>(), 1..=2u32)
            .prop_map(|(c, r, k)| Damage::Overdraw(c, r, k)),
    ]
}

fn damaged_tables() -> impl Strategy<Value = Books> {
    (books(0..=4, 3), vec(damage(), 0..=2)).prop_map(|(mut b, damages)| {
        for d in damages {
            let rows = b.max.len().min(b.allocation.len());
            match d {
                Damage::EmptyAvailable => b.available.clear(),
                Damage::EmptyRow(i, alloc) if rows > 0 => {
                    let t = if alloc { &mut b.allocation } else { &mut b.max };
                    t[i.index(rows)].clear();
                }
                Damage::LongerRow(i, alloc) if rows > 0 => {
                    let t = if alloc { &mut b.allocation } else { &mut b.max };
                    t[i.index(rows)].push(1);
                }
                Damage::DropLastAllocationRow => {
                    b.allocation.pop();
                }
                Damage::Overdraw(c, r, k) if rows > 0 => {
                    let c = c.index(rows);
                    let cols = b.max[c].len().min(b.allocation[c].len());
                    if cols > 0 {
                        let r = r.index(cols);
                        b.allocation[c][r] = b.max[c][r] + k;
                    }
                }
                _ => {}
            }
        }
        b
    })
}

/// What State::new must answer for these tables, by the documented order of the checks.
fn expected_new(t: &Books) -> Result<(), StateError> {
    let rows = || {
        std::iter::once(&t.available)
            .chain(&t.max)
            .chain(&t.allocation)
    };
    if rows().any(|row| row.is_empty()) {
        return Err(StateError::EmptyRow);
    }
    if t.max.len() != t.allocation.len() || rows().any(|row| row.len() != t.available.len()) {
        return Err(StateError::RaggedRows);
    }
    for c in 0..t.max.len() {
        if let Some(r) = (0..t.available.len()).find(|&r| t.allocation[c][r] > t.max[c][r]) {
            return Err(StateError::AllocationExceedsMax {
                customer: c,
                resource: r,
            });
        }
    }
    Ok(())
}

fn raw_tables(t: &Books) -> String {
    format!(
        "    available {:?}\n    max {:?}\n    allocation {:?}\n",
        t.available, t.max, t.allocation
    )
}

/// Books from plain tables (rows of max and allocation given customer by customer).
fn tables(available: &[u32], max: &[&[u32]], allocation: &[&[u32]]) -> Books {
    Books {
        available: available.to_vec(),
        max: max.iter().map(|row| row.to_vec()).collect(),
        allocation: allocation.iter().map(|row| row.to_vec()).collect(),
    }
}

/// Tables for State::new that random damage seldom makes: each fault the statement names,
/// and two faults at once (the one checked first must be the answer).
fn new_examples() -> Vec<Books> {
    vec![
        // No customers at all is a valid state.
        tables(&[3], &[], &[]),
        // An allocation row shorter than available (the max row is fine).
        tables(&[1, 1], &[&[1, 1]], &[&[0]]),
        // Customer 0 holds more than its max, customer 1 has an empty row: EmptyRow first.
        tables(&[2], &[&[1], &[2]], &[&[2], &[]]),
        // Customer 0 holds more than its max, customer 1's rows are too long: RaggedRows.
        tables(&[2], &[&[1], &[2, 2]], &[&[2], &[0, 0]]),
        // Two rows of max, one of allocation.
        tables(&[2], &[&[1], &[1]], &[&[0]]),
        // The first cell above max, row by row: customer 0, resource 1.
        tables(&[2, 2], &[&[1, 1], &[0, 0]], &[&[0, 2], &[1, 0]]),
        tables(&[], &[&[1]], &[&[0]]),
    ]
}

/// Requests that random books seldom make: one per check of `request`, and where two
/// checks could both refuse, the one that comes first must be the answer.
fn request_examples() -> Vec<(Books, usize, Vec<u32>)> {
    vec![
        // Resource 0 is within the need but more than is free (MustWait); resource 1 is
        // more than the need (ExceedsClaim): ExceedsClaim, for any resource, comes first.
        (tables(&[1, 5], &[&[5, 1]], &[&[0, 0]]), 0, vec![2, 2]),
        // Resource 0 fits in what is free, resource 1 does not: MustWait, and nothing of
        // resource 0 may have moved.
        (tables(&[2, 0], &[&[2, 2]], &[&[0, 0]]), 0, vec![1, 1]),
        (tables(&[2, 0, 3], &[&[2, 2, 2], &[1, 1, 1]], &[&[0, 0, 0], &[0, 1, 0]]), 0, vec![2, 1, 1]),
        // Nothing is free and each customer still needs 1: the state is already unsafe,
        // so even a request for nothing leaves no safe sequence: Unsafe.
        (tables(&[0], &[&[2], &[2]], &[&[1], &[1]]), 0, vec![0]),
        (tables(&[0, 1], &[&[2, 1], &[2, 1]], &[&[1, 0], &[1, 0]]), 1, vec![0, 0]),
        // A request for nothing from a safe state is granted and changes nothing.
        (tables(&[1], &[&[2], &[2]], &[&[1], &[1]]), 1, vec![0]),
        // The course's unsafe loan, with a second resource that fits.
        (tables(&[4, 1], &[&[9, 1], &[3, 1], &[8, 1]], &[&[2, 0], &[0, 0], &[4, 0]]), 0, vec![4, 1]),
        (tables(&[1], &[&[1]], &[&[0]]), 1, vec![1]),
        (tables(&[1], &[&[1]], &[&[0]]), 0, vec![1, 0]),
        (tables(&[1], &[&[1]], &[&[0]]), 0, vec![]),
    ]
}

/// Releases that random books seldom make: vectors of the wrong length (longer and
/// shorter), and each check in turn.
fn release_examples() -> Vec<(Books, usize, Vec<u32>)> {
    let one = tables(&[2], &[&[3]], &[&[2]]);
    let two = tables(&[0, 1], &[&[3, 3]], &[&[2, 2]]);
    vec![
        (one.clone(), 0, vec![1, 5]),
        (one.clone(), 0, vec![]),
        (one.clone(), 1, vec![1]),
        (one.clone(), 0, vec![3]),
        (one, 0, vec![1]),
        (two.clone(), 0, vec![1]),
        (two.clone(), 0, vec![1, 1, 1]),
        (two.clone(), 0, vec![3, 0]),
        (two, 0, vec![2, 1]),
    ]
}

/// Books whose safety random books seldom test: finishing pays back what a customer
/// holds, not its max; no customers at all.
fn safety_examples() -> Vec<Books> {
    vec![
        // Customer 1 can finish and pays back 1 (2 free), but customer 0 needs 3: unsafe.
        tables(&[1], &[&[3], &[2]], &[&[0], &[1]]),
        tables(&[1, 1], &[&[3, 1], &[2, 1]], &[&[0, 0], &[1, 0]]),
        tables(&[3], &[], &[]),
        tables(&[2], &[&[9], &[3], &[8]], &[&[2], &[2], &[4]]),
    ]
}

hidden_test! {
    /// The course's example, step by step: one resource, 10 units; C1 may borrow 9, C2 3,
    /// C3 8 (customers 0, 1, 2 here).
    fn course_example_c1_c2_c3() {
        let mut state = State::new(
            vec![2],
            vec![vec![9], vec![3], vec![8]],
            vec![vec![2], vec![2], vec![4]],
        )
        .expect("State::new refused the course's books: available [2], max [9, 3, 8], \
                 allocation [2, 2, 4]");
        assert_eq!(
            state.need(0),
            vec![7],
            "C1 (customer 0) may borrow 9 and holds 2: need(0) must be [7]"
        );
        assert_eq!(
            safe_sequence(&state),
            Some(vec![1, 2, 0]),
            "with C1 holding 2, C2 holding 2 and C3 holding 4 (2 units free), only C2 can \
             finish first, then C3, then C1: safe_sequence must be Some([1, 2, 0]). If it \
             said None, does your check keep looking after one pass, and does a need equal \
             to what is free count as fitting?"
        );
        assert_eq!(
            request(&mut state, 1, &[1]),
            Ok(()),
            "C2 (customer 1) asks for its last unit: 1 of the 2 free, and the state stays safe"
        );
        assert_eq!(
            (state.available(), state.allocation()),
            (&[1][..], &[vec![2], vec![3], vec![4]][..]),
            "after lending C2 (customer 1) 1 unit, (available, allocation)"
        );
        assert_eq!(
            release(&mut state, 1, &[3]),
            Ok(()),
            "C2 (customer 1) has finished and pays back all 3 units"
        );
        assert_eq!(
            (state.available(), state.allocation()),
            (&[4][..], &[vec![2], vec![0], vec![4]][..]),
            "after C2 (customer 1) paid back 3 units, (available, allocation)"
        );
        let lend_c1 = request(&mut state, 0, &[4]);
        assert!(
            matches!(lend_c1, Err(RequestError::Unsafe)),
            "after C2 has finished (4 units free), lending C1 (customer 0) 4 more leaves \
             nothing free: C1 would still need 3 and C3 4, and neither could ever finish. \
             The course calls this unsafe: request must be Err(Unsafe), not {lend_c1:?}"
        );
        assert_eq!(
            (state.available(), state.allocation()),
            (&[4][..], &[vec![2], vec![0], vec![4]][..]),
            "the refused loan to C1 changed the books: a refused request must leave the \
             state exactly as it was. (available, allocation)"
        );
        assert_eq!(
            request(&mut state, 2, &[4]),
            Ok(()),
            "after C2 has finished, lending C3 (customer 2) its last 4 units is safe: C3 \
             finishes, then C1"
        );
    }
}

hidden_test! {
    /// State::new accepts exactly the valid tables, and names the first fault.
    fn state_new_checks_the_tables() {
        let property = |t: Books| -> Result<(), TestCaseError> {
            let got = call("State::new", &raw_tables(&t), || {
                State::new(t.available.clone(), t.max.clone(), t.allocation.clone())
            })?;
            let want = expected_new(&t);
            match (&got, &want) {
                (Ok(state), Ok(())) => {
                    if let Err(diff) = t.compare(state) {
                        return Err(TestCaseError::fail(format!(
                            "State::new kept different books: {diff}, for\n{}",
                            raw_tables(&t)
                        )));
                    }
                    for c in 0..t.customers() {
                        let need =
                            call(&format!("need({c})"), &raw_tables(&t), || state.need(c))?;
                        ensure!(
                            need == t.need(c),
                            "need({c}) is {need:?}, but max - allocation is {:?}, for\n{}",
                            t.need(c),
                            raw_tables(&t)
                        );
                    }
                }
                (Ok(_), Err(e)) => ensure!(
                    false,
                    "State::new accepted these tables, but they are invalid ({e:?}):\n{}",
                    raw_tables(&t)
                ),
                (Err(e), _) => ensure!(
                    matches!(&want, Err(w) if same_state_error(e, w)),
                    "State::new answered {e:?}, but it must be {want:?} (EmptyRow is checked \
                     first, then RaggedRows, then the first allocation above max, row by row), \
                     for\n{}",
                    raw_tables(&t)
                ),
            }
            Ok(())
        };
        check_examples(new_examples(), &property);
        check(256, damaged_tables(), &property);
    }
}

hidden_test! {
    /// Every sequence safe_sequence returns really lets the customers finish one by one.
    fn safe_sequence_is_a_real_order() {
        check(512, books(0..=6, 4), |b| {
            let state = b.build()?;
            if let Some(order) = call("safe_sequence", &b.table(), || safe_sequence(&state))? {
                if let Err(why) = b.replay(&order) {
                    return Err(TestCaseError::fail(format!(
                        "safe_sequence returned {order:?}, but {why}. The books:\n{}",
                        b.table()
                    )));
                }
            }
            Ok(())
        });
    }
}

hidden_test! {
    /// safe_sequence finds an order exactly when trying every order finds one.
    fn safe_exactly_when_some_order_exists() {
        let property = |b: Books| -> Result<(), TestCaseError> {
            let state = b.build()?;
            let got = call("safe_sequence", &b.table(), || safe_sequence(&state))?;
            let safe = b.safe_by_brute_force();
            ensure!(
                got.is_some() || !safe,
                "safe_sequence said None (unsafe), but the customers can all finish, e.g. by \
                 trying every order. Does your check keep going until nobody else can \
                 finish, look at every resource, and let a need equal to what is free fit? \
                 The books:\n{}",
                b.table()
            );
            ensure!(
                got.is_none() || safe,
                "safe_sequence returned {got:?}, but no order lets every customer finish: \
                 the state is unsafe. Does your check compare the need with what is free \
                 for every resource? The books:\n{}",
                b.table()
            );
            Ok(())
        };
        check_examples(safety_examples(), &property);
        check(512, books(0..=4, 3), &property);
    }
}

hidden_test! {
    /// request answers what the banker must answer: NoSuchCustomer, WrongLength,
    /// ExceedsClaim, MustWait, Unsafe in that order, and grants only what keeps the
    /// state safe.
    fn request_grants_exactly_when_the_state_stays_safe() {
        let property = |(b, c, units): (Books, usize, Vec<u32>)| -> Result<(), TestCaseError> {
            let mut state = b.build()?;
            let what = format!("request(customer {c}, {units:?})");
            let got = call(&what, &b.table(), || request(&mut state, c, &units))?;
            let want = b.expected_request(c, &units).map(|_| ());
            ensure!(
                same_request_result(&got, &want),
                "request(customer {c}, {units:?}) returned {got:?}, but it must be {want:?}. \
                 The books before:\n{}",
                b.table()
            );
            Ok(())
        };
        check_examples(request_examples(), &property);
        check(512, books_who_units(), &property);
    }
}

hidden_test! {
    /// A refused request leaves the books exactly as they were; a granted one moves the
    /// units from available to the customer's allocation, and changes nothing else.
    fn refused_request_changes_nothing() {
        let property = |(b, c, units): (Books, usize, Vec<u32>)| -> Result<(), TestCaseError> {
            let mut state = b.build()?;
            let what = format!("request(customer {c}, {units:?})");
            let got = call(&what, &b.table(), || request(&mut state, c, &units))?;
            let want = match &got {
                Err(_) => b.clone(),
                Ok(()) => {
                    let mut after = b.clone();
                    for (r, &u) in units.iter().enumerate() {
                        let (Some(free), Some(held)) = (
                            after.available.get_mut(r),
                            after.allocation.get_mut(c).and_then(|row| row.get_mut(r)),
                        ) else {
                            return Err(TestCaseError::fail(format!(
                                "request(customer {c}, {units:?}) was granted, but there is no \
                                 such customer or resource. The books before:\n{}",
                                b.table()
                            )));
                        };
                        ensure!(
                            *free >= u,
                            "request(customer {c}, {units:?}) was granted, but only \
                             {:?} was free: the banker lent units it does not have. The \
                             books before:\n{}",
                            b.available,
                            b.table()
                        );
                        *free -= u;
                        *held += u;
                    }
                    after
                }
            };
            if let Err(diff) = want.compare(&state) {
                let what = match got {
                    Err(e) => format!("was refused with {e:?}, so the books must not change"),
                    Ok(()) => "was granted, so only available and the customer's allocation \
                               may change, by exactly the request"
                        .to_string(),
                };
                return Err(TestCaseError::fail(format!(
                    "request(customer {c}, {units:?}) {what}; yet afterwards {diff}. The books \
                     before:\n{}",
                    b.table()
                )));
            }
            Ok(())
        };
        check_examples(request_examples(), &property);
        check(512, books_who_units(), &property);
    }
}

hidden_test! {
    /// release checks NoSuchCustomer, WrongLength, ReleasesMoreThanHeld (in that order) and
    /// moves exactly the units back to available.
    fn release_gives_back_exactly_what_is_held() {
        let property = |(b, c, units): (Books, usize, Vec<u32>)| -> Result<(), TestCaseError> {
            let mut state = b.build()?;
            let what = format!("release(customer {c}, {units:?})");
            let got = call(&what, &b.table(), || release(&mut state, c, &units))?;
            let want = b.expected_release(c, &units);
            ensure!(
                same_request_result(&got, &want.as_ref().map(|_| ()).map_err(|e| e.clone())),
                "release(customer {c}, {units:?}) returned {got:?}, but it must be {:?}. The \
                 books before:\n{}",
                want.as_ref().map(|_| ()),
                b.table()
            );
            let after = want.unwrap_or_else(|_| b.clone());
            if let Err(diff) = after.compare(&state) {
                return Err(TestCaseError::fail(format!(
                    "after release(customer {c}, {units:?}) returned {got:?}, {diff}; the \
                     books should be\n{}The books before:\n{}",
                    after.table(),
                    b.table()
                )));
            }
            Ok(())
        };
        check_examples(release_examples(), &property);
        check(512, books_who_units(), &property);
    }
}
