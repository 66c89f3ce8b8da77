//! Mutant: `transfer` debits under the `from` lock, lets go, then credits under the `to` lock: an audit in between misses the money in flight.
//! expect-fail: deadlock_loom::audit_during_a_transfer_sees_the_whole_total, deadlock_loom::audit_during_two_transfers_sees_the_whole_total, deadlock_loom::two_audits_during_a_transfer_both_see_the_whole_total, deadlock_loom::one_balance_is_never_spent_twice, deadlock_stress::audits_always_see_the_same_total

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
        // Checked before any lock: locking one non-reentrant mutex twice would wait forever.
        if from == to {
            return Err(TransferError::SameAccount);
        }
        // BUG: never two locks at once, so no deadlock, but the money is in flight
        // between the two blocks.
        {
            let mut source = self.accounts[from].lock();
            if *source < amount {
                return Err(TransferError::InsufficientFunds);
            }
            *source -= amount;
        }
        *self.accounts[to].lock() += amount;
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
