//! What the fuzz targets share: every callback's decoding and reply encoding behind one table,
//! and a checker of replies against OpenIM's reply structs (the Rust side of `tests/go-decoder`:
//! the keys OpenIM's structs have, Go's types for them, and the portable refusal formula).

use std::collections::HashSet;

use openim_shim::callbacks::{
    After, Before, Encoder, PolicyRequest, conversation as conv, friend, group, message, push,
    receipt, user,
};
use prost::Message as _;
use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// Go's type of a reply key.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// `string` or `*string`.
    Str,
    /// `int32` or `*int32`.
    I32,
    /// `int64` or `*int64`.
    I64,
    /// `bool` or `*bool`.
    Bool,
    /// `[]string`.
    StrList,
    /// `map[string]bool`.
    BoolMap,
    /// `[]byte` (a base64 string or an array of bytes).
    Bytes,
    /// A struct.
    Obj(&'static [(&'static str, Ty)]),
    /// `[]*struct`.
    ObjList(&'static [(&'static str, Ty)]),
}

use Ty::*;

const COMMON: &[(&str, Ty)] = &[
    ("actionCode", I32),
    ("errCode", I32),
    ("errMsg", Str),
    ("errDlt", Str),
    ("nextCode", I32),
];

const PUSH_INFO: &[(&str, Ty)] = &[
    ("title", Str),
    ("desc", Str),
    ("ex", Str),
    ("iOSPushSound", Str),
    ("iOSBadgeCount", Bool),
    ("signalInfo", Str),
];

const MSG_MODIFY: &[(&str, Ty)] = &[
    ("content", Str),
    ("recvID", Str),
    ("groupID", Str),
    ("clientMsgID", Str),
    ("serverMsgID", Str),
    ("senderPlatformID", I32),
    ("senderNickname", Str),
    ("senderFaceURL", Str),
    ("sessionType", I32),
    ("msgFrom", I32),
    ("contentType", I32),
    ("status", I32),
    ("options", BoolMap),
    ("offlinePushInfo", Obj(PUSH_INFO)),
    ("atUserIDList", StrList),
    ("msgDataList", Bytes),
    ("attachedInfo", Str),
    ("ex", Str),
];

const PUSH: &[(&str, Ty)] = &[("userIDList", StrList), ("offlinePushInfo", Obj(PUSH_INFO))];

const USER_INFO: &[(&str, Ty)] = &[
    ("userID", Str),
    ("nickname", Str),
    ("faceURL", Str),
    ("ex", Str),
    ("createTime", I64),
    ("appMangerLevel", I32),
    ("globalRecvMsgOpt", I32),
];

const USER_REGISTER: &[(&str, Ty)] = &[("users", ObjList(USER_INFO))];

const UPDATE_USER: &[(&str, Ty)] = &[("nickName", Str), ("faceURL", Str), ("ex", Str)];

const IMPORT_FRIENDS: &[(&str, Ty)] = &[("friendUserIDs", StrList)];

const FRIEND_REMARK: &[(&str, Ty)] = &[("remark", Str)];

const CREATE_GROUP: &[(&str, Ty)] = &[
    ("groupID", Str),
    ("groupName", Str),
    ("notification", Str),
    ("introduction", Str),
    ("faceURL", Str),
    ("ownerUserID", Str),
    ("ex", Str),
    ("status", I32),
    ("creatorUserID", Str),
    ("groupType", I32),
    ("needVerification", I32),
    ("lookMemberInfo", I32),
    ("applyMemberFriend", I32),
];

const MEMBER_JOIN: &[(&str, Ty)] = &[
    ("userID", Str),
    ("nickname", Str),
    ("faceURL", Str),
    ("roleLevel", I32),
    ("muteEndTime", I64),
    ("ex", Str),
];

const MEMBERS_JOIN: &[(&str, Ty)] = &[("memberCallbackList", ObjList(MEMBER_JOIN))];

