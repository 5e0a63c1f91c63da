//! Comparing two replies to the same callback: the one OpenIM got (or would get) and the one
//! another policy gives. Replay and shadow speak this vocabulary, so that a replay report, the
//! `openim_shim_shadow_total` metric and a disagreement's log line mean the same thing. Pure.

use serde_json::Value;

use crate::outcome::Outcome;

/// How a second answer relates to the first, for one callback: the `agreement` label of
/// `openim_shim_shadow_total` and a column of the replay report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Agreement {
    /// The same reply (refusals: the same errCode).
    Same,
    /// The first let the operation through (as is or changed); the second refuses it.
    ContinueToRefuse,
    /// The first refused; the second lets it through (as is or changed).
    RefuseToContinue,
    /// Both refuse, with different errCodes.
    DifferentCode,
    /// Both let it through, with different changes (one of them may change nothing).
    DifferentRewrite,
    /// The second policy gave no decision (unreachable, too slow, an error status, or the body
    /// could not be read).
    Error,
}

impl Agreement {
    /// Every kind, in declaration order (`Agreement::ALL[a as usize] == a`).
    pub const ALL: [Self; 6] = [
        Self::Same,
        Self::ContinueToRefuse,
        Self::RefuseToContinue,
        Self::DifferentCode,
        Self::DifferentRewrite,
        Self::Error,
    ];

    /// The label value in metrics, logs and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Same => "same",
            Self::ContinueToRefuse => "continue_to_refuse",
            Self::RefuseToContinue => "refuse_to_continue",
            Self::DifferentCode => "different_code",
            Self::DifferentRewrite => "different_rewrite",
            Self::Error => "error",
        }
    }

    /// Whether the verdict changed (every kind but `Same` and `Error`).
    pub const fn changed(self) -> bool {
        !matches!(self, Self::Same | Self::Error)
    }
}

impl std::fmt::Display for Agreement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a reply does, as far as a comparison cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The operation goes on (continue or modify).
    Pass,
    /// The operation is refused.
    Refuse,
}

impl Decision {
    /// The decision of a reply with `outcome`; `None` when the reply was made without a policy
    /// decision (failure modes, disabled callbacks, after-callbacks): nothing to compare with.
    /// UNIMPLEMENTED is a decision: the policy does not care, the operation goes on.
    pub fn of(outcome: Outcome) -> Option<Self> {
        match outcome {
            Outcome::Continue | Outcome::Modify | Outcome::Unimplemented => Some(Self::Pass),
            Outcome::Refuse => Some(Self::Refuse),
            Outcome::FailOpen
            | Outcome::FailClosed
            | Outcome::Disabled
            | Outcome::Accepted
            | Outcome::Dropped
            | Outcome::Malformed => None,
        }
    }
}

/// Compares two decided replies: `first` (decision, OpenIM JSON body) and `second`.
pub fn compare(first: (Decision, &[u8]), second: (Decision, &[u8])) -> Agreement {
    match (first.0, second.0) {
        (Decision::Pass, Decision::Refuse) => Agreement::ContinueToRefuse,
        (Decision::Refuse, Decision::Pass) => Agreement::RefuseToContinue,
        (Decision::Refuse, Decision::Refuse) => {
            if err_code(first.1) == err_code(second.1) {
                Agreement::Same
            } else {
                Agreement::DifferentCode
            }
        }
        // Compared as JSON: the same changes may be written with keys in another order.
        (Decision::Pass, Decision::Pass) => {
            if first.1 == second.1 || json(first.1) == json(second.1) {
                Agreement::Same
            } else {
                Agreement::DifferentRewrite
            }
        }
    }
}

/// The errCode of a refusal reply.
pub fn err_code(body: &[u8]) -> Option<i64> {
    json(body)?.get("errCode")?.as_i64()
}

fn json(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openim;

    fn refuse(code: i32) -> Vec<u8> {
        openim::refuse(code, "no", "").to_vec()
    }

    #[test]
    fn all_lists_every_kind_at_its_index() {
        for (i, a) in Agreement::ALL.iter().enumerate() {
            assert_eq!(*a as usize, i, "{a}");
        }
    }

    #[test]
    fn replies_are_classified_by_decision_code_and_changes() {
        use Decision::{Pass, Refuse};
        let cont = openim::CONTINUE;
        let masked = br#"{"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"a *"}"#;
        let reordered = br#"{"content":"a *","errCode":0,"errMsg":"","errDlt":"","nextCode":0}"#;
        let other = br#"{"errCode":0,"errMsg":"","errDlt":"","nextCode":0,"content":"a **"}"#;
        type Reply<'a> = (Decision, &'a [u8]);
        let cases: [(Reply, Reply, Agreement); 8] = [
            ((Pass, cont), (Pass, cont), Agreement::Same),
            (
                (Pass, cont),
                (Refuse, &refuse(5001)),
                Agreement::ContinueToRefuse,
            ),
            (
                (Pass, masked),
                (Refuse, &refuse(5001)),
                Agreement::ContinueToRefuse,
            ),
            (
                (Refuse, &refuse(5001)),
                (Pass, masked),
                Agreement::RefuseToContinue,
            ),
            (
                (Refuse, &refuse(5001)),
                (Refuse, &refuse(5001)),
                Agreement::Same,
            ),
            (
                (Refuse, &refuse(5001)),
                (Refuse, &refuse(5002)),
                Agreement::DifferentCode,
            ),
            ((Pass, masked), (Pass, reordered), Agreement::Same),
            ((Pass, masked), (Pass, other), Agreement::DifferentRewrite),
        ];
        for (first, second, want) in cases {
            assert_eq!(compare(first, second), want, "{first:?} {second:?}");
        }
        assert_eq!(
            compare((Pass, cont), (Pass, masked)),
            Agreement::DifferentRewrite
        );
        assert!(Agreement::DifferentRewrite.changed() && !Agreement::Error.changed());
    }

    #[test]
    fn replies_made_without_a_decision_are_not_compared() {
        assert_eq!(Decision::of(Outcome::Unimplemented), Some(Decision::Pass));
        assert_eq!(Decision::of(Outcome::FailClosed), None);
        assert_eq!(Decision::of(Outcome::FailOpen), None);
        assert_eq!(Decision::of(Outcome::Refuse), Some(Decision::Refuse));
    }
}
