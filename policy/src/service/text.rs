//! The callbacks where users write text other than messages: nicknames, group names,
//! announcements and introductions, member nicknames, friend remarks, friend and group
//! requests. Each text goes through the engine's [`Engine::check_text`]: refuse the operation,
//! rewrite the text where OpenIM applies a rewrite, or continue. The other RPCs of these services
//! answer UNIMPLEMENTED, so the shim continues without asking again.

use policy_proto::v1::{
    self as pb, friend_service_server::FriendService, group_service_server::GroupService,
    user_service_server::UserService,
};
use tonic::{Request, Response, Status};

use super::{PolicyService, context, required};
use crate::{
    engine::{Engine, TextField, TextVerdict},
    stats::{self, Outcome, Rpc},
};

/// The decision on some texts of one operation: the first refusal, or the rewrites.
struct Texts<'a> {
    engine: &'a dyn Engine,
    context: &'a pb::CallbackContext,
    refuse: Option<pb::Refusal>,
    changed: bool,
}

impl<'a> Texts<'a> {
    fn new(engine: &'a dyn Engine, ctx: Option<&'a pb::CallbackContext>) -> Self {
        Self {
            engine,
            context: context(ctx),
            refuse: None,
            changed: false,
        }
    }

    /// Checks `text` (if any) as `field`; returns its rewrite, if the engine rewrote it.
    fn check(&mut self, field: TextField, text: Option<&str>) -> Option<String> {
        if self.refuse.is_some() {
            return None;
        }
        match self.engine.check_text(self.context, field, text?) {
            TextVerdict::Pass => None,
            TextVerdict::Replace(new) => {
                self.changed = true;
                Some(new)
            }
            TextVerdict::Refuse(refusal) => {
                self.refuse = Some(refusal);
                None
            }
        }
    }

    /// Counts the decision and returns the refusal, if any.
    fn finish(self, rpc: Rpc) -> Option<pb::Refusal> {
        let outcome = match (&self.refuse, self.changed) {
            (Some(_), _) => Outcome::Refuse,
            (None, true) => Outcome::Modify,
            (None, false) => Outcome::Continue,
        };
        stats::decision(rpc, outcome);
        self.refuse
    }
}

/// A refusal-only response: only the refusal counts.
fn refuse_only(
    engine: &dyn Engine,
    context: Option<&pb::CallbackContext>,
    rpc: Rpc,
    field: TextField,
    text: &str,
) -> Option<pb::Refusal> {
    let mut texts = Texts::new(engine, context);
    texts.check(field, Some(text));
    texts.finish(rpc)
}

#[tonic::async_trait]
impl UserService for PolicyService {
    async fn before_user_register(
        &self,
        request: Request<pb::BeforeUserRegisterRequest>,
    ) -> Result<Response<pb::BeforeUserRegisterResponse>, Status> {
        let rpc = Rpc::BeforeUserRegister;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let mut users = request.users;
        let mut texts = Texts::new(&*self.engine, request.context.as_ref());
        for user in &mut users {
            if let Some(nickname) = texts.check(TextField::Nickname, Some(&user.nickname)) {
                user.nickname = nickname;
            }
        }
        let changed = texts.changed;
        let refuse = texts.finish(rpc);
        // The reply replaces the whole list: send it only when a nickname changed.
        let users = (refuse.is_none() && changed).then_some(pb::UserInfoList { values: users });
        Ok(Response::new(pb::BeforeUserRegisterResponse {
            refuse,
            users,
        }))
    }

    async fn before_update_user_info(
        &self,
        request: Request<pb::BeforeUpdateUserInfoRequest>,
    ) -> Result<Response<pb::BeforeUpdateUserInfoResponse>, Status> {
        let rpc = Rpc::BeforeUpdateUserInfo;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let update = required(&request.update, "update", rpc)?;
        let mut texts = Texts::new(&*self.engine, request.context.as_ref());
        let nickname = texts.check(TextField::Nickname, update.nickname.as_deref());
        Ok(Response::new(pb::BeforeUpdateUserInfoResponse {
            refuse: texts.finish(rpc),
            nickname,
            face_url: None,
            ex: None,
        }))
    }

    async fn before_update_user_info_ex(
        &self,
        request: Request<pb::BeforeUpdateUserInfoExRequest>,
    ) -> Result<Response<pb::BeforeUpdateUserInfoExResponse>, Status> {
        let rpc = Rpc::BeforeUpdateUserInfoEx;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let update = required(&request.update, "update", rpc)?;
        let mut texts = Texts::new(&*self.engine, request.context.as_ref());
        // Only a nickname the update carries is checked, so only that one can be rewritten.
        let nickname = texts.check(TextField::Nickname, update.nickname.as_deref());
        Ok(Response::new(pb::BeforeUpdateUserInfoExResponse {
            refuse: texts.finish(rpc),
            nickname,
            face_url: None,
        }))
    }
}

