//! Hidden loom suite of kata `race`: every interleaving of two or three threads.
//!
//! Two windows always sell side by side, and where it matters the main thread reads
//! `left()` while they do: an office must never show a count outside 0..=tickets, not even
//! for an instant in the middle of someone else's refused sale.
#![cfg(feature = "loom")]

use kata_harness::hidden_test;
use kata_sync::{model, thread, Arc};
use race::{count_in_parallel, Counter, TicketOffice};

hidden_test! {
    /// The course's t1/t2 example, one increment each: every order must give 2.
    fn two_increments_are_never_lost() {
        model(3, || {
            let counter = Arc::new(Counter::new());
            let other = Arc::clone(&counter);
            let t = thread::spawn(move || other.increment());
            counter.increment();
            t.join().unwrap();
            let got = counter.get();
            assert_eq!(
                got, 2,
                "two threads each called increment() once, yet get() returned {got}: one \
                 thread read the counter, the other wrote over it (a lost update). \
                 Make the read and the write one step."
            );
        });
    }
}

hidden_test! {
    /// count_in_parallel must wait for every thread before it reads the count.
    fn count_in_parallel_counts_every_thread() {
        model(3, || {
            let got = count_in_parallel(2, 1);
            assert_eq!(
                got, 2,
                "count_in_parallel(2, 1) returned {got}: an increment was lost, or the \
                 count was read before every thread had finished"
            );
        });
    }
}

hidden_test! {
    /// One ticket, two windows: exactly one sells it, in every order.
    fn last_ticket_is_sold_once() {
        model(3, || {
            let office = Arc::new(TicketOffice::new(1));
            let other = Arc::clone(&office);
            let t = thread::spawn(move || other.sell());
            let here = office.sell();
            let there = t.join().unwrap();
            assert!(
                here ^ there,
                "one ticket, two windows: the sales were {here} and {there}. Exactly one \
                 window may sell it (check-then-act lets both see the last ticket)."
            );
            assert_eq!(office.left(), 0, "left() after the last ticket was sold");
        });
    }
}

hidden_test! {
    /// Two tickets, three windows: exactly two sales and nothing left.
    fn three_windows_sell_two_tickets() {
        model(2, || {
            let office = Arc::new(TicketOffice::new(2));
            let windows: Vec<_> = (0..2)
                .map(|_| {
                    let office = Arc::clone(&office);
                    thread::spawn(move || office.sell())
                })
                .collect();
            let mut sold = usize::from(office.sell());
            for w in windows {
                sold += usize::from(w.join().unwrap());
            }
            assert_eq!(sold, 2, "three windows sold {sold} of 2 tickets");
            assert_eq!(office.left(), 0, "left() after both tickets were sold");
        });
    }
}

hidden_test! {
    /// Two tickets, two windows, one sale each, while the main thread reads left(): both
    /// windows sell (a window that loses a race for a ticket must try again while tickets
    /// remain), nothing is left, and left() never shows more than 2.
    fn two_windows_sell_the_last_two_tickets() {
        model(3, || {
            let office = Arc::new(TicketOffice::new(2));
            let windows: Vec<_> = (0..2)
                .map(|_| {
                    let office = Arc::clone(&office);
                    thread::spawn(move || office.sell())
                })
                .collect();
            let seen = office.left();
            let sales: Vec<bool> = windows.into_iter().map(|w| w.join().unwrap()).collect();
            assert!(
                seen <= 2,
                "left() returned {seen} while two windows were selling from an office of 2 \
                 tickets: left() must never show more tickets than there were"
            );
            assert_eq!(
                sales,
                [true, true],
                "two windows each called sell() once on an office of 2 tickets and got \
                 {sales:?}: both must sell, since there was a ticket for each. A window that \
                 finds the count changed under it (its compare-and-swap failed) must try \
                 again with the new count, and report false only when none is left"
            );
            let left = office.left();
            assert_eq!(left, 0, "left() after both tickets of 2 were sold returned {left}");
        });
    }
}

hidden_test! {
    /// One ticket, two windows that each try to sell twice, while the main thread reads
    /// left(): exactly one sale in all, and left() is 0 or 1 at every moment, even while a
    /// refused sale is under way.
    fn one_ticket_two_windows_each_trying_twice() {
        model(2, || {
            let office = Arc::new(TicketOffice::new(1));
            let windows: Vec<_> = (0..2)
                .map(|_| {
                    let office = Arc::clone(&office);
                    thread::spawn(move || (office.sell(), office.sell()))
                })
                .collect();
            let seen = office.left();
            let sales: Vec<(bool, bool)> = windows.into_iter().map(|w| w.join().unwrap()).collect();
            let sold = sales.iter().map(|&(x, y)| usize::from(x) + usize::from(y)).sum::<usize>();
            assert!(
                seen <= 1,
                "left() returned {seen} on an office of 1 ticket while two windows were \
                 selling: left() must always be between 0 and the tickets there were, even \
                 while another window's sale is refused (a sale that takes a ticket first \
                 and puts it back when there was none shows a wrong count meanwhile)"
            );
            assert_eq!(
                sold, 1,
                "two windows each called sell() twice on an office of 1 ticket, and the \
                 sales were {sales:?}: exactly one may succeed. A sale on a sold-out office \
                 must not change the count, not even for a moment (another window could \
                 sell the ticket that is not there)"
            );
            let left = office.left();
            assert_eq!(left, 0, "left() after the only ticket was sold returned {left}");
        });
    }
}
