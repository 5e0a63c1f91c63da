//! The engine seam: what a policy decides, by OpenIM domain, free of gRPC plumbing. The gRPC
//! services (`crate::service`) call an [`Engine`]; the default rule engine (`crate::rules`) is
//! one implementation, and [`Passthrough`] (continue everything) another.
//!
//! Methods take the request's payload by reference and return the response message; every
//! method has a "continue" default, so an engine implements only what it decides on. They are
//! synchronous: a decision is CPU work on data in memory, and must be fast (it sits on the path
//! of every message).
//!
//! Besides messages, users write text in other operations (nicknames, group names, friend
//! remarks, ...): [`Engine::check_text`] decides on one such text, whatever callback carries it.

use policy_proto::v1 as pb;

/// Which after-send callback an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSend {
    /// `AfterSendSingleMsg`.
    Single,
    /// `AfterSendGroupMsg`.
    Group,
}

/// A piece of text a user writes outside messages, by what it is. OpenIM can apply a rewrite of
/// some of them (a masked nickname is stored masked); for the others a callback can only refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextField {
    /// A user's nickname (`beforeUpdateUserInfo(Ex)`, `beforeUserRegister`): rewritable.
    Nickname,
    /// A group's name (`beforeCreateGroup`, `beforeSetGroupInfo(Ex)`): rewritable.
    GroupName,
    /// A group's notification (announcement): not rewritable (`beforeSetGroupInfo(Ex)` do not
    /// copy it back).
    GroupNotification,
    /// A group's introduction (`beforeCreateGroup`, `beforeSetGroupInfo(Ex)`): rewritable.
    GroupIntroduction,
    /// A member's nickname in a group (`beforeSetGroupMemberInfo`): rewritable.
    GroupMemberNickname,
    /// A friend remark (`beforeSetFriendRemark`): rewritable (OpenIM applies a non-empty one).
    FriendRemark,
    /// The message of a friend request (`beforeAddFriend`): not rewritable.
    FriendRequestMessage,
    /// The message of a request to join a group (`beforeApplyJoinGroup`): not rewritable.
    GroupRequestMessage,
}

impl TextField {
    /// Every field, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Nickname,
        Self::GroupName,
        Self::GroupNotification,
        Self::GroupIntroduction,
        Self::GroupMemberNickname,
        Self::FriendRemark,
        Self::FriendRequestMessage,
        Self::GroupRequestMessage,
    ];

    /// Whether OpenIM applies a changed value of this field returned by its before-callback
    /// (docs/openim-protocol.md §4). Where it does not, a masking rule refuses instead.
    pub const fn rewritable(self) -> bool {
        !matches!(
            self,
            Self::GroupNotification | Self::FriendRequestMessage | Self::GroupRequestMessage
        )
    }

    /// The field's name in the rules file, logs and metrics.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Nickname => "nickname",
            Self::GroupName => "groupName",
            Self::GroupNotification => "groupNotification",
            Self::GroupIntroduction => "groupIntroduction",
            Self::GroupMemberNickname => "groupMemberNickname",
            Self::FriendRemark => "friendRemark",
            Self::FriendRequestMessage => "friendRequestMessage",
            Self::GroupRequestMessage => "groupRequestMessage",
        }
    }
}

/// What to do with a user-written text: see [`Engine::check_text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextVerdict {
    /// Keep the text as it is.
    Pass,
    /// Replace the text with this one (only for [`TextField::rewritable`] fields).
    Replace(String),
    /// Refuse the operation with this error.
    Refuse(pb::Refusal),
}

/// A policy's decisions. See the module docs. Every method gets the request's context (OpenIM's
/// operation ID and command) so that what it logs can be joined with OpenIM's logs.
pub trait Engine: Send + Sync + 'static {
    /// Before a single or group message is sent: refuse it, or `None` to continue.
    fn check_message(
        &self,
        _context: &pb::CallbackContext,
        _message: &pb::Message,
    ) -> Option<pb::Refusal> {
        None
    }

    /// Msg-modify: refuse, rewrite, or continue (the default response).
    fn modify_message(
        &self,
        _context: &pb::CallbackContext,
        _message: &pb::Message,
    ) -> pb::BeforeMsgModifyResponse {
        pb::BeforeMsgModifyResponse::default()
    }

    /// Before an offline push: skip it, change targets or texts, or continue.
    fn offline_push(
        &self,
        _context: &pb::CallbackContext,
        _push: &pb::PushMessage,
    ) -> pb::BeforeOfflinePushResponse {
        pb::BeforeOfflinePushResponse::default()
    }

    /// After a message was sent. Must return quickly: hand slow work (I/O) to a background task.
    fn message_sent(
        &self,
        _kind: AfterSend,
        _context: &pb::CallbackContext,
        _message: &pb::Message,
    ) {
    }

    /// A text a user wrote in `field`: pass, replace (rewritable fields only) or refuse. For the
    /// callbacks that carry such texts; the default passes everything.
    fn check_text(
        &self,
        _context: &pb::CallbackContext,
        _field: TextField,
        _text: &str,
    ) -> TextVerdict {
        TextVerdict::Pass
    }

    /// Housekeeping (dropping expired state), called by the server about once a minute, off the
    /// RPC path.
    fn maintain(&self) {}

    /// Called once when the server has stopped: finish background work (the default engine
    /// writes out its audit log). May block.
    fn shutdown(&self) {}
}

/// Continues everything: the engine of a policy started without rules.
#[derive(Debug, Default, Clone, Copy)]
pub struct Passthrough;

impl Engine for Passthrough {}
