//! Message callbacks: before-send (single, group), msg-modify, after-send (single, group) and
//! saved-to-DB.
//!
//! Every message callback body is OpenIM's `CommonCallbackReq` (docs/openim-protocol.md §5.1) plus `recvID`
//! and/or `groupID`, so one wire struct, [`MessageBody`], decodes them all into
//! [`pb::Message`]. The msg-modify reply is `CallbackMsgModifyCommandResp` (§6.3).

use std::collections::HashMap;

use policy_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::{
    Before, DecodeError, Encoder, IntoRequest as _, Payload, Verdict, context, decode_body,
    is_none, nested_requests, notification, policy_requests, refuse_only,
};
use crate::openim::nullable;

policy_requests!(
    BeforeSendSingleMsgRequest,
    BeforeSendGroupMsgRequest,
    BeforeMsgModifyRequest,
    AfterSendSingleMsgRequest,
    AfterSendGroupMsgRequest,
    AfterMsgSaveDbRequest,
);

/// The body of every message callback, as OpenIM's Go structs serialise it. Every key is always
/// present on the wire, but absent keys decode as empty (older servers lack `sendTime`, and the
/// modify body lacks `recvID`/`groupID`); unknown keys are ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MessageBody {
    #[serde(rename = "operationID")]
    operation_id: String,
    #[serde(rename = "sendID")]
    send_id: String,
    #[serde(rename = "recvID")]
    recv_id: String,
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "serverMsgID")]
    server_msg_id: String,
    #[serde(rename = "clientMsgID")]
    client_msg_id: String,
    #[serde(rename = "senderPlatformID")]
    sender_platform_id: i32,
    #[serde(rename = "senderNickname")]
    sender_nickname: String,
    #[serde(rename = "faceURL")]
    face_url: String,
    #[serde(rename = "sessionType")]
    session_type: i32,
    #[serde(rename = "msgFrom")]
    msg_from: i32,
    #[serde(rename = "contentType")]
    content_type: i32,
    status: i32,
    #[serde(rename = "sendTime")]
    send_time: Option<i64>,
    #[serde(rename = "createTime")]
    create_time: i64,
    content: String,
    // uint32 in message bodies (OpenIM truncates the int64 seq).
    seq: u32,
    #[serde(rename = "atUserList", deserialize_with = "nullable")]
    at_user_list: Vec<String>,
    ex: String,
}

impl Payload for MessageBody {
    type Out = pb::Message;

    fn into_parts(self) -> (Option<pb::CallbackContext>, pb::Message) {
        let message = pb::Message {
            sender_user_id: self.send_id,
            receiver_user_id: self.recv_id,
            group_id: self.group_id,
            server_msg_id: self.server_msg_id,
            client_msg_id: self.client_msg_id,
            sender_platform: self.sender_platform_id,
            sender_nickname: self.sender_nickname,
            sender_face_url: self.face_url,
            session_type: self.session_type,
            msg_from: self.msg_from,
            content_type: self.content_type,
            status: self.status,
            send_time_ms: self.send_time,
            create_time_ms: self.create_time,
            content: self.content,
            seq: self.seq,
            at_user_ids: self.at_user_list,
            ex: self.ex,
        };
        (context(self.operation_id), message)
    }
}

nested_requests!(MessageBody => message:
    BeforeSendSingleMsgRequest,
    BeforeSendGroupMsgRequest,
    BeforeMsgModifyRequest,
    AfterSendSingleMsgRequest,
    AfterSendGroupMsgRequest,
    AfterMsgSaveDbRequest,
);

/// A message's natural ID: the server message ID (unique per stored message), else the client's.
fn message_key(m: &pb::Message) -> Option<String> {
    [&m.server_msg_id, &m.client_msg_id]
        .into_iter()
        .find(|id| !id.is_empty())
        .cloned()
}

refuse_only!(BeforeSendSingleMsg, "MessageService/BeforeSendSingleMsg",
    MessageBody => BeforeSendSingleMsgRequest, BeforeSendSingleMsgResponse);
