//! Prometheus counters of the policy's decisions and of the messages it sees. Counter handles
//! are created once per label set and then reused, so counting costs no allocation on the RPC
//! path. Handles bind to the recorder installed when they are first used: install it (see
//! `crate::exporter`) before serving.

use std::{
    collections::HashMap,
    sync::{OnceLock, RwLock},
};

use metrics::Counter;

use crate::rules::kinds::{content_type_label, session_type_label};

/// An RPC of the contract, the `rpc` label of decision counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rpc {
    BeforeSendSingleMsg,
    BeforeSendGroupMsg,
    BeforeMsgModify,
    AfterSendSingleMsg,
    AfterSendGroupMsg,
    BeforeOfflinePush,
    BeforeUserRegister,
    BeforeUpdateUserInfo,
    BeforeUpdateUserInfoEx,
    BeforeAddFriend,
    BeforeSetFriendRemark,
    BeforeCreateGroup,
    BeforeSetGroupInfo,
    BeforeSetGroupInfoEx,
    BeforeSetGroupMemberInfo,
    BeforeApplyJoinGroup,
}

impl Rpc {
    const ALL: [Self; 16] = [
        Self::BeforeSendSingleMsg,
        Self::BeforeSendGroupMsg,
        Self::BeforeMsgModify,
        Self::AfterSendSingleMsg,
        Self::AfterSendGroupMsg,
        Self::BeforeOfflinePush,
        Self::BeforeUserRegister,
        Self::BeforeUpdateUserInfo,
        Self::BeforeUpdateUserInfoEx,
        Self::BeforeAddFriend,
        Self::BeforeSetFriendRemark,
        Self::BeforeCreateGroup,
        Self::BeforeSetGroupInfo,
        Self::BeforeSetGroupInfoEx,
        Self::BeforeSetGroupMemberInfo,
        Self::BeforeApplyJoinGroup,
    ];

    /// The OpenIM command it serves: the `command` label of both services' metrics (see
    /// `policy_proto::COMMANDS`, which a test checks this against).
    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::BeforeSendSingleMsg => "callbackBeforeSendSingleMsgCommand",
            Self::BeforeSendGroupMsg => "callbackBeforeSendGroupMsgCommand",
            Self::BeforeMsgModify => "callbackBeforeMsgModifyCommand",
            Self::AfterSendSingleMsg => "callbackAfterSendSingleMsgCommand",
            Self::AfterSendGroupMsg => "callbackAfterSendGroupMsgCommand",
            Self::BeforeOfflinePush => "callbackBeforeOfflinePushCommand",
            Self::BeforeUserRegister => "callbackBeforeUserRegisterCommand",
            Self::BeforeUpdateUserInfo => "callbackBeforeUpdateUserInfoCommand",
            Self::BeforeUpdateUserInfoEx => "callbackBeforeUpdateUserInfoExCommand",
            Self::BeforeAddFriend => "callbackBeforeAddFriendCommand",
            Self::BeforeSetFriendRemark => "callbackBeforeSetFriendRemarkCommand",
            Self::BeforeCreateGroup => "callbackBeforeCreateGroupCommand",
            Self::BeforeSetGroupInfo => "callbackBeforeSetGroupInfoCommand",
            Self::BeforeSetGroupInfoEx => "callbackBeforeSetGroupInfoExCommand",
            Self::BeforeSetGroupMemberInfo => "callbackBeforeSetGroupMemberInfoCommand",
            Self::BeforeApplyJoinGroup => "callbackBeforeJoinGroupCommand",
        }
    }
}

/// What a decision was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Continue unchanged.
    Continue,
    /// Refused.
    Refuse,
    /// Changed something.
    Modify,
    /// The request was malformed.
    Malformed,
    /// No rules loaded yet: the shim applies its failure mode.
    Unavailable,
}

impl Outcome {
    const ALL: [Self; 5] = [
        Self::Continue,
        Self::Refuse,
        Self::Modify,
        Self::Malformed,
        Self::Unavailable,
    ];

    /// Label value.
    pub(crate) const fn label(self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::Refuse => "refuse",
            Self::Modify => "modify",
            Self::Malformed => "malformed",
            Self::Unavailable => "unavailable",
        }
    }
}

