//! Group callbacks (PROTOCOL.md §4.4, §6.6, §6.7).
//!
//! Quirks and guards handled here:
//! - create-group bodies flatten `sdkws.GroupInfo` into the top level;
//! - `groupType` in the dismiss and apply-to-join bodies is a one-character string whose code
//!   point is the type (Go's `string(int32)`);
//! - member-join: v3.8+ sends one batched callback, up to v3.7 one per member with another shape
//!   and reply; every entry of the batched reply must carry `userID` (OpenIM crashes otherwise);
//! - SetGroupInfo and SetGroupInfoEx: OpenIM copies fields back from every reply, a plain
//!   "continue" included, so every non-refusing reply echoes the request's values.

use policy_proto::v1 as pb;
use serde::{Deserialize, Deserializer, Serialize};

use super::{
    Before, DecodeError, Encoder, IntoRequest, Payload, Verdict, context, decode_body,
    flat_requests, is_none, nested_requests, notification, policy_requests, refuse_only,
};
use crate::openim::nullable;

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
    /// The request's values.
    fn of(u: &pb::GroupInfoUpdate) -> Self {
        Self {
            group_id: u.group_id.clone(),
            group_name: u.group_name.clone(),
            notification: u.notification.clone(),
            introduction: u.introduction.clone(),
            face_url: u.face_url.clone(),
            ex: u.ex.clone(),
            need_verification: u.need_verification,
            look_member_info: u.look_member_info,
            apply_member_friend: u.apply_member_friend,
        }
    }

    /// The echo reply; it is a "modify" on the wire, reported as what it does.
    fn verdict(&self, changed: bool) -> Verdict {
        Verdict {
            outcome: if changed {
                super::Outcome::Modify
            } else {
                super::Outcome::Continue
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

/// Applies `changes` over the request's values; returns the reply and whether anything changed.
fn apply(request: &pb::GroupInfoUpdate, c: GroupInfoChanges) -> Verdict {
    let mut echo = GroupInfoEcho::of(request);
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
    ($name:ident, $method:literal, $req:ident, $resp:ident) => {
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
                apply(&keep, changes)
            }

            fn proceed(keep: &pb::GroupInfoUpdate) -> Verdict {
                GroupInfoEcho::of(keep).verdict(false)
            }
        }
    };
}

set_group_info!(
    BeforeSetGroupInfo,
    "BeforeSetGroupInfo",
    BeforeSetGroupInfoRequest,
    BeforeSetGroupInfoResponse
);
set_group_info!(
    BeforeSetGroupInfoEx,
    "BeforeSetGroupInfoEx",
    BeforeSetGroupInfoExRequest,
    BeforeSetGroupInfoExResponse
);

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
        testing::{decode_after, decode_before, encode, proceed},
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

    /// Crash trap: OpenIM copies groupID/groupName/introduction/faceURL back from every
    /// SetGroupInfo reply, a plain continue included; anything not echoed is blanked.
    #[test]
    fn set_group_info_replies_always_echo_the_request() {
        let (req, keep) =
            decode_before::<BeforeSetGroupInfo>("callbackBeforeSetGroupInfoCommand.json");
        assert_eq!(req.update.as_ref(), Some(&keep));
        let echo = json!({"groupID":"2841935067","groupName":"Team Rocket","notification":"Standup at 10",
            "introduction":"Our team","faceURL":"https://cdn.example.com/g/team.png","ex":"",
            "needVerification":1,"lookMemberInfo":0,"applyMemberFriend":0});
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
