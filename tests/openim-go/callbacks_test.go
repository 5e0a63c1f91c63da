package openimgo

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/openimsdk/open-im-server/v3/pkg/callbackstruct"
	"github.com/openimsdk/open-im-server/v3/pkg/common/config"
	"github.com/openimsdk/open-im-server/v3/pkg/common/storage/model"
	"github.com/openimsdk/open-im-server/v3/pkg/common/webhook"
	"github.com/openimsdk/protocol/constant"
	"github.com/openimsdk/protocol/group"
	pbchat "github.com/openimsdk/protocol/msg"
	"github.com/openimsdk/protocol/relation"
	"github.com/openimsdk/protocol/sdkws"
	pbuser "github.com/openimsdk/protocol/user"
	"github.com/openimsdk/protocol/wrapperspb"
	"google.golang.org/protobuf/proto"

	pb "openim-policy/examples/policy-go/gen/openim/policy/v1"
)

// The cases: OpenIM v3.8.3's request objects, built as its RPC handlers build them before the
// webhook call, and for every field OpenIM applies from the reply, a policy change of that one
// field with the effect OpenIM should show.

const (
	groupID   = "2841935067"
	groupEx   = `{"tier":"gold"}`
	userAlice = "user-alice"
	userBob   = "user-bob"
	userCarol = "user-carol"
)

func callbacks() []runner {
	return []runner{
		createGroup(),
		membersJoinGroup(),
		setGroupMemberInfo("nickname", func() *group.SetGroupMemberInfo {
			return &group.SetGroupMemberInfo{GroupID: groupID, UserID: userCarol, Nickname: wrapperspb.String("Carol")}
		}, true),
		setGroupMemberInfo("role and ex", func() *group.SetGroupMemberInfo {
			return &group.SetGroupMemberInfo{GroupID: groupID, UserID: userCarol, RoleLevel: wrapperspb.Int32(constant.GroupAdmin), Ex: wrapperspb.String(`{"title":"lead"}`)}
		}, false),
		setGroupInfo("plain rename", func() *group.SetGroupInfoReq {
			// What a client renaming the group sends: the name only; ex and the three settings
			// are nil ("not being changed"), the other strings empty.
			return &group.SetGroupInfoReq{GroupInfoForSet: &sdkws.GroupInfoForSet{GroupID: groupID, GroupName: "Team Rocket 2"}}
		}, true),
		setGroupInfo("settings", func() *group.SetGroupInfoReq {
			return &group.SetGroupInfoReq{GroupInfoForSet: &sdkws.GroupInfoForSet{
				GroupID: groupID, Introduction: "Our team", FaceURL: "https://cdn.example.com/g/team.png",
				Ex: wrapperspb.String(groupEx), NeedVerification: wrapperspb.Int32(constant.Directly), LookMemberInfo: wrapperspb.Int32(1),
			}}
		}, false),
		setGroupInfoEx("plain rename", func() *group.SetGroupInfoExReq {
			return &group.SetGroupInfoExReq{GroupID: groupID, GroupName: wrapperspb.String("Team Rocket 2")}
		}, true),
		setGroupInfoEx("settings", func() *group.SetGroupInfoExReq {
			return &group.SetGroupInfoExReq{
				GroupID: groupID, Introduction: wrapperspb.String("Our team"), Notification: wrapperspb.String("Standup at 10"),
				Ex: wrapperspb.String(groupEx), NeedVerification: wrapperspb.Int32(constant.Directly), ApplyMemberFriend: wrapperspb.Int32(0),
			}
		}, false),
		updateUserInfo(),
		updateUserInfoEx("nickname only", func() *pbuser.UpdateUserInfoExReq {
			return &pbuser.UpdateUserInfoExReq{UserInfo: &sdkws.UserInfoWithEx{UserID: userAlice, Nickname: wrapperspb.String("Alice B")}}
		}, false),
		updateUserInfoEx("nickname, avatar and ex", func() *pbuser.UpdateUserInfoExReq {
			return &pbuser.UpdateUserInfoExReq{UserInfo: &sdkws.UserInfoWithEx{
				UserID: userAlice, Nickname: wrapperspb.String("Alice B"), FaceURL: wrapperspb.String("https://cdn.example.com/u/alice2.png"),
				Ex: wrapperspb.String(`{"vip":true}`),
			}}
		}, true),
		userRegister(),
		importFriends(),
		setFriendRemark(),
		msgModify(),
		offlinePush("single chat, with push info", func() *pushState {
			m := textMsg(constant.SingleChatType)
			m.Status = constant.MsgStatusSendSuccess // GetConnsAndOnlinePush marks it before the offline push
			return &pushState{UserIDs: []string{m.RecvID}, Msg: m}
		}),
		offlinePush("group, no push info", func() *pushState {
			m := textMsg(constant.ReadGroupChatType)
			m.Status = constant.MsgStatusSendSuccess
			m.OfflinePushInfo = nil
			return &pushState{UserIDs: []string{userBob, userCarol}, Msg: m}
		}),
		onlinePush(),
		groupOnlinePush(),
		// Refuse-only callbacks: OpenIM applies nothing from the reply.
		refuseOnly("BeforeSendSingleMsg", func() *pbchat.SendMsgReq {
			return &pbchat.SendMsgReq{MsgData: textMsg(constant.SingleChatType)}
		}, webhookBeforeSendSingleMsg),
		refuseOnly("BeforeSendGroupMsg", func() *pbchat.SendMsgReq {
			return &pbchat.SendMsgReq{MsgData: textMsg(constant.ReadGroupChatType)}
		}, webhookBeforeSendGroupMsg),
		refuseOnly("BeforeAddFriend", func() *relation.ApplyToAddFriendReq {
			return &relation.ApplyToAddFriendReq{FromUserID: userAlice, ToUserID: userBob, ReqMsg: "Hi, it's Alice"}
		}, webhookBeforeAddFriend),
		refuseOnly("BeforeAddFriendAgree", func() *relation.RespondFriendApplyReq {
			return &relation.RespondFriendApplyReq{FromUserID: userAlice, ToUserID: userBob, HandleResult: constant.FriendResponseAgree, HandleMsg: "welcome"}
		}, webhookBeforeAddFriendAgree),
		refuseOnly("BeforeAddBlack", func() *relation.AddBlackReq {
			return &relation.AddBlackReq{OwnerUserID: userAlice, BlackUserID: userBob}
		}, webhookBeforeAddBlack),
		applyJoinGroup(),
		refuseOnly("BeforeInviteUserToGroup", func() *group.InviteUserToGroupReq {
			return &group.InviteUserToGroupReq{GroupID: groupID, Reason: "join us", InvitedUserIDs: []string{userBob, userCarol}}
		}, webhookBeforeInviteUserToGroup),
	}
}