/// Counts one RPC's decision: `openim_policy_decisions_total{command, outcome}`; the RPC's
/// span and latency histogram get the outcome too (`crate::observe`).
pub(crate) fn decision(rpc: Rpc, outcome: Outcome) {
    crate::observe::decided(outcome);
    static TABLE: OnceLock<Vec<Vec<Counter>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        Rpc::ALL
            .iter()
            .map(|r| {
                Outcome::ALL
                    .iter()
                    .map(|o| {
                        metrics::counter!("openim_policy_decisions_total",
                            "command" => r.label(), "outcome" => o.label())
                    })
                    .collect()
            })
            .collect()
    });
    table[rpc as usize][outcome as usize].increment(1);
}

/// Counts one message seen by `rpc`:
/// `openim_policy_messages_total{command, session_type, content_type, outcome}`.
pub(crate) fn message(rpc: Rpc, session_type: i32, content_type: i32, outcome: Outcome) {
    type Key = (u8, &'static str, &'static str, u8);
    static TABLE: OnceLock<RwLock<HashMap<Key, Counter>>> = OnceLock::new();
    let session = session_type_label(session_type);
    let content = content_type_label(content_type);
    let key: Key = (rpc as u8, session, content, outcome as u8);
    let table = TABLE.get_or_init(Default::default);
    if let Some(c) = table.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
        c.increment(1);
        return;
    }
    // First time for this label set (bounded: labels come from fixed tables).
    let counter = metrics::counter!("openim_policy_messages_total",
        "command" => rpc.label(), "session_type" => session, "content_type" => content,
        "outcome" => outcome.label());
    counter.increment(1);
    table
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, counter);
}

/// Counts one user-written text checked: `openim_policy_texts_total{field, outcome}`.
pub(crate) fn text(field: crate::engine::TextField, outcome: Outcome) {
    use crate::engine::TextField;
    static TABLE: OnceLock<Vec<Vec<Counter>>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        TextField::ALL
            .iter()
            .map(|f| {
                Outcome::ALL
                    .iter()
                    .map(|o| {
                        metrics::counter!("openim_policy_texts_total",
                            "field" => f.name(), "outcome" => o.label())
                    })
                    .collect()
            })
            .collect()
    });
    let i = TextField::ALL.iter().position(|f| *f == field).unwrap_or(0);
    table[i][outcome as usize].increment(1);
}

/// Describes every metric for Prometheus' `# HELP` lines.
pub(crate) fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_histogram!(
        "openim_policy_decision_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an RPC of the contract, from its request to its reply, by command and \
         outcome (the decision's; unimplemented, error when there was none)."
    );
    describe_gauge!(
        "openim_policy_rules_info",
        "1 for the rule set in force, labelled with its version (the file's `version`, if any) \
         and the SHA-256 of the file."
    );
    describe_gauge!(
        "openim_policy_rules_last_reload_timestamp_seconds",
        metrics::Unit::Seconds,
        "Unix time at which the rule set in force was loaded."
    );
    describe_counter!(
        "openim_policy_decisions_total",
        "Decisions by command and outcome (continue, refuse, modify, malformed, unavailable)."
    );
    describe_counter!(
        "openim_policy_messages_total",
        "Messages seen by callback command, session type, content type and outcome of the rules."
    );
    describe_counter!(
        crate::rules::rule::RULE_MATCHES,
        "Rule matches by rule, kind, stage and mode (enforced or dryRun)."
    );
    describe_counter!(
        "openim_policy_texts_total",
        "User-written texts (nicknames, group names, ...) checked, by field and outcome."
    );
    describe_counter!(
        "openim_policy_rules_reloads_total",
        "Rule reloads by result (ok, error)."
    );
    describe_gauge!(
        "openim_policy_rules_loaded",
        "1 while a valid rule set is loaded and served."
    );
    describe_gauge!(
        "openim_policy_rate_limit_senders",
        "Senders whose rate-limit state is kept in memory."
    );
    describe_counter!(
        "openim_policy_audit_lines_total",
        "Audit lines handed to the writer."
    );
    describe_counter!(
        "openim_policy_audit_dropped_total",
        "Audit lines dropped because the writer's queue was full."
    );
    describe_counter!(
        "openim_policy_audit_errors_total",
        "Audit log write errors."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy labels a decision with the command the shim labels its callback with.
    #[test]
    fn every_rpc_is_labelled_with_the_command_the_contract_names() {
        for rpc in Rpc::ALL {
            let known = policy_proto::COMMANDS
                .iter()
                .any(|(_, c)| *c == rpc.label());
            assert!(
                known,
                "{rpc:?}: {} is not a command of the contract",
                rpc.label()
            );
        }
    }
}