/// The one-member reply of v3.7 and before: no user ID.
const MEMBER_JOIN_ONE: &[(&str, Ty)] = &[
    ("nickname", Str),
    ("faceURL", Str),
    ("roleLevel", I32),
    ("muteEndTime", I64),
    ("ex", Str),
];

const MEMBER_INFO: &[(&str, Ty)] = &[
    ("ex", Str),
    ("nickName", Str),
    ("faceURL", Str),
    ("roleLevel", I32),
];

const GROUP_INFO: &[(&str, Ty)] = &[
    ("groupID", Str),
    ("groupName", Str),
    ("notification", Str),
    ("introduction", Str),
    ("faceURL", Str),
    ("ex", Str),
    ("needVerification", I32),
    ("lookMemberInfo", I32),
    ("applyMemberFriend", I32),
];

const INVITE: &[(&str, Ty)] = &[("refusedMembersAccount", StrList)];

/// Both spellings OpenIM's conversation replies have had (camelCase on main, snake_case before
/// 2025-10-31); one reply uses one of them.
const CONVERSATIONS: &[(&str, Ty)] = &[
    ("recvMsgOpt", I32),
    ("isPinned", Bool),
    ("isPrivateChat", Bool),
    ("burnDuration", I32),
    ("groupAtType", I32),
    ("attachedInfo", Str),
    ("ex", Str),
    ("recv_msg_opt", I32),
    ("is_pinned", Bool),
    ("is_private_chat", Bool),
    ("burn_duration", I32),
    ("group_at_type", I32),
    ("attached_info", Str),
];

/// The top-level keys of a JSON object, duplicates included (serde_json's `Value` would merge
/// them).
fn top_level_keys(body: &[u8]) -> Result<Vec<String>, String> {
    struct Keys;
    impl<'de> Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some((k, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                keys.push(k);
            }
            Ok(keys)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let keys = de.deserialize_map(Keys).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(keys)
}

fn check_value(path: &str, v: &Value, ty: Ty) -> Result<(), String> {
    let bad = || Err(format!("{path}: {v} is not Go's {ty:?}"));
    if v.is_null() {
        // Go leaves the field as it is.
        return Ok(());
    }
    let int_in = |lo: i64, hi: i64| v.as_i64().is_some_and(|n| (lo..=hi).contains(&n));
    let ok = match ty {
        Str => v.is_string(),
        I32 => int_in(i32::MIN.into(), i32::MAX.into()),
        I64 => v.is_i64(),
        Bool => v.is_boolean(),
        StrList => v
            .as_array()
            .is_some_and(|a| a.iter().all(|s| s.is_string() || s.is_null())),
        BoolMap => v
            .as_object()
            .is_some_and(|m| m.values().all(|b| b.is_boolean() || b.is_null())),
        Bytes => {
            v.is_string()
                || v.as_array()
                    .is_some_and(|a| a.iter().all(|b| b.as_u64().is_some_and(|n| n < 256)))
        }
        Obj(fields) => {
            let Some(m) = v.as_object() else { return bad() };
            for (k, x) in m {
                let Some((_, t)) = fields.iter().find(|(n, _)| n == k) else {
                    return Err(format!("{path}: unknown key {k:?}"));
                };
                check_value(&format!("{path}.{k}"), x, *t)?;
            }
            true
        }
        ObjList(fields) => {
            let Some(a) = v.as_array() else { return bad() };
            for (i, x) in a.iter().enumerate() {
                check_value(&format!("{path}[{i}]"), x, Obj(fields))?;
            }
            true
        }
    };
    if ok { Ok(()) } else { bad() }
}

/// Whether `s` is a JSON object for OpenIM main (`content must be a JSON object`).
fn is_json_object(s: &str) -> bool {
    s.trim_start().starts_with('{') && serde_json::from_str::<IgnoredAny>(s).is_ok()
}

