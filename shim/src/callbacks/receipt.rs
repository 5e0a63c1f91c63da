//! Read receipts and revoke: after-callbacks with small bodies of their own (docs/openim-protocol.md §6.2),
//! each with a quirk: `Seqs` is capitalised, `contentType` carries the conversation type, and
//! `unreadMsgNum` the new has-read sequence number.

use policy_proto::v1 as pb;
use serde::Deserialize;

use super::{IntoRequest, notification, policy_requests};
use crate::openim::nullable;

policy_requests!(
    AfterSingleMsgReadRequest,
    AfterGroupMsgReadRequest,
    AfterRevokeMsgRequest,
);

/// `CallbackSingleMsgReadReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SingleMsgReadBody {
    #[serde(rename = "conversationID")]
    conversation_id: String,
    #[serde(rename = "userID")]
    user_id: String,
    // Capitalised by OpenIM; Go matches keys case-insensitively, so accept the lower case too.
    #[serde(rename = "Seqs", alias = "seqs", deserialize_with = "nullable")]
    seqs: Vec<i64>,
    // The conversation type, under this misleading key.
    #[serde(rename = "contentType")]
    content_type: i32,
}

impl IntoRequest<pb::AfterSingleMsgReadRequest> for SingleMsgReadBody {
    fn into_request(self) -> pb::AfterSingleMsgReadRequest {
        pb::AfterSingleMsgReadRequest {
            context: None,
            conversation_id: self.conversation_id,
            reader_user_id: self.user_id,
            seqs: self.seqs,
            conversation_type: self.content_type,
        }
    }
}

/// `CallbackGroupMsgReadReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupMsgReadBody {
    #[serde(rename = "sendID")]
    send_id: String,
    #[serde(rename = "receiveID")]
    receive_id: String,
    // The new has-read sequence number, under this misleading key.
    #[serde(rename = "unreadMsgNum")]
    unread_msg_num: i64,
    // The conversation type (an int64 here).
    #[serde(rename = "contentType")]
    content_type: i64,
}

impl IntoRequest<pb::AfterGroupMsgReadRequest> for GroupMsgReadBody {
    fn into_request(self) -> pb::AfterGroupMsgReadRequest {
        pb::AfterGroupMsgReadRequest {
            context: None,
            reader_user_id: self.send_id,
            receive_id: self.receive_id,
            has_read_seq: self.unread_msg_num,
            // Conversation types are small codes; anything else is not one.
            conversation_type: i32::try_from(self.content_type).unwrap_or_default(),
        }
    }
}

/// `CallbackAfterRevokeMsgReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RevokeBody {
    #[serde(rename = "conversationID")]
    conversation_id: String,
    seq: i64,
    #[serde(rename = "userID")]
    user_id: String,
}

impl IntoRequest<pb::AfterRevokeMsgRequest> for RevokeBody {
    fn into_request(self) -> pb::AfterRevokeMsgRequest {
        pb::AfterRevokeMsgRequest {
            context: None,
            conversation_id: self.conversation_id,
            seq: self.seq,
            revoker_user_id: self.user_id,
        }
    }
}

notification!(AfterSingleMsgRead, "MessageService/AfterSingleMsgRead",
    SingleMsgReadBody => AfterSingleMsgReadRequest);
notification!(AfterGroupMsgRead, "MessageService/AfterGroupMsgRead",
    GroupMsgReadBody => AfterGroupMsgReadRequest);
notification!(AfterRevokeMsg, "MessageService/AfterRevokeMsg",
    RevokeBody => AfterRevokeMsgRequest);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::testing::decode_after;

    #[test]
    fn single_read_receipts_read_seqs_and_the_conversation_type() {
        let r = decode_after::<AfterSingleMsgRead>("callbackAfterSingleMsgReadCommand.json");
        assert_eq!(r.conversation_id, "si_4826475913_7190283365");
        assert_eq!(r.reader_user_id, "7190283365");
        assert_eq!(r.seqs, [41, 42]);
        assert_eq!(r.conversation_type, pb::SessionType::Single as i32);
        let r = <AfterSingleMsgRead as crate::callbacks::After>::decode(
            br#"{"conversationID":"c","userID":"u","Seqs":null,"contentType":1}"#,
        )
        .unwrap();
        assert!(r.seqs.is_empty());
    }

    #[test]
    fn group_read_receipts_read_the_has_read_seq_from_unread_msg_num() {
        let r = decode_after::<AfterGroupMsgRead>("callbackAfterGroupMsgReadCommand.json");
        assert_eq!(r.reader_user_id, "7190283365");
        assert_eq!(r.receive_id, "7190283365");
        assert_eq!(r.has_read_seq, 118);
        assert_eq!(r.conversation_type, pb::SessionType::Group as i32);
    }

    #[test]
    fn revokes_decode() {
        let r = decode_after::<AfterRevokeMsg>("callbackBeforeAfterMsgCommand.json");
        assert_eq!(r.conversation_id, "sg_2841935067");
        assert_eq!(r.seq, 117);
        assert_eq!(r.revoker_user_id, "4826475913");
    }
}
