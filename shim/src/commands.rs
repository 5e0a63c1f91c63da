//! The command table: the one place that says, for every OpenIM callback command, its wire
//! names, its `webhooks.yml` key, whether it is a before- or after-callback, and which RPC (and
//! so which request and response shapes) serves it. Adding a callback is a row here plus its
//! proto messages and a [`Before`]/[`After`] implementation in `crate::callbacks`.

use std::{collections::HashMap, sync::LazyLock};

use crate::{
    callbacks::{
        After, Before,
        message::{
            AfterSendGroupMsg, AfterSendSingleMsg, BeforeMsgModify, BeforeSendGroupMsg,
            BeforeSendSingleMsg,
        },
        push::BeforeOfflinePush,
    },
    dispatch::{self, AfterFn, BeforeFn},
};

/// Whether OpenIM waits for the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Synchronous: the reply can refuse or modify the operation.
    Before,
    /// Asynchronous notification: the reply is ignored.
    After,
}

/// How the shim serves a command.
#[derive(Clone, Copy)]
pub(crate) enum Run {
    /// Call the policy and answer from its response.
    Before(BeforeFn),
    /// Answer at once, deliver to the policy in the background.
    After(AfterFn),
}

/// One row of the table.
pub struct Command {
    /// The command as current servers (v3.8, main) send it.
    pub name: &'static str,
    /// Names older servers send, and misspellings from OpenIM's docs, accepted as well.
    pub aliases: &'static [&'static str],
    /// The callback's key in OpenIM's `webhooks.yml`, also used by this shim's configuration.
    pub config_key: &'static str,
    /// Before or after.
    pub kind: Kind,
    /// gRPC path of the RPC that serves it.
    pub rpc: &'static str,
    pub(crate) run: Run,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("rpc", &self.rpc)
            .finish_non_exhaustive()
    }
}

const fn before<C: Before>(
    name: &'static str,
    aliases: &'static [&'static str],
    config_key: &'static str,
) -> Command {
    Command {
        name,
        aliases,
        config_key,
        kind: Kind::Before,
        rpc: C::RPC,
        run: Run::Before(dispatch::before::<C>),
    }
}

const fn after<C: After>(
    name: &'static str,
    aliases: &'static [&'static str],
    config_key: &'static str,
) -> Command {
    Command {
        name,
        aliases,
        config_key,
        kind: Kind::After,
        rpc: C::RPC,
        run: Run::After(dispatch::after::<C>),
    }
}

/// Every supported command (PROTOCOL.md §4; old names from §4.6 and §8).
pub static COMMANDS: &[Command] = &[
    // Messages.
    before::<BeforeSendSingleMsg>(
        "callbackBeforeSendSingleMsgCommand",
        &[],
        "beforeSendSingleMsg",
    ),
    before::<BeforeSendGroupMsg>(
        "callbackBeforeSendGroupMsgCommand",
        &[],
        "beforeSendGroupMsg",
    ),
    before::<BeforeMsgModify>(
        "callbackBeforeMsgModifyCommand",
        // v3.0-v3.6; the docs' spelling.
        &[
            "callbackMsgModifyCommand",
            "callbackMsgModifyCommandCommand",
        ],
        "beforeMsgModify",
    ),
    after::<AfterSendSingleMsg>(
        "callbackAfterSendSingleMsgCommand",
        &[],
        "afterSendSingleMsg",
    ),
    after::<AfterSendGroupMsg>("callbackAfterSendGroupMsgCommand", &[], "afterSendGroupMsg"),
    // Push.
    before::<BeforeOfflinePush>(
        "callbackBeforeOfflinePushCommand",
        // v3.0-v3.6; the docs' spelling.
        &["callbackOfflinePushCommand", "callbackBeforePushCommand"],
        "beforeOfflinePush",
    ),
];

/// Every accepted wire name, mapped to its row.
static BY_NAME: LazyLock<HashMap<&'static str, &'static Command>> = LazyLock::new(|| {
    COMMANDS
        .iter()
        .flat_map(|c| {
            std::iter::once(c.name)
                .chain(c.aliases.iter().copied())
                .map(move |n| (n, c))
        })
        .collect()
});

