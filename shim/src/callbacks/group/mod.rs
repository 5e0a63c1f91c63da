//! Group callbacks (docs/openim-protocol.md §4.4, §6.6, §6.7).
//!
//! Quirks and guards handled here:
//! - create-group bodies flatten `sdkws.GroupInfo` into the top level;
//! - `groupType` in the dismiss and apply-to-join bodies is a one-character string whose code
//!   point is the type (Go's `string(int32)`);
//! - member-join: v3.8+ sends one batched callback, up to v3.7 one per member with another shape
//!   and reply; every entry of the batched reply must carry `userID` (OpenIM crashes otherwise):
//!   see `members.rs`;
//! - SetGroupInfo and SetGroupInfoEx: OpenIM copies fields back from every reply, a plain
//!   "continue" included, so every non-refusing reply echoes the request's values: see `info.rs`.
//!
//! The rest (create, quit, kick, dismiss, join requests, invitations, owner transfer) is here.

use policy_proto::v1 as pb;
use serde::{Deserialize, Deserializer, Serialize};

use super::{
    Before, DecodeError, Encoder, IntoRequest, Payload, Verdict, context, decode_body,
    flat_requests, is_none, notification, policy_requests, refuse_only,
};
use crate::openim::nullable;

mod info;
mod members;

pub use info::{BeforeSetGroupInfo, BeforeSetGroupInfoEx, SetGroupInfoBody};
pub use members::{
    BeforeMemberJoinGroup, BeforeMembersJoinGroup, BeforeSetGroupMemberInfo, GroupMemberUpdateBody,
    MemberJoinBody, MembersJoinBody,
};

policy_requests!(
    BeforeCreateGroupRequest,
    AfterCreateGroupRequest,
    BeforeMembersJoinGroupRequest,
    BeforeSetGroupMemberInfoRequest,
    AfterSetGroupMemberInfoRequest,
    AfterQuitGroupRequest,
    AfterKickGroupMemberRequest,
    AfterDismissGroupRequest,
    BeforeApplyJoinGroupRequest,
    AfterJoinGroupRequest,
    BeforeInviteUserToGroupRequest,
    AfterTransferGroupOwnerRequest,
    BeforeSetGroupInfoRequest,
    AfterSetGroupInfoRequest,
    BeforeSetGroupInfoExRequest,
    AfterSetGroupInfoExRequest,
);

/// Reads a `groupType` sent as Go's `string(int32)`: a one-character string whose code point
/// is the type. Also accepts a decimal string or a plain number, should a version send one.
fn group_type_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i32),
        Text(String),
        Null(()),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Number(n) => n,
        Raw::Text(s) => s.parse().unwrap_or_else(|_| {
            s.chars()
                .next()
                .map_or(0, |c| i32::try_from(u32::from(c)).unwrap_or_default())
        }),
        Raw::Null(()) => 0,
    })
}

/// `sdkws.GroupInfo`, flattened into create-group bodies.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupInfoWire {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "groupName")]
    group_name: String,
    notification: String,
    introduction: String,
    #[serde(rename = "faceURL")]
    face_url: String,
    #[serde(rename = "ownerUserID")]
    owner_user_id: String,
    #[serde(rename = "createTime")]
    create_time: i64,
    #[serde(rename = "memberCount")]
    member_count: u32,
    ex: String,
    status: i32,
    #[serde(rename = "creatorUserID")]
    creator_user_id: String,
    #[serde(rename = "groupType")]
    group_type: i32,
    #[serde(rename = "needVerification")]
    need_verification: i32,
    #[serde(rename = "lookMemberInfo")]
    look_member_info: i32,
    #[serde(rename = "applyMemberFriend")]
    apply_member_friend: i32,
    #[serde(rename = "notificationUpdateTime")]
    notification_update_time: i64,
    #[serde(rename = "notificationUserID")]
    notification_user_id: String,
}

impl From<GroupInfoWire> for pb::GroupInfo {
    fn from(g: GroupInfoWire) -> Self {
        Self {
            group_id: g.group_id,
            group_name: g.group_name,
            notification: g.notification,
            introduction: g.introduction,
            face_url: g.face_url,
            owner_user_id: g.owner_user_id,
            create_time_ms: g.create_time,
            member_count: g.member_count,
            ex: g.ex,
            status: g.status,
            creator_user_id: g.creator_user_id,
            group_type: g.group_type,
            need_verification: g.need_verification,
            look_member_info: g.look_member_info,
            apply_member_friend: g.apply_member_friend,
            notification_update_time_ms: g.notification_update_time,
            notification_user_id: g.notification_user_id,
        }
    }
}

