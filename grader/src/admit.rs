//! Stage 3: admission. From a submission's source alone, before anything is built, each
//! planned kata is missing, refused (with the places and reasons a student can act on),
//! or ready to build, with the exact sources that were read (only those are staged).
//!
//! A ready kata that bypasses the sync facade may still be built for its other checkers;
//! its loom suites are not built at all (loom could not see its threads, and would report
//! a pass after one interleaving).

use crate::plan::{Plan, PlannedKata};
use crate::source::{Finding, Sources};

/// What may be done with one kata of the submission.
pub enum Admission {
    /// Nothing to grade: why.
    Missing(String),
    /// The source is still the stub the course ships, byte for byte: nothing is built,
    /// every test is not run, and the kata reads "not started".
    NotStarted(String),
    /// Refused before building; every test of the kata gets this.
    Refused(Vec<Finding>),
    Ready {
        sources: Sources,
        /// Where a loom-checked kata takes threads or locks from outside the facade: its
        /// loom suites are not built.
        facade_bypasses: Vec<Finding>,
    },
}

/// A planned kata and what admission decided for it.
pub struct AdmittedKata {
    pub planned: PlannedKata,
    pub admission: Admission,
    /// One id of every source admission read ([`Sources::id`]); empty when none could be.
    pub sources_id: String,
}

impl AdmittedKata {
    pub fn id(&self) -> &str {
        &self.planned.kata.id
    }

    pub fn sources(&self) -> Option<&Sources> {
        match &self.admission {
            Admission::Ready { sources, .. } => Some(sources),
            _ => None,
        }
    }

    /// Whether the loom suites of this kata may be built.
    pub fn loom_allowed(&self) -> bool {
        matches!(&self.admission, Admission::Ready { facade_bypasses, .. } if facade_bypasses.is_empty())
    }
}

/// How to admit.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdmitOptions {
    /// Build and run an untouched stub like any other source (the project's own proof
    /// that every stub earns nothing), rather than calling it not started.
    pub grade_untouched: bool,
}

/// Admits every kata of the plan, in plan order.
pub fn admit(plan: &Plan, options: AdmitOptions) -> Vec<AdmittedKata> {
    plan.katas
        .iter()
        .map(|planned| {
            let mut sources_id = String::new();
            let admission = admit_one(planned, options, &mut sources_id);
            AdmittedKata {
                planned: planned.clone(),
                admission,
                sources_id,
            }
        })
        .collect()
}

fn admit_one(planned: &PlannedKata, options: AdmitOptions, sources_id: &mut String) -> Admission {
    let src = planned.dir.join("src");
    if !src.join("lib.rs").is_file() {
        return Admission::Missing(format!(
            "the submission has no {}: nothing to grade for this kata",
            src.join("lib.rs").display()
        ));
    }
    let sources = match Sources::read(&src) {
        Ok(sources) => sources,
        Err(e) => {
            return Admission::Refused(vec![Finding {
                file: "src".into(),
                line: 0,
                what: format!("cannot be read: {e}"),
            }])
        }
    };
    *sources_id = sources.id();
    if !options.grade_untouched && crate::stub::untouched(&planned.kata, &sources) {
        return Admission::NotStarted(format!(
            "not started: {} is still the stub as shipped",
            src.join("lib.rs").display()
        ));
    }
    let bytes: usize = sources.files.iter().map(|(_, text)| text.len()).sum();
    if bytes > MAX_SOURCE_BYTES {
        return Admission::Refused(vec![Finding {
            file: "src".into(),
            line: 0,
            what: format!("the sources are larger than {} MiB", MAX_SOURCE_BYTES >> 20),
        }]);
    }
    let refusals = sources.refusals();
    if !refusals.is_empty() {
        return Admission::Refused(refusals);
    }
    let facade_bypasses = if planned.suites.iter().any(|s| s.is_loom()) {
        sources.facade_bypasses()
    } else {
        Vec::new()
    };
    Admission::Ready {
        sources,
        facade_bypasses,
    }
}

/// Most bytes of source read from one kata of a submission.
const MAX_SOURCE_BYTES: usize = 8 << 20;

/// The message every test of a refused kata gets.
pub fn refused_message(findings: &[Finding]) -> String {
    let places: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
    format!(
        "refused before building: this code does what no submission may (see the README's \
         threat model)\n{}",
        places.join("\n")
    )
}

/// The message every loom test of a kata that bypasses the facade gets.
pub fn bypass_message(findings: &[Finding]) -> String {
    let places: Vec<String> = findings.iter().map(|f| format!("  {f}")).collect();
    format!(
        "no loom credit: this code bypasses the sync facade, so loom cannot see its threads and \
         locks and would explore one interleaving only.\n{}",
        places.join("\n")
    )
}
