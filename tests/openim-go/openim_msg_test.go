// Code copied from open-im-server v3.8.3 (github.com/openimsdk/open-im-server/v3@v3.8.3),
// internal/rpc/msg/callback.go, Apache License 2.0, Copyright © 2023 OpenIM.
//
// OpenIM's internal/ packages cannot be imported, so the webhook functions are copied here as
// they are, each made a free function taking the webhook client as a parameter instead of
// the server's webhookClient field. Everything they call (callbackstruct, config, webhook,
// datautil, the protocol types) is OpenIM's own code, imported at the versions v3.8.3 pins.

package openimgo

import (
	"context"
	"strconv"
	"strings"

	"github.com/openimsdk/open-im-server/v3/pkg/common/webhook"

	cbapi "github.com/openimsdk/open-im-server/v3/pkg/callbackstruct"
	"github.com/openimsdk/open-im-server/v3/pkg/common/config"
	"github.com/openimsdk/protocol/constant"
	pbchat "github.com/openimsdk/protocol/msg"
	"github.com/openimsdk/protocol/sdkws"
	"github.com/openimsdk/tools/mcontext"
	"github.com/openimsdk/tools/utils/datautil"
	"google.golang.org/protobuf/proto"
)

// toCommonCallback: copied from open-im-server v3.8.3, internal/rpc/msg/callback.go, toCommonCallback.
// Verbatim.
func toCommonCallback(ctx context.Context, msg *pbchat.SendMsgReq, command string) cbapi.CommonCallbackReq {
	return cbapi.CommonCallbackReq{
		SendID:           msg.MsgData.SendID,
		ServerMsgID:      msg.MsgData.ServerMsgID,
		CallbackCommand:  command,
		ClientMsgID:      msg.MsgData.ClientMsgID,
		OperationID:      mcontext.GetOperationID(ctx),
		SenderPlatformID: msg.MsgData.SenderPlatformID,
		SenderNickname:   msg.MsgData.SenderNickname,
		SessionType:      msg.MsgData.SessionType,
		MsgFrom:          msg.MsgData.MsgFrom,
		ContentType:      msg.MsgData.ContentType,
		Status:           msg.MsgData.Status,
		SendTime:         msg.MsgData.SendTime,
		CreateTime:       msg.MsgData.CreateTime,
		AtUserIDList:     msg.MsgData.AtUserIDList,
		SenderFaceURL:    msg.MsgData.SenderFaceURL,
		Content:          GetContent(msg.MsgData),
		Seq:              uint32(msg.MsgData.Seq),
		Ex:               msg.MsgData.Ex,
	}
}

// GetContent: copied from open-im-server v3.8.3, internal/rpc/msg/callback.go, GetContent.
// Verbatim.
func GetContent(msg *sdkws.MsgData) string {
	if msg.ContentType >= constant.NotificationBegin && msg.ContentType <= constant.NotificationEnd {
		var tips sdkws.TipsComm
		_ = proto.Unmarshal(msg.Content, &tips)
		content := tips.JsonDetail
		return content
	} else {
		return string(msg.Content)
	}
}

// webhookBeforeSendSingleMsg: copied from open-im-server v3.8.3, internal/rpc/msg/callback.go, webhookBeforeSendSingleMsg.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeSendSingleMsg(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, msg *pbchat.SendMsgReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		if msg.MsgData.ContentType == constant.Typing {
			return nil
		}
		if !filterBeforeMsg(msg, before) {
			return nil
		}
		cbReq := &cbapi.CallbackBeforeSendSingleMsgReq{
			CommonCallbackReq: toCommonCallback(ctx, msg, cbapi.CallbackBeforeSendSingleMsgCommand),
			RecvID:            msg.MsgData.RecvID,
		}
		resp := &cbapi.CallbackBeforeSendSingleMsgResp{}
		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}

		return nil
	})
}

// webhookBeforeSendGroupMsg: copied from open-im-server v3.8.3, internal/rpc/msg/callback.go, webhookBeforeSendGroupMsg.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeSendGroupMsg(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, msg *pbchat.SendMsgReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		if !filterBeforeMsg(msg, before) {
			return nil
		}
		if msg.MsgData.ContentType == constant.Typing {
			return nil
		}
		cbReq := &cbapi.CallbackBeforeSendGroupMsgReq{
			CommonCallbackReq: toCommonCallback(ctx, msg, cbapi.CallbackBeforeSendGroupMsgCommand),
			GroupID:           msg.MsgData.GroupID,
		}
		resp := &cbapi.CallbackBeforeSendGroupMsgResp{}
		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}
		return nil
	})
}

