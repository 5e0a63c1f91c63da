// Command go-decoder reads OpenIM webhook replies and reports what OpenIM's Go server makes of
// them: it decodes each reply with encoding/json into mirrors of OpenIM's reply structs
// (pkg/callbackstruct, read from open-im-server 7848d7c7, see docs/openim-protocol.md §2 and §6) and applies
// each server version's Parse() rule.
//
// Input: one JSON object per line, {"struct": "<reply struct name>", "body": "<reply body>"}.
// Output: one JSON object per line, the verdict for the matching input line.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// CommonCallbackResp is embedded in every reply struct.
type CommonCallbackResp struct {
	ActionCode int32  `json:"actionCode"`
	ErrCode    int32  `json:"errCode"`
	ErrMsg     string `json:"errMsg"`
	ErrDlt     string `json:"errDlt"`
	NextCode   int32  `json:"nextCode"`
}

func (c CommonCallbackResp) common() CommonCallbackResp { return c }

// OfflinePushInfo mirrors sdkws.OfflinePushInfo's JSON form.
type OfflinePushInfo struct {
	Title         string `json:"title"`
	Desc          string `json:"desc"`
	Ex            string `json:"ex"`
	IOSPushSound  string `json:"iOSPushSound"`
	IOSBadgeCount bool   `json:"iOSBadgeCount"`
	SignalInfo    string `json:"signalInfo"`
}

// CallbackMsgModifyCommandResp is the msg-modify reply.
type CallbackMsgModifyCommandResp struct {
	CommonCallbackResp
	Content          *string          `json:"content"`
	RecvID           *string          `json:"recvID"`
	GroupID          *string          `json:"groupID"`
	ClientMsgID      *string          `json:"clientMsgID"`
	ServerMsgID      *string          `json:"serverMsgID"`
	SenderPlatformID *int32           `json:"senderPlatformID"`
	SenderNickname   *string          `json:"senderNickname"`
	SenderFaceURL    *string          `json:"senderFaceURL"`
	SessionType      *int32           `json:"sessionType"`
	MsgFrom          *int32           `json:"msgFrom"`
	ContentType      *int32           `json:"contentType"`
	Status           *int32           `json:"status"`
	Options          *map[string]bool `json:"options"`
	OfflinePushInfo  *OfflinePushInfo `json:"offlinePushInfo"`
	AtUserIDList     *[]string        `json:"atUserIDList"`
	MsgDataList      *[]byte          `json:"msgDataList"`
	AttachedInfo     *string          `json:"attachedInfo"`
	Ex               *string          `json:"ex"`
}

// CallbackBeforePushResp is the reply of the push callbacks.
type CallbackBeforePushResp struct {
	CommonCallbackResp
	UserIDList      []string         `json:"userIDList"`
	OfflinePushInfo *OfflinePushInfo `json:"offlinePushInfo"`
}

// UserInfo mirrors sdkws.UserInfo.
type UserInfo struct {
	UserID           string `json:"userID"`
	Nickname         string `json:"nickname"`
	FaceURL          string `json:"faceURL"`
	Ex               string `json:"ex"`
	CreateTime       int64  `json:"createTime"`
	AppMangerLevel   int32  `json:"appMangerLevel"`
	GlobalRecvMsgOpt int32  `json:"globalRecvMsgOpt"`
}

// CallbackBeforeUserRegisterResp replaces the users to register.
type CallbackBeforeUserRegisterResp struct {
	CommonCallbackResp
	Users []*UserInfo `json:"users"`
}

// CallbackBeforeUpdateUserInfoResp changes a profile update.
type CallbackBeforeUpdateUserInfoResp struct {
	CommonCallbackResp
	Nickname *string `json:"nickName"`
	FaceURL  *string `json:"faceURL"`
	Ex       *string `json:"ex"`
}

// CallbackBeforeUpdateUserInfoExResp uses wrapperspb values, which decode from a bare value or
// null exactly like these pointers (an object {"value":...} fails both).
type CallbackBeforeUpdateUserInfoExResp struct {
	CommonCallbackResp
	Nickname *string `json:"nickName"`
	FaceURL  *string `json:"faceURL"`
	Ex       *string `json:"ex"`
}

// CallbackBeforeImportFriendsResp replaces the friends to import.
type CallbackBeforeImportFriendsResp struct {
	CommonCallbackResp
	FriendUserIDs []string `json:"friendUserIDs"`
}

