//! SetGroupInfo and SetGroupInfoEx. Guard: OpenIM copies some fields back from every reply, a
//! plain "continue" included, so every non-refusing reply echoes the request's values for those
//! fields, and only for those: a policy that changes one field changes nothing else.
//!
//! What OpenIM v3.8.3 copies back (`internal/rpc/group/callback.go`):
//! - SetGroupInfo: `groupID`, `groupName`, `faceURL`, `introduction` are plain strings in the
//!   reply, copied unconditionally: echoed. `ex` and the three numbers are pointers, applied
//!   when non-null: never echoed, because the request carries them as plain values (`""`, `0`
//!   for "not being changed"), and echoing those would write them (a rename would erase `ex`).
//! - SetGroupInfoEx: every field but the announcement is a pointer copied back when non-null,
//!   over a request where null means "not being changed": each non-null request value is echoed.

use policy_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::super::{
    Before, DecodeError, Encoder, IntoRequest, Outcome, Payload, Verdict, context, decode_body,
    is_none, nested_requests,
};

/// The four SetGroupInfo bodies: plain values (before SetGroupInfo), pointers (after
/// SetGroupInfo's ex and numbers) and wrapper values (SetGroupInfoEx) all read as a value or
/// `null`. OpenIM's `operationID` here is always empty.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SetGroupInfoBody {
    #[serde(rename = "operationID")]
    operation_id: String,
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "groupName")]
    group_name: Option<String>,
    notification: Option<String>,
    introduction: Option<String>,
    #[serde(rename = "faceURL")]
    face_url: Option<String>,
    ex: Option<String>,
    #[serde(rename = "needVerification")]
    need_verification: Option<i32>,
    #[serde(rename = "lookMemberInfo")]
    look_member_info: Option<i32>,
    #[serde(rename = "applyMemberFriend")]
    apply_member_friend: Option<i32>,
}

impl Payload for SetGroupInfoBody {
    type Out = pb::GroupInfoUpdate;

    fn into_parts(self) -> (Option<pb::CallbackContext>, pb::GroupInfoUpdate) {
        let update = pb::GroupInfoUpdate {
            group_id: self.group_id,
            group_name: self.group_name,
            notification: self.notification,
            introduction: self.introduction,
            face_url: self.face_url,
            ex: self.ex,
            need_verification: self.need_verification,
            look_member_info: self.look_member_info,
            apply_member_friend: self.apply_member_friend,
        };
        (context(self.operation_id), update)
    }
}

nested_requests!(SetGroupInfoBody => update:
    BeforeSetGroupInfoRequest,
    AfterSetGroupInfoRequest,
    BeforeSetGroupInfoExRequest,
    AfterSetGroupInfoExRequest,
);

/// A SetGroupInfo(Ex) reply: the request's values, with the policy's changes applied.
/// `CallbackBeforeSetGroupInfoResp` has plain strings for `groupID`, `groupName`,
/// `notification`, `introduction` and `faceURL`; `CallbackBeforeSetGroupInfoExResp` has wrapper
/// values (string or null). Both read the same JSON: absent keys here stand for `null`.
#[derive(Debug, Serialize)]
struct GroupInfoEcho {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "groupName", skip_serializing_if = "is_none")]
    group_name: Option<String>,
    // Not read back by OpenIM; echoed in case a version does.
    #[serde(skip_serializing_if = "is_none")]
    notification: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    introduction: Option<String>,
    #[serde(rename = "faceURL", skip_serializing_if = "is_none")]
    face_url: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    ex: Option<String>,
    #[serde(rename = "needVerification", skip_serializing_if = "is_none")]
    need_verification: Option<i32>,
    #[serde(rename = "lookMemberInfo", skip_serializing_if = "is_none")]
    look_member_info: Option<i32>,
    #[serde(rename = "applyMemberFriend", skip_serializing_if = "is_none")]
    apply_member_friend: Option<i32>,
}