refuse_only!(BeforeSendGroupMsg, "MessageService/BeforeSendGroupMsg",
    MessageBody => BeforeSendGroupMsgRequest, BeforeSendGroupMsgResponse);
notification!(AfterSendSingleMsg, "MessageService/AfterSendSingleMsg",
    MessageBody => AfterSendSingleMsgRequest,
    natural_key = |r: &pb::AfterSendSingleMsgRequest| r.message.as_ref().and_then(message_key));
notification!(AfterSendGroupMsg, "MessageService/AfterSendGroupMsg",
    MessageBody => AfterSendGroupMsgRequest,
    natural_key = |r: &pb::AfterSendGroupMsgRequest| r.message.as_ref().and_then(message_key));
notification!(AfterMsgSaveDB, "MessageService/AfterMsgSaveDB",
    MessageBody => AfterMsgSaveDbRequest,
    natural_key = |r: &pb::AfterMsgSaveDbRequest| r.message.as_ref().and_then(message_key));

/// `MessageService/BeforeMsgModify`: refuse, continue, or rewrite the message.
pub struct BeforeMsgModify;

/// OpenIM's `CallbackMsgModifyCommandResp` change fields (docs/openim-protocol.md §6.3): every present field
/// replaces the message's. `offlinePushInfo` is deliberately absent: OpenIM crashes the send when
/// the message has no push info to copy into. `msgDataList` is ignored by OpenIM.
#[derive(Debug, Default, Serialize)]
struct ModifyChanges {
    #[serde(skip_serializing_if = "is_none")]
    content: Option<String>,
    #[serde(rename = "recvID", skip_serializing_if = "is_none")]
    recv_id: Option<String>,
    #[serde(rename = "groupID", skip_serializing_if = "is_none")]
    group_id: Option<String>,
    #[serde(rename = "clientMsgID", skip_serializing_if = "is_none")]
    client_msg_id: Option<String>,
    #[serde(rename = "serverMsgID", skip_serializing_if = "is_none")]
    server_msg_id: Option<String>,
    #[serde(rename = "senderPlatformID", skip_serializing_if = "is_none")]
    sender_platform_id: Option<i32>,
    #[serde(rename = "senderNickname", skip_serializing_if = "is_none")]
    sender_nickname: Option<String>,
    #[serde(rename = "senderFaceURL", skip_serializing_if = "is_none")]
    sender_face_url: Option<String>,
    #[serde(rename = "sessionType", skip_serializing_if = "is_none")]
    session_type: Option<i32>,
    #[serde(rename = "msgFrom", skip_serializing_if = "is_none")]
    msg_from: Option<i32>,
    #[serde(rename = "contentType", skip_serializing_if = "is_none")]
    content_type: Option<i32>,
    #[serde(skip_serializing_if = "is_none")]
    status: Option<i32>,
    #[serde(skip_serializing_if = "is_none")]
    options: Option<HashMap<String, bool>>,
    #[serde(rename = "atUserIDList", skip_serializing_if = "is_none")]
    at_user_id_list: Option<Vec<String>>,
    #[serde(rename = "attachedInfo", skip_serializing_if = "is_none")]
    attached_info: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    ex: Option<String>,
}

