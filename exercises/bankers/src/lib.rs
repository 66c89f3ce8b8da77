//! Kata `bankers` — 附录-银行家算法. See README.md.
//!
//! The banker lends units of some resources to customers. Each customer has declared
//! the most it will ever hold (its claim, `max`). The banker grants a request only if,
//! afterwards, there is still an order in which every customer can get the rest of its
//! claim, finish, and pay everything back: a *safe* state.

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
        // TODO: no checks at all. Refuse empty rows (`EmptyRow`), rows of the wrong length
        // or a different number of rows in `max` and `allocation` (`RaggedRows`), and a
        // customer holding more than its claim (`AllocationExceedsMax`), in that order.
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
}

/// An order in which every customer can get its remaining need, finish and give back all
/// it holds; None when the state is unsafe. Any valid order is right.
pub fn safe_sequence(state: &State) -> Option<Vec<usize>> {
    // TODO: the banker's safety check. Start with `work` = what is available. Find a
    // customer that has not finished and whose need fits in `work` for EVERY resource;
    // let it finish: add what it holds to `work`. Repeat until every customer has
    // finished (return the order) or nobody else can (the state is unsafe: None).
    let _ = state;
    todo!("safe_sequence")
}

/// Grants `request` to `customer` only if the state stays safe. On any error the state is unchanged.
pub fn request(state: &mut State, customer: usize, request: &[u32]) -> Result<(), RequestError> {
    // TODO: refuse, in this order: NoSuchCustomer, WrongLength, ExceedsClaim (more than
    // the customer's need), MustWait (more than is available). Then lend on a copy of the
    // state and keep the copy only if it is safe; otherwise `Unsafe`, state unchanged.
    let _ = (state, customer, request);
    todo!("request")
}

/// The customer gives `units` back.
pub fn release(state: &mut State, customer: usize, units: &[u32]) -> Result<(), RequestError> {
    // TODO: refuse NoSuchCustomer, WrongLength and ReleasesMoreThanHeld (in that order);
    // otherwise move `units` from the customer's allocation back to `available`.
    let _ = (state, customer, units);
    todo!("release")
}