impl GroupInfoEcho {
    /// SetGroupInfo's echo: the four plain strings OpenIM copies back (and the announcement,
    /// which it ignores). `ex` and the numbers stay `null` = keep.
    fn plain(u: &pb::GroupInfoUpdate) -> Self {
        Self {
            group_id: u.group_id.clone(),
            group_name: u.group_name.clone(),
            notification: u.notification.clone(),
            introduction: u.introduction.clone(),
            face_url: u.face_url.clone(),
            ex: None,
            need_verification: None,
            look_member_info: None,
            apply_member_friend: None,
        }
    }

    /// SetGroupInfoEx's echo: every request value, since OpenIM copies each back.
    fn every(u: &pb::GroupInfoUpdate) -> Self {
        Self {
            ex: u.ex.clone(),
            need_verification: u.need_verification,
            look_member_info: u.look_member_info,
            apply_member_friend: u.apply_member_friend,
            ..Self::plain(u)
        }
    }

    /// The echo reply; it is a "modify" on the wire, reported as what it does.
    fn verdict(&self, changed: bool) -> Verdict {
        Verdict {
            outcome: if changed {
                Outcome::Modify
            } else {
                Outcome::Continue
            },
            body: crate::openim::modify(self),
        }
    }
}

/// The policy's changes to a SetGroupInfo(Ex) call, one type for both responses.
struct GroupInfoChanges {
    group_name: Option<String>,
    introduction: Option<String>,
    face_url: Option<String>,
    ex: Option<String>,
    need_verification: Option<i32>,
    look_member_info: Option<i32>,
    apply_member_friend: Option<i32>,
}

/// Applies `changes` over the echo; returns the reply, a modify if anything changed.
fn apply(mut echo: GroupInfoEcho, c: GroupInfoChanges) -> Verdict {
    let mut changed = false;
    let mut set = |slot: &mut Option<String>, value: Option<String>| {
        if value.is_some() {
            changed = true;
            *slot = value;
        }
    };
    set(&mut echo.group_name, c.group_name);
    set(&mut echo.introduction, c.introduction);
    set(&mut echo.face_url, c.face_url);
    set(&mut echo.ex, c.ex);
    for (slot, value) in [
        (&mut echo.need_verification, c.need_verification),
        (&mut echo.look_member_info, c.look_member_info),
        (&mut echo.apply_member_friend, c.apply_member_friend),
    ] {
        if value.is_some() {
            changed = true;
            *slot = value;
        }
    }
    echo.verdict(changed)
}

/// Declares the two SetGroupInfo before-callbacks, which differ only in types.
macro_rules! set_group_info {
    ($name:ident, $method:literal, $req:ident, $resp:ident, echo = $echo:path) => {
        #[doc = concat!("`GroupService/", $method, "`: refuse, continue or change; echoes.")]
        pub struct $name;

        impl Before for $name {
            const RPC: &'static str = concat!("/openim.policy.v1.GroupService/", $method);
            type Request = pb::$req;
            type Response = pb::$resp;
            /// The request's values, to echo.
            type Keep = pb::GroupInfoUpdate;

            fn decode(body: &[u8]) -> Result<(pb::$req, pb::GroupInfoUpdate), DecodeError> {
                let request: pb::$req = decode_body::<SetGroupInfoBody>(body)?.into_request();
                let keep = request.update.clone().unwrap_or_default();
                Ok((request, keep))
            }

            fn encode(r: pb::$resp, keep: pb::GroupInfoUpdate, enc: &mut Encoder) -> Verdict {
                if let Some(refuse) = &r.refuse {
                    return enc.refusal(refuse);
                }
                let changes = GroupInfoChanges {
                    group_name: r.group_name,
                    introduction: r.introduction,
                    face_url: r.face_url,
                    ex: r.ex,
                    need_verification: r.need_verification,
                    look_member_info: r.look_member_info,
                    apply_member_friend: r.apply_member_friend,
                };
                apply($echo(&keep), changes)
            }

            fn proceed(keep: &pb::GroupInfoUpdate) -> Verdict {
                $echo(keep).verdict(false)
            }
        }
    };
}

