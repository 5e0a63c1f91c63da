//! Group member callbacks: members joining (v3.8+ sends one batched callback, up to v3.7 one
//! per member with another shape and reply) and member info updates. Guard: every entry of the
//! batched member-join reply must carry `userID`, or OpenIM crashes.

use policy_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::super::{
    Before, DecodeError, Encoder, IntoRequest, Payload, Verdict, decode_body, is_none,
    nested_requests,
};
use crate::openim::nullable;

/// A `memberList` entry (`CallbackGroupMember`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JoiningMemberWire {
    #[serde(rename = "userID")]
    user_id: String,
    ex: String,
}

/// `CallbackBeforeMembersJoinGroupReq` (v3.8+).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MembersJoinBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "memberList", deserialize_with = "nullable")]
    member_list: Vec<Option<JoiningMemberWire>>,
    #[serde(rename = "groupEx")]
    group_ex: String,
}

impl IntoRequest<pb::BeforeMembersJoinGroupRequest> for MembersJoinBody {
    fn into_request(self) -> pb::BeforeMembersJoinGroupRequest {
        pb::BeforeMembersJoinGroupRequest {
            context: None,
            group_id: self.group_id,
            members: self
                .member_list
                .into_iter()
                .flatten()
                .map(|m| pb::JoiningMember {
                    user_id: m.user_id,
                    ex: m.ex,
                })
                .collect(),
            group_ex: self.group_ex,
        }
    }
}

/// `CallbackBeforeMemberJoinGroupReq` (one member, up to v3.7).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MemberJoinBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "userID")]
    user_id: String,
    ex: String,
    #[serde(rename = "groupEx")]
    group_ex: String,
}

/// `GroupService/BeforeMembersJoinGroup` (v3.8+, batched): refuse, continue, or set members'
/// settings.
pub struct BeforeMembersJoinGroup;

/// A `memberCallbackList` entry (`MemberJoinGroupCallBack`), also the shape of the one-member
/// reply of v3.7 (`CallbackBeforeMemberJoinGroupResp`, without `userID`).
#[derive(Debug, Serialize)]
struct MemberChangeWire {
    #[serde(rename = "userID", skip_serializing_if = "is_none")]
    user_id: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    nickname: Option<String>,
    #[serde(rename = "faceURL", skip_serializing_if = "is_none")]
    face_url: Option<String>,
    #[serde(rename = "roleLevel", skip_serializing_if = "is_none")]
    role_level: Option<i32>,
    #[serde(rename = "muteEndTime", skip_serializing_if = "is_none")]
    mute_end_time: Option<i64>,
    #[serde(skip_serializing_if = "is_none")]
    ex: Option<String>,
}

impl MemberChangeWire {
    fn new(user_id: Option<String>, c: pb::JoiningMemberChange) -> Self {
        Self {
            user_id,
            nickname: c.nickname,
            face_url: c.face_url,
            role_level: c.role_level,
            mute_end_time: c.mute_end_time_ms,
            ex: c.ex,
        }
    }
}

/// `CallbackBeforeMembersJoinGroupResp` change fields.
#[derive(Debug, Serialize)]
struct MembersJoinChanges {
    #[serde(rename = "memberCallbackList", skip_serializing_if = "Vec::is_empty")]
    member_callback_list: Vec<MemberChangeWire>,
}

impl Before for BeforeMembersJoinGroup {
    const RPC: &'static str = "/openim.policy.v1.GroupService/BeforeMembersJoinGroup";
    type Request = pb::BeforeMembersJoinGroupRequest;
    type Response = pb::BeforeMembersJoinGroupResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        Ok((decode_body::<MembersJoinBody>(body)?.into_request(), ()))
    }

    fn encode(r: pb::BeforeMembersJoinGroupResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        let mut list = Vec::with_capacity(r.members.len());
        for mut change in r.members {
            if change.user_id.is_empty() {
                // OpenIM dereferences every entry's userID: an entry without one crashes it.
                enc.reject("members.user_id");
                continue;
            }
            let user_id = std::mem::take(&mut change.user_id);
            list.push(MemberChangeWire::new(Some(user_id), change));
        }
        Verdict::changes(&MembersJoinChanges {
            member_callback_list: list,
        })
    }
}

