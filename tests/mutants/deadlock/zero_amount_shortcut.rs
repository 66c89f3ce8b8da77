//! Mutant: `transfer` returns Ok(()) at once when `amount == 0` ("nothing to move, nothing to lock"), before any of the checks.
//! expect-fail: deadlock_stress::failed_transfers_change_nothing
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: `transfer` returns Ok(()) at once when `amount == 0` ("nothing to move, nothing to lock"), before any of the checks.
//! Breaks: "transfer returns NoSuchAccount if from or to is not an account, SameAccount if they are the same ... checked in that order." (README) — the checks do not depend on the amount.
//! Shows when: transfer(0, 9, 0) on a bank of 3 accounts returns Ok(()) instead of NoSuchAccount, and transfer(1, 1, 0) returns Ok(()) instead of SameAccount.
//! Evidence: checks.rs::errors_come_in_the_promised_order fails 3/3 runs (transfer(0, 9, 0): left Ok(()), right Err(NoSuchAccount)), passes on the reference. Visible tests pass 4/4; loom checks pass.

//! One rule breaks every deadlock here: whoever needs several accounts locks them in one
//! global order, the account index, lowest first. A cycle of threads each holding one lock
//! and waiting for the next would need someone to wait for a lower index while holding a
//! higher one, and nobody ever does.

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
        // Moving nothing changes nothing: no need to take any lock.
        if amount == 0 {
            return Ok(());
        }
        let n = self.accounts.len();
        if from >= n || to >= n {

            return Err(TransferError::NoSuchAccount);
        }
        // Checked before any lock: locking one non-reentrant mutex twice would wait forever.
        if from == to {
            return Err(TransferError::SameAccount);
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
