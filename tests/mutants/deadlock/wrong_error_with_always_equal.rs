//! Mutant: `transfer(i, i, ..)` answers NoSuchAccount instead of SameAccount, and TransferError's `PartialEq` says every two errors are equal (so `assert_eq!` on errors would not see it).
//! expect-fail: deadlock_loom::same_account_transfer_is_refused_not_deadlocked, deadlock_stress::failed_transfers_change_nothing
//!
//! Written for the accuracy work (issue 13): the hidden tests compare errors by pattern,
//! never with the kata's own PartialEq.
//!
//! One rule breaks every deadlock here: whoever needs several accounts locks them in one
//! global order, the account index, lowest first. A cycle of threads each holding one lock
//! and waiting for the next would need someone to wait for a lower index while holding a
//! higher one, and nobody ever does.

use kata_sync::Mutex;

/// Why a transfer was refused. A refused transfer changes nothing.
#[derive(Debug, Clone, Copy)]
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
        // Checked before any lock: locking one non-reentrant mutex twice would wait forever.
        if from == to {
            return Err(TransferError::NoSuchAccount);
        }
        // The global order: the lower index first, whichever way the money goes.
        let (low, high) = (from.min(to), from.max(to));
        let mut low_guard = self.accounts[low].lock();
        let mut high_guard = self.accounts[high].lock();
        let (source, target) = if from == low {
            (&mut *low_guard, &mut *high_guard)
        } else {
            (&mut *high_guard, &mut *low_guard)
        };
        // The check and the move happen under both locks: nobody can spend the money
        // between them, and nobody can see it half moved.
        if *source < amount {
            return Err(TransferError::InsufficientFunds);
        }
        *source -= amount;
        *target += amount;
        Ok(())
    }

    /// The sum of all balances as of one instant, even while transfers run.
    pub fn total(&self) -> u64 {
        // A snapshot: take every lock (in the same global order as `transfer`, so the audit
        // cannot deadlock with it either), and only then add up. While all the locks are
        // held no transfer is half done.
        let guards: Vec<_> = self.accounts.iter().map(|a| a.lock()).collect();
        guards.iter().map(|g| **g).sum()
    }
}

impl PartialEq for TransferError {
    fn eq(&self, _other: &TransferError) -> bool {
        true
    }
}

impl Eq for TransferError {}
