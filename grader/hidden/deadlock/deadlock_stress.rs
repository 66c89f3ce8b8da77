//! Hidden stress suite of kata `deadlock`: real threads, many transfers in every direction.
//!
//! The transfers are random but reproducible: each thread draws them from its own linear
//! congruential generator with a fixed seed. A deadlock shows up as a test that never ends,
//! which the grader's time limit turns into a failure.

use deadlock::{Bank, TransferError};
use kata_harness::hidden_test;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

/// A tiny seeded generator (Knuth's MMIX constants): the same numbers on every run.
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Lcg {
        Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }

    /// Two different accounts out of `accounts`, in a random direction.
    fn pair(&mut self, accounts: usize) -> (usize, usize) {
        let from = self.below(accounts as u64) as usize;
        let to = (from + 1 + self.below(accounts as u64 - 1) as usize) % accounts;
        (from, to)
    }
}

/// Joins a thread, turning its panic into a message that says which thread it was.
fn join<T>(handle: kata_sync::thread::JoinHandle<T>, what: &str) -> T {
    handle.join().unwrap_or_else(|_| {
        panic!(
            "{what} panicked (its message is above); an arithmetic overflow inside transfer \
             means a balance went below zero"
        )
    })
}

/// Whether `got` is the refusal `want`, by pattern: the verdict never rests on the kata's
/// own `PartialEq`.
fn is_refused_with(got: Result<(), TransferError>, want: TransferError) -> bool {
    use TransferError::*;
    matches!(
        (got, want),
        (Err(NoSuchAccount), NoSuchAccount)
            | (Err(SameAccount), SameAccount)
            | (Err(InsufficientFunds), InsufficientFunds)
    )
}

fn all_balances(bank: &Bank, accounts: usize) -> Vec<Option<u64>> {
    (0..accounts).map(|a| bank.balance(a)).collect()
}

hidden_test! {
    /// 6 threads x 1 000 000 random transfers among 3 accounts, in both directions, with
    /// amounts close to the balances: many are refused, none overdraws, none loses money.
    fn random_transfers_conserve_money_and_never_overdraw() {
        const ACCOUNTS: usize = 3;
        const START: u64 = 100;
        const THREADS: u64 = 6;
        const TRANSFERS: usize = 1_000_000;
        let bank = Arc::new(Bank::new(&[START; ACCOUNTS]));
        let start = Arc::new(Barrier::new(THREADS as usize));
        let workers: Vec<_> = (0..THREADS)
            .map(|seed| {
                let (bank, start) = (Arc::clone(&bank), Arc::clone(&start));
                kata_sync::thread::spawn(move || {
                    let mut rng = Lcg::new(seed);
                    // What the successful transfers did to each account, as seen by this thread.
                    let mut net = [0i128; ACCOUNTS];
                    start.wait();
                    // More than the whole bank holds: refused on any interleaving.
                    let (from, to) = rng.pair(ACCOUNTS);
                    let first = bank.transfer(from, to, 1_000);
                    assert!(
                        matches!(first, Err(TransferError::InsufficientFunds)),
                        "transfer({from}, {to}, 1000) in a bank holding 300 in all returned \
                         {first:?}: it must be Err(InsufficientFunds)"
                    );
                    for _ in 0..TRANSFERS {
                        let (from, to) = rng.pair(ACCOUNTS);
                        let amount = 1 + rng.below(80);
                        match bank.transfer(from, to, amount) {
                            Ok(()) => {
                                net[from] -= i128::from(amount);
                                net[to] += i128::from(amount);
                            }
                            Err(TransferError::InsufficientFunds) => {}
                            Err(e) => panic!(
                                "transfer({from}, {to}, {amount}) between two existing, \
                                 different accounts returned Err({e:?})"
                            ),
                        }
                    }
                    net
                })
            })
            .collect();
        let mut expected = [i128::from(START); ACCOUNTS];
        for (i, worker) in workers.into_iter().enumerate() {
            let net = join(worker, &format!("transfer thread {i}"));
            for (e, n) in expected.iter_mut().zip(net) {
                *e += n;
            }
        }
        let got = all_balances(&bank, ACCOUNTS);
        let got_wide: Vec<_> = got.iter().map(|b| b.map(i128::from)).collect();
        let expected: Vec<_> = expected.iter().map(|&e| Some(e)).collect();
        let overdrawn = if expected.iter().flatten().any(|&e| e < 0) {
            " A negative sum means the transfers that returned Ok took more out of an \
             account than it ever held: two transfers spent the same money (is the balance \
             checked under the same locks as the move?)."
        } else {
            ""
        };
        assert_eq!(
            got_wide, expected,
            "after {} random transfers among balances [100, 100, 100], the balances are \
             {got:?}, but the transfers that returned Ok add up to {expected:?}: money was \
             created or lost. A transfer that returns Err must change nothing, one that \
             returns Ok must move exactly its amount.{overdrawn}",
            THREADS as usize * TRANSFERS
        );
        let total = bank.total();
        assert_eq!(total, 300, "total() after all the transfers, with balances {got:?}");
    }
}

