//! Kata `deadlock` — 死锁. See README.md.
//!
//! Take every lock from `kata_sync` (never `std::sync` or parking_lot directly): the grader
//! swaps in loom's models to try every interleaving.

use kata_sync::Mutex;

/// Why a transfer was refused. A refused transfer changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferError {
    /// `from` or `to` is not an account of this bank.
    NoSuchAccount,
    /// `from` and `to` are the same account.
    SameAccount,
    /// `from` holds less than `amount`.
    InsufficientFunds,
}

/// A bank whose accounts many threads use at once: one lock per account.
pub struct Bank {
    accounts: Vec<Mutex<u64>>,
}

impl Bank {
    /// A bank with one account per balance, numbered from 0. The balances must add up to
    /// at most `u64::MAX`.
    pub fn new(balances: &[u64]) -> Bank {
        Bank {
            accounts: balances.iter().map(|&b| Mutex::new(b)).collect(),
        }
    }

    /// The balance of `account`, or `None` if there is no such account.
    pub fn balance(&self, account: usize) -> Option<u64> {
        self.accounts.get(account).map(|a| *a.lock())
    }

    /// Moves `amount` atomically. Money is never created or lost, no balance goes below
    /// zero, and any threads may transfer between any accounts at once without deadlock.
    ///
    /// Errors, checked in this order: `NoSuchAccount`, `SameAccount`, `InsufficientFunds`.
    pub fn transfer(&self, from: usize, to: usize, amount: u64) -> Result<(), TransferError> {
        let n = self.accounts.len();
        if from >= n || to >= n {
            return Err(TransferError::NoSuchAccount);
        }
        if from == to {
            return Err(TransferError::SameAccount);
        }
        // TODO: this is the course's deadlock. Thread 1 calls transfer(0, 1, ..) and locks
        // account 0; thread 2 calls transfer(1, 0, ..) and locks account 1; now each waits
        // for the lock the other holds, forever. Take the two locks in an order that does
        // not depend on the direction of the transfer.
        let mut source = self.accounts[from].lock();
        let mut target = self.accounts[to].lock();
        if *source < amount {
            return Err(TransferError::InsufficientFunds);
        }
        *source -= amount;
        *target += amount;
        Ok(())
    }

    /// The sum of all balances as of one instant, even while transfers run.
    pub fn total(&self) -> u64 {
        // TODO: this audit reads one account at a time. Between reading account 0 and
        // reading account 1, a whole transfer 0 -> 1 can happen, and the audit counts the
        // money twice (or, the other way round, not at all). Hold every account still while
        // you add up, without creating a new deadlock with `transfer`.
        self.accounts.iter().map(|a| *a.lock()).sum()
    }
}
