//! Hidden stress suite of kata `race`: real threads, counts too large for loom.

use kata_harness::hidden_test;
use race::{count_in_parallel, TicketOffice};
use std::sync::Arc;

hidden_test! {
    /// 100 000 increments from 4 threads: none lost.
    fn hundred_thousand_increments() {
        let got = count_in_parallel(4, 25_000);
        assert_eq!(
            got, 100_000,
            "4 threads x 25000 increments gave {got}: {} increments were lost",
            100_000 - got.min(100_000)
        );
    }
}

hidden_test! {
    /// 50 000 tickets, 8 windows selling until sold out: exactly 50 000 sales.
    fn eight_windows_never_oversell() {
        let office = Arc::new(TicketOffice::new(50_000));
        let windows: Vec<_> = (0..8)
            .map(|_| {
                let office = Arc::clone(&office);
                std::thread::spawn(move || {
                    let mut sold = 0u64;
                    while office.sell() {
                        sold += 1;
                    }
                    sold
                })
            })
            .collect();
        let sold: u64 = windows.into_iter().map(|w| w.join().unwrap()).sum();
        assert_eq!(sold, 50_000, "8 windows sold {sold} tickets out of 50000");
        assert_eq!(office.left(), 0, "left() once every window saw the office sold out");
        assert!(!office.sell(), "the sold-out office sold one more ticket");
        assert_eq!(office.left(), 0, "left() after a refused sale");
    }
}

hidden_test! {
    /// 300 rounds of 4 windows racing for 50 tickets: every round sells exactly 50.
    fn many_small_sell_outs() {
        for round in 0..300 {
            let office = Arc::new(TicketOffice::new(50));
            let start = Arc::new(std::sync::Barrier::new(4));
            let windows: Vec<_> = (0..4)
                .map(|_| {
                    let (office, start) = (Arc::clone(&office), Arc::clone(&start));
                    std::thread::spawn(move || {
                        start.wait();
                        let mut sold = 0u64;
                        while office.sell() {
                            sold += 1;
                        }
                        sold
                    })
                })
                .collect();
            let sold: u64 = windows.into_iter().map(|w| w.join().unwrap()).sum();
            assert_eq!(sold, 50, "round {round}: 4 windows sold {sold} of 50 tickets");
            assert_eq!(office.left(), 0, "round {round}: left() after the sell-out");
        }
    }
}
