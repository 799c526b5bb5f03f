//! What a rule is: the identity every [`Check`] carries and the settling evidence it may
//! declare. The registry of goready's rules (`crate::registry`) fills these in; the model only
//! knows their shape, so that it needs nothing above it.

use super::{Check, Severity};

/// A rule users can configure: its id is the stable contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, e.g. `binary.static`.
    pub id: &'static str,
    /// The suite its checks belong to.
    pub suite: &'static str,
    /// What a failure means unless configured otherwise.
    pub severity: Severity,
    /// One-line title for tables and annotations.
    pub title: &'static str,
    /// Other checks of the same run that settle this one (see [`Evidence`]); applied in one
    /// place, `model::findings::settle`, never by a renderer.
    pub settled_by: &'static [Evidence],
}

/// How a check of another rule, in the same run, settles a check of this rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settles {
    /// Runtime proof over static suspicion: when the evidence passed, the suspicion is
    /// disproved and the settled check passes, citing it; when the evidence failed, the
    /// settled check points at it and is part of its finding (only the evidence is annotated).
    Proof,
    /// One cause, two symptoms: when the evidence failed, the settled check is part of the
    /// evidence's finding (the cause is named once); when it passed, nothing changes.
    Cause,
}

/// One piece of settling evidence a rule declares.
#[derive(Debug, Clone, Copy)]
pub struct Evidence {
    /// The rule id whose check settles this one.
    pub by: &'static str,
    /// What the evidence does to the settled check.
    pub settles: Settles,
    /// Only checks on the same target settle each other (else any check of `by` in the run:
    /// the binaries of one build come from one source).
    pub same_target: bool,
    /// Whether this evidence applies to this pair: (settled check, evidence check).
    pub applies: fn(&Check, &Check) -> bool,
}

/// Finds a rule by id: the registry the model judges with (`crate::registry::find`), handed in so
/// that the model needs nothing above it.
pub type Registry = fn(&str) -> Option<&'static Rule>;

impl PartialEq for Evidence {
    fn eq(&self, other: &Self) -> bool {
        self.by == other.by
            && self.settles == other.settles
            && self.same_target == other.same_target
    }
}

impl Eq for Evidence {}
