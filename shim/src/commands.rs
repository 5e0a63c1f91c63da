//! The command table: the one place that says, for every OpenIM callback command, its wire
//! names, its `webhooks.yml` key, whether it is a before- or after-callback, and which RPC (and
//! so which request and response shapes) serves it. Adding a callback is a row here plus its
//! proto messages and a [`Before`]/[`After`] implementation in `crate::callbacks`.

use std::{collections::HashMap, sync::LazyLock};

use crate::{
    callbacks::{After, Before, conversation as conv, friend, group, message, push, receipt, user},
    dispatch::{self, AfterFn, AskFn, BeforeFn},
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
    /// Before-callbacks: asks a policy about a body with the serving path's conversion code
    /// (shadow, replay).
    pub(crate) ask: Option<AskFn>,
    /// Rust type names of the request and response it uses, to check them against `rpc`.
    #[cfg(test)]
    types: fn() -> [&'static str; 2],
}

#[cfg(test)]
fn type_names<Req, Resp>() -> [&'static str; 2] {
    [std::any::type_name::<Req>(), std::any::type_name::<Resp>()]
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

#[cfg(test)]
impl Command {
    /// A copy of this row served by `run` instead: tests of the machinery around handlers.
    pub(crate) fn served_by(&self, run: Run) -> Self {
        Self { run, ..*self }
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
        ask: Some(dispatch::ask::<C>),
        #[cfg(test)]
        types: type_names::<C::Request, C::Response>,
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
        ask: None,
        #[cfg(test)]
        types: type_names::<C::Request, ()>,
    }
}

#[rustfmt::skip] // one row per line reads as the table it is
/// Every supported command (docs/openim-protocol.md §4; old names from §4.6 and §8). Rows are
/// `before::<Callback>(current name, older names, webhooks.yml key)` or `after::<...>(...)`.
pub static COMMANDS: &[Command] = &[
    // Messages.
    before::<message::BeforeSendSingleMsg>("callbackBeforeSendSingleMsgCommand", &[], "beforeSendSingleMsg"),
    before::<message::BeforeSendGroupMsg>("callbackBeforeSendGroupMsgCommand", &[], "beforeSendGroupMsg"),
    // Old name up to v3.6; the second is the docs' misspelling.
    before::<message::BeforeMsgModify>("callbackBeforeMsgModifyCommand", &["callbackMsgModifyCommand", "callbackMsgModifyCommandCommand"], "beforeMsgModify"),
    after::<message::AfterSendSingleMsg>("callbackAfterSendSingleMsgCommand", &[], "afterSendSingleMsg"),
    after::<message::AfterSendGroupMsg>("callbackAfterSendGroupMsgCommand", &[], "afterSendGroupMsg"),
    after::<message::AfterMsgSaveDB>("callbackAfterMsgSaveDBCommand", &[], "afterMsgSaveDB"),
    after::<receipt::AfterSingleMsgRead>("callbackAfterSingleMsgReadCommand", &["callbackSingleMsgRead"], "afterSingleMsgRead"),
    after::<receipt::AfterGroupMsgRead>("callbackAfterGroupMsgReadCommand", &["callbackGroupMsgReadCommand"], "afterGroupMsgRead"),
    // Sic: OpenIM's revoke command.
    after::<receipt::AfterRevokeMsg>("callbackBeforeAfterMsgCommand", &[], "afterRevokeMsg"),
    // Push. Old names up to v3.6; `callbackBeforePushCommand` is the docs' misspelling.
    before::<push::BeforeOfflinePush>("callbackBeforeOfflinePushCommand", &["callbackOfflinePushCommand", "callbackBeforePushCommand"], "beforeOfflinePush"),
    before::<push::BeforeOnlinePush>("callbackBeforeOnlinePushCommand", &["callbackOnlinePushCommand"], "beforeOnlinePush"),
    before::<push::BeforeGroupOnlinePush>("callbackBeforeGroupOnlinePushCommand", &["callbackSuperGroupOnlinePushCommand"], "beforeGroupOnlinePush"),
    // Users and status.
    before::<user::BeforeUserRegister>("callbackBeforeUserRegisterCommand", &[], "beforeUserRegister"),
    after::<user::AfterUserRegister>("callbackAfterUserRegisterCommand", &[], "afterUserRegister"),
    before::<user::BeforeUpdateUserInfo>("callbackBeforeUpdateUserInfoCommand", &[], "beforeUpdateUserInfo"),
    after::<user::AfterUpdateUserInfo>("callbackAfterUpdateUserInfoCommand", &[], "afterUpdateUserInfo"),
    before::<user::BeforeUpdateUserInfoEx>("callbackBeforeUpdateUserInfoExCommand", &[], "beforeUpdateUserInfoEx"),
    after::<user::AfterUpdateUserInfoEx>("callbackAfterUpdateUserInfoExCommand", &[], "afterUpdateUserInfoEx"),
    after::<user::AfterUserOnline>("callbackAfterUserOnlineCommand", &["callbackUserOnlineCommand"], "afterUserOnline"),
    after::<user::AfterUserOffline>("callbackAfterUserOfflineCommand", &["callbackUserOfflineCommand"], "afterUserOffline"),
    after::<user::AfterUserKickOff>("callbackAfterUserKickOffCommand", &["callbackUserKickOffCommand"], "afterUserKickOff"),
    // Friends and blacklist.
    before::<friend::BeforeAddFriend>("callbackBeforeAddFriendCommand", &[], "beforeAddFriend"),
    after::<friend::AfterAddFriend>("callbackAfterAddFriendCommand", &[], "afterAddFriend"),
    before::<friend::BeforeAddFriendAgree>("callbackBeforeAddFriendAgreeCommand", &[], "beforeAddFriendAgree"),
    after::<friend::AfterAddFriendAgree>("callbackAfterAddFriendAgreeCommand", &[], "afterAddFriendAgree"),
    after::<friend::AfterDeleteFriend>("callbackAfterDeleteFriendCommand", &[], "afterDeleteFriend"),
    before::<friend::BeforeImportFriends>("callbackBeforeImportFriendsCommand", &[], "beforeImportFriends"),
    after::<friend::AfterImportFriends>("callbackAfterImportFriendsCommand", &[], "afterImportFriends"),
    before::<friend::BeforeSetFriendRemark>("callbackBeforeSetFriendRemarkCommand", &["callbackBeforeSetFriendRemark"], "beforeSetFriendRemark"),
    after::<friend::AfterSetFriendRemark>("callbackAfterSetFriendRemarkCommand", &["callbackAfterSetFriendRemark"], "afterSetFriendRemark"),
    before::<friend::BeforeAddBlack>("callbackBeforeAddBlackCommand", &[], "beforeAddBlack"),
    after::<friend::AfterRemoveBlack>("callbackAfterRemoveBlackCommand", &[], "afterRemoveBlack"),
    // Groups.
    before::<group::BeforeCreateGroup>("callbackBeforeCreateGroupCommand", &[], "beforeCreateGroup"),
    after::<group::AfterCreateGroup>("callbackAfterCreateGroupCommand", &[], "afterCreateGroup"),
    before::<group::BeforeMembersJoinGroup>("callbackBeforeMembersJoinGroupCommand", &[], "beforeMemberJoinGroup"),
    // The one-member form of OpenIM up to v3.7: another body and reply, same RPC.
    before::<group::BeforeMemberJoinGroup>("callbackBeforeMemberJoinGroupCommand", &[], "beforeMemberJoinGroup"),
    // Capital C in v3.0-v3.4.
    before::<group::BeforeSetGroupMemberInfo>("callbackBeforeSetGroupMemberInfoCommand", &["CallbackBeforeSetGroupMemberInfoCommand"], "beforeSetGroupMemberInfo"),
    after::<group::AfterSetGroupMemberInfo>("callbackAfterSetGroupMemberInfoCommand", &[], "afterSetGroupMemberInfo"),
    after::<group::AfterQuitGroup>("callbackAfterQuitGroupCommand", &["callbackQuitGroupCommand"], "afterQuitGroup"),
    after::<group::AfterKickGroupMember>("callbackAfterKickGroupCommand", &["callbackKillGroupCommand"], "afterKickGroupMember"),
    after::<group::AfterDismissGroup>("callbackAfterDisMissGroupCommand", &["callbackDisMissGroupCommand"], "afterDismissGroup"),
    before::<group::BeforeApplyJoinGroup>("callbackBeforeJoinGroupCommand", &[], "beforeApplyJoinGroup"),
    after::<group::AfterJoinGroup>("callbackAfterJoinGroupCommand", &[], "afterJoinGroup"),
    before::<group::BeforeInviteUserToGroup>("callbackBeforeInviteJoinGroupCommand", &[], "beforeInviteUserToGroup"),
    // v3.4.2-v3.5, then v3.6.
    after::<group::AfterTransferGroupOwner>("callbackAfterTransferGroupOwnerCommand", &["callbackTransferGroupOwnerAfter", "callbackAfterTransferGroupOwner"], "afterTransferGroupOwner"),
    before::<group::BeforeSetGroupInfo>("callbackBeforeSetGroupInfoCommand", &[], "beforeSetGroupInfo"),
    after::<group::AfterSetGroupInfo>("callbackAfterSetGroupInfoCommand", &[], "afterSetGroupInfo"),
    before::<group::BeforeSetGroupInfoEx>("callbackBeforeSetGroupInfoExCommand", &[], "beforeSetGroupInfoEx"),
    after::<group::AfterSetGroupInfoEx>("callbackAfterSetGroupInfoExCommand", &[], "afterSetGroupInfoEx"),
    // Conversations (OpenIM main).
    before::<conv::BeforeCreateSingleChatConversations>("callbackBeforeCreateSingleChatConversationsCommand", &[], "beforeCreateSingleChatConversations"),
    after::<conv::AfterCreateSingleChatConversations>("callbackAfterCreateSingleChatConversationsCommand", &[], "afterCreateSingleChatConversations"),
    before::<conv::BeforeCreateGroupChatConversations>("callbackBeforeCreateGroupChatConversationsCommand", &[], "beforeCreateGroupChatConversations"),
    after::<conv::AfterCreateGroupChatConversations>("callbackAfterCreateGroupChatConversationsCommand", &[], "afterCreateGroupChatConversations"),
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

    use Kind::{After as A, Before as B};

    /// Every command string of docs/openim-protocol.md §4 and §4.6 (and the docs' misspellings), with the
    /// RPC that must serve it. Written from the protocol, independently of the table.
    const EXPECTED: &[(&str, &str, Kind)] = &[
        (
            "callbackBeforeSendSingleMsgCommand",
            "MessageService/BeforeSendSingleMsg",
            B,
        ),
        (
            "callbackBeforeSendGroupMsgCommand",
            "MessageService/BeforeSendGroupMsg",
            B,
        ),
        (
            "callbackBeforeMsgModifyCommand",
            "MessageService/BeforeMsgModify",
            B,
        ),
        (
            "callbackMsgModifyCommand",
            "MessageService/BeforeMsgModify",
            B,
        ),
        (
            "callbackMsgModifyCommandCommand",
            "MessageService/BeforeMsgModify",
            B,
        ),
        (
            "callbackAfterSendSingleMsgCommand",
            "MessageService/AfterSendSingleMsg",
            A,
        ),
        (
            "callbackAfterSendGroupMsgCommand",
            "MessageService/AfterSendGroupMsg",
            A,
        ),
        (
            "callbackAfterMsgSaveDBCommand",
            "MessageService/AfterMsgSaveDB",
            A,
        ),
        (
            "callbackAfterSingleMsgReadCommand",
            "MessageService/AfterSingleMsgRead",
            A,
        ),
        (
            "callbackSingleMsgRead",
            "MessageService/AfterSingleMsgRead",
            A,
        ),
        (
            "callbackAfterGroupMsgReadCommand",
            "MessageService/AfterGroupMsgRead",
            A,
        ),
        (
            "callbackGroupMsgReadCommand",
            "MessageService/AfterGroupMsgRead",
            A,
        ),
        (
            "callbackBeforeAfterMsgCommand",
            "MessageService/AfterRevokeMsg",
            A,
        ),
        (
            "callbackBeforeOfflinePushCommand",
            "PushService/BeforeOfflinePush",
            B,
        ),
        (
            "callbackOfflinePushCommand",
            "PushService/BeforeOfflinePush",
            B,
        ),
        (
            "callbackBeforePushCommand",
            "PushService/BeforeOfflinePush",
            B,
        ),
        (
            "callbackBeforeOnlinePushCommand",
            "PushService/BeforeOnlinePush",
            B,
        ),
        (
            "callbackOnlinePushCommand",
            "PushService/BeforeOnlinePush",
            B,
        ),
        (
            "callbackBeforeGroupOnlinePushCommand",
            "PushService/BeforeGroupOnlinePush",
            B,
        ),
        (
            "callbackSuperGroupOnlinePushCommand",
            "PushService/BeforeGroupOnlinePush",
            B,
        ),
        (
            "callbackBeforeUserRegisterCommand",
            "UserService/BeforeUserRegister",
            B,
        ),
        (
            "callbackAfterUserRegisterCommand",
            "UserService/AfterUserRegister",
            A,
        ),
        (
            "callbackBeforeUpdateUserInfoCommand",
            "UserService/BeforeUpdateUserInfo",
            B,
        ),
        (
            "callbackAfterUpdateUserInfoCommand",
            "UserService/AfterUpdateUserInfo",
            A,
        ),
        (
            "callbackBeforeUpdateUserInfoExCommand",
            "UserService/BeforeUpdateUserInfoEx",
            B,
        ),
        (
            "callbackAfterUpdateUserInfoExCommand",
            "UserService/AfterUpdateUserInfoEx",
            A,
        ),
        (
            "callbackAfterUserOnlineCommand",
            "UserService/AfterUserOnline",
            A,
        ),
        (
            "callbackUserOnlineCommand",
            "UserService/AfterUserOnline",
            A,
        ),
        (
            "callbackAfterUserOfflineCommand",
            "UserService/AfterUserOffline",
            A,
        ),
        (
            "callbackUserOfflineCommand",
            "UserService/AfterUserOffline",
            A,
        ),
        (
            "callbackAfterUserKickOffCommand",
            "UserService/AfterUserKickOff",
            A,
        ),
        (
            "callbackUserKickOffCommand",
            "UserService/AfterUserKickOff",
            A,
        ),
        (
            "callbackBeforeAddFriendCommand",
            "FriendService/BeforeAddFriend",
            B,
        ),
        (
            "callbackAfterAddFriendCommand",
            "FriendService/AfterAddFriend",
            A,
        ),
        (
            "callbackBeforeAddFriendAgreeCommand",
            "FriendService/BeforeAddFriendAgree",
            B,
        ),
        (
            "callbackAfterAddFriendAgreeCommand",
            "FriendService/AfterAddFriendAgree",
            A,
        ),
        (
            "callbackAfterDeleteFriendCommand",
            "FriendService/AfterDeleteFriend",
            A,
        ),
        (
            "callbackBeforeImportFriendsCommand",
            "FriendService/BeforeImportFriends",
            B,
        ),
        (
            "callbackAfterImportFriendsCommand",
            "FriendService/AfterImportFriends",
            A,
        ),
        (
            "callbackBeforeSetFriendRemarkCommand",
            "FriendService/BeforeSetFriendRemark",
            B,
        ),
        (
            "callbackBeforeSetFriendRemark",
            "FriendService/BeforeSetFriendRemark",
            B,
        ),
        (
            "callbackAfterSetFriendRemarkCommand",
            "FriendService/AfterSetFriendRemark",
            A,
        ),
        (
            "callbackAfterSetFriendRemark",
            "FriendService/AfterSetFriendRemark",
            A,
        ),
        (
            "callbackBeforeAddBlackCommand",
            "FriendService/BeforeAddBlack",
            B,
        ),
        (
            "callbackAfterRemoveBlackCommand",
            "FriendService/AfterRemoveBlack",
            A,
        ),
        (
            "callbackBeforeCreateGroupCommand",
            "GroupService/BeforeCreateGroup",
            B,
        ),
        (
            "callbackAfterCreateGroupCommand",
            "GroupService/AfterCreateGroup",
            A,
        ),
        (
            "callbackBeforeMembersJoinGroupCommand",
            "GroupService/BeforeMembersJoinGroup",
            B,
        ),
        (
            "callbackBeforeMemberJoinGroupCommand",
            "GroupService/BeforeMembersJoinGroup",
            B,
        ),
        (
            "callbackBeforeSetGroupMemberInfoCommand",
            "GroupService/BeforeSetGroupMemberInfo",
            B,
        ),
        (
            "CallbackBeforeSetGroupMemberInfoCommand",
            "GroupService/BeforeSetGroupMemberInfo",
            B,
        ),
        (
            "callbackAfterSetGroupMemberInfoCommand",
            "GroupService/AfterSetGroupMemberInfo",
            A,
        ),
        (
            "callbackAfterQuitGroupCommand",
            "GroupService/AfterQuitGroup",
            A,
        ),
        ("callbackQuitGroupCommand", "GroupService/AfterQuitGroup", A),
        (
            "callbackAfterKickGroupCommand",
            "GroupService/AfterKickGroupMember",
            A,
        ),
        (
            "callbackKillGroupCommand",
            "GroupService/AfterKickGroupMember",
            A,
        ),
        (
            "callbackAfterDisMissGroupCommand",
            "GroupService/AfterDismissGroup",
            A,
        ),
        (
            "callbackDisMissGroupCommand",
            "GroupService/AfterDismissGroup",
            A,
        ),
        (
            "callbackBeforeJoinGroupCommand",
            "GroupService/BeforeApplyJoinGroup",
            B,
        ),
        (
            "callbackAfterJoinGroupCommand",
            "GroupService/AfterJoinGroup",
            A,
        ),
        (
            "callbackBeforeInviteJoinGroupCommand",
            "GroupService/BeforeInviteUserToGroup",
            B,
        ),
        (
            "callbackAfterTransferGroupOwnerCommand",
            "GroupService/AfterTransferGroupOwner",
            A,
        ),
        (
            "callbackTransferGroupOwnerAfter",
            "GroupService/AfterTransferGroupOwner",
            A,
        ),
        (
            "callbackAfterTransferGroupOwner",
            "GroupService/AfterTransferGroupOwner",
            A,
        ),
        (
            "callbackBeforeSetGroupInfoCommand",
            "GroupService/BeforeSetGroupInfo",
            B,
        ),
        (
            "callbackAfterSetGroupInfoCommand",
            "GroupService/AfterSetGroupInfo",
            A,
        ),
        (
            "callbackBeforeSetGroupInfoExCommand",
            "GroupService/BeforeSetGroupInfoEx",
            B,
        ),
        (
            "callbackAfterSetGroupInfoExCommand",
            "GroupService/AfterSetGroupInfoEx",
            A,
        ),
        (
            "callbackBeforeCreateSingleChatConversationsCommand",
            "ConversationService/BeforeCreateSingleChatConversations",
            B,
        ),
        (
            "callbackAfterCreateSingleChatConversationsCommand",
            "ConversationService/AfterCreateSingleChatConversations",
            A,
        ),
        (
            "callbackBeforeCreateGroupChatConversationsCommand",
            "ConversationService/BeforeCreateGroupChatConversations",
            B,
        ),
        (
            "callbackAfterCreateGroupChatConversationsCommand",
            "ConversationService/AfterCreateGroupChatConversations",
            A,
        ),
    ];

    /// Every command string, old or new, routed to the RPC that must serve it.
    #[test]
    fn every_command_name_routes_to_its_rpc() {
        for &(name, rpc, kind) in EXPECTED {
            let (accepted, cmd) = lookup(name).unwrap_or_else(|| panic!("{name} not routed"));
            assert_eq!(accepted, name);
            assert_eq!(cmd.rpc, format!("/openim.policy.v1.{rpc}"), "{name}");
            assert_eq!(cmd.kind, kind, "{name}");
        }
        let names: usize = COMMANDS.iter().map(|c| 1 + c.aliases.len()).sum();
        assert_eq!(
            names,
            EXPECTED.len(),
            "a name is routed but not listed in this test"
        );
        assert_eq!(BY_NAME.len(), names, "a wire name appears in two rows");
    }

    /// The contract's table of RPCs and commands (the `command` label of the policy's metrics
    /// and spans) is the shim's: same pairs, both ways.
    #[test]
    fn the_contract_names_each_rpc_s_command_as_the_shim_does() {
        let shim: Vec<(&str, &str)> = COMMANDS.iter().map(|c| (c.rpc, c.name)).collect();
        for pair in &shim {
            assert!(
                policy_proto::COMMANDS.contains(pair),
                "{pair:?} not in policy_proto::COMMANDS"
            );
            assert_eq!(policy_proto::command_of(pair.0, Some(pair.1)), Some(pair.1));
            assert!(policy_proto::command_of(pair.0, Some("callbackForged")).is_some());
        }
        assert_eq!(
            shim.len(),
            policy_proto::COMMANDS.len(),
            "policy_proto::COMMANDS has more"
        );
        assert_eq!(
            policy_proto::command_of("/grpc.health.v1.Health/Check", None),
            None
        );
    }

    /// The README's table of supported commands names every command and old name.
    #[test]
    fn the_readme_lists_every_command() {
        let readme = include_str!("../../README.md");
        for cmd in COMMANDS {
            for name in std::iter::once(cmd.name).chain(cmd.aliases.iter().copied()) {
                assert!(
                    readme.contains(&format!("`{name}`")),
                    "README misses {name}"
                );
            }
            let rpc = cmd.rpc.trim_start_matches("/openim.policy.v1.");
            assert!(readme.contains(&format!("`{rpc}`")), "README misses {rpc}");
        }
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
            // The Rust types bound to the row are the ones generated for that method (prost
            // spells `DB` as `Db`).
            let [req, resp] = (cmd.types)();
            let rust_method = method.replace("DB", "Db");
            assert!(
                req.ends_with(&format!("::{rust_method}Request")),
                "{} sends {req} to {}",
                cmd.name,
                cmd.rpc
            );
            match cmd.kind {
                Kind::Before => assert!(
                    resp.ends_with(&format!("::{rust_method}Response")),
                    "{} reads {resp} from {}",
                    cmd.name,
                    cmd.rpc
                ),
                Kind::After => assert_eq!(resp, "()"),
            }
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