/// `GroupService/BeforeMembersJoinGroup` for the one-member `callbackBeforeMemberJoinGroupCommand`
/// of OpenIM up to v3.7: the request lists the one member, and the reply takes that member's
/// entry of the response.
pub struct BeforeMemberJoinGroup;

impl Before for BeforeMemberJoinGroup {
    const RPC: &'static str = BeforeMembersJoinGroup::RPC;
    type Request = pb::BeforeMembersJoinGroupRequest;
    type Response = pb::BeforeMembersJoinGroupResponse;
    /// The joining member.
    type Keep = String;

    fn decode(body: &[u8]) -> Result<(Self::Request, String), DecodeError> {
        let b: MemberJoinBody = decode_body(body)?;
        let request = pb::BeforeMembersJoinGroupRequest {
            context: None,
            group_id: b.group_id,
            members: vec![pb::JoiningMember {
                user_id: b.user_id.clone(),
                ex: b.ex,
            }],
            group_ex: b.group_ex,
        };
        Ok((request, b.user_id))
    }

    fn encode(
        r: pb::BeforeMembersJoinGroupResponse,
        user_id: String,
        enc: &mut Encoder,
    ) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        match r.members.into_iter().find(|m| m.user_id == user_id) {
            Some(change) => Verdict::changes(&MemberChangeWire::new(None, change)),
            None => Verdict::proceed(),
        }
    }
}

/// `CallbackBeforeSetGroupMemberInfoReq` / `CallbackAfterSetGroupMemberInfoReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupMemberUpdateBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(rename = "nickName", alias = "nickname")]
    nickname: Option<String>,
    #[serde(rename = "faceURL")]
    face_url: Option<String>,
    #[serde(rename = "roleLevel")]
    role_level: Option<i32>,
    ex: Option<String>,
}

impl Payload for GroupMemberUpdateBody {
    type Out = pb::GroupMemberUpdate;

    fn into_parts(self) -> (Option<pb::CallbackContext>, pb::GroupMemberUpdate) {
        let update = pb::GroupMemberUpdate {
            group_id: self.group_id,
            user_id: self.user_id,
            nickname: self.nickname,
            face_url: self.face_url,
            role_level: self.role_level,
            ex: self.ex,
        };
        (None, update)
    }
}

nested_requests!(GroupMemberUpdateBody => update:
    BeforeSetGroupMemberInfoRequest,
    AfterSetGroupMemberInfoRequest,
);

/// `GroupService/BeforeSetGroupMemberInfo`: refuse, continue, or change the values being set.
pub struct BeforeSetGroupMemberInfo;

/// `CallbackBeforeSetGroupMemberInfoResp` change fields.
#[derive(Debug, Serialize)]
struct MemberInfoChanges {
    #[serde(skip_serializing_if = "is_none")]
    ex: Option<String>,
    #[serde(rename = "nickName", skip_serializing_if = "is_none")]
    nickname: Option<String>,
    #[serde(rename = "faceURL", skip_serializing_if = "is_none")]
    face_url: Option<String>,
    #[serde(rename = "roleLevel", skip_serializing_if = "is_none")]
    role_level: Option<i32>,
}