#[tonic::async_trait]
impl FriendService for PolicyService {
    async fn before_add_friend(
        &self,
        request: Request<pb::BeforeAddFriendRequest>,
    ) -> Result<Response<pb::BeforeAddFriendResponse>, Status> {
        let rpc = Rpc::BeforeAddFriend;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let refuse = refuse_only(
            &*self.engine,
            request.context.as_ref(),
            rpc,
            TextField::FriendRequestMessage,
            &request.request_message,
        );
        Ok(Response::new(pb::BeforeAddFriendResponse { refuse }))
    }

    async fn before_set_friend_remark(
        &self,
        request: Request<pb::BeforeSetFriendRemarkRequest>,
    ) -> Result<Response<pb::BeforeSetFriendRemarkResponse>, Status> {
        let rpc = Rpc::BeforeSetFriendRemark;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let mut texts = Texts::new(&*self.engine, request.context.as_ref());
        let remark = texts.check(TextField::FriendRemark, Some(&request.remark));
        Ok(Response::new(pb::BeforeSetFriendRemarkResponse {
            refuse: texts.finish(rpc),
            remark,
        }))
    }
}

#[tonic::async_trait]
impl GroupService for PolicyService {
    async fn before_create_group(
        &self,
        request: Request<pb::BeforeCreateGroupRequest>,
    ) -> Result<Response<pb::BeforeCreateGroupResponse>, Status> {
        let rpc = Rpc::BeforeCreateGroup;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let group = required(&request.group, "group", rpc)?;
        let mut texts = Texts::new(&*self.engine, request.context.as_ref());
        let group_name = texts.check(TextField::GroupName, Some(&group.group_name));
        let notification = texts.check(TextField::GroupNotification, Some(&group.notification));
        let introduction = texts.check(TextField::GroupIntroduction, Some(&group.introduction));
        Ok(Response::new(pb::BeforeCreateGroupResponse {
            refuse: texts.finish(rpc),
            group_name,
            notification,
            introduction,
            ..Default::default()
        }))
    }

    async fn before_set_group_member_info(
        &self,
        request: Request<pb::BeforeSetGroupMemberInfoRequest>,
    ) -> Result<Response<pb::BeforeSetGroupMemberInfoResponse>, Status> {
        let rpc = Rpc::BeforeSetGroupMemberInfo;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let update = required(&request.update, "update", rpc)?;
        let mut texts = Texts::new(&*self.engine, request.context.as_ref());
        let nickname = texts.check(TextField::GroupMemberNickname, update.nickname.as_deref());
        Ok(Response::new(pb::BeforeSetGroupMemberInfoResponse {
            refuse: texts.finish(rpc),
            nickname,
            ..Default::default()
        }))
    }

    async fn before_apply_join_group(
        &self,
        request: Request<pb::BeforeApplyJoinGroupRequest>,
    ) -> Result<Response<pb::BeforeApplyJoinGroupResponse>, Status> {
        let rpc = Rpc::BeforeApplyJoinGroup;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let refuse = refuse_only(
            &*self.engine,
            request.context.as_ref(),
            rpc,
            TextField::GroupRequestMessage,
            &request.request_message,
        );
        Ok(Response::new(pb::BeforeApplyJoinGroupResponse { refuse }))
    }

    async fn before_set_group_info(
        &self,
        request: Request<pb::BeforeSetGroupInfoRequest>,
    ) -> Result<Response<pb::BeforeSetGroupInfoResponse>, Status> {
        let rpc = Rpc::BeforeSetGroupInfo;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let (refuse, group_name, introduction) = check_group_info(
            &*self.engine,
            request.context.as_ref(),
            rpc,
            required(&request.update, "update", rpc)?,
        );
        Ok(Response::new(pb::BeforeSetGroupInfoResponse {
            refuse,
            group_name,
            introduction,
            ..Default::default()
        }))
    }

    async fn before_set_group_info_ex(
        &self,
        request: Request<pb::BeforeSetGroupInfoExRequest>,
    ) -> Result<Response<pb::BeforeSetGroupInfoExResponse>, Status> {
        let rpc = Rpc::BeforeSetGroupInfoEx;
        self.ensure_ready(rpc)?;
        let request = request.into_inner();
        let (refuse, group_name, introduction) = check_group_info(
            &*self.engine,
            request.context.as_ref(),
            rpc,
            required(&request.update, "update", rpc)?,
        );
        Ok(Response::new(pb::BeforeSetGroupInfoExResponse {
            refuse,
            group_name,
            introduction,
            ..Default::default()
        }))
    }
}

/// The texts of a SetGroupInfo(Ex) call: the refusal, or the new name and introduction (the
/// announcement can only be refused: OpenIM does not read it from the reply).
fn check_group_info(
    engine: &dyn Engine,
    context: Option<&pb::CallbackContext>,
    rpc: Rpc,
    update: &pb::GroupInfoUpdate,
) -> (Option<pb::Refusal>, Option<String>, Option<String>) {
    let mut texts = Texts::new(engine, context);
    let group_name = texts.check(TextField::GroupName, update.group_name.as_deref());
    texts.check(TextField::GroupNotification, update.notification.as_deref());
    let introduction = texts.check(TextField::GroupIntroduction, update.introduction.as_deref());
    (texts.finish(rpc), group_name, introduction)
}
