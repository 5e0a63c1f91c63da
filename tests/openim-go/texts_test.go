package openimgo

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/openimsdk/open-im-server/v3/pkg/callbackstruct"
	"github.com/openimsdk/open-im-server/v3/pkg/common/webhook"
	"github.com/openimsdk/protocol/constant"
	"github.com/openimsdk/protocol/group"
	pbchat "github.com/openimsdk/protocol/msg"
	"github.com/openimsdk/protocol/relation"
	"github.com/openimsdk/protocol/sdkws"
	pbuser "github.com/openimsdk/protocol/user"
	"github.com/openimsdk/protocol/wrapperspb"
	"github.com/openimsdk/tools/mcontext"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The texts the policy checks reach it as OpenIM holds them (issue 17): OpenIM's webhook code
// writes them into its callback bodies with encoding/json, the shim reads those bodies, and the
// policy must get each text exactly as a Go program reading the body gets it. Tricky texts:
// JSON's special characters, escapes as text, U+2028, NUL, invalid UTF-8 (encoding/json writes
// each invalid byte as U+FFFD, which is also what a client decoding the original bytes shows).

// trickyTexts are user texts that a JSON reader could get wrong.
var trickyTexts = []string{
	`scam "quoted" \ back\slash /`,
	`{"content":"scam"}`,
	`scam \ud800 \u0041`,
	"scam\u2028\u2029\x00\x7f\t\n",
	"<b>scam</b> & more",
	"😀 坏词 ｓｃａｍ s\u200bcam",
	"scam \xff\xfe \xed\xa0\x80 \xf0\x90\x80",
	strings.Repeat("long scam ", 400),
}

// asOpenIMWritesIt is a text as a Go reader of OpenIM's JSON gets it.
func asOpenIMWritesIt(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back string
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// stringsOf collects every string field of a request, recursively.
func stringsOf(m protoreflect.Message, out *[]string) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Kind() == protoreflect.StringKind:
			for i := 0; i < v.List().Len(); i++ {
				*out = append(*out, v.List().Get(i).String())
			}
		case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
			for i := 0; i < v.List().Len(); i++ {
				stringsOf(v.List().Get(i).Message(), out)
			}
		case fd.Kind() == protoreflect.StringKind:
			*out = append(*out, v.String())
		case fd.Kind() == protoreflect.MessageKind && !fd.IsMap():
			stringsOf(v.Message(), out)
		}
		return true
	})
}

// textCase posts a request of one callback carrying text in a field the policy checks.
type textCase struct {
	name string
	post func(ctx context.Context, c *webhook.Client, text string) error
	// content: the text is a message content (checked as Go's json.Unmarshal reads it).
	content bool
}

