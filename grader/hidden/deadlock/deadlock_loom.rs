//! Hidden loom suite of kata `deadlock`: every interleaving of two or three threads.
//!
//! Each model leaks its bank (`Box::leak`) to hand the threads a `&'static Bank`: a bank
//! inside a loom `Arc` would turn a found deadlock into an abort of the whole test binary
//! (loom issue 291) instead of a failed test.
#![cfg(feature = "loom")]

use deadlock::{Bank, TransferError};
use kata_harness::hidden_test;
use kata_sync::{model, thread};

/// A bank that lives for the rest of the process, so that loom threads can borrow it.
fn leaked_bank(balances: &[u64]) -> &'static Bank {
    Box::leak(Box::new(Bank::new(balances)))
}

fn balances(bank: &Bank, accounts: usize) -> Vec<Option<u64>> {
    (0..accounts).map(|a| bank.balance(a)).collect()
}

hidden_test! {
    /// The course's deadlock: one thread moves money 0 -> 1 while another moves it 1 -> 0.
    fn opposite_transfers_never_deadlock() {
        model(3, || {
            let bank = leaked_bank(&[10, 10]);
            let t = thread::spawn(move || bank.transfer(0, 1, 3));
            let here = bank.transfer(1, 0, 4);
            let there = t.join().unwrap();
            assert_eq!(
                (there, here),
                (Ok(()), Ok(())),
                "transfer(0, 1, 3) and transfer(1, 0, 4) ran at once on balances [10, 10] \
                 and returned {there:?} and {here:?}: both must succeed"
            );
            let got = balances(bank, 2);
            assert_eq!(
                got,
                [Some(11), Some(9)],
                "after transfer(0, 1, 3) and transfer(1, 0, 4) at once on balances \
                 [10, 10], the balances were {got:?}: money was created or lost"
            );
        });
    }
}

hidden_test! {
    /// Three transfers in a ring, 0 -> 1, 1 -> 2 and 2 -> 0: each thread's first lock is
    /// another's second, the longer cycle of the same deadlock.
    fn transfers_in_a_cycle_never_deadlock() {
        model(3, || {
            let bank = leaked_bank(&[10, 10, 10]);
            let a = thread::spawn(move || bank.transfer(0, 1, 1));
            let b = thread::spawn(move || bank.transfer(1, 2, 2));
            let here = bank.transfer(2, 0, 3);
            let results = [a.join().unwrap(), b.join().unwrap(), here];
            assert_eq!(
                results,
                [Ok(()); 3],
                "transfer(0, 1, 1), transfer(1, 2, 2) and transfer(2, 0, 3) ran at once on \
                 balances [10, 10, 10] and returned {results:?}: all three must succeed"
            );
            let got = balances(bank, 3);
            assert_eq!(
                got,
                [Some(12), Some(9), Some(9)],
                "after the ring of transfers 0 -> 1 (1), 1 -> 2 (2) and 2 -> 0 (3) on \
                 balances [10, 10, 10], the balances were {got:?}: money was created or lost"
            );
        });
    }
}

hidden_test! {
    /// An audit during a transfer must see all the money: none counted twice, none missing.
    fn audit_during_a_transfer_sees_the_whole_total() {
        model(3, || {
            let bank = leaked_bank(&[10, 10]);
            let t = thread::spawn(move || bank.transfer(0, 1, 5));
            let audit = bank.total();
            assert_eq!(
                audit, 20,
                "total() ran while transfer(0, 1, 5) moved money between balances [10, 10] \
                 and returned {audit}, not 20: the audit read one account before the \
                 transfer and the other after it (money in flight). Hold every account \
                 still while you add up."
            );
            assert_eq!(t.join().unwrap(), Ok(()), "transfer(0, 1, 5) from a balance of 10");
            assert_eq!(bank.total(), 20, "total() after the transfer");
        });
    }
}

hidden_test! {
    /// An audit while one thread makes two transfers of 5 from account 0 to account 2
    /// (balances [10, 0, 0]): the audit sees 10, whichever moment it catches. Two sums
    /// taken one account at a time can both be wrong by the same amount, and agree.
    fn audit_during_two_transfers_sees_the_whole_total() {
        model(3, || {
            let bank = leaked_bank(&[10, 0, 0]);
            let t = thread::spawn(move || (bank.transfer(0, 2, 5), bank.transfer(0, 2, 5)));
            let audit = bank.total();
            let (first, second) = t.join().unwrap();
            assert!(
                matches!((first, second), (Ok(()), Ok(()))),
                "two transfers of 5 from account 0 (balance 10) to account 2 returned \
                 {first:?} and {second:?}: both must succeed"
            );
            assert_eq!(
                audit, 10,
                "total() ran while one thread moved 5, then 5 more, from account 0 to \
                 account 2 (balances [10, 0, 0]), and returned {audit}, not 10: the audit \
                 saw money in flight. Summing one account at a time, even twice until two \
                 sums agree, can read account 0 before a transfer and account 2 after it \
                 every time. Hold every account still while you add up"
            );
            let got = balances(bank, 3);
            assert_eq!(
                got,
                [Some(0), Some(0), Some(10)],
                "balances after two transfers of 5 from account 0 to account 2, from [10, 0, 0]"
            );
        });
    }
}

