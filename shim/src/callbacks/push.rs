//! Push callbacks: before offline, online and group online push.
//!
//! The body is OpenIM's `CallbackBeforePushReq` (docs/openim-protocol.md §6.4), in which the message's
//! `OfflinePushInfo` is flattened into the top level and present only when the message has one,
//! or, for group online push, `CallbackBeforeSuperGroupOnlinePushReq` (no target list, no push
//! info, plus `seq`): one wire struct reads all three. The reply is `CallbackBeforePushResp`:
//! `userIDList` and `offlinePushInfo`.

use policy_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::{
    Before, DecodeError, Encoder, IntoRequest as _, Payload, Verdict, context, decode_body,
    is_none, nested_requests, policy_requests, refuse_only,
};
use crate::openim::nullable;

policy_requests!(
    BeforeOfflinePushRequest,
    BeforeOnlinePushRequest,
    BeforeGroupOnlinePushRequest,
);

/// `CallbackBeforePushReq` as OpenIM's Go structs serialise it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PushBody {
    #[serde(rename = "operationID")]
    operation_id: String,
    // Go `int`: a plain JSON number; platform IDs fit in i32.
    #[serde(rename = "platformID")]
    platform_id: i32,
    platform: String,
    #[serde(rename = "userIDList", deserialize_with = "nullable")]
    user_id_list: Vec<String>,
    // Flattened `*sdkws.OfflinePushInfo`: all six keys or none.
    title: Option<String>,
    desc: Option<String>,
    ex: Option<String>,
    #[serde(rename = "iOSPushSound")]
    ios_push_sound: Option<String>,
    #[serde(rename = "iOSBadgeCount")]
    ios_badge_count: Option<bool>,
    #[serde(rename = "signalInfo")]
    signal_info: Option<String>,
    #[serde(rename = "clientMsgID")]
    client_msg_id: String,
    #[serde(rename = "sendID")]
    send_id: String,
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "contentType")]
    content_type: i32,
    #[serde(rename = "sessionType")]
    session_type: i32,
    #[serde(rename = "atUserIDList", deserialize_with = "nullable")]
    at_user_id_list: Vec<String>,
    content: String,
    // Group online push only.
    seq: i64,
}

impl Payload for PushBody {
    type Out = pb::PushMessage;

    fn into_parts(self) -> (Option<pb::CallbackContext>, pb::PushMessage) {
        let b = self;
        let has_push_info = b.title.is_some()
            || b.desc.is_some()
            || b.ex.is_some()
            || b.ios_push_sound.is_some()
            || b.ios_badge_count.is_some()
            || b.signal_info.is_some();
        let offline_push_info = has_push_info.then(|| pb::OfflinePushInfo {
            title: b.title.unwrap_or_default(),
            desc: b.desc.unwrap_or_default(),
            ex: b.ex.unwrap_or_default(),
            ios_push_sound: b.ios_push_sound.unwrap_or_default(),
            ios_badge_count: b.ios_badge_count.unwrap_or_default(),
            signal_info: b.signal_info.unwrap_or_default(),
        });
        let push = pb::PushMessage {
            sender_platform: b.platform_id,
            sender_platform_name: b.platform,
            target_user_ids: b.user_id_list,
            offline_push_info,
            client_msg_id: b.client_msg_id,
            sender_user_id: b.send_id,
            group_id: b.group_id,
            content_type: b.content_type,
            session_type: b.session_type,
            at_user_ids: b.at_user_id_list,
            content: b.content,
            seq: b.seq,
        };
        (context(b.operation_id), push)
    }
}

nested_requests!(PushBody => push:
    BeforeOfflinePushRequest,
    BeforeOnlinePushRequest,
    BeforeGroupOnlinePushRequest,
);

refuse_only!(BeforeOnlinePush, "PushService/BeforeOnlinePush",
    PushBody => BeforeOnlinePushRequest, BeforeOnlinePushResponse);

/// The target list of a push reply: OpenIM ignores an empty list, so none is written.
fn target_list(list: Option<pb::StringList>) -> Option<Vec<String>> {
    list.map(|l| l.values).filter(|v| !v.is_empty())
}