func textCases() []textCase {
	msg := func(sessionType int32, text string) *pbchat.SendMsgReq {
		m := textMsg(sessionType)
		m.Content = []byte(text)
		return &pbchat.SendMsgReq{MsgData: m}
	}
	return []textCase{
		{"BeforeUpdateUserInfo nickname", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeUpdateUserInfo(ctx, c, beforeConfig, &pbuser.UpdateUserInfoReq{UserInfo: &sdkws.UserInfo{UserID: userAlice, Nickname: s}})
		}, false},
		{"BeforeUpdateUserInfoEx nickname", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeUpdateUserInfoEx(ctx, c, beforeConfig, &pbuser.UpdateUserInfoExReq{UserInfo: &sdkws.UserInfoWithEx{UserID: userAlice, Nickname: wrapperspb.String(s)}})
		}, false},
		{"BeforeUserRegister nickname", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeUserRegister(ctx, c, beforeConfig, &pbuser.UserRegisterReq{Users: []*sdkws.UserInfo{{UserID: "user-dave", Nickname: s}}})
		}, false},
		{"BeforeSetFriendRemark remark", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeSetFriendRemark(ctx, c, beforeConfig, &relation.SetFriendRemarkReq{OwnerUserID: userAlice, FriendUserID: userBob, Remark: s})
		}, false},
		{"BeforeAddFriend request message", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeAddFriend(ctx, c, beforeConfig, &relation.ApplyToAddFriendReq{FromUserID: userAlice, ToUserID: userBob, ReqMsg: s})
		}, false},
		{"BeforeApplyJoinGroup request message", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeApplyJoinGroup(ctx, c, beforeConfig, &callbackstruct.CallbackJoinGroupReq{
				CallbackCommand: callbackstruct.CallbackBeforeJoinGroupCommand, GroupID: groupID, ApplyID: userCarol, ReqMessage: s,
			})
		}, false},
		{"BeforeCreateGroup name, notification, introduction", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeCreateGroup(ctx, c, beforeConfig, &group.CreateGroupReq{
				OwnerUserID: userAlice, GroupInfo: &sdkws.GroupInfo{GroupName: s, Notification: s, Introduction: s, GroupType: constant.WorkingGroup},
			})
		}, false},
		{"BeforeSetGroupInfo name, notification, introduction", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeSetGroupInfo(ctx, c, beforeConfig, &group.SetGroupInfoReq{GroupInfoForSet: &sdkws.GroupInfoForSet{
				GroupID: groupID, GroupName: s, Notification: s, Introduction: s,
			}})
		}, false},
		{"BeforeSetGroupInfoEx name, notification, introduction", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeSetGroupInfoEx(ctx, c, beforeConfig, &group.SetGroupInfoExReq{
				GroupID: groupID, GroupName: wrapperspb.String(s), Notification: wrapperspb.String(s), Introduction: wrapperspb.String(s),
			})
		}, false},
		{"BeforeSetGroupMemberInfo nickname", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeSetGroupMemberInfo(ctx, c, beforeConfig, &group.SetGroupMemberInfo{GroupID: groupID, UserID: userCarol, Nickname: wrapperspb.String(s)})
		}, false},
		{"BeforeSendSingleMsg content", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeSendSingleMsg(ctx, c, beforeConfig, msg(constant.SingleChatType, s))
		}, true},
		{"BeforeSendGroupMsg content", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeSendGroupMsg(ctx, c, beforeConfig, msg(constant.ReadGroupChatType, s))
		}, true},
		{"BeforeMsgModify content", func(ctx context.Context, c *webhook.Client, s string) error {
			return webhookBeforeMsgModify(ctx, c, beforeConfig, msg(constant.SingleChatType, s))
		}, true},
	}
}

// TestTextsReachThePolicyAsOpenIMHoldsThem posts every tricky text in every text field the
// policy checks, through OpenIM v3.8.3's webhook code and the real shim.
func TestTextsReachThePolicyAsOpenIMHoldsThem(t *testing.T) {
	bin := shimBinary(t)
	policy := startPolicy(t)
	up := newTarget(t, bin, "policy-up", policy.addr)
	h := &harness{policy: policy, up: up}
	// Message contents: the tricky texts as JSON text elements, the way a client could write
	// them (raw bytes, so invalid UTF-8 stays invalid).
	var contents []string
	for _, s := range trickyTexts {
		contents = append(contents, `{"content":"`+s+`"}`, `{"Content":"x","content":"`+s+`"}`)
	}
	for _, tc := range textCases() {
		texts := trickyTexts
		if tc.content {
			texts = contents
		}
		for i, text := range texts {
			t.Run(fmt.Sprintf("%s/%d", tc.name, i), func(t *testing.T) {
				t.Parallel()
				op := t.Name()
				policy.expect(op, script{kind: answerContinue})
				if err := openimCall(func() error { return tc.post(mcontext.NewCtx(op), up.client, text) }); err != nil {
					t.Fatalf("OpenIM's webhook call failed: %v\n%s", err, h.explain(up, op))
				}
				calls := policy.callsOf(op)
				if len(calls) != 1 {
					t.Fatalf("the policy was called %d times\n%s", len(calls), h.explain(up, op))
				}
				var got []string
				stringsOf(calls[0].request.ProtoReflect(), &got)
				want := asOpenIMWritesIt(t, text)
				if !slices.Contains(got, want) {
					t.Fatalf("the policy did not get the text %q as OpenIM writes it (%q); its strings: %q", text, want, got)
				}
				if tc.content {
					// What the receiver's client reads from the original bytes is what a Go
					// reader of the content the policy got reads.
					var fromBytes, fromPolicy struct {
						Content string `json:"content"`
					}
					errBytes := json.Unmarshal([]byte(text), &fromBytes)
					errPolicy := json.Unmarshal([]byte(want), &fromPolicy)
					if fromBytes != fromPolicy || (errBytes == nil) != (errPolicy == nil) {
						t.Fatalf("a client reads %q (%v) from the bytes sent, but %q (%v) from the content the policy got",
							fromBytes.Content, errBytes, fromPolicy.Content, errPolicy)
					}
				}
			})
		}
	}
}