/// Checks a reply to OpenIM: one JSON object, every key once and one OpenIM's reply struct
/// `fields` (plus the common ones) has, each of Go's type, and a refusal or continue that reads
/// the same on every server version (`actionCode` 0; `nextCode` 1 with a positive `errCode`,
/// or `nextCode` 0 with `errCode` 0).
pub fn check_reply(
    fields: &'static [(&'static str, Ty)],
    msg_modify: bool,
    body: &[u8],
) -> Result<(), String> {
    let keys = top_level_keys(body)?;
    let mut seen = HashSet::new();
    for k in &keys {
        if !seen.insert(k) {
            return Err(format!("duplicate key {k:?}"));
        }
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let m = v.as_object().ok_or("not an object")?;
    for (k, x) in m {
        let Some((_, t)) = COMMON.iter().chain(fields).find(|(n, _)| n == k) else {
            return Err(format!("unknown key {k:?}"));
        };
        check_value(k, x, *t)?;
    }
    for (k, _) in COMMON {
        if !m.contains_key(*k) {
            return Err(format!("no {k}"));
        }
    }
    let int = |k: &str| m[k].as_i64().unwrap_or(-1);
    if int("actionCode") != 0 {
        return Err("actionCode is not 0".into());
    }
    match int("nextCode") {
        1 if int("errCode") > 0 => {}
        0 if int("errCode") == 0 => {}
        _ => return Err(format!("neither a refusal nor a continue: {v}")),
    }
    if int("nextCode") == 1 && m.len() != COMMON.len() {
        return Err("a refusal carries changes".into());
    }
    if msg_modify {
        if m.contains_key("offlinePushInfo") {
            return Err("offlinePushInfo in a msg-modify reply".into());
        }
        if let Some(Value::String(c)) = m.get("content")
            && !is_json_object(c)
        {
            return Err(format!("content is not a JSON object: {c:?}"));
        }
    }
    Ok(())
}

/// Runs one callback on a body and a policy response.
pub type Run = fn(body: &[u8], response: &[u8]) -> Result<(), String>;

/// A callback: its RPC path and how to run it.
pub struct Handler {
    /// gRPC path, as in the shim's command table.
    pub rpc: &'static str,
    /// Decode, encode, check.
    pub run: Run,
}

fn run_before<C: Before>(
    fields: &'static [(&'static str, Ty)],
    body: &[u8],
    response: &[u8],
) -> Result<(), String> {
    let msg_modify = C::RPC.ends_with("/BeforeMsgModify");
    let Ok((mut request, keep)) = C::decode(body) else {
        return Ok(());
    };
    request.context_mut();
    let _ = request.encode_to_vec();
    check_reply(fields, msg_modify, &C::proceed(&keep).body)
        .map_err(|e| format!("proceed: {e}"))?;
    let response = C::Response::decode(response).unwrap_or_default();
    let mut enc = Encoder::new(5000);
    let verdict = C::encode(response, keep, &mut enc);
    check_reply(fields, msg_modify, &verdict.body)
        .map_err(|e| format!("{e}\nreply: {}", String::from_utf8_lossy(&verdict.body)))
}

fn run_after<C: After>(body: &[u8], _response: &[u8]) -> Result<(), String>
where
    C::Request: Default + PartialEq,
{
    if let Ok(mut request) = C::decode(body) {
        let _ = C::natural_key(&request);
        request.context_mut();
        let bytes = request.encode_to_vec();
        let back = C::Request::decode(&bytes[..]).map_err(|e| e.to_string())?;
        if back != request {
            return Err("request does not survive its own encoding".into());
        }
    }
    Ok(())
}

macro_rules! handlers {
    (before: $($b:ty => $f:expr),* ; after: $($a:ty),* $(,)?) => {
        vec![
            $(Handler {
                rpc: <$b as Before>::RPC,
                run: |body, response| run_before::<$b>($f, body, response),
            },)*
            $(Handler {
                rpc: <$a as After>::RPC,
                run: run_after::<$a>,
            },)*
        ]
    };
}