/// `sdkws.OfflinePushInfo` as OpenIM reads it from a push reply.
#[derive(Debug, Serialize)]
struct OfflinePushInfoWire {
    title: String,
    desc: String,
    ex: String,
    #[serde(rename = "iOSPushSound")]
    ios_push_sound: String,
    #[serde(rename = "iOSBadgeCount")]
    ios_badge_count: bool,
    #[serde(rename = "signalInfo")]
    signal_info: String,
}

impl From<pb::OfflinePushInfo> for OfflinePushInfoWire {
    fn from(p: pb::OfflinePushInfo) -> Self {
        Self {
            title: p.title,
            desc: p.desc,
            ex: p.ex,
            ios_push_sound: p.ios_push_sound,
            ios_badge_count: p.ios_badge_count,
            signal_info: p.signal_info,
        }
    }
}

/// `CallbackBeforePushResp` change fields.
#[derive(Debug, Serialize)]
struct PushChanges {
    #[serde(rename = "userIDList", skip_serializing_if = "is_none")]
    user_id_list: Option<Vec<String>>,
    #[serde(rename = "offlinePushInfo", skip_serializing_if = "is_none")]
    offline_push_info: Option<OfflinePushInfoWire>,
}

/// `PushService/BeforeOfflinePush`: refuse (skip the offline push), continue, or change the
/// targets and texts.
pub struct BeforeOfflinePush;

impl Before for BeforeOfflinePush {
    const RPC: &'static str = "/openim.policy.v1.PushService/BeforeOfflinePush";
    type Request = pb::BeforeOfflinePushRequest;
    type Response = pb::BeforeOfflinePushResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        let body: PushBody = decode_body(body)?;
        Ok((body.into_request(), ()))
    }

    fn encode(r: pb::BeforeOfflinePushResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        Verdict::changes(&PushChanges {
            user_id_list: target_list(r.target_user_ids),
            offline_push_info: r.offline_push_info.map(Into::into),
        })
    }
}

/// `PushService/BeforeGroupOnlinePush`: refuse (no push), continue, or push only to some users.
pub struct BeforeGroupOnlinePush;

