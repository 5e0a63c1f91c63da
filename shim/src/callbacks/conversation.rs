//! Conversation-creation callbacks (docs/openim-protocol.md §4.5; OpenIM main only).
//!
//! OpenIM main's structs use keys ending in a lower-case `Id` (`ownerUserId`); before
//! 2025-10-31 they used snake_case keys (`owner_user_id`), in the replies too. Requests of both
//! styles are read, and the reply is written in the style of its request.

use policy_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::{
    Before, DecodeError, Encoder, IntoRequest, Payload, Verdict, decode_body, is_none,
    nested_requests, notification, policy_requests,
};

policy_requests!(
    BeforeCreateSingleChatConversationsRequest,
    AfterCreateSingleChatConversationsRequest,
    BeforeCreateGroupChatConversationsRequest,
    AfterCreateGroupChatConversationsRequest,
);

/// The four conversation bodies, in either key style. `userId` is set in single-chat bodies,
/// `groupId` in group-chat bodies.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ConversationBody {
    #[serde(rename = "ownerUserId", alias = "owner_user_id", alias = "ownerUserID")]
    owner_user_id: String,
    #[serde(
        rename = "conversationId",
        alias = "conversation_id",
        alias = "conversationID"
    )]
    conversation_id: String,
    #[serde(rename = "conversationType", alias = "conversation_type")]
    conversation_type: i32,
    #[serde(rename = "userId", alias = "user_id", alias = "userID")]
    user_id: String,
    #[serde(rename = "groupId", alias = "group_id", alias = "groupID")]
    group_id: String,
    #[serde(rename = "recvMsgOpt", alias = "recv_msg_opt")]
    recv_msg_opt: i32,
    #[serde(rename = "isPinned", alias = "is_pinned")]
    is_pinned: bool,
    #[serde(rename = "isPrivateChat", alias = "is_private_chat")]
    is_private_chat: bool,
    #[serde(rename = "burnDuration", alias = "burn_duration")]
    burn_duration: i32,
    #[serde(rename = "groupAtType", alias = "group_at_type")]
    group_at_type: i32,
    #[serde(rename = "attachedInfo", alias = "attached_info")]
    attached_info: String,
    ex: String,
}

impl Payload for ConversationBody {
    type Out = pb::ConversationInfo;

    fn into_parts(self) -> (Option<pb::CallbackContext>, pb::ConversationInfo) {
        let conversation = pb::ConversationInfo {
            owner_user_id: self.owner_user_id,
            conversation_id: self.conversation_id,
            conversation_type: self.conversation_type,
            user_id: self.user_id,
            group_id: self.group_id,
            recv_msg_opt: self.recv_msg_opt,
            is_pinned: self.is_pinned,
            is_private_chat: self.is_private_chat,
            burn_duration: self.burn_duration,
            group_at_type: self.group_at_type,
            attached_info: self.attached_info,
            ex: self.ex,
        };
        (None, conversation)
    }
}

nested_requests!(ConversationBody => conversation:
    BeforeCreateSingleChatConversationsRequest,
    AfterCreateSingleChatConversationsRequest,
    BeforeCreateGroupChatConversationsRequest,
    AfterCreateGroupChatConversationsRequest,
);

/// Key style of a conversation body, detected from its `conversation_id` key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStyle {
    /// `recvMsgOpt` (OpenIM main since 2025-10-31).
    Camel,
    /// `recv_msg_opt` (OpenIM main before).
    Snake,
}

impl KeyStyle {
    fn of(body: &[u8]) -> Self {
        const SNAKE_KEY: &[u8] = b"\"conversation_id\"";
        if body.windows(SNAKE_KEY.len()).any(|w| w == SNAKE_KEY) {
            Self::Snake
        } else {
            Self::Camel
        }
    }
}

/// Declares a conversation change-fields struct for one key style.
macro_rules! conversation_changes {
    ($name:ident, $recv:literal, $pinned:literal, $private:literal, $burn:literal, $at:literal, $attached:literal) => {
        /// Reply change fields in one key style; absent = keep.
        #[derive(Debug, Serialize)]
        struct $name {
            #[serde(rename = $recv, skip_serializing_if = "is_none")]
            recv_msg_opt: Option<i32>,
            #[serde(rename = $pinned, skip_serializing_if = "is_none")]
            is_pinned: Option<bool>,
            #[serde(rename = $private, skip_serializing_if = "is_none")]
            is_private_chat: Option<bool>,
            #[serde(rename = $burn, skip_serializing_if = "is_none")]
            burn_duration: Option<i32>,
            #[serde(rename = $at, skip_serializing_if = "is_none")]
            group_at_type: Option<i32>,
            #[serde(rename = $attached, skip_serializing_if = "is_none")]
            attached_info: Option<String>,
            #[serde(skip_serializing_if = "is_none")]
            ex: Option<String>,
        }

        impl From<pb::ConversationChanges> for $name {
            fn from(c: pb::ConversationChanges) -> Self {
                Self {
                    recv_msg_opt: c.recv_msg_opt,
                    is_pinned: c.is_pinned,
                    is_private_chat: c.is_private_chat,
                    burn_duration: c.burn_duration,
                    group_at_type: c.group_at_type,
                    attached_info: c.attached_info,
                    ex: c.ex,
                }
            }
        }
    };
}

conversation_changes!(
    CamelChanges,
    "recvMsgOpt",
    "isPinned",
    "isPrivateChat",
    "burnDuration",
    "groupAtType",
    "attachedInfo"
);
conversation_changes!(
    SnakeChanges,
    "recv_msg_opt",
    "is_pinned",
    "is_private_chat",
    "burn_duration",
    "group_at_type",
    "attached_info"
);