impl Before for BeforeSetGroupMemberInfo {
    const RPC: &'static str = "/openim.policy.v1.GroupService/BeforeSetGroupMemberInfo";
    type Request = pb::BeforeSetGroupMemberInfoRequest;
    type Response = pb::BeforeSetGroupMemberInfoResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        Ok((
            decode_body::<GroupMemberUpdateBody>(body)?.into_request(),
            (),
        ))
    }

    fn encode(r: pb::BeforeSetGroupMemberInfoResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        Verdict::changes(&MemberInfoChanges {
            ex: r.ex,
            nickname: r.nickname,
            face_url: r.face_url,
            role_level: r.role_level,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::callbacks::{
        Outcome,
        group::AfterSetGroupMemberInfo,
        testing::{decode_after, decode_before, encode},
    };

    #[test]
    fn batched_member_joins_decode() {
        let (req, ()) =
            decode_before::<BeforeMembersJoinGroup>("callbackBeforeMembersJoinGroupCommand.json");
        assert_eq!(req.group_id, "2841935067");
        assert_eq!(req.members.len(), 2);
        assert_eq!(
            (req.members[1].user_id.as_str(), req.members[1].ex.as_str()),
            ("8812736450", "vip")
        );
    }

    /// Crash trap: OpenIM dereferences every reply entry's userID.
    #[test]
    fn every_member_join_entry_carries_a_user_id() {
        let resp = pb::BeforeMembersJoinGroupResponse {
            refuse: None,
            members: vec![
                pb::JoiningMemberChange {
                    user_id: "3051829476".into(),
                    nickname: Some("C".into()),
                    role_level: Some(pb::RoleLevel::Admin as i32),
                    mute_end_time_ms: Some(1_751_460_000_000),
                    ..Default::default()
                },
                pb::JoiningMemberChange {
                    user_id: String::new(),
                    nickname: Some("ghost".into()),
                    ..Default::default()
                },
            ],
        };
        let e = encode::<BeforeMembersJoinGroup>(resp, ());
        assert_eq!(
            e.changes()["memberCallbackList"],
            json!([{"userID":"3051829476","nickname":"C","roleLevel":60,"muteEndTime":1_751_460_000_000_i64}])
        );
        assert_eq!(e.rejected, ["members.user_id"]);
        let none_left = pb::BeforeMembersJoinGroupResponse {
            refuse: None,
            members: vec![pb::JoiningMemberChange::default()],
        };
        assert_eq!(
            encode::<BeforeMembersJoinGroup>(none_left, ()).outcome,
            Outcome::Continue
        );
    }

    #[test]
    fn the_v3_7_one_member_join_uses_its_member_s_entry() {
        let (req, user) =
            decode_before::<BeforeMemberJoinGroup>("callbackBeforeMemberJoinGroupCommand.json");
        assert_eq!(user, "3051829476");
        assert_eq!(req.members.len(), 1);
        assert_eq!(req.members[0].user_id, "3051829476");
        let resp = pb::BeforeMembersJoinGroupResponse {
            refuse: None,
            members: vec![
                pb::JoiningMemberChange {
                    user_id: "someone-else".into(),
                    nickname: Some("X".into()),
                    ..Default::default()
                },
                pb::JoiningMemberChange {
                    user_id: "3051829476".into(),
                    face_url: Some("https://x/c.png".into()),
                    ..Default::default()
                },
            ],
        };
        let e = encode::<BeforeMemberJoinGroup>(resp, user.clone());
        assert_eq!(
            serde_json::Value::Object(e.changes()),
            json!({"faceURL":"https://x/c.png"})
        );
        let e = encode::<BeforeMemberJoinGroup>(Default::default(), user);
        assert_eq!(e.outcome, Outcome::Continue);
    }

    #[test]
    fn member_info_updates_keep_null_as_absent() {
        let (req, ()) = decode_before::<BeforeSetGroupMemberInfo>(
            "callbackBeforeSetGroupMemberInfoCommand.json",
        );
        assert_eq!(
            req.update.unwrap(),
            pb::GroupMemberUpdate {
                group_id: "2841935067".into(),
                user_id: "7190283365".into(),
                nickname: Some("Bob (admin)".into()),
                face_url: None,
                role_level: Some(pb::RoleLevel::Admin as i32),
                ex: None,
            }
        );
        let after =
            decode_after::<AfterSetGroupMemberInfo>("callbackAfterSetGroupMemberInfoCommand.json");
        assert_eq!(after.update.unwrap().role_level, Some(60));
        let resp = pb::BeforeSetGroupMemberInfoResponse {
            nickname: Some("Bob".into()),
            ..Default::default()
        };
        let e = encode::<BeforeSetGroupMemberInfo>(resp, ());
        assert_eq!(
            serde_json::Value::Object(e.changes()),
            json!({"nickName":"Bob"})
        );
    }
}