// refuseOnly is a callback whose reply OpenIM only checks for a refusal.
func refuseOnly[M proto.Message](name string, build func() M, f func(context.Context, *webhook.Client, *config.BeforeConfig, M) error) runner {
	return callback[M]{
		name:  name,
		build: build,
		clone: cloneProto[M],
		call: func(ctx context.Context, c *webhook.Client, s M) error {
			return f(ctx, c, beforeConfig, s)
		},
	}
}

// ---- groups ----

func createGroup() runner {
	type R = pb.BeforeCreateGroupResponse
	type S = *group.CreateGroupReq
	return callback[S]{
		name: "BeforeCreateGroup",
		build: func() S {
			// As the REST API create_group takes it; OpenIM generates the group ID after the callback.
			return &group.CreateGroupReq{
				OwnerUserID:   userAlice,
				AdminUserIDs:  []string{userBob},
				MemberUserIDs: []string{userCarol, "user-dave"},
				GroupInfo: &sdkws.GroupInfo{
					GroupName: "Team Rocket", Notification: "Standup at 10", Introduction: "Our team",
					FaceURL: "https://cdn.example.com/g/team.png", Ex: groupEx,
					GroupType: constant.WorkingGroup, NeedVerification: constant.AllNeedVerification, LookMemberInfo: 1,
				},
			}
		},
		clone: cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeCreateGroup(ctx, c, beforeConfig, s)
		},
		changes: []change[S]{
			{"groupID", setResp(func(r *R) { r.GroupId = ptr("3000000001") }), func(s S) { s.GroupInfo.GroupID = "3000000001" }},
			{"groupName", setResp(func(r *R) { r.GroupName = ptr("Team Rocket (moderated)") }), func(s S) { s.GroupInfo.GroupName = "Team Rocket (moderated)" }},
			{"notification", setResp(func(r *R) { r.Notification = ptr("Standup at 11") }), func(s S) { s.GroupInfo.Notification = "Standup at 11" }},
			{"introduction", setResp(func(r *R) { r.Introduction = ptr("Our *** team") }), func(s S) { s.GroupInfo.Introduction = "Our *** team" }},
			{"faceURL", setResp(func(r *R) { r.FaceUrl = ptr("https://cdn.example.com/g/default.png") }), func(s S) { s.GroupInfo.FaceURL = "https://cdn.example.com/g/default.png" }},
			{"ownerUserID", setResp(func(r *R) { r.OwnerUserId = ptr(userBob) }), func(s S) { s.GroupInfo.OwnerUserID = userBob }},
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"tier":"silver"}`) }), func(s S) { s.GroupInfo.Ex = `{"tier":"silver"}` }},
			{"ex to empty", setResp(func(r *R) { r.Ex = ptr("") }), func(s S) { s.GroupInfo.Ex = "" }},
			{"status", setResp(func(r *R) { r.Status = ptr[int32](3) }), func(s S) { s.GroupInfo.Status = 3 }},
			{"creatorUserID", setResp(func(r *R) { r.CreatorUserId = ptr(userBob) }), func(s S) { s.GroupInfo.CreatorUserID = userBob }},
			{"groupType", setResp(func(r *R) { r.GroupType = ptr[int32](0) }), func(s S) { s.GroupInfo.GroupType = 0 }},
			{"needVerification", setResp(func(r *R) { r.NeedVerification = ptr[int32](constant.Directly) }), func(s S) { s.GroupInfo.NeedVerification = constant.Directly }},
			{"needVerification to 0", setResp(func(r *R) { r.NeedVerification = ptr[int32](0) }), func(s S) { s.GroupInfo.NeedVerification = 0 }},
			{"lookMemberInfo", setResp(func(r *R) { r.LookMemberInfo = ptr[int32](0) }), func(s S) { s.GroupInfo.LookMemberInfo = 0 }},
		},
	}
}

// joinState is what webhookBeforeMembersJoinGroup works on: the members about to be stored.
type joinState struct {
	Members []*model.GroupMember
	GroupID string
	GroupEx string
}

func membersJoinGroup() runner {
	type R = pb.BeforeMembersJoinGroupResponse
	type S = *joinState
	joined := time.UnixMilli(1732000000000)
	member := func(userID string, role int32) *model.GroupMember {
		// As CreateGroup's joinGroupFunc builds them.
		return &model.GroupMember{
			GroupID: groupID, UserID: userID, RoleLevel: role, OperatorUserID: userAlice,
			JoinSource: constant.JoinByInvitation, InviterUserID: userAlice, JoinTime: joined, MuteEndTime: time.UnixMilli(0),
		}
	}
	carol := func(s S) *model.GroupMember { return s.Members[2] }
	one := func(f func(m *pb.JoiningMemberChange)) func(req, resp proto.Message) error {
		return setResp(func(r *R) {
			m := &pb.JoiningMemberChange{UserId: userCarol}
			f(m)
			r.Members = []*pb.JoiningMemberChange{m}
		})
	}
	return callback[S]{
		name: "BeforeMembersJoinGroup",
		build: func() S {
			return &joinState{GroupID: groupID, GroupEx: groupEx, Members: []*model.GroupMember{
				member(userAlice, constant.GroupOwner), member(userBob, constant.GroupAdmin), member(userCarol, constant.GroupOrdinaryUsers),
			}}
		},
		clone: func(s S) S {
			c := *s
			c.Members = nil
			for _, m := range s.Members {
				mc := *m
				c.Members = append(c.Members, &mc)
			}
			return &c
		},
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeMembersJoinGroup(ctx, c, beforeConfig, s.Members, s.GroupID, s.GroupEx)
		},
		changes: []change[S]{
			{"nickname", one(func(m *pb.JoiningMemberChange) { m.Nickname = ptr("Carol (guest)") }), func(s S) { carol(s).Nickname = "Carol (guest)" }},
			{"faceURL", one(func(m *pb.JoiningMemberChange) { m.FaceUrl = ptr("https://cdn.example.com/u/carol.png") }), func(s S) { carol(s).FaceURL = "https://cdn.example.com/u/carol.png" }},
			{"roleLevel", one(func(m *pb.JoiningMemberChange) { m.RoleLevel = pb.RoleLevel_ROLE_LEVEL_ADMIN.Enum() }), func(s S) { carol(s).RoleLevel = constant.GroupAdmin }},
			{"muteEndTime", one(func(m *pb.JoiningMemberChange) { m.MuteEndTimeMs = ptr[int64](1735689600000) }), func(s S) { carol(s).MuteEndTime = time.UnixMilli(1735689600000) }},
			{"ex", one(func(m *pb.JoiningMemberChange) { m.Ex = ptr(`{"source":"invite"}`) }), func(s S) { carol(s).Ex = `{"source":"invite"}` }},
			// OpenIM dereferences every entry's userID: an entry without one must not reach it.
			{"an entry without userID", setResp(func(r *R) {
				r.Members = []*pb.JoiningMemberChange{{Nickname: ptr("nobody")}}
			}), nil},
		},
	}
}

func setGroupMemberInfo(variant string, build func() *group.SetGroupMemberInfo, withChanges bool) runner {
	type R = pb.BeforeSetGroupMemberInfoResponse
	type S = *group.SetGroupMemberInfo
	cb := callback[S]{
		name:    "BeforeSetGroupMemberInfo",
		variant: variant,
		build:   build,
		clone:   cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeSetGroupMemberInfo(ctx, c, beforeConfig, s)
		},
	}
	if withChanges {
		cb.changes = []change[S]{
			{"nickname", setResp(func(r *R) { r.Nickname = ptr("Carol B") }), func(s S) { s.Nickname = wrapperspb.String("Carol B") }},
			{"faceURL", setResp(func(r *R) { r.FaceUrl = ptr("https://cdn.example.com/u/carol.png") }), func(s S) { s.FaceURL = wrapperspb.String("https://cdn.example.com/u/carol.png") }},
			{"roleLevel", setResp(func(r *R) { r.RoleLevel = pb.RoleLevel_ROLE_LEVEL_ADMIN.Enum() }), func(s S) { s.RoleLevel = wrapperspb.Int32(constant.GroupAdmin) }},
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"title":"lead"}`) }), func(s S) { s.Ex = wrapperspb.String(`{"title":"lead"}`) }},
			{"ex to empty", setResp(func(r *R) { r.Ex = ptr("") }), func(s S) { s.Ex = wrapperspb.String("") }},
		}
	}
	return cb
}

