//! User callbacks: registration, profile updates (UpdateUserInfo and UpdateUserInfoEx), online
//! status (docs/openim-protocol.md §4.2, §6.5, §6.6).
//!
//! Guard: an UpdateUserInfoEx reply may only change the fields the update carries (non-null in
//! the request) and never `ex`: OpenIM dereferences the update's field to apply the change and
//! crashes the request when it is nil.

use policy_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::{
    Before, DecodeError, Encoder, IntoRequest, Payload, Verdict, context, decode_body, is_none,
    nested_requests, notification, policy_requests,
};
use crate::openim::nullable;

policy_requests!(
    BeforeUserRegisterRequest,
    AfterUserRegisterRequest,
    BeforeUpdateUserInfoRequest,
    AfterUpdateUserInfoRequest,
    BeforeUpdateUserInfoExRequest,
    AfterUpdateUserInfoExRequest,
    AfterUserOnlineRequest,
    AfterUserOfflineRequest,
    AfterUserKickOffRequest,
);

/// `sdkws.UserInfo` as OpenIM serialises it, in requests and in the register reply.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct UserInfoWire {
    #[serde(rename = "userID")]
    user_id: String,
    nickname: String,
    #[serde(rename = "faceURL")]
    face_url: String,
    ex: String,
    #[serde(rename = "createTime")]
    create_time: i64,
    #[serde(rename = "appMangerLevel")]
    app_manger_level: i32,
    #[serde(rename = "globalRecvMsgOpt")]
    global_recv_msg_opt: i32,
}

impl From<UserInfoWire> for pb::UserInfo {
    fn from(u: UserInfoWire) -> Self {
        Self {
            user_id: u.user_id,
            nickname: u.nickname,
            face_url: u.face_url,
            ex: u.ex,
            create_time_ms: u.create_time,
            app_manager_level: u.app_manger_level,
            global_recv_msg_opt: u.global_recv_msg_opt,
        }
    }
}

impl From<pb::UserInfo> for UserInfoWire {
    fn from(u: pb::UserInfo) -> Self {
        Self {
            user_id: u.user_id,
            nickname: u.nickname,
            face_url: u.face_url,
            ex: u.ex,
            create_time: u.create_time_ms,
            app_manger_level: u.app_manager_level,
            global_recv_msg_opt: u.global_recv_msg_opt,
        }
    }
}

/// `CallbackBeforeUserRegisterReq` / `CallbackAfterUserRegisterReq`. v3.7-v3.8.0 bodies also
/// carry the register request's admin `secret`: it is not declared here, so it is skipped while
/// parsing and never reaches the policy or the logs.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RegisterBody {
    // `[]*sdkws.UserInfo`: the list and its entries may be null.
    #[serde(deserialize_with = "nullable")]
    users: Vec<Option<UserInfoWire>>,
}

impl Payload for RegisterBody {
    type Out = Vec<pb::UserInfo>;

    fn into_parts(self) -> (Option<pb::CallbackContext>, Vec<pb::UserInfo>) {
        (
            None,
            self.users.into_iter().flatten().map(Into::into).collect(),
        )
    }
}

impl IntoRequest<pb::BeforeUserRegisterRequest> for RegisterBody {
    fn into_request(self) -> pb::BeforeUserRegisterRequest {
        let (context, users) = self.into_parts();
        pb::BeforeUserRegisterRequest { context, users }
    }
}

impl IntoRequest<pb::AfterUserRegisterRequest> for RegisterBody {
    fn into_request(self) -> pb::AfterUserRegisterRequest {
        let (context, users) = self.into_parts();
        pb::AfterUserRegisterRequest { context, users }
    }
}

/// The four profile-update bodies: `*string` fields (UpdateUserInfo), wrapper values
/// (UpdateUserInfoEx) and plain strings (after UpdateUserInfo) all read as a string or `null`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct UserUpdateBody {
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(rename = "nickName", alias = "nickname")]
    nickname: Option<String>,
    #[serde(rename = "faceURL")]
    face_url: Option<String>,
    ex: Option<String>,
}

impl Payload for UserUpdateBody {
    type Out = pb::UserInfoUpdate;

    fn into_parts(self) -> (Option<pb::CallbackContext>, pb::UserInfoUpdate) {
        let update = pb::UserInfoUpdate {
            user_id: self.user_id,
            nickname: self.nickname,
            face_url: self.face_url,
            ex: self.ex,
        };
        (None, update)
    }
}