// CallbackBeforeSetFriendRemarkResp changes the remark.
type CallbackBeforeSetFriendRemarkResp struct {
	CommonCallbackResp
	Remark string `json:"remark"`
}

// CallbackBeforeCreateGroupResp changes a group being created.
type CallbackBeforeCreateGroupResp struct {
	CommonCallbackResp
	GroupID           *string `json:"groupID"`
	GroupName         *string `json:"groupName"`
	Notification      *string `json:"notification"`
	Introduction      *string `json:"introduction"`
	FaceURL           *string `json:"faceURL"`
	OwnerUserID       *string `json:"ownerUserID"`
	Ex                *string `json:"ex"`
	Status            *int32  `json:"status"`
	CreatorUserID     *string `json:"creatorUserID"`
	GroupType         *int32  `json:"groupType"`
	NeedVerification  *int32  `json:"needVerification"`
	LookMemberInfo    *int32  `json:"lookMemberInfo"`
	ApplyMemberFriend *int32  `json:"applyMemberFriend"`
}

// MemberJoinGroupCallBack is one entry of the batched member-join reply.
type MemberJoinGroupCallBack struct {
	UserID      *string `json:"userID"`
	Nickname    *string `json:"nickname"`
	FaceURL     *string `json:"faceURL"`
	RoleLevel   *int32  `json:"roleLevel"`
	MuteEndTime *int64  `json:"muteEndTime"`
	Ex          *string `json:"ex"`
}

// CallbackBeforeMembersJoinGroupResp is the batched member-join reply (v3.8+).
type CallbackBeforeMembersJoinGroupResp struct {
	CommonCallbackResp
	MemberCallbackList []*MemberJoinGroupCallBack `json:"memberCallbackList"`
}

// CallbackBeforeMemberJoinGroupResp is the one-member reply (up to v3.7).
type CallbackBeforeMemberJoinGroupResp struct {
	CommonCallbackResp
	Nickname    *string `json:"nickname"`
	FaceURL     *string `json:"faceURL"`
	RoleLevel   *int32  `json:"roleLevel"`
	MuteEndTime *int64  `json:"muteEndTime"`
	Ex          *string `json:"ex"`
}

// CallbackBeforeSetGroupMemberInfoResp changes a member update.
type CallbackBeforeSetGroupMemberInfoResp struct {
	CommonCallbackResp
	Ex        *string `json:"ex"`
	Nickname  *string `json:"nickName"`
	FaceURL   *string `json:"faceURL"`
	RoleLevel *int32  `json:"roleLevel"`
}

// CallbackBeforeSetGroupInfoResp: the five strings are plain and copied back unconditionally.
type CallbackBeforeSetGroupInfoResp struct {
	CommonCallbackResp
	GroupID           string  `json:"groupID"`
	GroupName         string  `json:"groupName"`
	Notification      string  `json:"notification"`
	Introduction      string  `json:"introduction"`
	FaceURL           string  `json:"faceURL"`
	Ex                *string `json:"ex"`
	NeedVerification  *int32  `json:"needVerification"`
	LookMemberInfo    *int32  `json:"lookMemberInfo"`
	ApplyMemberFriend *int32  `json:"applyMemberFriend"`
}

// CallbackBeforeSetGroupInfoExResp: wrapper values, all copied back unconditionally.
type CallbackBeforeSetGroupInfoExResp struct {
	CommonCallbackResp
	GroupID           string  `json:"groupID"`
	GroupName         *string `json:"groupName"`
	Notification      *string `json:"notification"`
	Introduction      *string `json:"introduction"`
	FaceURL           *string `json:"faceURL"`
	Ex                *string `json:"ex"`
	NeedVerification  *int32  `json:"needVerification"`
	LookMemberInfo    *int32  `json:"lookMemberInfo"`
	ApplyMemberFriend *int32  `json:"applyMemberFriend"`
}

// CallbackBeforeInviteUserToGroupResp: the refused list is read but not used.
type CallbackBeforeInviteUserToGroupResp struct {
	CommonCallbackResp
	RefusedMembersAccount []string `json:"refusedMembersAccount,omitempty"`
}