/// An `initMemberList` entry (`apistruct.GroupAddMemberInfo`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InitialMemberWire {
    #[serde(rename = "userID")]
    user_id: String,
    #[serde(rename = "roleLevel")]
    role_level: i32,
}

/// `CallbackBeforeCreateGroupReq` / `CallbackAfterCreateGroupReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreateGroupBody {
    #[serde(rename = "operationID")]
    operation_id: String,
    #[serde(flatten)]
    group: GroupInfoWire,
    #[serde(rename = "initMemberList", deserialize_with = "nullable")]
    init_member_list: Vec<Option<InitialMemberWire>>,
}

impl Payload for CreateGroupBody {
    type Out = (pb::GroupInfo, Vec<pb::InitialMember>);

    fn into_parts(self) -> (Option<pb::CallbackContext>, Self::Out) {
        let members = self
            .init_member_list
            .into_iter()
            .flatten()
            .map(|m| pb::InitialMember {
                user_id: m.user_id,
                role_level: m.role_level,
            })
            .collect();
        (context(self.operation_id), (self.group.into(), members))
    }
}

impl IntoRequest<pb::BeforeCreateGroupRequest> for CreateGroupBody {
    fn into_request(self) -> pb::BeforeCreateGroupRequest {
        let (context, (group, initial_members)) = self.into_parts();
        pb::BeforeCreateGroupRequest {
            context,
            group: Some(group),
            initial_members,
        }
    }
}

impl IntoRequest<pb::AfterCreateGroupRequest> for CreateGroupBody {
    fn into_request(self) -> pb::AfterCreateGroupRequest {
        let (context, (group, initial_members)) = self.into_parts();
        pb::AfterCreateGroupRequest {
            context,
            group: Some(group),
            initial_members,
        }
    }
}

/// `CallbackQuitGroupReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct QuitGroupBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "userID")]
    user_id: String,
}

flat_requests!(QuitGroupBody {
    group_id => group_id,
    user_id => user_id,
} => AfterQuitGroupRequest);

/// `CallbackKillGroupMemberReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct KickGroupBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "kickedUserIDs", deserialize_with = "nullable")]
    kicked_user_ids: Vec<String>,
    reason: String,
}

flat_requests!(KickGroupBody {
    group_id => group_id,
    kicked_user_ids => kicked_user_ids,
    reason => reason,
} => AfterKickGroupMemberRequest);

/// `CallbackDisMissGroupReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DismissGroupBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "ownerID")]
    owner_id: String,
    #[serde(rename = "groupType", deserialize_with = "group_type_string")]
    group_type: i32,
    #[serde(rename = "membersID", deserialize_with = "nullable")]
    members_id: Vec<String>,
}

flat_requests!(DismissGroupBody {
    group_id => group_id,
    owner_id => owner_user_id,
    group_type => group_type,
    members_id => member_user_ids,
} => AfterDismissGroupRequest);

/// `CallbackJoinGroupReq` (apply to join).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApplyJoinGroupBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "groupType", deserialize_with = "group_type_string")]
    group_type: i32,
    #[serde(rename = "applyID")]
    apply_id: String,
    #[serde(rename = "reqMessage")]
    req_message: String,
    ex: String,
}

flat_requests!(ApplyJoinGroupBody {
    group_id => group_id,
    group_type => group_type,
    apply_id => applicant_user_id,
    req_message => request_message,
    ex => ex,
} => BeforeApplyJoinGroupRequest);

/// `CallbackAfterJoinGroupReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AfterJoinGroupBody {
    #[serde(rename = "operationID")]
    operation_id: String,
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "reqMessage")]
    req_message: String,
    #[serde(rename = "joinSource")]
    join_source: i32,
    #[serde(rename = "inviterUserID")]
    inviter_user_id: String,
}

flat_requests!(AfterJoinGroupBody {
    group_id => group_id,
    req_message => request_message,
    join_source => join_source,
    inviter_user_id => inviter_user_id,
} + operation_id => AfterJoinGroupRequest);

/// `CallbackBeforeInviteUserToGroupReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteBody {
    #[serde(rename = "operationID")]
    operation_id: String,
    #[serde(rename = "groupID")]
    group_id: String,
    reason: String,
    #[serde(rename = "invitedUserIDs", deserialize_with = "nullable")]
    invited_user_ids: Vec<String>,
}

flat_requests!(InviteBody {
    group_id => group_id,
    reason => reason,
    invited_user_ids => invited_user_ids,
} + operation_id => BeforeInviteUserToGroupRequest);

/// `CallbackTransferGroupOwnerReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct TransferOwnerBody {
    #[serde(rename = "groupID")]
    group_id: String,
    #[serde(rename = "oldOwnerUserID")]
    old_owner_user_id: String,
    #[serde(rename = "newOwnerUserID")]
    new_owner_user_id: String,
}

flat_requests!(TransferOwnerBody {
    group_id => group_id,
    old_owner_user_id => old_owner_user_id,
    new_owner_user_id => new_owner_user_id,
} => AfterTransferGroupOwnerRequest);

/// `GroupService/BeforeCreateGroup`: refuse, continue, or change the group's settings.
pub struct BeforeCreateGroup;

/// `CallbackBeforeCreateGroupResp` change fields (all pointers: absent = keep).
#[derive(Debug, Default, Serialize)]
struct CreateGroupChanges {
    #[serde(rename = "groupID", skip_serializing_if = "is_none")]
    group_id: Option<String>,
    #[serde(rename = "groupName", skip_serializing_if = "is_none")]
    group_name: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    notification: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    introduction: Option<String>,
    #[serde(rename = "faceURL", skip_serializing_if = "is_none")]
    face_url: Option<String>,
    #[serde(rename = "ownerUserID", skip_serializing_if = "is_none")]
    owner_user_id: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    ex: Option<String>,
    #[serde(skip_serializing_if = "is_none")]
    status: Option<i32>,
    #[serde(rename = "creatorUserID", skip_serializing_if = "is_none")]
    creator_user_id: Option<String>,
    #[serde(rename = "groupType", skip_serializing_if = "is_none")]
    group_type: Option<i32>,
    #[serde(rename = "needVerification", skip_serializing_if = "is_none")]
    need_verification: Option<i32>,
    #[serde(rename = "lookMemberInfo", skip_serializing_if = "is_none")]
    look_member_info: Option<i32>,
}

impl Before for BeforeCreateGroup {
    const RPC: &'static str = "/openim.policy.v1.GroupService/BeforeCreateGroup";
    type Request = pb::BeforeCreateGroupRequest;
    type Response = pb::BeforeCreateGroupResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        Ok((decode_body::<CreateGroupBody>(body)?.into_request(), ()))
    }

    fn encode(r: pb::BeforeCreateGroupResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        Verdict::changes(&CreateGroupChanges {
            group_id: r.group_id,
            group_name: r.group_name,
            notification: r.notification,
            introduction: r.introduction,
            face_url: r.face_url,
            owner_user_id: r.owner_user_id,
            ex: r.ex,
            status: r.status,
            creator_user_id: r.creator_user_id,
            group_type: r.group_type,
            need_verification: r.need_verification,
            look_member_info: r.look_member_info,
        })
    }
}

refuse_only!(BeforeApplyJoinGroup, "GroupService/BeforeApplyJoinGroup",
    ApplyJoinGroupBody => BeforeApplyJoinGroupRequest, BeforeApplyJoinGroupResponse);
refuse_only!(BeforeInviteUserToGroup, "GroupService/BeforeInviteUserToGroup",
    InviteBody => BeforeInviteUserToGroupRequest, BeforeInviteUserToGroupResponse);
notification!(AfterCreateGroup, "GroupService/AfterCreateGroup",
    CreateGroupBody => AfterCreateGroupRequest);
notification!(AfterSetGroupMemberInfo, "GroupService/AfterSetGroupMemberInfo",
    GroupMemberUpdateBody => AfterSetGroupMemberInfoRequest);
notification!(AfterQuitGroup, "GroupService/AfterQuitGroup",
    QuitGroupBody => AfterQuitGroupRequest);
notification!(AfterKickGroupMember, "GroupService/AfterKickGroupMember",
    KickGroupBody => AfterKickGroupMemberRequest);
notification!(AfterDismissGroup, "GroupService/AfterDismissGroup",
    DismissGroupBody => AfterDismissGroupRequest);
notification!(AfterJoinGroup, "GroupService/AfterJoinGroup",
    AfterJoinGroupBody => AfterJoinGroupRequest);
notification!(AfterTransferGroupOwner, "GroupService/AfterTransferGroupOwner",
    TransferOwnerBody => AfterTransferGroupOwnerRequest);
notification!(AfterSetGroupInfo, "GroupService/AfterSetGroupInfo",
    SetGroupInfoBody => AfterSetGroupInfoRequest);