// groupSettings are the SetGroupInfo(Ex) fields that are nil when the call does not change them.
type groupSettings struct {
	ex                               *wrapperspb.StringValue
	needVerification, lookMemberInfo *wrapperspb.Int32Value
	applyMemberFriend                *wrapperspb.Int32Value
}

// groupSettingsUntouched is issue 11's check: a SetGroupInfo(Ex) call that does not set ex or
// the three settings must leave them nil, or OpenIM writes them to the group.
func groupSettingsUntouched(original, got groupSettings) string {
	var problems []string
	if original.ex == nil && got.ex != nil {
		problems = append(problems, fmt.Sprintf("Ex is now %q", got.ex.GetValue()))
	}
	for _, f := range []struct {
		name      string
		orig, got *wrapperspb.Int32Value
	}{
		{"NeedVerification", original.needVerification, got.needVerification},
		{"LookMemberInfo", original.lookMemberInfo, got.lookMemberInfo},
		{"ApplyMemberFriend", original.applyMemberFriend, got.applyMemberFriend},
	} {
		if f.orig == nil && f.got != nil {
			problems = append(problems, fmt.Sprintf("%s is now %d", f.name, f.got.GetValue()))
		}
	}
	if len(problems) == 0 {
		return ""
	}
	return fmt.Sprintf("issue 11: the reply made OpenIM set group settings this call does not change (they were nil): %s",
		strings.Join(problems, ", "))
}

