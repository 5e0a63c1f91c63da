// Code copied from open-im-server v3.8.3 (github.com/openimsdk/open-im-server/v3@v3.8.3),
// internal/push/callback.go, Apache License 2.0, Copyright © 2023 OpenIM.
//
// OpenIM's internal/ packages cannot be imported, so the webhook functions are copied here as
// they are, each made a free function taking the webhook client as a parameter instead of
// the server's webhookClient field. Everything they call (callbackstruct, config, webhook,
// datautil, the protocol types) is OpenIM's own code, imported at the versions v3.8.3 pins.

package openimgo

import (
	"context"
	"encoding/json"

	"github.com/openimsdk/open-im-server/v3/pkg/common/webhook"

	"github.com/openimsdk/open-im-server/v3/pkg/callbackstruct"
	"github.com/openimsdk/open-im-server/v3/pkg/common/config"
	"github.com/openimsdk/protocol/constant"
	"github.com/openimsdk/protocol/sdkws"
	"github.com/openimsdk/tools/mcontext"
)

// webhookBeforeOfflinePush: copied from open-im-server v3.8.3, internal/push/callback.go, webhookBeforeOfflinePush.
// Body verbatim but for GetContent, called pushGetContent here (see there); the receiver's
// webhookClient is the client parameter.
func webhookBeforeOfflinePush(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, userIDs []string, msg *sdkws.MsgData, offlinePushUserIDs *[]string) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		if msg.ContentType == constant.Typing {
			return nil
		}
		req := &callbackstruct.CallbackBeforePushReq{
			UserStatusBatchCallbackReq: callbackstruct.UserStatusBatchCallbackReq{
				UserStatusBaseCallback: callbackstruct.UserStatusBaseCallback{
					CallbackCommand: callbackstruct.CallbackBeforeOfflinePushCommand,
					OperationID:     mcontext.GetOperationID(ctx),
					PlatformID:      int(msg.SenderPlatformID),
					Platform:        constant.PlatformIDToName(int(msg.SenderPlatformID)),
				},
				UserIDList: userIDs,
			},
			OfflinePushInfo: msg.OfflinePushInfo,
			ClientMsgID:     msg.ClientMsgID,
			SendID:          msg.SendID,
			GroupID:         msg.GroupID,
			ContentType:     msg.ContentType,
			SessionType:     msg.SessionType,
			AtUserIDs:       msg.AtUserIDList,
			Content:         pushGetContent(msg),
		}

		resp := &callbackstruct.CallbackBeforePushResp{}

		if err := client.SyncPost(ctx, req.GetCallbackCommand(), req, resp, before); err != nil {
			return err
		}

		if len(resp.UserIDs) != 0 {
			*offlinePushUserIDs = resp.UserIDs
		}
		if resp.OfflinePushInfo != nil {
			msg.OfflinePushInfo = resp.OfflinePushInfo
		}
		return nil
	})
}

// webhookBeforeOnlinePush: copied from open-im-server v3.8.3, internal/push/callback.go, webhookBeforeOnlinePush.
// Body verbatim but for GetContent, called pushGetContent here (see there); the receiver's
// webhookClient is the client parameter.
func webhookBeforeOnlinePush(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, userIDs []string, msg *sdkws.MsgData) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		if msg.ContentType == constant.Typing {
			return nil
		}
		req := callbackstruct.CallbackBeforePushReq{
			UserStatusBatchCallbackReq: callbackstruct.UserStatusBatchCallbackReq{
				UserStatusBaseCallback: callbackstruct.UserStatusBaseCallback{
					CallbackCommand: callbackstruct.CallbackBeforeOnlinePushCommand,
					OperationID:     mcontext.GetOperationID(ctx),
					PlatformID:      int(msg.SenderPlatformID),
					Platform:        constant.PlatformIDToName(int(msg.SenderPlatformID)),
				},
				UserIDList: userIDs,
			},
			ClientMsgID: msg.ClientMsgID,
			SendID:      msg.SendID,
			GroupID:     msg.GroupID,
			ContentType: msg.ContentType,
			SessionType: msg.SessionType,
			AtUserIDs:   msg.AtUserIDList,
			Content:     pushGetContent(msg),
		}
		resp := &callbackstruct.CallbackBeforePushResp{}
		if err := client.SyncPost(ctx, req.GetCallbackCommand(), req, resp, before); err != nil {
			return err
		}
		return nil
	})
}

// webhookBeforeGroupOnlinePush: copied from open-im-server v3.8.3, internal/push/callback.go, webhookBeforeGroupOnlinePush.
// Body verbatim but for GetContent, called pushGetContent here (see there); the receiver's
// webhookClient is the client parameter.
func webhookBeforeGroupOnlinePush(ctx context.Context, client *webhook.Client,
	before *config.BeforeConfig,
	groupID string,
	msg *sdkws.MsgData,
	pushToUserIDs *[]string,
) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		if msg.ContentType == constant.Typing {
			return nil
		}
		req := callbackstruct.CallbackBeforeSuperGroupOnlinePushReq{
			UserStatusBaseCallback: callbackstruct.UserStatusBaseCallback{
				CallbackCommand: callbackstruct.CallbackBeforeGroupOnlinePushCommand,
				OperationID:     mcontext.GetOperationID(ctx),
				PlatformID:      int(msg.SenderPlatformID),
				Platform:        constant.PlatformIDToName(int(msg.SenderPlatformID)),
			},
			ClientMsgID: msg.ClientMsgID,
			SendID:      msg.SendID,
			GroupID:     groupID,
			ContentType: msg.ContentType,
			SessionType: msg.SessionType,
			AtUserIDs:   msg.AtUserIDList,
			Content:     pushGetContent(msg),
			Seq:         msg.Seq,
		}
		resp := &callbackstruct.CallbackBeforeSuperGroupOnlinePushResp{}
		if err := client.SyncPost(ctx, req.GetCallbackCommand(), req, resp, before); err != nil {
			return err
		}
		if len(resp.UserIDs) != 0 {
			*pushToUserIDs = resp.UserIDs
		}
		return nil
	})
}

// pushGetContent: copied from open-im-server v3.8.3, internal/push/callback.go, GetContent.
// Renamed from GetContent: internal/rpc/msg has a GetContent of its own (in openim_msg_test.go)
// and both live in this one Go package here. The push functions above call it by this name.
// Verbatim.
func pushGetContent(msg *sdkws.MsgData) string {
	if msg.ContentType >= constant.NotificationBegin && msg.ContentType <= constant.NotificationEnd {
		var notification sdkws.NotificationElem
		if err := json.Unmarshal(msg.Content, &notification); err != nil {
			return ""
		}
		return notification.Detail
	} else {
		return string(msg.Content)
	}
}
