//! Mutant: `transfer` refuses early if `balance(from) < amount` (one lock, taken and dropped), then takes both locks in index order and moves the money without checking again.
//! expect-fail: deadlock_loom::one_balance_is_never_spent_twice, deadlock_stress::random_transfers_conserve_money_and_never_overdraw
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: `transfer` refuses early if `balance(from) < amount` (one lock, taken and dropped), then takes both locks in index order and moves the money without checking again.
//! Breaks: "no balance goes below zero" and "InsufficientFunds if from holds less than amount" (README, transfer): the check and the withdrawal are not in one critical section (check-then-act).
//! Shows when: account 0 holds 10 and two threads each transfer 10 out of it at once: both pass the early check, the second withdrawal underflows (panic "attempt to subtract with overflow" in a debug build) instead of returning InsufficientFunds.
//! Evidence: loom check two_withdrawals_of_the_last_coin fails deterministically (panic "attempt to subtract with overflow" at *source -= amount); the real-thread stress_no_overdraft (2000 rounds) caught it only 1/3 runs. Reference passes both. Visible tests pass 4/4 (no concurrent overdraft).

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
        let n = self.accounts.len();
        if from >= n || to >= n {
            return Err(TransferError::NoSuchAccount);
        }
        // Checked before any lock: locking one non-reentrant mutex twice would wait forever.
        if from == to {
            return Err(TransferError::SameAccount);
        }
        // Refuse before taking two locks when the money is not there anyway.
        if *self.accounts[from].lock() < amount {
            return Err(TransferError::InsufficientFunds);
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
        // Funds were checked above; both accounts are locked now, so nobody sees the
        // money half moved.
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