func setGroupInfo(variant string, build func() *group.SetGroupInfoReq, withChanges bool) runner {
	type R = pb.BeforeSetGroupInfoResponse
	type S = *group.SetGroupInfoReq
	cb := callback[S]{
		name:    "BeforeSetGroupInfo",
		variant: variant,
		build:   build,
		clone:   cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeSetGroupInfo(ctx, c, beforeConfig, s)
		},
		untouched: func(s S) string {
			o, g := build().GroupInfoForSet, s.GroupInfoForSet
			return groupSettingsUntouched(
				groupSettings{o.Ex, o.NeedVerification, o.LookMemberInfo, o.ApplyMemberFriend},
				groupSettings{g.Ex, g.NeedVerification, g.LookMemberInfo, g.ApplyMemberFriend})
		},
	}
	if withChanges {
		cb.changes = []change[S]{
			{"groupName", setResp(func(r *R) { r.GroupName = ptr("Team *** 2") }), func(s S) { s.GroupInfoForSet.GroupName = "Team *** 2" }},
			{"introduction", setResp(func(r *R) { r.Introduction = ptr("Our team") }), func(s S) { s.GroupInfoForSet.Introduction = "Our team" }},
			{"faceURL", setResp(func(r *R) { r.FaceUrl = ptr("https://cdn.example.com/g/default.png") }), func(s S) { s.GroupInfoForSet.FaceURL = "https://cdn.example.com/g/default.png" }},
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"tier":"silver"}`) }), func(s S) { s.GroupInfoForSet.Ex = wrapperspb.String(`{"tier":"silver"}`) }},
			{"needVerification", setResp(func(r *R) { r.NeedVerification = ptr[int32](constant.AllNeedVerification) }), func(s S) { s.GroupInfoForSet.NeedVerification = wrapperspb.Int32(constant.AllNeedVerification) }},
			{"lookMemberInfo", setResp(func(r *R) { r.LookMemberInfo = ptr[int32](1) }), func(s S) { s.GroupInfoForSet.LookMemberInfo = wrapperspb.Int32(1) }},
			{"applyMemberFriend", setResp(func(r *R) { r.ApplyMemberFriend = ptr[int32](1) }), func(s S) { s.GroupInfoForSet.ApplyMemberFriend = wrapperspb.Int32(1) }},
		}
	} else {
		cb.changes = []change[S]{
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"tier":"silver"}`) }), func(s S) { s.GroupInfoForSet.Ex = wrapperspb.String(`{"tier":"silver"}`) }},
			{"needVerification to 0", setResp(func(r *R) { r.NeedVerification = ptr[int32](0) }), func(s S) { s.GroupInfoForSet.NeedVerification = wrapperspb.Int32(0) }},
		}
	}
	return cb
}