/// Looks a wire command up; returns the accepted name (with `'static` lifetime) and its row.
pub fn lookup(name: &str) -> Option<(&'static str, &'static Command)> {
    BY_NAME.get_key_value(name).map(|(n, c)| (*n, *c))
}

/// Whether `name` is a command of the table.
pub fn is_known(name: &str) -> bool {
    BY_NAME.contains_key(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy_proto::FILE_DESCRIPTOR_SET;
    use prost::Message as _;

    /// Every command string, old or new, routed to the RPC that must serve it.
    #[test]
    fn every_command_name_routes_to_its_rpc() {
        let expected = [
            (
                "callbackBeforeSendSingleMsgCommand",
                "MessageService/BeforeSendSingleMsg",
                Kind::Before,
            ),
            (
                "callbackBeforeSendGroupMsgCommand",
                "MessageService/BeforeSendGroupMsg",
                Kind::Before,
            ),
            (
                "callbackBeforeMsgModifyCommand",
                "MessageService/BeforeMsgModify",
                Kind::Before,
            ),
            (
                "callbackMsgModifyCommand",
                "MessageService/BeforeMsgModify",
                Kind::Before,
            ),
            (
                "callbackMsgModifyCommandCommand",
                "MessageService/BeforeMsgModify",
                Kind::Before,
            ),
            (
                "callbackAfterSendSingleMsgCommand",
                "MessageService/AfterSendSingleMsg",
                Kind::After,
            ),
            (
                "callbackAfterSendGroupMsgCommand",
                "MessageService/AfterSendGroupMsg",
                Kind::After,
            ),
            (
                "callbackBeforeOfflinePushCommand",
                "PushService/BeforeOfflinePush",
                Kind::Before,
            ),
            (
                "callbackOfflinePushCommand",
                "PushService/BeforeOfflinePush",
                Kind::Before,
            ),
            (
                "callbackBeforePushCommand",
                "PushService/BeforeOfflinePush",
                Kind::Before,
            ),
        ];
        for (name, rpc, kind) in expected {
            let (accepted, cmd) = lookup(name).unwrap_or_else(|| panic!("{name} not routed"));
            assert_eq!(accepted, name);
            assert_eq!(cmd.rpc, format!("/openim.policy.v1.{rpc}"), "{name}");
            assert_eq!(cmd.kind, kind, "{name}");
        }
        let names: usize = COMMANDS.iter().map(|c| 1 + c.aliases.len()).sum();
        assert_eq!(
            names,
            expected.len(),
            "a name is routed but not listed in this test"
        );
        assert_eq!(BY_NAME.len(), names, "a wire name appears in two rows");
    }

    #[test]
    fn unknown_and_differently_cased_names_are_not_routed() {
        assert!(lookup("callbackSomethingNewCommand").is_none());
        assert!(lookup("CALLBACKBEFORESENDSINGLEMSGCOMMAND").is_none());
        assert!(!is_known(""));
    }

    /// A wrong RPC path would reach no method, and the policy's UNIMPLEMENTED would silently
    /// continue every call: check each path against the compiled contract, including that the
    /// method's before/after nature matches the row.
    #[test]
    fn every_rpc_path_exists_in_the_contract() {
        let fds = prost_types::FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).unwrap();
        let mut methods = HashMap::new();
        for file in &fds.file {
            for svc in &file.service {
                for m in &svc.method {
                    let path = format!("/{}.{}/{}", file.package(), svc.name(), m.name());
                    methods.insert(
                        path,
                        (m.input_type().to_owned(), m.output_type().to_owned()),
                    );
                }
            }
        }
        for cmd in COMMANDS {
            let (input, output) = methods
                .get(cmd.rpc)
                .unwrap_or_else(|| panic!("{} routes to missing {}", cmd.name, cmd.rpc));
            let method = cmd.rpc.rsplit('/').next().unwrap();
            assert_eq!(input, &format!(".openim.policy.v1.{method}Request"));
            assert_eq!(output, &format!(".openim.policy.v1.{method}Response"));
            let prefix = match cmd.kind {
                Kind::Before => "Before",
                Kind::After => "After",
            };
            assert!(
                method.starts_with(prefix),
                "{} is not a {prefix} RPC",
                cmd.rpc
            );
        }
    }
}