notification!(AfterSetGroupInfoEx, "GroupService/AfterSetGroupInfoEx",
    SetGroupInfoBody => AfterSetGroupInfoExRequest);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::callbacks::{
        After, Outcome,
        testing::{decode_after, decode_before, encode},
    };

    #[test]
    fn create_group_bodies_read_the_flattened_group_info_and_members() {
        let (req, ()) = decode_before::<BeforeCreateGroup>("callbackBeforeCreateGroupCommand.json");
        assert_eq!(
            req.context.unwrap().operation_id,
            "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607"
        );
        let g = req.group.unwrap();
        assert_eq!(
            (g.group_id.as_str(), g.group_name.as_str()),
            ("2841935067", "Team")
        );
        assert_eq!((g.owner_user_id.as_str(), g.group_type), ("4826475913", 2));
        assert_eq!(req.initial_members.len(), 3);
        assert_eq!(
            req.initial_members[0].role_level,
            pb::RoleLevel::Owner as i32
        );
        let after = decode_after::<AfterCreateGroup>("callbackAfterCreateGroupCommand.json");
        assert_eq!(after.group.unwrap().member_count, 3);
        assert_eq!(
            after.initial_members.len(),
            5,
            "OpenIM lists owner and admins twice"
        );
    }

    #[test]
    fn a_create_group_reply_carries_only_the_changed_settings() {
        let resp = pb::BeforeCreateGroupResponse {
            group_name: Some("Team A".into()),
            need_verification: Some(1),
            ..Default::default()
        };
        let e = encode::<BeforeCreateGroup>(resp, ());
        assert_eq!(
            serde_json::Value::Object(e.changes()),
            json!({"groupName":"Team A","needVerification":1})
        );
        let e = encode::<BeforeCreateGroup>(Default::default(), ());
        assert_eq!(e.outcome, Outcome::Continue);
    }

    #[test]
    fn group_type_sent_as_a_one_character_string_is_decoded() {
        let d = decode_after::<AfterDismissGroup>("callbackAfterDisMissGroupCommand.json");
        assert_eq!(d.group_type, 2);
        assert_eq!(d.owner_user_id, "4826475913");
        assert_eq!(d.member_user_ids.len(), 3);
        let (a, ()) = decode_before::<BeforeApplyJoinGroup>("callbackBeforeJoinGroupCommand.json");
        assert_eq!(
            (a.group_type, a.applicant_user_id.as_str()),
            (2, "3051829476")
        );
        for (raw, want) in [
            (r#""\u0000""#, 0),
            (r#""2""#, 2),
            ("1", 1),
            ("null", 0),
            (r#""""#, 0),
        ] {
            let body = format!(r#"{{"groupID":"g","groupType":{raw}}}"#);
            let d = AfterDismissGroup::decode(body.as_bytes()).unwrap();
            assert_eq!(d.group_type, want, "{raw}");
        }
    }

    #[test]
    fn the_other_group_bodies_decode() {
        let q = decode_after::<AfterQuitGroup>("callbackAfterQuitGroupCommand.json");
        assert_eq!(q.user_id, "3051829476");
        let k = decode_after::<AfterKickGroupMember>("callbackAfterKickGroupCommand.json");
        assert_eq!((k.kicked_user_ids.len(), k.reason.as_str()), (1, "spam"));
        let j = decode_after::<AfterJoinGroup>("callbackAfterJoinGroupCommand.json");
        assert_eq!(j.join_source, pb::JoinSource::Search as i32);
        assert_eq!(
            j.context.unwrap().operation_id,
            "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607"
        );
        let (i, ()) =
            decode_before::<BeforeInviteUserToGroup>("callbackBeforeInviteJoinGroupCommand.json");
        assert_eq!(i.invited_user_ids.len(), 2);
        assert_eq!(
            i.context.unwrap().operation_id,
            "a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607"
        );
        let t =
            decode_after::<AfterTransferGroupOwner>("callbackAfterTransferGroupOwnerCommand.json");
        assert_eq!(
            (t.old_owner_user_id.as_str(), t.new_owner_user_id.as_str()),
            ("4826475913", "7190283365")
        );
        let s = decode_after::<AfterSetGroupInfo>("callbackAfterSetGroupInfoCommand.json");
        let u = s.update.unwrap();
        assert_eq!(
            (u.ex, u.need_verification, u.look_member_info),
            (None, Some(1), None)
        );
        let s = decode_after::<AfterSetGroupInfoEx>("callbackAfterSetGroupInfoExCommand.json");
        assert_eq!(s.update.unwrap().notification, None);
    }
}