hidden_test! {
    /// Two audits side by side while a transfer runs (balances [10, 10], 5 moving from
    /// account 0 to account 1): both see 20, and nobody deadlocks.
    fn two_audits_during_a_transfer_both_see_the_whole_total() {
        model(2, || {
            let bank = leaked_bank(&[10, 10]);
            let mover = thread::spawn(move || bank.transfer(0, 1, 5));
            let auditor = thread::spawn(move || bank.total());
            let here = bank.total();
            let there = auditor.join().unwrap();
            let moved = mover.join().unwrap();
            assert!(
                matches!(moved, Ok(())),
                "transfer(0, 1, 5) from a balance of 10 returned {moved:?}"
            );
            assert!(
                here == 20 && there == 20,
                "two threads called total() at once while transfer(0, 1, 5) ran on balances \
                 [10, 10], and the audits returned {here} and {there}: each must be 20, the \
                 total at one instant, however many audits run together"
            );
        });
    }
}

hidden_test! {
    /// Two transfers each want the whole balance of account 0: exactly one may have it.
    /// An audit runs alongside.
    fn one_balance_is_never_spent_twice() {
        model(3, || {
            let bank = leaked_bank(&[5, 0, 0]);
            let a = thread::spawn(move || bank.transfer(0, 1, 5));
            let b = thread::spawn(move || bank.transfer(0, 2, 5));
            let audit = bank.total();
            let (a, b) = (a.join().unwrap(), b.join().unwrap());
            let got = balances(bank, 3);
            assert!(
                matches!(
                    (a, b),
                    (Ok(()), Err(TransferError::InsufficientFunds))
                        | (Err(TransferError::InsufficientFunds), Ok(()))
                ),
                "account 0 held 5 and two threads called transfer(0, 1, 5) and \
                 transfer(0, 2, 5) at once: they returned {a:?} and {b:?} (balances now \
                 {got:?}). Exactly one may succeed, the other must get InsufficientFunds: \
                 check the balance and move the money under the same lock (check-then-act \
                 lets both see 5)."
            );
            let expected = if a.is_ok() {
                [Some(0), Some(5), Some(0)]
            } else {
                [Some(0), Some(0), Some(5)]
            };
            assert_eq!(
                got, expected,
                "balances [5, 0, 0], transfer(0, 1, 5) returned {a:?} and transfer(0, 2, 5) \
                 returned {b:?}, yet the balances became {got:?}"
            );
            assert_eq!(
                audit, 5,
                "total() ran during two transfers out of balances [5, 0, 0] and returned \
                 {audit}, not 5: the audit saw money in flight"
            );
        });
    }
}

hidden_test! {
    /// transfer(i, i, ..) must return SameAccount, not lock account i twice and wait for
    /// itself forever; here it runs between two opposite transfers.
    fn same_account_transfer_is_refused_not_deadlocked() {
        model(3, || {
            let bank = leaked_bank(&[10, 10]);
            let t = thread::spawn(move || bank.transfer(1, 0, 4));
            let same = bank.transfer(0, 0, 1);
            assert!(
                matches!(same, Err(TransferError::SameAccount)),
                "transfer(0, 0, 1) returned {same:?}: a transfer to the same account must \
                 be refused with SameAccount"
            );
            let here = bank.transfer(0, 1, 3);
            let there = t.join().unwrap();
            assert_eq!(
                (here, there),
                (Ok(()), Ok(())),
                "transfer(0, 1, 3) and transfer(1, 0, 4) on balances [10, 10] returned \
                 {here:?} and {there:?}"
            );
            let got = balances(bank, 2);
            assert_eq!(
                got,
                [Some(11), Some(9)],
                "after transfer(0, 0, 1) was refused and transfer(0, 1, 3) and \
                 transfer(1, 0, 4) ran on balances [10, 10], the balances were {got:?}"
            );
        });
    }
}
