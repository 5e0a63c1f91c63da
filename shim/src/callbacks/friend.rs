//! Friend and blacklist callbacks (docs/openim-protocol.md §4.3). Quirks: the friend-agree bodies carry the
//! accepting user under `blackUserID` and capitalise `HandleResult`/`HandleMsg`; ImportFriends
//! and SetFriendRemark replies replace the list or the remark.

use policy_proto::v1 as pb;
use serde::{Deserialize, Serialize};

use super::{
    Before, DecodeError, Encoder, IntoRequest as _, Verdict, decode_body, flat_requests, is_none,
    notification, policy_requests, refuse_only,
};
use crate::openim::nullable;

policy_requests!(
    BeforeAddFriendRequest,
    AfterAddFriendRequest,
    BeforeAddFriendAgreeRequest,
    AfterAddFriendAgreeRequest,
    AfterDeleteFriendRequest,
    BeforeImportFriendsRequest,
    AfterImportFriendsRequest,
    BeforeSetFriendRemarkRequest,
    AfterSetFriendRemarkRequest,
    BeforeAddBlackRequest,
    AfterRemoveBlackRequest,
);

/// `CallbackBeforeAddFriendReq` / `CallbackAfterAddFriendReq` (the latter has no `ex`).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AddFriendBody {
    #[serde(rename = "fromUserID")]
    from_user_id: String,
    #[serde(rename = "toUserID")]
    to_user_id: String,
    #[serde(rename = "reqMsg")]
    req_msg: String,
    ex: String,
}

flat_requests!(AddFriendBody {
    from_user_id => from_user_id,
    to_user_id => to_user_id,
    req_msg => request_message,
    ex => ex,
} => BeforeAddFriendRequest);
flat_requests!(AddFriendBody {
    from_user_id => from_user_id,
    to_user_id => to_user_id,
    req_msg => request_message,
} => AfterAddFriendRequest);

/// `CallbackBeforeAddFriendAgreeReq` / `CallbackAfterAddFriendAgreeReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FriendAgreeBody {
    #[serde(rename = "fromUserID")]
    from_user_id: String,
    // OpenIM's `ToUserID` field is tagged `blackUserID`.
    #[serde(rename = "blackUserID", alias = "toUserID")]
    to_user_id: String,
    // Capitalised by OpenIM; Go matches keys case-insensitively, so accept the lower case too.
    #[serde(rename = "HandleResult", alias = "handleResult")]
    handle_result: i32,
    #[serde(rename = "HandleMsg", alias = "handleMsg")]
    handle_msg: String,
}

flat_requests!(FriendAgreeBody {
    from_user_id => from_user_id,
    to_user_id => to_user_id,
    handle_result => handle_result,
    handle_msg => handle_message,
} => BeforeAddFriendAgreeRequest, AfterAddFriendAgreeRequest);

/// `CallbackAfterDeleteFriendReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DeleteFriendBody {
    #[serde(rename = "ownerUserID")]
    owner_user_id: String,
    #[serde(rename = "friendUserID")]
    friend_user_id: String,
}

flat_requests!(DeleteFriendBody {
    owner_user_id => owner_user_id,
    friend_user_id => friend_user_id,
} => AfterDeleteFriendRequest);

/// `CallbackBeforeImportFriendsReq` / `CallbackAfterImportFriendsReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ImportFriendsBody {
    #[serde(rename = "ownerUserID")]
    owner_user_id: String,
    #[serde(rename = "friendUserIDs", deserialize_with = "nullable")]
    friend_user_ids: Vec<String>,
}

flat_requests!(ImportFriendsBody {
    owner_user_id => owner_user_id,
    friend_user_ids => friend_user_ids,
} => BeforeImportFriendsRequest, AfterImportFriendsRequest);

/// `CallbackBeforeSetFriendRemarkReq` / `CallbackAfterSetFriendRemarkReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemarkBody {
    #[serde(rename = "ownerUserID")]
    owner_user_id: String,
    #[serde(rename = "friendUserID")]
    friend_user_id: String,
    remark: String,
}

flat_requests!(RemarkBody {
    owner_user_id => owner_user_id,
    friend_user_id => friend_user_id,
    remark => remark,
} => BeforeSetFriendRemarkRequest, AfterSetFriendRemarkRequest);