/// Balances so large that no run of transfers of at most 1000 can empty an account: every
/// transfer between two existing accounts must succeed.
const RICH: u64 = 1_000_000_000_000;

hidden_test! {
    /// 2 threads move money at random among 3 accounts for as long as 2 auditors are
    /// calling total(), 500 000 times each: every audit must return the same total.
    fn audits_always_see_the_same_total() {
        const ACCOUNTS: usize = 3;
        const AUDITS: u64 = 500_000;
        const MIN_TRANSFERS: u64 = 500_000;
        let bank = Arc::new(Bank::new(&[RICH; ACCOUNTS]));
        let auditors_done = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(4));
        let movers: Vec<_> = (0..2u64)
            .map(|seed| {
                let (bank, start, auditors_done) =
                    (Arc::clone(&bank), Arc::clone(&start), Arc::clone(&auditors_done));
                kata_sync::thread::spawn(move || {
                    let mut rng = Lcg::new(100 + seed);
                    start.wait();
                    // The movers outlast the auditors: every audit runs while money moves.
                    let mut transfers = 0u64;
                    while transfers < MIN_TRANSFERS || auditors_done.load(Ordering::SeqCst) < 2 {
                        let (from, to) = rng.pair(ACCOUNTS);
                        let amount = 1 + rng.below(1_000);
                        let got = bank.transfer(from, to, amount);
                        assert_eq!(
                            got,
                            Ok(()),
                            "transfer({from}, {to}, {amount}) from a balance near {RICH}"
                        );
                        transfers += 1;
                    }
                })
            })
            .collect();
        let auditors: Vec<_> = (0..2)
            .map(|_| {
                let (bank, start, auditors_done) =
                    (Arc::clone(&bank), Arc::clone(&start), Arc::clone(&auditors_done));
                kata_sync::thread::spawn(move || {
                    start.wait();
                    let (mut wrong, mut example) = (0u64, None);
                    for _ in 0..AUDITS {
                        let total = bank.total();
                        if total != ACCOUNTS as u64 * RICH {
                            wrong += 1;
                            example.get_or_insert(total);
                        }
                    }
                    auditors_done.fetch_add(1, Ordering::SeqCst);
                    (wrong, example)
                })
            })
            .collect();
        let audits: Vec<_> = auditors
            .into_iter()
            .enumerate()
            .map(|(i, auditor)| join(auditor, &format!("audit thread {i}")))
            .collect();
        for (i, mover) in movers.into_iter().enumerate() {
            join(mover, &format!("transfer thread {i}"));
        }
        for (i, (wrong, example)) in audits.into_iter().enumerate() {
            assert_eq!(
                wrong,
                0,
                "auditor {i} called total() {AUDITS} times while transfers ran, on a bank \
                 that always holds {}, and {wrong} of those audits were wrong (one returned \
                 {example:?}): the audit saw money in flight. Hold every account still while \
                 you add up.",
                ACCOUNTS as u64 * RICH
            );
        }
        let got = all_balances(&bank, ACCOUNTS);
        let sum: u64 = got.iter().flatten().sum();
        assert_eq!(
            sum,
            ACCOUNTS as u64 * RICH,
            "after transfers that all returned Ok, the balances {got:?} add up to {sum}, \
             not {}",
            ACCOUNTS as u64 * RICH
        );
    }
}