/// The reply to a conversation before-callback.
fn encode(
    refuse: Option<&pb::Refusal>,
    changes: Option<pb::ConversationChanges>,
    style: KeyStyle,
    enc: &mut Encoder,
) -> Verdict {
    if let Some(refuse) = refuse {
        return enc.refusal(refuse);
    }
    let Some(changes) = changes else {
        return Verdict::proceed();
    };
    match style {
        KeyStyle::Camel => Verdict::changes(&CamelChanges::from(changes)),
        KeyStyle::Snake => Verdict::changes(&SnakeChanges::from(changes)),
    }
}

/// Declares the two conversation before-callbacks, which differ only in types.
macro_rules! conversation_before {
    ($name:ident, $method:literal, $req:ident, $resp:ident) => {
        #[doc = concat!("`ConversationService/", $method, "`: refuse, continue or change.")]
        pub struct $name;

        impl Before for $name {
            const RPC: &'static str = concat!("/openim.policy.v1.ConversationService/", $method);
            type Request = pb::$req;
            type Response = pb::$resp;
            /// The request's key style, for the reply.
            type Keep = KeyStyle;

            fn decode(body: &[u8]) -> Result<(pb::$req, KeyStyle), DecodeError> {
                let request = decode_body::<ConversationBody>(body)?.into_request();
                Ok((request, KeyStyle::of(body)))
            }

            fn encode(r: pb::$resp, style: KeyStyle, enc: &mut Encoder) -> Verdict {
                encode(r.refuse.as_ref(), r.changes, style, enc)
            }
        }
    };
}

conversation_before!(
    BeforeCreateSingleChatConversations,
    "BeforeCreateSingleChatConversations",
    BeforeCreateSingleChatConversationsRequest,
    BeforeCreateSingleChatConversationsResponse
);
conversation_before!(
    BeforeCreateGroupChatConversations,
    "BeforeCreateGroupChatConversations",
    BeforeCreateGroupChatConversationsRequest,
    BeforeCreateGroupChatConversationsResponse
);
notification!(AfterCreateSingleChatConversations,
    "ConversationService/AfterCreateSingleChatConversations",
    ConversationBody => AfterCreateSingleChatConversationsRequest);
notification!(AfterCreateGroupChatConversations,
    "ConversationService/AfterCreateGroupChatConversations",
    ConversationBody => AfterCreateGroupChatConversationsRequest);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::callbacks::{
        After, Outcome,
        testing::{decode_after, decode_before, encode},
    };

    fn changes() -> pb::ConversationChanges {
        pb::ConversationChanges {
            is_pinned: Some(true),
            attached_info: Some("a".into()),
            ..Default::default()
        }
    }

    #[test]
    fn current_bodies_decode_and_are_answered_with_camel_case_keys() {
        let (req, style) = decode_before::<BeforeCreateSingleChatConversations>(
            "callbackBeforeCreateSingleChatConversationsCommand.json",
        );
        assert_eq!(style, KeyStyle::Camel);
        let c = req.conversation.unwrap();
        assert_eq!(c.owner_user_id, "4826475913");
        assert_eq!(c.user_id, "7190283365");
        assert_eq!(c.conversation_type, pb::SessionType::Single as i32);
        let resp = pb::BeforeCreateSingleChatConversationsResponse {
            refuse: None,
            changes: Some(changes()),
        };
        let e = encode::<BeforeCreateSingleChatConversations>(resp, style);
        assert_eq!(
            serde_json::Value::Object(e.changes()),
            json!({"isPinned":true,"attachedInfo":"a"})
        );
    }

    #[test]
    fn snake_case_bodies_decode_and_are_answered_in_snake_case() {
        let (req, style) = decode_before::<BeforeCreateSingleChatConversations>(
            "callbackBeforeCreateSingleChatConversationsCommand.snake.json",
        );
        assert_eq!(style, KeyStyle::Snake);
        let c = req.conversation.unwrap();
        assert_eq!(
            (c.owner_user_id.as_str(), c.user_id.as_str()),
            ("4826475913", "7190283365")
        );
        assert_eq!(c.conversation_id, "si_4826475913_7190283365");
        let resp = pb::BeforeCreateSingleChatConversationsResponse {
            refuse: None,
            changes: Some(changes()),
        };
        let e = encode::<BeforeCreateSingleChatConversations>(resp, style);
        assert_eq!(
            serde_json::Value::Object(e.changes()),
            json!({"is_pinned":true,"attached_info":"a"})
        );
    }

    #[test]
    fn group_conversations_decode_and_empty_changes_continue() {
        let (req, style) = decode_before::<BeforeCreateGroupChatConversations>(
            "callbackBeforeCreateGroupChatConversationsCommand.json",
        );
        let c = req.conversation.unwrap();
        assert_eq!(
            (c.group_id.as_str(), c.owner_user_id.as_str()),
            ("2841935067", "")
        );
        let resp = pb::BeforeCreateGroupChatConversationsResponse {
            refuse: None,
            changes: Some(pb::ConversationChanges::default()),
        };
        assert_eq!(
            encode::<BeforeCreateGroupChatConversations>(resp, style).outcome,
            Outcome::Continue
        );
        let a = decode_after::<AfterCreateSingleChatConversations>(
            "callbackAfterCreateSingleChatConversationsCommand.json",
        );
        assert_eq!(a.conversation.unwrap().user_id, "7190283365");
        let a = AfterCreateGroupChatConversations::decode(&crate::callbacks::testing::fixture(
            "callbackAfterCreateGroupChatConversationsCommand.json",
        ));
        assert_eq!(a.unwrap().conversation.unwrap().group_id, "2841935067");
    }
}