// webhookBeforeMsgModify: copied from open-im-server v3.8.3, internal/rpc/msg/callback.go, webhookBeforeMsgModify.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeMsgModify(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, msg *pbchat.SendMsgReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		if msg.MsgData.ContentType != constant.Text {
			return nil
		}
		if !filterBeforeMsg(msg, before) {
			return nil
		}
		cbReq := &cbapi.CallbackMsgModifyCommandReq{
			CommonCallbackReq: toCommonCallback(ctx, msg, cbapi.CallbackBeforeMsgModifyCommand),
		}
		resp := &cbapi.CallbackMsgModifyCommandResp{}
		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}

		if resp.Content != nil {
			msg.MsgData.Content = []byte(*resp.Content)
		}
		datautil.NotNilReplace(msg.MsgData.OfflinePushInfo, resp.OfflinePushInfo)
		datautil.NotNilReplace(&msg.MsgData.RecvID, resp.RecvID)
		datautil.NotNilReplace(&msg.MsgData.GroupID, resp.GroupID)
		datautil.NotNilReplace(&msg.MsgData.ClientMsgID, resp.ClientMsgID)
		datautil.NotNilReplace(&msg.MsgData.ServerMsgID, resp.ServerMsgID)
		datautil.NotNilReplace(&msg.MsgData.SenderPlatformID, resp.SenderPlatformID)
		datautil.NotNilReplace(&msg.MsgData.SenderNickname, resp.SenderNickname)
		datautil.NotNilReplace(&msg.MsgData.SenderFaceURL, resp.SenderFaceURL)
		datautil.NotNilReplace(&msg.MsgData.SessionType, resp.SessionType)
		datautil.NotNilReplace(&msg.MsgData.MsgFrom, resp.MsgFrom)
		datautil.NotNilReplace(&msg.MsgData.ContentType, resp.ContentType)
		datautil.NotNilReplace(&msg.MsgData.Status, resp.Status)
		datautil.NotNilReplace(&msg.MsgData.Options, resp.Options)
		datautil.NotNilReplace(&msg.MsgData.AtUserIDList, resp.AtUserIDList)
		datautil.NotNilReplace(&msg.MsgData.AttachedInfo, resp.AttachedInfo)
		datautil.NotNilReplace(&msg.MsgData.Ex, resp.Ex)
		return nil
	})
}

// ---- From internal/rpc/msg/filter.go (open-im-server v3.8.3), used by the functions above. ----

// separator: copied from open-im-server v3.8.3, internal/rpc/msg/filter.go.
const (
	separator = "-"
)

// filterBeforeMsg: copied from open-im-server v3.8.3, internal/rpc/msg/filter.go, filterBeforeMsg.
// Verbatim.
func filterBeforeMsg(msg *pbchat.SendMsgReq, before *config.BeforeConfig) bool {
	return filterMsg(msg, nil, before.AllowedTypes, before.DeniedTypes)
}

// filterMsg: copied from open-im-server v3.8.3, internal/rpc/msg/filter.go, filterMsg.
// Verbatim.
func filterMsg(msg *pbchat.SendMsgReq, attentionIds, allowedTypes, deniedTypes []string) bool {
	// According to the attentionIds configuration, only some users are sent
	if len(attentionIds) != 0 && !datautil.Contains([]string{msg.MsgData.SendID, msg.MsgData.RecvID}, attentionIds...) {
		return false
	}
	if len(allowedTypes) != 0 && !isInInterval(msg.MsgData.ContentType, allowedTypes) {
		return false
	}
	if len(deniedTypes) != 0 && isInInterval(msg.MsgData.ContentType, deniedTypes) {
		return false
	}
	return true
}

// isInInterval: copied from open-im-server v3.8.3, internal/rpc/msg/filter.go, isInInterval.
// Verbatim.
func isInInterval(contentType int32, interval []string) bool {
	for _, v := range interval {
		if strings.Contains(v, separator) {
			// is interval
			bounds := strings.Split(v, separator)
			if len(bounds) != 2 {
				continue
			}
			bottom, err := strconv.Atoi(bounds[0])
			if err != nil {
				continue
			}
			top, err := strconv.Atoi(bounds[1])
			if err != nil {
				continue
			}
			if datautil.BetweenEq(int(contentType), bottom, top) {
				return true
			}
		} else {
			iv, err := strconv.Atoi(v)
			if err != nil {
				continue
			}
			if int(contentType) == iv {
				return true
			}
		}
	}
	return false
}