// CallbackBeforeCreateConversationsResp is the conversation reply of OpenIM main.
type CallbackBeforeCreateConversationsResp struct {
	CommonCallbackResp
	RecvMsgOpt    *int32  `json:"recvMsgOpt"`
	IsPinned      *bool   `json:"isPinned"`
	IsPrivateChat *bool   `json:"isPrivateChat"`
	BurnDuration  *int32  `json:"burnDuration"`
	GroupAtType   *int32  `json:"groupAtType"`
	AttachedInfo  *string `json:"attachedInfo"`
	Ex            *string `json:"ex"`
}

// CallbackBeforeCreateConversationsSnakeResp is the same reply before 2025-10-31.
type CallbackBeforeCreateConversationsSnakeResp struct {
	CommonCallbackResp
	RecvMsgOpt    *int32  `json:"recv_msg_opt"`
	IsPinned      *bool   `json:"is_pinned"`
	IsPrivateChat *bool   `json:"is_private_chat"`
	BurnDuration  *int32  `json:"burn_duration"`
	GroupAtType   *int32  `json:"group_at_type"`
	AttachedInfo  *string `json:"attached_info"`
	Ex            *string `json:"ex"`
}

type reply interface{ common() CommonCallbackResp }

// newReply returns a zero value of the named reply struct.
func newReply(name string) (reply, error) {
	switch name {
	case "CommonCallbackResp":
		return &CommonCallbackResp{}, nil
	case "CallbackMsgModifyCommandResp":
		return &CallbackMsgModifyCommandResp{}, nil
	case "CallbackBeforePushResp":
		return &CallbackBeforePushResp{}, nil
	case "CallbackBeforeUserRegisterResp":
		return &CallbackBeforeUserRegisterResp{}, nil
	case "CallbackBeforeUpdateUserInfoResp":
		return &CallbackBeforeUpdateUserInfoResp{}, nil
	case "CallbackBeforeUpdateUserInfoExResp":
		return &CallbackBeforeUpdateUserInfoExResp{}, nil
	case "CallbackBeforeImportFriendsResp":
		return &CallbackBeforeImportFriendsResp{}, nil
	case "CallbackBeforeSetFriendRemarkResp":
		return &CallbackBeforeSetFriendRemarkResp{}, nil
	case "CallbackBeforeCreateGroupResp":
		return &CallbackBeforeCreateGroupResp{}, nil
	case "CallbackBeforeMembersJoinGroupResp":
		return &CallbackBeforeMembersJoinGroupResp{}, nil
	case "CallbackBeforeMemberJoinGroupResp":
		return &CallbackBeforeMemberJoinGroupResp{}, nil
	case "CallbackBeforeSetGroupMemberInfoResp":
		return &CallbackBeforeSetGroupMemberInfoResp{}, nil
	case "CallbackBeforeSetGroupInfoResp":
		return &CallbackBeforeSetGroupInfoResp{}, nil
	case "CallbackBeforeSetGroupInfoExResp":
		return &CallbackBeforeSetGroupInfoExResp{}, nil
	case "CallbackBeforeInviteUserToGroupResp":
		return &CallbackBeforeInviteUserToGroupResp{}, nil
	case "CallbackBeforeCreateConversationsResp":
		return &CallbackBeforeCreateConversationsResp{}, nil
	case "CallbackBeforeCreateConversationsSnakeResp":
		return &CallbackBeforeCreateConversationsSnakeResp{}, nil
	}
	return nil, fmt.Errorf("unknown reply struct %q", name)
}

type input struct {
	Struct string `json:"struct"`
	Body   string `json:"body"`
	// Request is the callback's request body, for hazards that depend on it.
	Request string `json:"request,omitempty"`
}

// verdict is what each server version does with the reply.
type verdict struct {
	// Decoded: json.Unmarshal succeeded (else every version fails the operation).
	Decoded bool   `json:"decoded"`
	Error   string `json:"error,omitempty"`
	// Refused per version (docs/openim-protocol.md §2.2).
	RefusedV37 bool  `json:"refusedV37"`
	RefusedV35 bool  `json:"refusedV35"`
	RefusedV30 bool  `json:"refusedV30"`
	ErrCode    int32 `json:"errCode"`
	// Problems that would break OpenIM even though decoding worked.
	Hazards []string `json:"hazards"`
	// The decoded reply, re-encoded, to read the applied fields.
	Reply json.RawMessage `json:"reply,omitempty"`
}