nested_requests!(UserUpdateBody => update:
    BeforeUpdateUserInfoRequest,
    AfterUpdateUserInfoRequest,
    BeforeUpdateUserInfoExRequest,
    AfterUpdateUserInfoExRequest,
);

/// `CallbackUserOnlineReq`, `CallbackUserOfflineReq`, `CallbackUserKickOffReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct StatusBody {
    #[serde(rename = "operationID")]
    operation_id: String,
    // Go `int`: platform IDs fit in i32.
    #[serde(rename = "platformID")]
    platform_id: i32,
    platform: String,
    #[serde(rename = "userID")]
    user_id: String,
    // A millisecond timestamp despite its name.
    seq: i64,
    #[serde(rename = "isAppBackground")]
    is_app_background: bool,
    #[serde(rename = "connID")]
    conn_id: String,
}

impl Payload for StatusBody {
    type Out = pb::UserStatus;

    fn into_parts(self) -> (Option<pb::CallbackContext>, pb::UserStatus) {
        let status = pb::UserStatus {
            user_id: self.user_id,
            platform: self.platform_id,
            platform_name: self.platform,
            time_ms: self.seq,
            is_app_background: self.is_app_background,
            conn_id: self.conn_id,
        };
        (context(self.operation_id), status)
    }
}

nested_requests!(StatusBody => status:
    AfterUserOnlineRequest,
    AfterUserOfflineRequest,
    AfterUserKickOffRequest,
);

notification!(AfterUserRegister, "UserService/AfterUserRegister",
    RegisterBody => AfterUserRegisterRequest);
notification!(AfterUpdateUserInfo, "UserService/AfterUpdateUserInfo",
    UserUpdateBody => AfterUpdateUserInfoRequest);
notification!(AfterUpdateUserInfoEx, "UserService/AfterUpdateUserInfoEx",
    UserUpdateBody => AfterUpdateUserInfoExRequest);
notification!(AfterUserOnline, "UserService/AfterUserOnline",
    StatusBody => AfterUserOnlineRequest);
notification!(AfterUserOffline, "UserService/AfterUserOffline",
    StatusBody => AfterUserOfflineRequest);
notification!(AfterUserKickOff, "UserService/AfterUserKickOff",
    StatusBody => AfterUserKickOffRequest);

/// `UserService/BeforeUserRegister`: refuse, continue, or replace the users.
pub struct BeforeUserRegister;

/// `CallbackBeforeUserRegisterResp` change fields.
#[derive(Debug, Serialize)]
struct RegisterChanges {
    #[serde(skip_serializing_if = "is_none")]
    users: Option<Vec<UserInfoWire>>,
}

impl Before for BeforeUserRegister {
    const RPC: &'static str = "/openim.policy.v1.UserService/BeforeUserRegister";
    type Request = pb::BeforeUserRegisterRequest;
    type Response = pb::BeforeUserRegisterResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        Ok((decode_body::<RegisterBody>(body)?.into_request(), ()))
    }

    fn encode(r: pb::BeforeUserRegisterResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        // OpenIM ignores an empty list: writing one would change nothing.
        let users = r.users.map(|l| l.values).filter(|u| !u.is_empty());
        Verdict::changes(&RegisterChanges {
            users: users.map(|u| u.into_iter().map(Into::into).collect()),
        })
    }
}

/// Profile change fields of the two update replies (`CallbackBeforeUpdateUserInfoResp`,
/// `CallbackBeforeUpdateUserInfoExResp`); `null`/absent = keep.
#[derive(Debug, Default, Serialize)]
struct ProfileChanges {
    #[serde(rename = "nickName", skip_serializing_if = "is_none")]
    nickname: Option<String>,
    #[serde(rename = "faceURL", skip_serializing_if = "is_none")]
    face_url: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    ex: Option<String>,
}

/// `UserService/BeforeUpdateUserInfo`: refuse, continue, or change what is stored.
pub struct BeforeUpdateUserInfo;

impl Before for BeforeUpdateUserInfo {
    const RPC: &'static str = "/openim.policy.v1.UserService/BeforeUpdateUserInfo";
    type Request = pb::BeforeUpdateUserInfoRequest;
    type Response = pb::BeforeUpdateUserInfoResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        Ok((decode_body::<UserUpdateBody>(body)?.into_request(), ()))
    }

    fn encode(r: pb::BeforeUpdateUserInfoResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        Verdict::changes(&ProfileChanges {
            nickname: r.nickname,
            face_url: r.face_url,
            ex: r.ex,
        })
    }
}

