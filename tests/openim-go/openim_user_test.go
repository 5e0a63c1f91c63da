// Code copied from open-im-server v3.8.3 (github.com/openimsdk/open-im-server/v3@v3.8.3),
// internal/rpc/user/callback.go, Apache License 2.0, Copyright © 2023 OpenIM.
//
// OpenIM's internal/ packages cannot be imported, so the webhook functions are copied here as
// they are, each made a free function taking the webhook client as a parameter instead of
// the server's webhookClient field. Everything they call (callbackstruct, config, webhook,
// datautil, the protocol types) is OpenIM's own code, imported at the versions v3.8.3 pins.

package openimgo

import (
	"context"

	"github.com/openimsdk/open-im-server/v3/pkg/common/webhook"
	"github.com/openimsdk/tools/utils/datautil"

	cbapi "github.com/openimsdk/open-im-server/v3/pkg/callbackstruct"
	"github.com/openimsdk/open-im-server/v3/pkg/common/config"
	pbuser "github.com/openimsdk/protocol/user"
)

// webhookBeforeUpdateUserInfo: copied from open-im-server v3.8.3, internal/rpc/user/callback.go, webhookBeforeUpdateUserInfo.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeUpdateUserInfo(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *pbuser.UpdateUserInfoReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeUpdateUserInfoReq{
			CallbackCommand: cbapi.CallbackBeforeUpdateUserInfoCommand,
			UserID:          req.UserInfo.UserID,
			FaceURL:         &req.UserInfo.FaceURL,
			Nickname:        &req.UserInfo.Nickname,
		}
		resp := &cbapi.CallbackBeforeUpdateUserInfoResp{}
		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}

		datautil.NotNilReplace(&req.UserInfo.FaceURL, resp.FaceURL)
		datautil.NotNilReplace(&req.UserInfo.Ex, resp.Ex)
		datautil.NotNilReplace(&req.UserInfo.Nickname, resp.Nickname)
		return nil
	})
}

// webhookBeforeUpdateUserInfoEx: copied from open-im-server v3.8.3, internal/rpc/user/callback.go, webhookBeforeUpdateUserInfoEx.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeUpdateUserInfoEx(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *pbuser.UpdateUserInfoExReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeUpdateUserInfoExReq{
			CallbackCommand: cbapi.CallbackBeforeUpdateUserInfoExCommand,
			UserID:          req.UserInfo.UserID,
			FaceURL:         req.UserInfo.FaceURL,
			Nickname:        req.UserInfo.Nickname,
		}
		resp := &cbapi.CallbackBeforeUpdateUserInfoExResp{}
		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}

		datautil.NotNilReplace(req.UserInfo.FaceURL, resp.FaceURL)
		datautil.NotNilReplace(req.UserInfo.Ex, resp.Ex)
		datautil.NotNilReplace(req.UserInfo.Nickname, resp.Nickname)
		return nil
	})
}

// webhookBeforeUserRegister: copied from open-im-server v3.8.3, internal/rpc/user/callback.go, webhookBeforeUserRegister.
// Body verbatim; the receiver's webhookClient is the client parameter.
func webhookBeforeUserRegister(ctx context.Context, client *webhook.Client, before *config.BeforeConfig, req *pbuser.UserRegisterReq) error {
	return webhook.WithCondition(ctx, before, func(ctx context.Context) error {
		cbReq := &cbapi.CallbackBeforeUserRegisterReq{
			CallbackCommand: cbapi.CallbackBeforeUserRegisterCommand,
			Users:           req.Users,
		}

		resp := &cbapi.CallbackBeforeUserRegisterResp{}

		if err := client.SyncPost(ctx, cbReq.GetCallbackCommand(), cbReq, resp, before); err != nil {
			return err
		}

		if len(resp.Users) != 0 {
			req.Users = resp.Users
		}
		return nil
	})
}