set_group_info!(
    BeforeSetGroupInfo,
    "BeforeSetGroupInfo",
    BeforeSetGroupInfoRequest,
    BeforeSetGroupInfoResponse,
    echo = GroupInfoEcho::plain
);
set_group_info!(
    BeforeSetGroupInfoEx,
    "BeforeSetGroupInfoEx",
    BeforeSetGroupInfoExRequest,
    BeforeSetGroupInfoExResponse,
    echo = GroupInfoEcho::every
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::callbacks::{
        Outcome,
        testing::{decode_before, encode, proceed},
    };

    /// Crash trap: OpenIM copies groupID/groupName/introduction/faceURL back from every
    /// SetGroupInfo reply, a plain continue included; anything not echoed is blanked. And the
    /// reverse: `ex` and the numbers are applied whenever non-null, so echoing the request's
    /// plain `""`/`0` would erase the group's ex and reset its settings on every rename.
    #[test]
    fn set_group_info_replies_echo_the_copied_strings_and_never_the_pointers() {
        let (req, keep) =
            decode_before::<BeforeSetGroupInfo>("callbackBeforeSetGroupInfoCommand.json");
        assert_eq!(req.update.as_ref(), Some(&keep));
        let echo = json!({"groupID":"2841935067","groupName":"Team Rocket","notification":"Standup at 10",
            "introduction":"Our team","faceURL":"https://cdn.example.com/g/team.png"});
        for e in [
            encode::<BeforeSetGroupInfo>(Default::default(), keep.clone()),
            proceed::<BeforeSetGroupInfo>(&keep),
        ] {
            assert_eq!(e.outcome, Outcome::Continue);
            assert_eq!(serde_json::Value::Object(e.changes()), echo);
        }
        let resp = pb::BeforeSetGroupInfoResponse {
            introduction: Some("New intro".into()),
            apply_member_friend: Some(1),
            ..Default::default()
        };
        let e = encode::<BeforeSetGroupInfo>(resp, keep.clone());
        assert_eq!(e.outcome, Outcome::Modify);
        let mut want = echo;
        want["introduction"] = json!("New intro");
        want["applyMemberFriend"] = json!(1);
        assert_eq!(serde_json::Value::Object(e.changes()), want);
        let refuse = pb::BeforeSetGroupInfoResponse {
            refuse: Some(pb::Refusal {
                err_code: 5200,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(
            encode::<BeforeSetGroupInfo>(refuse, keep)
                .changes()
                .is_empty()
        );
    }

    /// Crash trap: SetGroupInfoEx copies every field back; a non-null request value that is not
    /// echoed is dropped from the update.
    #[test]
    fn set_group_info_ex_replies_echo_every_non_null_request_value() {
        let (_, keep) =
            decode_before::<BeforeSetGroupInfoEx>("callbackBeforeSetGroupInfoExCommand.json");
        let echo = json!({"groupID":"2841935067","groupName":"Team Rocket","ex":"{\"tier\":\"gold\"}",
            "needVerification":2});
        for e in [
            encode::<BeforeSetGroupInfoEx>(Default::default(), keep.clone()),
            proceed::<BeforeSetGroupInfoEx>(&keep),
        ] {
            assert_eq!(serde_json::Value::Object(e.changes()), echo);
        }
        let resp = pb::BeforeSetGroupInfoExResponse {
            group_name: Some("Team R".into()),
            face_url: Some("https://x/g.png".into()),
            ..Default::default()
        };
        let e = encode::<BeforeSetGroupInfoEx>(resp, keep);
        let mut want = echo;
        want["groupName"] = json!("Team R");
        want["faceURL"] = json!("https://x/g.png");
        assert_eq!(serde_json::Value::Object(e.changes()), want);
    }
}