/// `UserService/BeforeUpdateUserInfoEx`: refuse, continue, or change the values being set.
pub struct BeforeUpdateUserInfoEx;

/// Which fields the update carries: only those may be changed.
#[derive(Debug, Clone, Copy)]
pub struct CarriedFields {
    nickname: bool,
    face_url: bool,
}

impl Before for BeforeUpdateUserInfoEx {
    const RPC: &'static str = "/openim.policy.v1.UserService/BeforeUpdateUserInfoEx";
    type Request = pb::BeforeUpdateUserInfoExRequest;
    type Response = pb::BeforeUpdateUserInfoExResponse;
    type Keep = CarriedFields;

    fn decode(body: &[u8]) -> Result<(Self::Request, CarriedFields), DecodeError> {
        let request: pb::BeforeUpdateUserInfoExRequest =
            decode_body::<UserUpdateBody>(body)?.into_request();
        let update = request.update.as_ref();
        let carried = CarriedFields {
            nickname: update.is_some_and(|u| u.nickname.is_some()),
            face_url: update.is_some_and(|u| u.face_url.is_some()),
        };
        Ok((request, carried))
    }

    fn encode(
        r: pb::BeforeUpdateUserInfoExResponse,
        carried: CarriedFields,
        enc: &mut Encoder,
    ) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        let mut keep_if = |value: Option<String>, carried: bool, field: &'static str| {
            if value.is_some() && !carried {
                enc.reject(field);
                return None;
            }
            value
        };
        Verdict::changes(&ProfileChanges {
            nickname: keep_if(r.nickname, carried.nickname, "nickname"),
            face_url: keep_if(r.face_url, carried.face_url, "face_url"),
            // Never: OpenIM does not send the update's ex, and returning one crashes it.
            ex: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::callbacks::{
        After, Outcome,
        testing::{decode_after, decode_before, encode, fixture},
    };

    #[test]
    fn register_bodies_decode_every_user() {
        let (req, ()) =
            decode_before::<BeforeUserRegister>("callbackBeforeUserRegisterCommand.json");
        assert_eq!(req.users.len(), 2);
        assert_eq!(
            req.users[0],
            pb::UserInfo {
                user_id: "3051829476".into(),
                nickname: "卡罗尔".into(),
                ..Default::default()
            }
        );
        assert_eq!(
            req.users[1].face_url,
            "https://cdn.example.com/avatar/dave.png"
        );
        let after = decode_after::<AfterUserRegister>("callbackAfterUserRegisterCommand.json");
        assert_eq!(after.users[1].create_time_ms, 1_751_452_800_123);
    }

    #[test]
    fn the_v3_7_register_secret_never_reaches_the_policy() {
        let body = fixture("callbackBeforeUserRegisterCommand.v3.7.json");
        assert!(String::from_utf8_lossy(&body).contains("openIM123"));
        let (req, ()) = BeforeUserRegister::decode(&body).unwrap();
        assert_eq!(req.users.len(), 2);
        let encoded = req.encode_to_vec();
        assert!(!encoded.windows(9).any(|w| w == b"openIM123"));
        assert!(!format!("{req:?}").contains("openIM123"));
    }

    #[test]
    fn null_user_lists_and_entries_are_empty() {
        let (req, ()) = BeforeUserRegister::decode(br#"{"users":[null,{"userID":"1"}]}"#).unwrap();
        assert_eq!(req.users.len(), 1);
        let (req, ()) = BeforeUserRegister::decode(br#"{"users":null}"#).unwrap();
        assert!(req.users.is_empty());
    }

    #[test]
    fn a_register_reply_replaces_the_whole_list_with_complete_users() {
        let resp = pb::BeforeUserRegisterResponse {
            refuse: None,
            users: Some(pb::UserInfoList {
                values: vec![pb::UserInfo {
                    user_id: "3051829476".into(),
                    nickname: "Carol".into(),
                    ..Default::default()
                }],
            }),
        };
        let e = encode::<BeforeUserRegister>(resp, ());
        assert_eq!(e.outcome, Outcome::Modify);
        assert_eq!(
            e.changes()["users"],
            serde_json::json!([{"userID":"3051829476","nickname":"Carol","faceURL":"","ex":"",
                                "createTime":0,"appMangerLevel":0,"globalRecvMsgOpt":0}])
        );
        let empty = pb::BeforeUserRegisterResponse {
            refuse: None,
            users: Some(pb::UserInfoList { values: vec![] }),
        };
        assert_eq!(
            encode::<BeforeUserRegister>(empty, ()).outcome,
            Outcome::Continue
        );
    }

    #[test]
    fn update_user_info_bodies_keep_null_as_absent() {
        let (req, ()) =
            decode_before::<BeforeUpdateUserInfo>("callbackBeforeUpdateUserInfoCommand.json");
        assert_eq!(
            req.update.unwrap(),
            pb::UserInfoUpdate {
                user_id: "4826475913".into(),
                nickname: Some("Alice <admin>".into()),
                face_url: Some("https://cdn.example.com/avatar/alice.png".into()),
                ex: None,
            }
        );
        let after = decode_after::<AfterUpdateUserInfo>("callbackAfterUpdateUserInfoCommand.json");
        assert_eq!(after.update.unwrap().ex.as_deref(), Some(""));
        let (req, carried) =
            decode_before::<BeforeUpdateUserInfoEx>("callbackBeforeUpdateUserInfoExCommand.json");
        let u = req.update.unwrap();
        assert_eq!(u.nickname.as_deref(), Some("Alice the 2nd"));
        assert_eq!((u.face_url, u.ex), (None, None));
        assert!(carried.nickname && !carried.face_url);
        let after =
            decode_after::<AfterUpdateUserInfoEx>("callbackAfterUpdateUserInfoExCommand.json");
        assert_eq!(after.update.unwrap().face_url, None);
    }

    #[test]
    fn update_user_info_changes_use_openim_s_keys() {
        let resp = pb::BeforeUpdateUserInfoResponse {
            refuse: None,
            nickname: Some("Alice".into()),
            face_url: None,
            ex: Some("e".into()),
        };
        let e = encode::<BeforeUpdateUserInfo>(resp, ());
        assert_eq!(
            serde_json::Value::Object(e.changes()),
            serde_json::json!({"nickName":"Alice","ex":"e"})
        );
    }

    /// Crash trap: UpdateUserInfoEx applies a returned field by dereferencing the update's own
    /// field, so a change to a field the update does not carry crashes OpenIM.
    #[test]
    fn update_user_info_ex_changes_only_the_fields_the_update_carries() {
        let (_, carried) =
            decode_before::<BeforeUpdateUserInfoEx>("callbackBeforeUpdateUserInfoExCommand.json");
        let resp = pb::BeforeUpdateUserInfoExResponse {
            refuse: None,
            nickname: Some("Alice II".into()),
            face_url: Some("https://x/a.png".into()),
        };
        let e = encode::<BeforeUpdateUserInfoEx>(resp, carried);
        assert_eq!(
            serde_json::Value::Object(e.changes()),
            serde_json::json!({"nickName":"Alice II"})
        );
        assert_eq!(e.rejected, ["face_url"]);
        let only_face = pb::BeforeUpdateUserInfoExResponse {
            face_url: Some("https://x/a.png".into()),
            ..Default::default()
        };
        let e = encode::<BeforeUpdateUserInfoEx>(only_face, carried);
        assert_eq!(e.outcome, Outcome::Continue);
        assert!(e.json.get("ex").is_none() && e.json.get("faceURL").is_none());
    }

    #[test]
    fn status_bodies_decode_with_their_synthetic_operation_id() {
        let on = decode_after::<AfterUserOnline>("callbackAfterUserOnlineCommand.json");
        assert_eq!(on.context.unwrap().operation_id, "p_1723_1042");
        assert_eq!(
            on.status.unwrap(),
            pb::UserStatus {
                user_id: "4826475913".into(),
                platform: pb::Platform::Ios as i32,
                platform_name: "IOS".into(),
                time_ms: 1_751_452_800_456,
                is_app_background: false,
                conn_id: String::new(),
            }
        );
        let off = decode_after::<AfterUserOffline>("callbackAfterUserOfflineCommand.json");
        assert_eq!(off.status.unwrap().time_ms, 1_751_456_400_789);
        let kick = AfterUserKickOff::decode(&fixture("callbackAfterUserKickOffCommand.json"));
        assert_eq!(kick.unwrap().status.unwrap().user_id, "4826475913");
    }
}