func setGroupInfoEx(variant string, build func() *group.SetGroupInfoExReq, withChanges bool) runner {
	type R = pb.BeforeSetGroupInfoExResponse
	type S = *group.SetGroupInfoExReq
	cb := callback[S]{
		name:    "BeforeSetGroupInfoEx",
		variant: variant,
		build:   build,
		clone:   cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeSetGroupInfoEx(ctx, c, beforeConfig, s)
		},
		untouched: func(s S) string {
			o := build()
			return groupSettingsUntouched(
				groupSettings{o.Ex, o.NeedVerification, o.LookMemberInfo, o.ApplyMemberFriend},
				groupSettings{s.Ex, s.NeedVerification, s.LookMemberInfo, s.ApplyMemberFriend})
		},
	}
	if withChanges {
		cb.changes = []change[S]{
			{"groupName", setResp(func(r *R) { r.GroupName = ptr("Team *** 2") }), func(s S) { s.GroupName = wrapperspb.String("Team *** 2") }},
			{"introduction", setResp(func(r *R) { r.Introduction = ptr("Our team") }), func(s S) { s.Introduction = wrapperspb.String("Our team") }},
			{"faceURL", setResp(func(r *R) { r.FaceUrl = ptr("https://cdn.example.com/g/default.png") }), func(s S) { s.FaceURL = wrapperspb.String("https://cdn.example.com/g/default.png") }},
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"tier":"silver"}`) }), func(s S) { s.Ex = wrapperspb.String(`{"tier":"silver"}`) }},
			{"needVerification", setResp(func(r *R) { r.NeedVerification = ptr[int32](constant.AllNeedVerification) }), func(s S) { s.NeedVerification = wrapperspb.Int32(constant.AllNeedVerification) }},
			{"lookMemberInfo", setResp(func(r *R) { r.LookMemberInfo = ptr[int32](1) }), func(s S) { s.LookMemberInfo = wrapperspb.Int32(1) }},
			{"applyMemberFriend", setResp(func(r *R) { r.ApplyMemberFriend = ptr[int32](1) }), func(s S) { s.ApplyMemberFriend = wrapperspb.Int32(1) }},
		}
	} else {
		cb.changes = []change[S]{
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"tier":"silver"}`) }), func(s S) { s.Ex = wrapperspb.String(`{"tier":"silver"}`) }},
			{"needVerification to 0", setResp(func(r *R) { r.NeedVerification = ptr[int32](0) }), func(s S) { s.NeedVerification = wrapperspb.Int32(0) }},
		}
	}
	return cb
}

// applyJoinGroup: OpenIM's JoinGroup builds a CallbackJoinGroupReq and passes it on; the webhook
// function sets its CallbackCommand itself, so it is built here with that already set (else
// "unchanged" could never hold).
func applyJoinGroup() runner {
	type S = *callbackstruct.CallbackJoinGroupReq
	return callback[S]{
		name: "BeforeApplyJoinGroup",
		build: func() S {
			return &callbackstruct.CallbackJoinGroupReq{
				CallbackCommand: callbackstruct.CallbackBeforeJoinGroupCommand,
				GroupID:         groupID,
				GroupType:       string(rune(constant.WorkingGroup)), // OpenIM: string(group.GroupType)
				ApplyID:         userCarol,
				ReqMessage:      "let me in",
			}
		},
		clone: func(s S) S { c := *s; return &c },
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeApplyJoinGroup(ctx, c, beforeConfig, s)
		},
	}
}

// ---- users ----

