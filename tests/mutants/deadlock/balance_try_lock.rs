//! Mutant: `balance` reads the account with `try_lock` ("a read must never wait for, or deadlock with, a transfer"), so it answers None while a transfer holds that account's lock.
//! expect-fail: deadlock_stress::balance_of_an_existing_account_is_always_there
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: `balance` reads the account with `try_lock` ("a read must never wait for, or deadlock with, a transfer"), so it answers None while a transfer holds that account's lock.
//! Breaks: "balance(account): the balance of account, or None if there is no such account" (README/stub doc): None must mean "no such account", never "busy".
//! Shows when: one thread transfers between accounts 0 and 1 while another calls balance(0): whenever the transfer holds account 0's lock, balance(0) returns None for an account that exists.
//! Evidence: checks.rs::stress_balance_during_transfers fails 3/3 runs (e.g. "753065 of 1409117 balance(0) calls returned None"), passes on the reference. Visible tests pass 4/4. NOTE: the loom check balance_of_an_existing_account_during_a_transfer PASSES on this mutant: loom 0.7.3 never lets a try_lock observe a mutex held by another thread (a pending try_lock is treated like a blocking lock; confirmed with ws-locks/diag/tests/loom_checks.rs: 0 executions saw contention), so only a real-thread stress test catches it.

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
        // try_lock: a reader never waits for a transfer, so it can never be part of a
        // deadlock either.
        self.accounts.get(account)?.try_lock().map(|balance| *balance)

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