impl Before for BeforeGroupOnlinePush {
    const RPC: &'static str = "/openim.policy.v1.PushService/BeforeGroupOnlinePush";
    type Request = pb::BeforeGroupOnlinePushRequest;
    type Response = pb::BeforeGroupOnlinePushResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        let body: PushBody = decode_body(body)?;
        Ok((body.into_request(), ()))
    }

    fn encode(r: pb::BeforeGroupOnlinePushResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        // OpenIM ignores `offlinePushInfo` in this reply, so it is never written.
        Verdict::changes(&PushChanges {
            user_id_list: target_list(r.target_user_ids),
            offline_push_info: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::Outcome;

    const REQUEST: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/callbackBeforeOfflinePushCommand.json"
    ));

    fn fixture_json(name: &str) -> serde_json::Value {
        let path = format!("{}/../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn the_offline_push_fixture_decodes_with_its_flattened_push_info() {
        let (req, ()) = BeforeOfflinePush::decode(REQUEST).unwrap();
        assert_eq!(
            req.context.unwrap().operation_id,
            "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607"
        );
        assert_eq!(
            req.push.unwrap(),
            pb::PushMessage {
                sender_platform: pb::Platform::Android as i32,
                sender_platform_name: "Android".into(),
                target_user_ids: vec!["7190283365".into()],
                offline_push_info: Some(pb::OfflinePushInfo {
                    title: "You have a new message.".into(),
                    desc: String::new(),
                    ex: String::new(),
                    ios_push_sound: "+1".into(),
                    ios_badge_count: true,
                    signal_info: String::new(),
                }),
                client_msg_id: "3b8e1f6a2c7d4e9051a6b7c8d9e0f1a2".into(),
                sender_user_id: "4826475913".into(),
                group_id: String::new(),
                content_type: pb::ContentType::Text as i32,
                session_type: pb::SessionType::Single as i32,
                at_user_ids: vec![],
                content: r#"{"content":"hello"}"#.into(),
                seq: 0,
            }
        );
    }

    #[test]
    fn a_message_without_push_info_has_none() {
        let body = br#"{"callbackCommand":"callbackBeforeOnlinePushCommand","operationID":"o","platformID":1,"platform":"IOS","userIDList":null,"clientMsgID":"c","sendID":"s","groupID":"","contentType":101,"sessionType":1,"atUserIDList":null,"content":"{}"}"#;
        let (_, push) = decode_body::<PushBody>(body).unwrap().into_parts();
        assert_eq!(push.offline_push_info, None);
        assert!(push.target_user_ids.is_empty());
    }

    #[test]
    fn a_push_rewrite_encodes_to_the_fixture() {
        let resp = pb::BeforeOfflinePushResponse {
            refuse: None,
            target_user_ids: Some(pb::StringList {
                values: vec!["7190283365".into()],
            }),
            offline_push_info: Some(pb::OfflinePushInfo {
                title: "Alice".into(),
                desc: "hello".into(),
                ex: String::new(),
                ios_push_sound: "default".into(),
                ios_badge_count: true,
                signal_info: String::new(),
            }),
        };
        let v = BeforeOfflinePush::encode(resp, (), &mut Encoder::new(5000));
        assert_eq!(v.outcome, Outcome::Modify);
        let got: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
        assert_eq!(
            got,
            fixture_json("callbackBeforeOfflinePushCommand.response.json")
        );
    }

    #[test]
    fn a_push_refusal_encodes_to_the_fixture() {
        let resp = pb::BeforeOfflinePushResponse {
            refuse: Some(pb::Refusal {
                err_code: 5004,
                err_msg: "offline push suppressed".into(),
                err_dlt: String::new(),
            }),
            ..Default::default()
        };
        let v = BeforeOfflinePush::encode(resp, (), &mut Encoder::new(5000));
        let got: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
        assert_eq!(
            got,
            fixture_json("callbackBeforeOfflinePushCommand.response-reject.json")
        );
    }

    #[test]
    fn online_push_bodies_have_no_push_info() {
        let (req, ()) = crate::callbacks::testing::decode_before::<BeforeOnlinePush>(
            "callbackBeforeOnlinePushCommand.json",
        );
        let p = req.push.unwrap();
        assert_eq!(p.offline_push_info, None);
        assert_eq!(p.target_user_ids, ["7190283365"]);
    }

    #[test]
    fn group_online_push_bodies_have_a_seq_and_no_targets() {
        let (req, ()) = crate::callbacks::testing::decode_before::<BeforeGroupOnlinePush>(
            "callbackBeforeGroupOnlinePushCommand.json",
        );
        let p = req.push.unwrap();
        assert_eq!(p.seq, 118);
        assert!(p.target_user_ids.is_empty());
        assert_eq!(p.at_user_ids, ["7190283365"]);
        assert_eq!(p.content_type, pb::ContentType::AtText as i32);
        assert!(p.content.starts_with(r#"{"text":"@Bob see <this> & that""#));
    }

    #[test]
    fn a_group_online_push_reply_names_the_targets_and_never_push_texts() {
        let resp = pb::BeforeGroupOnlinePushResponse {
            refuse: None,
            target_user_ids: Some(pb::StringList {
                values: vec!["7190283365".into()],
            }),
        };
        let v = BeforeGroupOnlinePush::encode(resp, (), &mut Encoder::new(5000));
        let got: serde_json::Value = serde_json::from_slice(&v.body).unwrap();
        assert_eq!(got["userIDList"], serde_json::json!(["7190283365"]));
        assert!(got.get("offlinePushInfo").is_none());
    }

    #[test]
    fn an_empty_target_list_leaves_the_targets_unchanged() {
        let resp = pb::BeforeOfflinePushResponse {
            target_user_ids: Some(pb::StringList { values: vec![] }),
            ..Default::default()
        };
        let v = BeforeOfflinePush::encode(resp, (), &mut Encoder::new(5000));
        assert_eq!(v.outcome, Outcome::Continue);
    }
}