/// `CallbackBeforeAddBlackReq` / `CallbackAfterRemoveBlackReq`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct BlackBody {
    #[serde(rename = "ownerUserID")]
    owner_user_id: String,
    #[serde(rename = "blackUserID")]
    black_user_id: String,
}

flat_requests!(BlackBody {
    owner_user_id => owner_user_id,
    black_user_id => black_user_id,
} => BeforeAddBlackRequest, AfterRemoveBlackRequest);

refuse_only!(BeforeAddFriend, "FriendService/BeforeAddFriend",
    AddFriendBody => BeforeAddFriendRequest, BeforeAddFriendResponse);
notification!(AfterAddFriend, "FriendService/AfterAddFriend",
    AddFriendBody => AfterAddFriendRequest);
refuse_only!(BeforeAddFriendAgree, "FriendService/BeforeAddFriendAgree",
    FriendAgreeBody => BeforeAddFriendAgreeRequest, BeforeAddFriendAgreeResponse);
notification!(AfterAddFriendAgree, "FriendService/AfterAddFriendAgree",
    FriendAgreeBody => AfterAddFriendAgreeRequest);
notification!(AfterDeleteFriend, "FriendService/AfterDeleteFriend",
    DeleteFriendBody => AfterDeleteFriendRequest);
notification!(AfterImportFriends, "FriendService/AfterImportFriends",
    ImportFriendsBody => AfterImportFriendsRequest);
notification!(AfterSetFriendRemark, "FriendService/AfterSetFriendRemark",
    RemarkBody => AfterSetFriendRemarkRequest);
refuse_only!(BeforeAddBlack, "FriendService/BeforeAddBlack",
    BlackBody => BeforeAddBlackRequest, BeforeAddBlackResponse);
notification!(AfterRemoveBlack, "FriendService/AfterRemoveBlack",
    BlackBody => AfterRemoveBlackRequest);

/// `FriendService/BeforeImportFriends`: refuse, continue, or replace the friends to import.
pub struct BeforeImportFriends;

/// `CallbackBeforeImportFriendsResp` change fields.
#[derive(Debug, Serialize)]
struct ImportChanges {
    #[serde(rename = "friendUserIDs", skip_serializing_if = "is_none")]
    friend_user_ids: Option<Vec<String>>,
}

impl Before for BeforeImportFriends {
    const RPC: &'static str = "/openim.policy.v1.FriendService/BeforeImportFriends";
    type Request = pb::BeforeImportFriendsRequest;
    type Response = pb::BeforeImportFriendsResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        Ok((decode_body::<ImportFriendsBody>(body)?.into_request(), ()))
    }

    fn encode(r: pb::BeforeImportFriendsResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        // OpenIM ignores an empty list: writing one would change nothing.
        Verdict::changes(&ImportChanges {
            friend_user_ids: r
                .friend_user_ids
                .map(|l| l.values)
                .filter(|ids| !ids.is_empty()),
        })
    }
}

/// `FriendService/BeforeSetFriendRemark`: refuse, continue, or change the remark.
pub struct BeforeSetFriendRemark;

/// `CallbackBeforeSetFriendRemarkResp` change fields.
#[derive(Debug, Serialize)]
struct RemarkChanges {
    #[serde(skip_serializing_if = "is_none")]
    remark: Option<String>,
}

impl Before for BeforeSetFriendRemark {
    const RPC: &'static str = "/openim.policy.v1.FriendService/BeforeSetFriendRemark";
    type Request = pb::BeforeSetFriendRemarkRequest;
    type Response = pb::BeforeSetFriendRemarkResponse;
    type Keep = ();

    fn decode(body: &[u8]) -> Result<(Self::Request, ()), DecodeError> {
        Ok((decode_body::<RemarkBody>(body)?.into_request(), ()))
    }