hidden_test! {
    /// Refused transfers (no such account, same account, not enough money) return their
    /// error and change nothing, even while 4 other threads transfer in both directions.
    fn failed_transfers_change_nothing() {
        const START: [u64; 4] = [RICH, RICH, 500, 700];
        const MIN_TRANSFERS: u64 = 500_000;
        let bank = Arc::new(Bank::new(&START));
        let refusals_done = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(5));
        // Accounts 0 and 1 swap money in random directions for as long as the refusals
        // below go on. Each thread returns what its transfers did to account 0.
        let churners: Vec<_> = (0..4u64)
            .map(|seed| {
                let (bank, start, refusals_done) =
                    (Arc::clone(&bank), Arc::clone(&start), Arc::clone(&refusals_done));
                kata_sync::thread::spawn(move || {
                    let mut rng = Lcg::new(200 + seed);
                    start.wait();
                    let (mut transfers, mut net) = (0u64, 0i128);
                    while transfers < MIN_TRANSFERS || !refusals_done.load(Ordering::SeqCst) {
                        let (from, to) = rng.pair(2);
                        let amount = 1 + rng.below(1_000);
                        let got = bank.transfer(from, to, amount);
                        assert_eq!(
                            got,
                            Ok(()),
                            "transfer({from}, {to}, {amount}) from a balance near {RICH}"
                        );
                        net += if from == 0 { -1 } else { 1 } * i128::from(amount);
                        transfers += 1;
                    }
                    net
                })
            })
            .collect();
        use TransferError::*;
        // Each error on its own, then two faults at once: the first in the promised order
        // (NoSuchAccount, SameAccount, InsufficientFunds) wins, whatever the amount.
        let refused: [(usize, usize, u64, TransferError); 17] = [
            (2, 2, 1, SameAccount),
            (3, 3, 0, SameAccount),
            (0, 0, 1, SameAccount),
            (2, 4, 1, NoSuchAccount),
            (4, 3, 1, NoSuchAccount),
            (usize::MAX, 0, 1, NoSuchAccount),
            (1, 99, 1, NoSuchAccount),
            (2, 3, 501, InsufficientFunds),
            (3, 2, 701, InsufficientFunds),
            (3, 2, 1_000_000, InsufficientFunds),
            (4, 4, 1, NoSuchAccount),
            (usize::MAX, usize::MAX, 1, NoSuchAccount),
            (2, 9, 0, NoSuchAccount),
            (9, 3, 0, NoSuchAccount),
            (2, 7, 501, NoSuchAccount),
            (2, 2, 501, SameAccount),
            (3, 3, u64::MAX, SameAccount),
        ];
        start.wait();
        for round in 0..20_000 {
            for &(from, to, amount, error) in &refused {
                let got = bank.transfer(from, to, amount);
                assert!(
                    is_refused_with(got, error),
                    "round {round}: transfer({from}, {to}, {amount}) on a bank of 4 \
                     accounts, where account 2 holds 500 and account 3 holds 700, returned \
                     {got:?}, but it must be Err({error:?}). The checks come in this order: \
                     NoSuchAccount, SameAccount, InsufficientFunds; the first that fails is \
                     the answer, whatever the amount (even 0)"
                );
                let (two, three) = (bank.balance(2), bank.balance(3));
                assert_eq!(
                    (two, three),
                    (Some(500), Some(700)),
                    "round {round}: transfer({from}, {to}, {amount}) returned {got:?}, yet \
                     accounts 2 and 3 went from 500 and 700 to {two:?} and {three:?}: a \
                     refused transfer must change nothing"
                );
            }
        }
        refusals_done.store(true, Ordering::SeqCst);
        let mut zero = i128::from(RICH);
        for (i, churner) in churners.into_iter().enumerate() {
            zero += join(churner, &format!("transfer thread {i}"));
        }
        let zero = zero as u64;
        let got = all_balances(&bank, 5);
        let expected = [Some(zero), Some(2 * RICH - zero), Some(500), Some(700), None];
        assert_eq!(
            got, expected,
            "balances of accounts 0 to 4 after transfers between accounts 0 and 1 that all \
             returned Ok, and only refused transfers elsewhere"
        );
    }
}