/// Every callback the shim serves.
pub fn handlers() -> Vec<Handler> {
    const C: &[(&str, Ty)] = &[];
    let all = handlers!(before:
        message::BeforeSendSingleMsg => C,
        message::BeforeSendGroupMsg => C,
        message::BeforeMsgModify => MSG_MODIFY,
        push::BeforeOfflinePush => PUSH,
        push::BeforeOnlinePush => PUSH,
        push::BeforeGroupOnlinePush => PUSH,
        user::BeforeUserRegister => USER_REGISTER,
        user::BeforeUpdateUserInfo => UPDATE_USER,
        user::BeforeUpdateUserInfoEx => UPDATE_USER,
        friend::BeforeAddFriend => C,
        friend::BeforeAddFriendAgree => C,
        friend::BeforeImportFriends => IMPORT_FRIENDS,
        friend::BeforeSetFriendRemark => FRIEND_REMARK,
        friend::BeforeAddBlack => C,
        group::BeforeCreateGroup => CREATE_GROUP,
        group::BeforeMembersJoinGroup => MEMBERS_JOIN,
        group::BeforeMemberJoinGroup => MEMBER_JOIN_ONE,
        group::BeforeSetGroupMemberInfo => MEMBER_INFO,
        group::BeforeApplyJoinGroup => C,
        group::BeforeInviteUserToGroup => INVITE,
        group::BeforeSetGroupInfo => GROUP_INFO,
        group::BeforeSetGroupInfoEx => GROUP_INFO,
        conv::BeforeCreateSingleChatConversations => CONVERSATIONS,
        conv::BeforeCreateGroupChatConversations => CONVERSATIONS;
    after:
        message::AfterSendSingleMsg,
        message::AfterSendGroupMsg,
        message::AfterMsgSaveDB,
        receipt::AfterSingleMsgRead,
        receipt::AfterGroupMsgRead,
        receipt::AfterRevokeMsg,
        user::AfterUserRegister,
        user::AfterUpdateUserInfo,
        user::AfterUpdateUserInfoEx,
        user::AfterUserOnline,
        user::AfterUserOffline,
        user::AfterUserKickOff,
        friend::AfterAddFriend,
        friend::AfterAddFriendAgree,
        friend::AfterDeleteFriend,
        friend::AfterImportFriends,
        friend::AfterSetFriendRemark,
        friend::AfterRemoveBlack,
        group::AfterCreateGroup,
        group::AfterSetGroupMemberInfo,
        group::AfterQuitGroup,
        group::AfterKickGroupMember,
        group::AfterDismissGroup,
        group::AfterJoinGroup,
        group::AfterTransferGroupOwner,
        group::AfterSetGroupInfo,
        group::AfterSetGroupInfoEx,
        conv::AfterCreateSingleChatConversations,
        conv::AfterCreateGroupChatConversations,
    );
    // A command the table gained without a handler here would go unfuzzed.
    for row in openim_shim::commands::COMMANDS {
        assert!(
            all.iter().any(|h| h.rpc == row.rpc),
            "fuzz/src/lib.rs: no handler for {} ({})",
            row.name,
            row.rpc
        );
    }
    all
}

/// Splits a `shim_callbacks` input: `<command>\n<body>\0<policy response>`. Without a known
/// command line, the first byte picks the callback and the rest is the body.
pub fn split_callback_input<'a>(
    handlers: &'a [Handler],
    data: &'a [u8],
) -> Option<(&'a Handler, &'a [u8], &'a [u8])> {
    let (&first, _) = data.split_first()?;
    let (handler, rest) = match data.iter().position(|b| *b == b'\n') {
        Some(nl) => {
            let name = std::str::from_utf8(&data[..nl]).ok();
            match name.and_then(openim_shim::commands::lookup) {
                Some((_, cmd)) => (handlers.iter().find(|h| h.rpc == cmd.rpc)?, &data[nl + 1..]),
                None => (&handlers[usize::from(first) % handlers.len()], &data[1..]),
            }
        }
        None => (&handlers[usize::from(first) % handlers.len()], &data[1..]),
    };
    let (body, response) = match rest.iter().position(|b| *b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (rest, &[][..]),
    };
    Some((handler, body, response))
}
