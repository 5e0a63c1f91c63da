//! The shim's vocabulary for what happened to a callback: the [`Outcome`] of every answered
//! callback and the [`Cause`] of every failure. Dispatch, the router, metrics and logs all speak
//! it, so a label in a dashboard, a log line and the code mean the same thing.

use crate::policy_client::CallError;

/// What the shim answered OpenIM, and why: the `outcome` label of
/// `openim_shim_callbacks_total` and of the request's log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The policy let the operation continue unchanged.
    Continue,
    /// The policy refused the operation.
    Refuse,
    /// The policy let it continue with changes.
    Modify,
    /// No policy decision ([`Cause`]): continued (`onError: continue`).
    FailOpen,
    /// No policy decision ([`Cause`]): refused (`onError: refuse`).
    FailClosed,
    /// The policy does not implement the callback (answered UNIMPLEMENTED, now or recently):
    /// continued without a decision.
    Unimplemented,
    /// The callback is disabled in the config: the policy was not asked.
    Disabled,
    /// After-callback: acknowledged and queued for delivery.
    Accepted,
    /// After-callback: acknowledged but not queued (the intake queue was full): lost, counted.
    Dropped,
    /// After-callback: the body could not be read or decoded: not delivered, counted.
    Malformed,
}

impl Outcome {
    /// Every outcome, in declaration order (`Outcome::ALL[o as usize] == o`).
    pub const ALL: [Self; 10] = [
        Self::Continue,
        Self::Refuse,
        Self::Modify,
        Self::FailOpen,
        Self::FailClosed,
        Self::Unimplemented,
        Self::Disabled,
        Self::Accepted,
        Self::Dropped,
        Self::Malformed,
    ];

    /// The label value in metrics and logs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::Refuse => "refuse",
            Self::Modify => "modify",
            Self::FailOpen => "fail_open",
            Self::FailClosed => "fail_closed",
            Self::Unimplemented => "unimplemented",
            Self::Disabled => "disabled",
            Self::Accepted => "accepted",
            Self::Dropped => "dropped",
            Self::Malformed => "malformed",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a callback got no policy decision: the `cause` label of
/// `openim_shim_policy_failures_total`, the `errDlt` of an `onError: refuse` reply, and the
/// `cause` field of the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The policy could not be reached (connection refused or reset, no endpoint).
    Unavailable,
    /// No answer within the callback's deadline.
    Timeout,
    /// The policy answered an error status: it could not decide.
    Error,
    /// The body is not the callback's JSON: there was nothing to ask the policy.
    Malformed,
    /// The body could not be read (too large, or the connection failed mid-body).
    Body,
    /// The shim itself failed (a panic in its handler): a bug, answered like a failure.
    Panic,
    /// Not served, to stay within a limit (`limits.maxConcurrent`, `limits.bodyBudget`): the
    /// shim is overloaded, and answers at once rather than late.
    Shed,
}

impl Cause {
    /// The label value in metrics, logs and `errDlt`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::Error => "error",
            Self::Malformed => "malformed",
            Self::Body => "body",
            Self::Panic => "panic",
            Self::Shed => "shed",
        }
    }

    /// The cause of a policy call that gave no decision (UNIMPLEMENTED is not a failure: the
    /// policy does not care, see [`Outcome::Unimplemented`]; it maps to `Error` here only for
    /// completeness).
    pub fn of(error: &CallError) -> Self {
        match error {
            CallError::Timeout(_) => Self::Timeout,
            CallError::Status(s) if s.code() == tonic::Code::Unavailable => Self::Unavailable,
            CallError::Status(s) if s.code() == tonic::Code::DeadlineExceeded => Self::Timeout,
            CallError::Status(_) | CallError::Unimplemented => Self::Error,
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_outcome_at_its_index() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(*o as usize, i, "{o}");
        }
        let labels: std::collections::HashSet<_> =
            Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(labels.len(), Outcome::ALL.len());
    }

    #[test]
    fn call_errors_map_to_their_causes() {
        use tonic::Status;
        let cases = [
            (
                CallError::Timeout(std::time::Duration::from_secs(1)),
                "timeout",
            ),
            (
                CallError::Status(Status::unavailable("down")),
                "unavailable",
            ),
            (
                CallError::Status(Status::deadline_exceeded("late")),
                "timeout",
            ),
            (CallError::Status(Status::internal("bug")), "error"),
        ];
        for (e, label) in cases {
            assert_eq!(Cause::of(&e).as_str(), label, "{e}");
        }
    }
}