func check(in input) verdict {
	r, err := newReply(in.Struct)
	if err != nil {
		return verdict{Error: err.Error(), Hazards: []string{}}
	}
	if err := json.Unmarshal([]byte(in.Body), r); err != nil {
		return verdict{Error: err.Error(), Hazards: []string{}}
	}
	c := r.common()
	v := verdict{
		Decoded: true,
		// v3.7.0 ... main: pkg/callbackstruct CommonCallbackResp.Parse.
		RefusedV37: c.ActionCode == 0 && c.NextCode == 1,
		// v3.4.2 / v3.5.x.
		RefusedV35: c.ActionCode != 0 || c.NextCode == 1,
		// v3.0 ... v3.4.0: no nextCode.
		RefusedV30: c.ActionCode != 0 || c.ErrCode != 0,
		ErrCode:    c.ErrCode,
		Hazards:    []string{},
	}
	if m, ok := r.(*CallbackMsgModifyCommandResp); ok {
		if m.OfflinePushInfo != nil {
			// Copied into the message's push info: nil-pointer panic when it has none.
			v.Hazards = append(v.Hazards, "offlinePushInfo")
		}
		if m.Content != nil {
			var obj map[string]any
			if json.Unmarshal([]byte(*m.Content), &obj) != nil {
				// main: "content must be a JSON object" -> ArgsError, the send fails.
				v.Hazards = append(v.Hazards, "content")
			}
		}
	}
	if in.Request != "" && !v.RefusedV37 {
		v.Hazards = append(v.Hazards, requestHazards(r, in.Request)...)
	}
	if v.RefusedV37 && c.ErrCode <= 0 {
		// The RPC layer loses a code <= 0: the client does not get the refusal's error.
		v.Hazards = append(v.Hazards, "errCode")
	}
	v.Reply, _ = json.Marshal(r)
	return v
}

// requestHazards finds what OpenIM would break when it applies the reply to this request
// (docs/openim-protocol.md §4 and §8 item 11).
func requestHazards(r reply, request string) []string {
	var hazards []string
	switch resp := r.(type) {
	case *CallbackBeforeUpdateUserInfoExResp:
		// Applying a field dereferences the update's own wrapper: nil when not carried.
		var req struct {
			Nickname *string `json:"nickName"`
			FaceURL  *string `json:"faceURL"`
		}
		_ = json.Unmarshal([]byte(request), &req)
		if resp.Ex != nil {
			hazards = append(hazards, "ex")
		}
		if resp.Nickname != nil && req.Nickname == nil {
			hazards = append(hazards, "nickName")
		}
		if resp.FaceURL != nil && req.FaceURL == nil {
			hazards = append(hazards, "faceURL")
		}
	case *CallbackBeforeMembersJoinGroupResp:
		for _, m := range resp.MemberCallbackList {
			if m == nil || m.UserID == nil {
				hazards = append(hazards, "memberCallbackList.userID")
			}
		}
	case *CallbackBeforeSetGroupInfoResp:
		// Copied back unconditionally: a value the request had and the reply lost is blanked.
		var req map[string]any
		_ = json.Unmarshal([]byte(request), &req)
		for key, got := range map[string]string{"groupID": resp.GroupID, "groupName": resp.GroupName,
			"introduction": resp.Introduction, "faceURL": resp.FaceURL} {
			if want, _ := req[key].(string); want != "" && got == "" {
				hazards = append(hazards, key+" blanked")
			}
		}
	case *CallbackBeforeSetGroupInfoExResp:
		var req map[string]any
		_ = json.Unmarshal([]byte(request), &req)
		if resp.GroupID == "" {
			hazards = append(hazards, "groupID blanked")
		}
		got := map[string]bool{"groupName": resp.GroupName != nil, "introduction": resp.Introduction != nil,
			"faceURL": resp.FaceURL != nil, "ex": resp.Ex != nil, "needVerification": resp.NeedVerification != nil,
			"lookMemberInfo": resp.LookMemberInfo != nil, "applyMemberFriend": resp.ApplyMemberFriend != nil}
		for key, present := range got {
			if req[key] != nil && !present {
				hazards = append(hazards, key+" dropped")
			}
		}
	}
	return hazards
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var in input
		if err := json.Unmarshal([]byte(line), &in); err != nil {
			fmt.Fprintln(os.Stderr, "bad input line:", err)
			os.Exit(2)
		}
		if err := enc.Encode(check(in)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
