// Code copied from open-im-server v3.8.3 (github.com/openimsdk/open-im-server/v3@v3.8.3),
// internal/rpc/relation/callback.go, Apache License 2.0, Copyright © 2023 OpenIM.
//
// OpenIM's internal/ packages cannot be imported, so the webhook functions are copied here as
// they are, each made a free function taking the webhook client as a parameter instead of
// the server's webhookClient field. Everything they call (callbackstruct, config, webhook,
// datautil, the protocol types) is OpenIM's own code, imported at the versions v3.8.3 pins.

package openimgo

import (
	"context"

	"github.com/openimsdk/open-im-server/v3/pkg/common/webhook"

	cbapi "github.com/openimsdk/open-im-server/v3/pkg/callbackstruct"
	"github.com/openimsdk/open-im-server/v3/pkg/common/config"
	"github.com/openimsdk/protocol/relation"
)

// webhookBeforeAddFriend: copied from open-im-server v3.8.3, internal/rpc/relation/callback.go, webhookBeforeAddFriend.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeAddFriend(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *relation.ApplyToAddFriendReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeAddFriendReq{
			CallbackCommand: cbapi.CallbackBeforeAddFriendCommand,
			FromUserID:      req.FromUserID,
			ToUserID:        req.ToUserID,
			ReqMsg:          req.ReqMsg,
			Ex:              req.Ex,
		}
		resp := &cbapi.CallbackBeforeAddFriendResp{}

		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}
		return nil
	})
}

// webhookBeforeSetFriendRemark: copied from open-im-server v3.8.3, internal/rpc/relation/callback.go, webhookBeforeSetFriendRemark.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeSetFriendRemark(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *relation.SetFriendRemarkReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeSetFriendRemarkReq{
			CallbackCommand: cbapi.CallbackBeforeSetFriendRemarkCommand,
			OwnerUserID:     req.OwnerUserID,
			FriendUserID:    req.FriendUserID,
			Remark:          req.Remark,
		}
		resp := &cbapi.CallbackBeforeSetFriendRemarkResp{}
		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}
		if resp.Remark != "" {
			req.Remark = resp.Remark
		}
		return nil
	})
}

// webhookBeforeAddBlack: copied from open-im-server v3.8.3, internal/rpc/relation/callback.go, webhookBeforeAddBlack.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeAddBlack(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *relation.AddBlackReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeAddBlackReq{
			CallbackCommand: cbapi.CallbackBeforeAddBlackCommand,
			OwnerUserID:     req.OwnerUserID,
			BlackUserID:     req.BlackUserID,
		}
		resp := &cbapi.CallbackBeforeAddBlackResp{}
		return client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before)
	})
}

// webhookBeforeAddFriendAgree: copied from open-im-server v3.8.3, internal/rpc/relation/callback.go, webhookBeforeAddFriendAgree.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeAddFriendAgree(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *relation.RespondFriendApplyReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeAddFriendAgreeReq{
			CallbackCommand: cbapi.CallbackBeforeAddFriendAgreeCommand,
			FromUserID:      req.FromUserID,
			ToUserID:        req.ToUserID,
			HandleMsg:       req.HandleMsg,
			HandleResult:    req.HandleResult,
		}
		resp := &cbapi.CallbackBeforeAddFriendAgreeResp{}
		return client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before)
	})
}

// webhookBeforeImportFriends: copied from open-im-server v3.8.3, internal/rpc/relation/callback.go, webhookBeforeImportFriends.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeImportFriends(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *relation.ImportFriendReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeImportFriendsReq{
			CallbackCommand: cbapi.CallbackBeforeImportFriendsCommand,
			OwnerUserID:     req.OwnerUserID,
			FriendUserIDs:   req.FriendUserIDs,
		}
		resp := &cbapi.CallbackBeforeImportFriendsResp{}
		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}
		if len(resp.FriendUserIDs) > 0 {
			req.FriendUserIDs = resp.FriendUserIDs
		}
		return nil
	})
}