    fn encode(r: pb::BeforeSetFriendRemarkResponse, (): (), enc: &mut Encoder) -> Verdict {
        if let Some(refuse) = &r.refuse {
            return enc.refusal(refuse);
        }
        // OpenIM applies the remark only when non-empty.
        Verdict::changes(&RemarkChanges {
            remark: r.remark.filter(|remark| !remark.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{
        Outcome,
        testing::{decode_after, decode_before, encode},
    };

    #[test]
    fn add_friend_bodies_decode_with_go_s_html_escapes_undone() {
        let (req, ()) = decode_before::<BeforeAddFriend>("callbackBeforeAddFriendCommand.json");
        assert_eq!(req.from_user_id, "7190283365");
        assert_eq!(req.to_user_id, "4826475913");
        assert_eq!(req.request_message, "Hi Alice, it's Bob & co");
        let after = decode_after::<AfterAddFriend>("callbackAfterAddFriendCommand.json");
        assert_eq!(after.request_message, "Hi Alice, it's Bob & co");
    }

    #[test]
    fn friend_agree_reads_the_accepting_user_from_black_user_id() {
        let (req, ()) =
            decode_before::<BeforeAddFriendAgree>("callbackBeforeAddFriendAgreeCommand.json");
        assert_eq!(req.to_user_id, "4826475913");
        assert_eq!(req.handle_result, 1);
        assert_eq!(req.handle_message, "welcome");
        let after = decode_after::<AfterAddFriendAgree>("callbackAfterAddFriendAgreeCommand.json");
        assert_eq!(after.to_user_id, "4826475913");
        // Go decodes keys case-insensitively; so does the shim for these odd ones.
        let (req, ()) = BeforeAddFriendAgree::decode(
            br#"{"fromUserID":"1","toUserID":"2","handleResult":1,"handleMsg":"ok"}"#,
        )
        .unwrap();
        assert_eq!((req.to_user_id.as_str(), req.handle_result), ("2", 1));
    }

    #[test]
    fn the_other_friend_bodies_decode() {
        let del = decode_after::<AfterDeleteFriend>("callbackAfterDeleteFriendCommand.json");
        assert_eq!(
            (del.owner_user_id.as_str(), del.friend_user_id.as_str()),
            ("4826475913", "7190283365")
        );
        let (imp, ()) =
            decode_before::<BeforeImportFriends>("callbackBeforeImportFriendsCommand.json");
        assert_eq!(imp.friend_user_ids, ["7190283365", "3051829476"]);
        let imp = decode_after::<AfterImportFriends>("callbackAfterImportFriendsCommand.json");
        assert_eq!(imp.friend_user_ids.len(), 2);
        let (rem, ()) =
            decode_before::<BeforeSetFriendRemark>("callbackBeforeSetFriendRemarkCommand.json");
        assert_eq!(rem.remark, "Bobby");
        let rem = decode_after::<AfterSetFriendRemark>("callbackAfterSetFriendRemarkCommand.json");
        assert_eq!(rem.friend_user_id, "7190283365");
        let (black, ()) = decode_before::<BeforeAddBlack>("callbackBeforeAddBlackCommand.json");
        assert_eq!(black.black_user_id, "3051829476");
        let black = decode_after::<AfterRemoveBlack>("callbackAfterRemoveBlackCommand.json");
        assert_eq!(black.owner_user_id, "4826475913");
    }

    /// ImportFriends replaces the whole list; an empty list would be ignored by OpenIM.
    #[test]
    fn an_import_reply_replaces_the_whole_list() {
        let resp = pb::BeforeImportFriendsResponse {
            refuse: None,
            friend_user_ids: Some(pb::StringList {
                values: vec!["7190283365".into()],
            }),
        };
        let e = encode::<BeforeImportFriends>(resp, ());
        assert_eq!(
            e.changes()["friendUserIDs"],
            serde_json::json!(["7190283365"])
        );
        let empty = pb::BeforeImportFriendsResponse {
            refuse: None,
            friend_user_ids: Some(pb::StringList::default()),
        };
        assert_eq!(
            encode::<BeforeImportFriends>(empty, ()).outcome,
            Outcome::Continue
        );
    }

    #[test]
    fn a_remark_reply_sets_a_non_empty_remark_only() {
        let set = pb::BeforeSetFriendRemarkResponse {
            refuse: None,
            remark: Some("Bob".into()),
        };
        assert_eq!(
            encode::<BeforeSetFriendRemark>(set, ()).changes()["remark"],
            "Bob"
        );
        let clear = pb::BeforeSetFriendRemarkResponse {
            refuse: None,
            remark: Some(String::new()),
        };
        assert_eq!(
            encode::<BeforeSetFriendRemark>(clear, ()).outcome,
            Outcome::Continue
        );
    }
}
