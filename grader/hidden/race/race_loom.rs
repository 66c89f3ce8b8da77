//! Hidden loom suite of kata `race`: every interleaving of two or three threads.
#![cfg(loom)]

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
