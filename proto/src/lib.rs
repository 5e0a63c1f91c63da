//! The `openim.policy.v1` contract: generated message types, clients and servers.
//!
//! The `.proto` files under `proto/openim/policy/v1/` are the source of truth and carry the
//! documentation of every callback, field and reply rule. Other crates import this one as
//! `use policy_proto::v1 as pb;`.

pub mod raw;

/// Generated code of package `openim.policy.v1`.
pub mod v1 {
    #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
    tonic::include_proto!("openim.policy.v1");
}

/// Encoded `FileDescriptorSet` of the contract, with comments; used for gRPC server reflection
/// and to check that RPC paths named elsewhere exist.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/openim_policy_v1.bin"));

/// Every RPC of the contract with the OpenIM command it serves (`/package.Service/Method`,
/// command): the `command` label both services put on their metrics, spans and logs, so that a
/// dashboard joins them. The shim's command table is checked against it (a unit test there).
pub const COMMANDS: &[(&str, &str)] = &[
    (
        "/openim.policy.v1.MessageService/BeforeSendSingleMsg",
        "callbackBeforeSendSingleMsgCommand",
    ),
    (
        "/openim.policy.v1.MessageService/BeforeSendGroupMsg",
        "callbackBeforeSendGroupMsgCommand",
    ),
    (
        "/openim.policy.v1.MessageService/BeforeMsgModify",
        "callbackBeforeMsgModifyCommand",
    ),
    (
        "/openim.policy.v1.MessageService/AfterSendSingleMsg",
        "callbackAfterSendSingleMsgCommand",
    ),
    (
        "/openim.policy.v1.MessageService/AfterSendGroupMsg",
        "callbackAfterSendGroupMsgCommand",
    ),
    (
        "/openim.policy.v1.MessageService/AfterMsgSaveDB",
        "callbackAfterMsgSaveDBCommand",
    ),
    (
        "/openim.policy.v1.MessageService/AfterSingleMsgRead",
        "callbackAfterSingleMsgReadCommand",
    ),
    (
        "/openim.policy.v1.MessageService/AfterGroupMsgRead",
        "callbackAfterGroupMsgReadCommand",
    ),
    (
        "/openim.policy.v1.MessageService/AfterRevokeMsg",
        "callbackBeforeAfterMsgCommand",
    ),
    (
        "/openim.policy.v1.PushService/BeforeOfflinePush",
        "callbackBeforeOfflinePushCommand",
    ),
    (
        "/openim.policy.v1.PushService/BeforeOnlinePush",
        "callbackBeforeOnlinePushCommand",
    ),
    (
        "/openim.policy.v1.PushService/BeforeGroupOnlinePush",
        "callbackBeforeGroupOnlinePushCommand",
    ),
    (
        "/openim.policy.v1.UserService/BeforeUserRegister",
        "callbackBeforeUserRegisterCommand",
    ),
    (
        "/openim.policy.v1.UserService/AfterUserRegister",
        "callbackAfterUserRegisterCommand",
    ),
    (
        "/openim.policy.v1.UserService/BeforeUpdateUserInfo",
        "callbackBeforeUpdateUserInfoCommand",
    ),
    (
        "/openim.policy.v1.UserService/AfterUpdateUserInfo",
        "callbackAfterUpdateUserInfoCommand",
    ),
    (
        "/openim.policy.v1.UserService/BeforeUpdateUserInfoEx",
        "callbackBeforeUpdateUserInfoExCommand",
    ),
    (
        "/openim.policy.v1.UserService/AfterUpdateUserInfoEx",
        "callbackAfterUpdateUserInfoExCommand",
    ),
    (
        "/openim.policy.v1.UserService/AfterUserOnline",
        "callbackAfterUserOnlineCommand",
    ),
    (
        "/openim.policy.v1.UserService/AfterUserOffline",
        "callbackAfterUserOfflineCommand",
    ),
    (
        "/openim.policy.v1.UserService/AfterUserKickOff",
        "callbackAfterUserKickOffCommand",
    ),
    (
        "/openim.policy.v1.FriendService/BeforeAddFriend",
        "callbackBeforeAddFriendCommand",
    ),
    (
        "/openim.policy.v1.FriendService/AfterAddFriend",
        "callbackAfterAddFriendCommand",
    ),
    (
        "/openim.policy.v1.FriendService/BeforeAddFriendAgree",
        "callbackBeforeAddFriendAgreeCommand",
    ),
    (
        "/openim.policy.v1.FriendService/AfterAddFriendAgree",
        "callbackAfterAddFriendAgreeCommand",
    ),
    (
        "/openim.policy.v1.FriendService/AfterDeleteFriend",
        "callbackAfterDeleteFriendCommand",
    ),
    (
        "/openim.policy.v1.FriendService/BeforeImportFriends",
        "callbackBeforeImportFriendsCommand",
    ),
    (
        "/openim.policy.v1.FriendService/AfterImportFriends",
        "callbackAfterImportFriendsCommand",
    ),
    (
        "/openim.policy.v1.FriendService/BeforeSetFriendRemark",
        "callbackBeforeSetFriendRemarkCommand",
    ),
    (
        "/openim.policy.v1.FriendService/AfterSetFriendRemark",
        "callbackAfterSetFriendRemarkCommand",
    ),
    (
        "/openim.policy.v1.FriendService/BeforeAddBlack",
        "callbackBeforeAddBlackCommand",
    ),
    (
        "/openim.policy.v1.FriendService/AfterRemoveBlack",
        "callbackAfterRemoveBlackCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeCreateGroup",
        "callbackBeforeCreateGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterCreateGroup",
        "callbackAfterCreateGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeMembersJoinGroup",
        "callbackBeforeMembersJoinGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeMembersJoinGroup",
        "callbackBeforeMemberJoinGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeSetGroupMemberInfo",
        "callbackBeforeSetGroupMemberInfoCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterSetGroupMemberInfo",
        "callbackAfterSetGroupMemberInfoCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterQuitGroup",
        "callbackAfterQuitGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterKickGroupMember",
        "callbackAfterKickGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterDismissGroup",
        "callbackAfterDisMissGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeApplyJoinGroup",
        "callbackBeforeJoinGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterJoinGroup",
        "callbackAfterJoinGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeInviteUserToGroup",
        "callbackBeforeInviteJoinGroupCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterTransferGroupOwner",
        "callbackAfterTransferGroupOwnerCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeSetGroupInfo",
        "callbackBeforeSetGroupInfoCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterSetGroupInfo",
        "callbackAfterSetGroupInfoCommand",
    ),
    (
        "/openim.policy.v1.GroupService/BeforeSetGroupInfoEx",
        "callbackBeforeSetGroupInfoExCommand",
    ),
    (
        "/openim.policy.v1.GroupService/AfterSetGroupInfoEx",
        "callbackAfterSetGroupInfoExCommand",
    ),
    (
        "/openim.policy.v1.ConversationService/BeforeCreateSingleChatConversations",
        "callbackBeforeCreateSingleChatConversationsCommand",
    ),
    (
        "/openim.policy.v1.ConversationService/AfterCreateSingleChatConversations",
        "callbackAfterCreateSingleChatConversationsCommand",
    ),
    (
        "/openim.policy.v1.ConversationService/BeforeCreateGroupChatConversations",
        "callbackBeforeCreateGroupChatConversationsCommand",
    ),
    (
        "/openim.policy.v1.ConversationService/AfterCreateGroupChatConversations",
        "callbackAfterCreateGroupChatConversationsCommand",
    ),
];

/// The OpenIM command served by the RPC at gRPC `path`; `None` for paths outside the contract
/// (health, reflection). One RPC serves two commands (`BeforeMembersJoinGroup`): `hint`, the
/// command the caller names (the shim's `command` metadata), picks among them; any other hint
/// is ignored, so label values stay within this table whatever a caller sends.
pub fn command_of(path: &str, hint: Option<&str>) -> Option<&'static str> {
    let mut first = None;
    for (p, command) in COMMANDS {
        if *p == path {
            if hint == Some(*command) {
                return Some(command);
            }
            first = first.or(Some(*command));
        }
    }
    first
}
