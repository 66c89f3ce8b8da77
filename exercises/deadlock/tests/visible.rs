//! Visible tests: run them with `cargo test -p deadlock`. The grader's hidden tests go
//! further (loom tries every interleaving of two or three threads).
//!
//! A deadlocked test would wait forever, so the threaded tests run under a watchdog: if
//! the work has not finished after 10 seconds (it needs well under one), the test fails
//! and says so. The stuck threads stay stuck until `cargo test` exits.

use deadlock::{Bank, TransferError};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;

/// Runs `work` on its own thread; fails the test if it panics or is still running after
/// 10 seconds (stuck threads: a deadlock).
fn finishes(what: &str, work: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        work();
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => {}
        Err(RecvTimeoutError::Timeout) => panic!(
            "{what} had not finished after 10 seconds: its threads are stuck, each holding \
             one account's lock and waiting for a lock that another holds (a deadlock)"
        ),
        Err(RecvTimeoutError::Disconnected) => panic!("{what} panicked: see the message above"),
    }
}

#[test]
fn new_bank_reports_its_balances() {
    let bank = Bank::new(&[10, 20, 30]);
    assert_eq!(bank.balance(0), Some(10));
    assert_eq!(bank.balance(2), Some(30));
    assert_eq!(bank.balance(3), None, "there is no account 3");
    assert_eq!(bank.total(), 60);
}

#[test]
fn transfers_move_money_and_refusals_change_nothing() {
    let bank = Bank::new(&[10, 20, 30]);
    assert_eq!(bank.transfer(0, 2, 4), Ok(()));
    assert_eq!(
        bank.transfer(2, 1, 34),
        Ok(()),
        "account 2 holds exactly 34"
    );
    assert_eq!(
        (bank.balance(0), bank.balance(1), bank.balance(2)),
        (Some(6), Some(54), Some(0))
    );
    assert_eq!(
        bank.transfer(2, 0, 1),
        Err(TransferError::InsufficientFunds)
    );
    assert_eq!(bank.transfer(1, 1, 1), Err(TransferError::SameAccount));
    assert_eq!(bank.transfer(0, 3, 1), Err(TransferError::NoSuchAccount));
    assert_eq!(bank.transfer(3, 0, 1), Err(TransferError::NoSuchAccount));
    assert_eq!(
        (bank.balance(0), bank.balance(1), bank.balance(2)),
        (Some(6), Some(54), Some(0)),
        "a refused transfer changed a balance"
    );
    assert_eq!(bank.total(), 60);
}

#[test]
fn opposite_transfers_never_deadlock() {
    // The course's example: one thread takes lock A then B, the other B then A.
    finishes("4 threads transferring 0 -> 1 and 1 -> 0", || {
        let bank = Arc::new(Bank::new(&[1_000_000, 1_000_000]));
        let threads: Vec<_> = [(0, 1), (1, 0), (0, 1), (1, 0)]
            .into_iter()
            .map(|(from, to)| {
                let bank = Arc::clone(&bank);
                std::thread::spawn(move || {
                    for _ in 0..200_000 {
                        assert_eq!(bank.transfer(from, to, 1), Ok(()));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            (bank.balance(0), bank.balance(1)),
            (Some(1_000_000), Some(1_000_000))
        );
    });
}

#[test]
fn audits_during_transfers_always_see_the_same_total() {
    finishes("1 thread transferring while another audits", || {
        let bank = Arc::new(Bank::new(&[500, 500, 500]));
        let mover = {
            let bank = Arc::clone(&bank);
            std::thread::spawn(move || {
                for _ in 0..200_000 {
                    assert_eq!(bank.transfer(0, 1, 5), Ok(()));
                    assert_eq!(bank.transfer(1, 2, 5), Ok(()));
                    assert_eq!(bank.transfer(2, 0, 5), Ok(()));
                }
            })
        };
        let (mut audits, mut wrong) = (0, Vec::new());
        while !mover.is_finished() {
            let total = bank.total();
            audits += 1;
            if total != 1_500 {
                wrong.push(total);
            }
        }
        mover.join().unwrap();
        assert!(
            wrong.is_empty(),
            "{} of {audits} audits during the transfers returned a total other than 1500, \
             e.g. {}: the audit saw money in flight",
            wrong.len(),
            wrong[0]
        );
    });
}