/// Whether `s` is a JSON object: OpenIM main refuses a modified content that is not one
/// (ArgsError, the send fails) and clients cannot render it on older servers.
pub fn is_json_object(s: &str) -> bool {
    s.trim_start().starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

impl Before for BeforeMsgModify {
    const RPC: &'static str = "/openim.policy.v1.MessageService/BeforeMsgModify";
    type Request = pb::BeforeMsgModifyRequest;
    type Response = pb::BeforeMsgModifyResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        let body: MessageBody = decode_body(body)?;
        Ok((body.into_request(), ()))
    }

    fn encode(r: pb::BeforeMsgModifyResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        let content = r.content.filter(|c| {
            let ok = is_json_object(c);
            if !ok {
                enc.reject("content");
            }
            ok
        });
        let changes = ModifyChanges {
            content,
            recv_id: r.receiver_user_id,
            group_id: r.group_id,
            client_msg_id: r.client_msg_id,
            server_msg_id: r.server_msg_id,
            sender_platform_id: r.sender_platform,
            sender_nickname: r.sender_nickname,
            sender_face_url: r.sender_face_url,
            session_type: r.session_type,
            msg_from: r.msg_from,
            content_type: r.content_type,
            status: r.status,
            options: r.options.map(|o| o.values),
            at_user_id_list: r.at_user_ids.map(|l| l.values),
            attached_info: r.attached_info,
            ex: r.ex,
        };
        Verdict::changes(&changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::After;
    use crate::callbacks::Outcome;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../tests/fixtures/",
                $name
            ))
        };
    }

    /// Decodes a message body the way every message callback does.
    fn decode(body: &[u8]) -> Result<(pb::CallbackContext, pb::Message), DecodeError> {
        let (ctx, m) = decode_body::<MessageBody>(body)?.into_parts();
        Ok((ctx.unwrap_or_default(), m))
    }

    fn json(bytes: &[u8]) -> serde_json::Value {
        serde_json::from_slice(bytes).unwrap()
    }

    #[test]
    fn the_single_chat_fixture_decodes_to_every_field() {
        let body = fixture!("callbackBeforeSendSingleMsgCommand.json");
        let (req, ()) = BeforeSendSingleMsg::decode(body).unwrap();
        let ctx = req.context.unwrap();
        assert_eq!(ctx.operation_id, "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607");
        let m = req.message.unwrap();
        assert_eq!(
            m,
            pb::Message {
                sender_user_id: "4826475913".into(),
                receiver_user_id: "7190283365".into(),
                group_id: String::new(),
                server_msg_id: "9f2c4e7a1b3d5f60718293a4b5c6d7e8".into(),
                client_msg_id: "3b8e1f6a2c7d4e9051a6b7c8d9e0f1a2".into(),
                sender_platform: pb::Platform::Android as i32,
                sender_nickname: "Alice".into(),
                sender_face_url: "https://cdn.example.com/avatar/alice.png".into(),
                session_type: pb::SessionType::Single as i32,
                msg_from: pb::MsgFrom::User as i32,
                content_type: pb::ContentType::Text as i32,
                status: pb::MsgStatus::Sending as i32,
                send_time_ms: Some(1_751_452_800_456),
                create_time_ms: 1_751_452_800_123,
                content: r#"{"content":"hello"}"#.into(),
                seq: 0,
                at_user_ids: vec![],
                ex: String::new(),
            }
        );
    }

    #[test]
    fn the_group_fixtures_decode_with_the_group_id_and_no_receiver() {
        for body in [
            &fixture!("callbackBeforeSendGroupMsgCommand.json")[..],
            &fixture!("callbackAfterSendGroupMsgCommand.json")[..],
        ] {
            let (_, m) = decode(body).unwrap();
            assert_eq!(m.group_id, "2841935067");
            assert_eq!(m.receiver_user_id, "");
            assert_eq!(m.session_type, pb::SessionType::Group as i32);
            assert_eq!(m.content, r#"{"content":"hi team"}"#);
        }
        let req = AfterSendGroupMsg::decode(fixture!("callbackAfterSendGroupMsgCommand.json"));
        assert_eq!(
            req.unwrap().context.unwrap().operation_id,
            "5d2e8f1a-3c4b-4d6e-9f70-1a2b3c4d5e6f"
        );
    }

    #[test]
    fn the_after_send_single_fixture_decodes() {
        let req =
            AfterSendSingleMsg::decode(fixture!("callbackAfterSendSingleMsgCommand.json")).unwrap();
        let m = req.message.unwrap();
        assert_eq!(m.receiver_user_id, "7190283365");
        assert_eq!(m.server_msg_id, "9f2c4e7a1b3d5f60718293a4b5c6d7e8");
    }

    #[test]
    fn after_send_events_are_keyed_by_server_then_client_message_id() {
        let mut req =
            AfterSendSingleMsg::decode(fixture!("callbackAfterSendSingleMsgCommand.json")).unwrap();
        assert_eq!(
            AfterSendSingleMsg::natural_key(&req).as_deref(),
            Some("9f2c4e7a1b3d5f60718293a4b5c6d7e8")
        );
        let m = req.message.as_mut().unwrap();
        m.server_msg_id.clear();
        let client = m.client_msg_id.clone();
        assert!(!client.is_empty());
        assert_eq!(AfterSendSingleMsg::natural_key(&req), Some(client));
        req.message.as_mut().unwrap().client_msg_id.clear();
        assert_eq!(AfterSendSingleMsg::natural_key(&req), None);
        let group =
            AfterSendGroupMsg::decode(fixture!("callbackAfterSendGroupMsgCommand.json")).unwrap();
        assert!(AfterSendGroupMsg::natural_key(&group).is_some());
    }

    #[test]
    fn the_modify_fixture_has_no_receiver_or_group() {
        let (req, ()) =
            BeforeMsgModify::decode(fixture!("callbackBeforeMsgModifyCommand.json")).unwrap();
        let m = req.message.unwrap();
        assert_eq!(m.receiver_user_id, "");
        assert_eq!(m.group_id, "");
        assert_eq!(m.content, r#"{"content":"buy now at spam.example"}"#);
    }

    #[test]
    fn saved_to_db_messages_have_their_real_seq() {
        let req = crate::callbacks::testing::decode_after::<AfterMsgSaveDB>(
            "callbackAfterMsgSaveDBCommand.json",
        );
        let m = req.message.unwrap();
        assert_eq!(m.seq, 42);
        assert_eq!(
            (m.receiver_user_id.as_str(), m.group_id.as_str()),
            ("7190283365", "")
        );
    }

    /// Options replace the whole map: an empty map is forwarded as such (every option true).
    #[test]
    fn modify_options_are_forwarded_whole() {
        let resp = pb::BeforeMsgModifyResponse {
            options: Some(pb::MessageOptions::default()),
            ..Default::default()
        };
        let v = BeforeMsgModify::encode(resp, (), &mut Encoder::new(5000));
        assert_eq!(json(&v.body)["options"], serde_json::json!({}));
    }

    #[test]
    fn bodies_from_servers_before_v3_8_1_have_no_send_time() {
        let body = br#"{"sendID":"1","recvID":"2","content":"{}","atUserList":null}"#;
        let (_, m) = decode(body).unwrap();
        assert_eq!(m.send_time_ms, None);
        assert_eq!(m.sender_user_id, "1");
    }

    #[test]
    fn unknown_keys_are_ignored_and_null_lists_are_empty() {
        let body = br#"{"sendID":"1","futureField":{"a":[1,2]},"atUserList":null,"seq":7}"#;
        let (_, m) = decode(body).unwrap();
        assert!(m.at_user_ids.is_empty());
        assert_eq!(m.seq, 7);
    }

    #[test]
    fn a_body_of_the_wrong_shape_is_a_decode_error() {
        assert!(decode(b"").is_err());
        assert!(decode(b"[]").is_err());
        assert!(decode(br#"{"sessionType":"1"}"#).is_err());
        assert!(decode(br#"{"sendID":"1"} trailing"#).is_err());
    }

    #[test]
    fn before_send_replies_match_the_fixtures() {
        let mut enc = Encoder::new(5000);
        let cont = BeforeSendSingleMsg::encode(Default::default(), (), &mut enc);
        assert_eq!(cont.outcome, Outcome::Continue);
        assert_eq!(
            json(&cont.body),
            json(fixture!("callbackBeforeSendSingleMsgCommand.response.json"))
        );

        let refuse = pb::BeforeSendSingleMsgResponse {
            refuse: Some(pb::Refusal {
                err_code: 5001,
                err_msg: "message rejected by content policy".into(),
                err_dlt: "matched rule: spam-link".into(),
            }),
        };
        let v = BeforeSendSingleMsg::encode(refuse, (), &mut enc);
        assert_eq!(v.outcome, Outcome::Refuse);
        assert_eq!(
            json(&v.body),
            json(fixture!(
                "callbackBeforeSendSingleMsgCommand.response-reject.json"
            ))
        );

        let refuse = pb::BeforeSendGroupMsgResponse {
            refuse: Some(pb::Refusal {
                err_code: 5002,
                err_msg: "you are not allowed to post in this group".into(),
                err_dlt: String::new(),
            }),
        };
        let v = BeforeSendGroupMsg::encode(refuse, (), &mut enc);
        assert_eq!(
            json(&v.body),
            json(fixture!(
                "callbackBeforeSendGroupMsgCommand.response-reject.json"
            ))
        );
        assert!(enc.rejected().is_empty());
    }

    #[test]
    fn a_modify_response_encodes_to_the_fixture() {
        let mut enc = Encoder::new(5000);
        let resp = pb::BeforeMsgModifyResponse {
            content: Some(r#"{"content":"buy now at ***"}"#.into()),
            ex: Some("moderated".into()),
            ..Default::default()
        };
        let v = BeforeMsgModify::encode(resp, (), &mut enc);
        assert_eq!(v.outcome, Outcome::Modify);
        assert_eq!(
            json(&v.body),
            json(fixture!("callbackBeforeMsgModifyCommand.response.json"))
        );

        let resp = pb::BeforeMsgModifyResponse {
            refuse: Some(pb::Refusal {
                err_code: 5003,
                err_msg: "message blocked".into(),
                err_dlt: String::new(),
            }),
            content: Some(r#"{"content":"ignored"}"#.into()),
            ..Default::default()
        };
        let v = BeforeMsgModify::encode(resp, (), &mut enc);
        assert_eq!(
            json(&v.body),
            json(fixture!(
                "callbackBeforeMsgModifyCommand.response-reject.json"
            ))
        );
    }

    #[test]
    fn an_empty_modify_response_continues() {
        let v = BeforeMsgModify::encode(Default::default(), (), &mut Encoder::new(5000));
        assert_eq!(v.outcome, Outcome::Continue);
    }

    #[test]
    fn modify_uses_openim_s_reply_key_names() {
        let resp = pb::BeforeMsgModifyResponse {
            sender_face_url: Some("https://x/a.png".into()),
            at_user_ids: Some(pb::StringList { values: vec![] }),
            options: Some(pb::MessageOptions {
                values: HashMap::from([("offlinePush".to_owned(), false)]),
            }),
            receiver_user_id: Some("9".into()),
            content_type: Some(pb::ContentType::Custom as i32),
            ..Default::default()
        };
        let v = BeforeMsgModify::encode(resp, (), &mut Encoder::new(5000));
        let j = json(&v.body);
        assert_eq!(j["senderFaceURL"], "https://x/a.png");
        assert_eq!(j["atUserIDList"], serde_json::json!([]));
        assert_eq!(j["options"], serde_json::json!({"offlinePush": false}));
        assert_eq!(j["recvID"], "9");
        assert_eq!(j["contentType"], 110);
        assert!(j.get("offlinePushInfo").is_none());
        assert!(j.get("content").is_none());
    }

    #[test]
    fn a_content_that_is_not_a_json_object_is_dropped_and_the_rest_applies() {
        for bad in ["masked text", "[1,2]", "\"str\"", "{\"content\":", ""] {
            let mut enc = Encoder::new(5000);
            let resp = pb::BeforeMsgModifyResponse {
                content: Some(bad.into()),
                ex: Some("e".into()),
                ..Default::default()
            };
            let v = BeforeMsgModify::encode(resp, (), &mut enc);
            let j = json(&v.body);
            assert!(j.get("content").is_none(), "{bad:?} was forwarded");
            assert_eq!(j["ex"], "e");
            assert_eq!(enc.rejected(), ["content"]);
        }
    }
}
