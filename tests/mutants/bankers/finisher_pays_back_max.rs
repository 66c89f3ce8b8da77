//! Mutant: in the safety check, a customer that can finish gives back its whole claim (`max`), as in "it borrows what it needs and pays back everything it borrowed", instead of what it holds now (the need it borrows in the simulation is never subtracted).
//! expect-fail: bankers_prop::safe_sequence_is_a_real_order, bankers_prop::safe_exactly_when_some_order_exists, bankers_prop::request_grants_exactly_when_the_state_stays_safe
//!
//! From the blind set (issue 13), as its author wrote it:
//! Blind mutant: in the safety check, a customer that can finish gives back its whole claim (`max`), as in "it borrows what it needs and pays back everything it borrowed", instead of what it holds now (the need it borrows in the simulation is never subtracted).
//! Breaks: "An order in which every customer can get its remaining need, finish and give back all it holds; None when the state is unsafe." (README, safe_sequence): the banker's purse grows by `need` too much per finisher, so unsafe states look safe.
//! Shows when: available [1]; customer 0 max [3] holds [0]; customer 1 max [2] holds [1]. Customer 1 can finish (need 1) and pays back 1 (work 2): customer 0 needs 3, so the state is unsafe. The mutant adds max 2 (work 3) and answers Some([1, 0]); request() then grants loans that deadlock.
//! Evidence: ws-locks/bankers/tests/checks.rs::finishing_gives_back_what_it_holds_not_its_max fails (left: Some([1, 0]), right: None) and the brute-force oracle test random_books_against_the_oracle finds 188 wrong answers in 3000 random books (first: available [0, 4, 2] ... got Some([2, 0, 1]), safe = false); both pass on the reference. Deterministic. Visible tests pass 5/5 (in the course example no one is declared safe wrongly).

//! A state is safe when there is an order in which every customer can get the rest of its
//! claim from what the banker has, finish, and pay everything back. The safety check looks
//! for such an order greedily: any customer that can finish now may as well finish first,
//! because finishing only ever gives the banker more to lend.

/// The banker's books: what is free, what each customer may claim at most, and what each
/// customer holds. Always valid once built (see [`State::new`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    available: Vec<u32>,
    max: Vec<Vec<u32>>,
    allocation: Vec<Vec<u32>>,
}

/// Why [`State::new`] refused the tables. Checked in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// `available`, or a row of `max` or `allocation`, is empty: there must be at least one
    /// kind of resource.
    EmptyRow,
    /// `max` and `allocation` have different numbers of rows, or a row's length differs
    /// from `available`'s.
    RaggedRows,
    /// `allocation[customer][resource] > max[customer][resource]`: the first such cell,
    /// row by row.
    AllocationExceedsMax { customer: usize, resource: usize },
}

/// Why [`request`] or [`release`] refused. Checked in the order listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// There is no customer with that index.
    NoSuchCustomer,
    /// The vector's length is not the number of resources.
    WrongLength,
    /// The customer would hold more than its `max` of some resource.
    ExceedsClaim,
    /// The banker does not have that much free right now: the customer must wait.
    MustWait,
    /// Granting it would leave a state from which not every customer can finish.
    Unsafe,
    /// The customer gives back more than it holds.
    ReleasesMoreThanHeld,
}

impl State {
    /// available[r]; max[c][r] = most units of r customer c will ever hold;
    /// allocation[c][r] = units of r customer c holds now.
    pub fn new(
        available: Vec<u32>,
        max: Vec<Vec<u32>>,
        allocation: Vec<Vec<u32>>,
    ) -> Result<State, StateError> {
        let rows = || std::iter::once(&available).chain(&max).chain(&allocation);
        if rows().any(|row| row.is_empty()) {
            return Err(StateError::EmptyRow);
        }
        if max.len() != allocation.len() || rows().any(|row| row.len() != available.len()) {
            return Err(StateError::RaggedRows);
        }
        for (customer, (claim, held)) in max.iter().zip(&allocation).enumerate() {
            if let Some(resource) = (0..claim.len()).find(|&r| held[r] > claim[r]) {
                return Err(StateError::AllocationExceedsMax { customer, resource });
            }
        }
        Ok(State {
            available,
            max,
            allocation,
        })
    }