func updateUserInfo() runner {
	type R = pb.BeforeUpdateUserInfoResponse
	type S = *pbuser.UpdateUserInfoReq
	return callback[S]{
		name: "BeforeUpdateUserInfo",
		build: func() S {
			// The deprecated update_user_info takes the whole UserInfo; OpenIM's callback carries
			// nickname and avatar, never ex.
			return &pbuser.UpdateUserInfoReq{UserInfo: &sdkws.UserInfo{
				UserID: userAlice, Nickname: "Alice B", FaceURL: "https://cdn.example.com/u/alice.png", Ex: `{"vip":true}`,
			}}
		},
		clone: cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeUpdateUserInfo(ctx, c, beforeConfig, s)
		},
		changes: []change[S]{
			{"nickname", setResp(func(r *R) { r.Nickname = ptr("Alice ***") }), func(s S) { s.UserInfo.Nickname = "Alice ***" }},
			{"faceURL", setResp(func(r *R) { r.FaceUrl = ptr("https://cdn.example.com/u/default.png") }), func(s S) { s.UserInfo.FaceURL = "https://cdn.example.com/u/default.png" }},
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"vip":false}`) }), func(s S) { s.UserInfo.Ex = `{"vip":false}` }},
		},
	}
}

func updateUserInfoEx(variant string, build func() *pbuser.UpdateUserInfoExReq, all bool) runner {
	type R = pb.BeforeUpdateUserInfoExResponse
	type S = *pbuser.UpdateUserInfoExReq
	cb := callback[S]{
		name:    "BeforeUpdateUserInfoEx",
		variant: variant,
		build:   build,
		clone:   cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeUpdateUserInfoEx(ctx, c, beforeConfig, s)
		},
		changes: []change[S]{
			{"nickname", setResp(func(r *R) { r.Nickname = ptr("Alice ***") }), func(s S) { s.UserInfo.Nickname = wrapperspb.String("Alice ***") }},
		},
	}
	if all {
		cb.changes = append(cb.changes, change[S]{"faceURL", setResp(func(r *R) { r.FaceUrl = ptr("https://cdn.example.com/u/default.png") }), func(s S) {
			s.UserInfo.FaceURL = wrapperspb.String("https://cdn.example.com/u/default.png")
		}})
	} else {
		// OpenIM writes through the request's FaceURL pointer, nil here: the shim must drop it.
		cb.changes = append(cb.changes, change[S]{"faceURL (not in the update)", setResp(func(r *R) { r.FaceUrl = ptr("https://cdn.example.com/u/default.png") }), nil})
	}
	return cb
}

func userRegister() runner {
	type Q = pb.BeforeUserRegisterRequest
	type R = pb.BeforeUserRegisterResponse
	type S = *pbuser.UserRegisterReq
	return callback[S]{
		name: "BeforeUserRegister",
		build: func() S {
			return &pbuser.UserRegisterReq{Users: []*sdkws.UserInfo{
				{UserID: "user-dave", Nickname: "Dave", FaceURL: "https://cdn.example.com/u/dave.png"},
				{UserID: "user-erin", Nickname: "Erin", Ex: `{"plan":"pro"}`, GlobalRecvMsgOpt: 2},
			}}
		},
		clone: cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeUserRegister(ctx, c, beforeConfig, s)
		},
		changes: []change[S]{
			// The whole list is replaced: the policy copies the request's users.
			{"users (one nickname)", setRespFromReq(func(q *Q, r *R) {
				r.Users = &pb.UserInfoList{}
				for _, u := range q.Users {
					u = proto.Clone(u).(*pb.UserInfo)
					if u.UserId == "user-erin" {
						u.Nickname = "Erin ***"
					}
					r.Users.Values = append(r.Users.Values, u)
				}
			}), func(s S) { s.Users[1].Nickname = "Erin ***" }},
			{"users (one dropped)", setRespFromReq(func(q *Q, r *R) {
				r.Users = &pb.UserInfoList{Values: []*pb.UserInfo{proto.Clone(q.Users[0]).(*pb.UserInfo)}}
			}), func(s S) { s.Users = s.Users[:1] }},
		},
	}
}

// ---- friends ----

func importFriends() runner {
	type R = pb.BeforeImportFriendsResponse
	type S = *relation.ImportFriendReq
	return callback[S]{
		name: "BeforeImportFriends",
		build: func() S {
			return &relation.ImportFriendReq{OwnerUserID: userAlice, FriendUserIDs: []string{userBob, userCarol}}
		},
		clone: cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeImportFriends(ctx, c, beforeConfig, s)
		},
		changes: []change[S]{
			{"friendUserIDs", setResp(func(r *R) { r.FriendUserIds = &pb.StringList{Values: []string{userBob}} }), func(s S) { s.FriendUserIDs = []string{userBob} }},
		},
	}
}

func setFriendRemark() runner {
	type R = pb.BeforeSetFriendRemarkResponse
	type S = *relation.SetFriendRemarkReq
	return callback[S]{
		name: "BeforeSetFriendRemark",
		build: func() S {
			return &relation.SetFriendRemarkReq{OwnerUserID: userAlice, FriendUserID: userBob, Remark: "Bobby"}
		},
		clone: cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeSetFriendRemark(ctx, c, beforeConfig, s)
		},
		changes: []change[S]{
			{"remark", setResp(func(r *R) { r.Remark = ptr("Robert") }), func(s S) { s.Remark = "Robert" }},
		},
	}
}

// ---- messages ----

// textMsg is a text message from Alice's Android app, as the msg RPC has it when the
// before-callbacks run: single chat to Bob, or group chat mentioning Bob.
func textMsg(sessionType int32) *sdkws.MsgData {
	m := &sdkws.MsgData{
		SendID:           userAlice,
		ClientMsgID:      "5c1d0c6a0a1f4e0e8f5b2a7c9d3e1f00",
		ServerMsgID:      "b6f0a3c1d2e4f5a6b7c8d9e0f1a2b3c4",
		SenderPlatformID: constant.AndroidPlatformID,
		SenderNickname:   "Alice",
		SenderFaceURL:    "https://cdn.example.com/u/alice.png",
		SessionType:      sessionType,
		MsgFrom:          constant.UserMsgType,
		ContentType:      constant.Text,
		Content:          []byte(`{"content":"hello Bob"}`),
		SendTime:         1732000000123,
		CreateTime:       1732000000100,
		Status:           constant.MsgStatusSending,
		Options: map[string]bool{
			constant.IsHistory: true, constant.IsPersistent: true, constant.IsOfflinePush: true,
			constant.IsUnreadCount: true, constant.IsConversationUpdate: true, constant.IsSenderSync: true,
		},
		OfflinePushInfo: &sdkws.OfflinePushInfo{Title: "Alice", Desc: "hello Bob", IOSPushSound: "default", IOSBadgeCount: true},
	}
	if sessionType == constant.SingleChatType {
		m.RecvID = userBob
	} else {
		m.GroupID = groupID
		m.Content = []byte(`{"content":"hello @Bob"}`)
		m.AtUserIDList = []string{userBob}
	}
	return m
}

func msgModify() runner {
	type R = pb.BeforeMsgModifyResponse
	type S = *pbchat.SendMsgReq
	options := map[string]bool{
		constant.IsHistory: true, constant.IsPersistent: true, constant.IsOfflinePush: false,
		constant.IsUnreadCount: true, constant.IsConversationUpdate: true, constant.IsSenderSync: true,
	}
	return callback[S]{
		name:    "BeforeMsgModify",
		variant: "group text",
		build:   func() S { return &pbchat.SendMsgReq{MsgData: textMsg(constant.ReadGroupChatType)} },
		clone:   cloneProto[S],
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeMsgModify(ctx, c, beforeConfig, s)
		},
		changes: []change[S]{
			{"content", setResp(func(r *R) { r.Content = ptr(`{"content":"hello ***"}`) }), func(s S) { s.MsgData.Content = []byte(`{"content":"hello ***"}`) }},
			{"recvID", setResp(func(r *R) { r.ReceiverUserId = ptr(userCarol) }), func(s S) { s.MsgData.RecvID = userCarol }},
			{"groupID", setResp(func(r *R) { r.GroupId = ptr("3000000001") }), func(s S) { s.MsgData.GroupID = "3000000001" }},
			{"clientMsgID", setResp(func(r *R) { r.ClientMsgId = ptr("00000000000000000000000000000001") }), func(s S) { s.MsgData.ClientMsgID = "00000000000000000000000000000001" }},
			{"serverMsgID", setResp(func(r *R) { r.ServerMsgId = ptr("00000000000000000000000000000002") }), func(s S) { s.MsgData.ServerMsgID = "00000000000000000000000000000002" }},
			{"senderPlatformID", setResp(func(r *R) { r.SenderPlatform = pb.Platform_PLATFORM_WEB.Enum() }), func(s S) { s.MsgData.SenderPlatformID = 5 }},
			{"senderNickname", setResp(func(r *R) { r.SenderNickname = ptr("Alice (verified)") }), func(s S) { s.MsgData.SenderNickname = "Alice (verified)" }},
			{"senderFaceURL", setResp(func(r *R) { r.SenderFaceUrl = ptr("https://cdn.example.com/u/default.png") }), func(s S) { s.MsgData.SenderFaceURL = "https://cdn.example.com/u/default.png" }},
			{"sessionType", setResp(func(r *R) { r.SessionType = pb.SessionType_SESSION_TYPE_SINGLE.Enum() }), func(s S) { s.MsgData.SessionType = constant.SingleChatType }},
			{"msgFrom", setResp(func(r *R) { r.MsgFrom = pb.MsgFrom_MSG_FROM_SYSTEM.Enum() }), func(s S) { s.MsgData.MsgFrom = 200 }},
			{"contentType", setResp(func(r *R) { r.ContentType = pb.ContentType_CONTENT_TYPE_CUSTOM.Enum() }), func(s S) { s.MsgData.ContentType = 110 }},
			{"status", setResp(func(r *R) { r.Status = pb.MsgStatus_MSG_STATUS_FILTERED.Enum() }), func(s S) { s.MsgData.Status = 5 }},
			{"options", setResp(func(r *R) { r.Options = &pb.MessageOptions{Values: maps.Clone(options)} }), func(s S) { s.MsgData.Options = maps.Clone(options) }},
			{"atUserIDList", setResp(func(r *R) { r.AtUserIds = &pb.StringList{Values: []string{userCarol}} }), func(s S) { s.MsgData.AtUserIDList = []string{userCarol} }},
			{"atUserIDList cleared", setResp(func(r *R) { r.AtUserIds = &pb.StringList{} }), func(s S) { s.MsgData.AtUserIDList = []string{} }},
			{"attachedInfo", setResp(func(r *R) { r.AttachedInfo = ptr(`{"moderated":true}`) }), func(s S) { s.MsgData.AttachedInfo = `{"moderated":true}` }},
			{"ex", setResp(func(r *R) { r.Ex = ptr(`{"k":"v"}`) }), func(s S) { s.MsgData.Ex = `{"k":"v"}` }},
		},
	}
}

// ---- push ----

// pushState is what the push callbacks work on: the message, the users it goes to, and the
// list OpenIM fills from the reply (offline push targets or group push targets).
type pushState struct {
	UserIDs []string
	GroupID string
	Msg     *sdkws.MsgData
	Targets []string
}

func clonePush(s *pushState) *pushState {
	return &pushState{UserIDs: cloneStrings(s.UserIDs), GroupID: s.GroupID, Msg: cloneProto(s.Msg), Targets: cloneStrings(s.Targets)}
}

func offlinePush(variant string, build func() *pushState) runner {
	type Q = pb.BeforeOfflinePushRequest
	type R = pb.BeforeOfflinePushResponse
	type S = *pushState
	return callback[S]{
		name:    "BeforeOfflinePush",
		variant: variant,
		build:   build,
		clone:   clonePush,
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeOfflinePush(ctx, c, beforeConfig, s.UserIDs, s.Msg, &s.Targets)
		},
		changes: []change[S]{
			{"userIDList", setResp(func(r *R) { r.TargetUserIds = &pb.StringList{Values: []string{userCarol}} }), func(s S) { s.Targets = []string{userCarol} }},
			// Replaces all of the push info: the policy copies the request's and changes the title.
			{"offlinePushInfo (title)", setRespFromReq(func(q *Q, r *R) {
				info := &pb.OfflinePushInfo{}
				if q.Push.GetOfflinePushInfo() != nil {
					info = proto.Clone(q.Push.OfflinePushInfo).(*pb.OfflinePushInfo)
				}
				info.Title = "New message"
				r.OfflinePushInfo = info
			}), func(s S) {
				if s.Msg.OfflinePushInfo == nil {
					s.Msg.OfflinePushInfo = &sdkws.OfflinePushInfo{}
				}
				s.Msg.OfflinePushInfo.Title = "New message"
			}},
		},
	}
}

func onlinePush() runner {
	type S = *pushState
	return callback[S]{
		name:    "BeforeOnlinePush",
		variant: "single chat",
		build: func() S {
			m := textMsg(constant.SingleChatType)
			return &pushState{UserIDs: []string{m.RecvID, m.SendID}, Msg: m}
		},
		clone: clonePush,
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeOnlinePush(ctx, c, beforeConfig, s.UserIDs, s.Msg)
		},
	}
}

func groupOnlinePush() runner {
	type R = pb.BeforeGroupOnlinePushResponse
	type S = *pushState
	return callback[S]{
		name:    "BeforeGroupOnlinePush",
		variant: "group text",
		build: func() S {
			m := textMsg(constant.ReadGroupChatType)
			m.Seq = 42 // assigned by msg transfer before the push
			return &pushState{GroupID: m.GroupID, Msg: m}
		},
		clone: clonePush,
		call: func(ctx context.Context, c *webhook.Client, s S) error {
			return webhookBeforeGroupOnlinePush(ctx, c, beforeConfig, s.GroupID, s.Msg, &s.Targets)
		},
		changes: []change[S]{
			{"userIDList", setResp(func(r *R) { r.TargetUserIds = &pb.StringList{Values: []string{userBob}} }), func(s S) { s.Targets = []string{userBob} }},
		},
	}
}