hidden_test! {
    /// 2 threads move money between accounts 0 and 1, in both directions, for as long as 2
    /// readers call balance(0) and balance(1), 1 000 000 times each: an account that exists
    /// always has a balance (never None, which means "no such account"), and no balance is
    /// ever more than the two accounts hold together.
    fn balance_of_an_existing_account_is_always_there() {
        const READS: u64 = 1_000_000;
        const MIN_TRANSFERS: u64 = 200_000;
        let bank = Arc::new(Bank::new(&[RICH, RICH]));
        let readers_done = Arc::new(AtomicUsize::new(0));
        let start = Arc::new(Barrier::new(4));
        let movers: Vec<_> = (0..2u64)
            .map(|seed| {
                let (bank, start, readers_done) =
                    (Arc::clone(&bank), Arc::clone(&start), Arc::clone(&readers_done));
                kata_sync::thread::spawn(move || {
                    let mut rng = Lcg::new(300 + seed);
                    start.wait();
                    let mut transfers = 0u64;
                    while transfers < MIN_TRANSFERS || readers_done.load(Ordering::SeqCst) < 2 {
                        let (from, to) = rng.pair(2);
                        let amount = 1 + rng.below(1_000);
                        let got = bank.transfer(from, to, amount);
                        assert!(
                            matches!(got, Ok(())),
                            "transfer({from}, {to}, {amount}) from a balance near {RICH} \
                             returned {got:?}"
                        );
                        transfers += 1;
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..2u64)
            .map(|_| {
                let (bank, start, readers_done) =
                    (Arc::clone(&bank), Arc::clone(&start), Arc::clone(&readers_done));
                kata_sync::thread::spawn(move || {
                    start.wait();
                    let (mut missing, mut too_much) = (0u64, None);
                    for i in 0..READS {
                        let account = (i % 2) as usize;
                        match bank.balance(account) {
                            None => missing += 1,
                            Some(b) if b > 2 * RICH => {
                                too_much.get_or_insert((account, b));
                            }
                            Some(_) => {}
                        }
                    }
                    readers_done.fetch_add(1, Ordering::SeqCst);
                    (missing, too_much)
                })
            })
            .collect();
        let reports: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(i, reader)| join(reader, &format!("reader thread {i}")))
            .collect();
        for (i, mover) in movers.into_iter().enumerate() {
            join(mover, &format!("transfer thread {i}"));
        }
        for (i, (missing, too_much)) in reports.into_iter().enumerate() {
            assert_eq!(
                missing,
                0,
                "reader {i} called balance(0) and balance(1) {READS} times in all while \
                 transfers between the two accounts ran, and {missing} calls returned None: \
                 None means \"no such account\", never \"busy right now\". Wait for the \
                 account's lock (lock(), not try_lock())"
            );
            if let Some((account, b)) = too_much {
                panic!(
                    "reader {i}: balance({account}) returned {b}, more than accounts 0 and 1 \
                     hold together ({})",
                    2 * RICH
                );
            }
        }
        let total = bank.total();
        assert_eq!(total, 2 * RICH, "total() after transfers that all returned Ok");
    }
}