    pub fn available(&self) -> &[u32] {
        &self.available
    }

    pub fn max(&self) -> &[Vec<u32>] {
        &self.max
    }

    pub fn allocation(&self) -> &[Vec<u32>] {
        &self.allocation
    }

    /// What `customer` may still ask for: max minus allocation. Panics if there is no
    /// such customer.
    pub fn need(&self, customer: usize) -> Vec<u32> {
        self.max[customer]
            .iter()
            .zip(&self.allocation[customer])
            .map(|(claim, held)| claim - held)
            .collect()
    }

    fn customers(&self) -> usize {
        self.max.len()
    }
}

/// An order in which every customer can get its remaining need, finish and give back all
/// it holds; None when the state is unsafe. Any valid order is right.
pub fn safe_sequence(state: &State) -> Option<Vec<usize>> {
    // u64: the banker's purse grows as customers pay back, past any one u32 entry.
    let mut work: Vec<u64> = state.available.iter().map(|&a| u64::from(a)).collect();
    let mut finished = vec![false; state.customers()];
    let mut order = Vec::with_capacity(state.customers());
    // Not one pass but until nobody else can finish: a customer late in the list may pay
    // back what an earlier one was waiting for (the course's C2 lets C3, then C1, finish).
    while order.len() < state.customers() {
        let can_finish = |c: usize| {
            !finished[c]
                && state
                    .need(c)
                    .iter()
                    .zip(&work)
                    .all(|(&need, &free)| u64::from(need) <= free) // every resource, `<=`
        };
        let customer = (0..state.customers()).find(|&c| can_finish(c))?;
        // It borrows the rest of its claim, finishes, and pays everything back.
        for (free, &claim) in work.iter_mut().zip(&state.max[customer]) {
            *free += u64::from(claim);
        }

        finished[customer] = true;
        order.push(customer);
    }
    Some(order)
}

/// Grants `request` to `customer` only if the state stays safe. On any error the state is unchanged.
pub fn request(state: &mut State, customer: usize, request: &[u32]) -> Result<(), RequestError> {
    if customer >= state.customers() {
        return Err(RequestError::NoSuchCustomer);
    }
    if request.len() != state.available.len() {
        return Err(RequestError::WrongLength);
    }
    if request
        .iter()
        .zip(state.need(customer))
        .any(|(&r, need)| r > need)
    {
        return Err(RequestError::ExceedsClaim);
    }
    if request
        .iter()
        .zip(&state.available)
        .any(|(r, free)| r > free)
    {
        return Err(RequestError::MustWait);
    }
    // Pretend to lend on a copy: the real books change only if the result is safe, so a
    // refusal leaves nothing behind.
    let mut after = state.clone();
    for (r, &units) in request.iter().enumerate() {
        after.available[r] -= units;
        after.allocation[customer][r] += units;
    }
    if safe_sequence(&after).is_none() {
        return Err(RequestError::Unsafe);
    }
    *state = after;
    Ok(())
}

/// The customer gives `units` back.
pub fn release(state: &mut State, customer: usize, units: &[u32]) -> Result<(), RequestError> {
    if customer >= state.customers() {
        return Err(RequestError::NoSuchCustomer);
    }
    if units.len() != state.available.len() {
        return Err(RequestError::WrongLength);
    }
    if units
        .iter()
        .zip(&state.allocation[customer])
        .any(|(u, held)| u > held)
    {
        return Err(RequestError::ReleasesMoreThanHeld);
    }
    for (r, &u) in units.iter().enumerate() {
        state.allocation[customer][r] -= u;
        state.available[r] += u;
    }
    Ok(())
}
