//! The default policy's word lists on the text users write outside messages, end to end through
//! the real shim: nicknames, friend remarks and requests, group names, introductions,
//! announcements, member nicknames and join requests are masked where OpenIM applies a rewrite,
//! and refused where it does not.

use openim_tests::{
    fixture, go_decoder,
    openim_http::post,
    reply::{Meaning, meaning},
    shim_settings, spawn_policy_with_rules, spawn_shim,
};
use serde_json::Value;

const RULES: &str = r#"
wordLists:
  - name: names
    action: mask
    words: [badname]
  - name: abuse
    action: refuse
    errCode: 5301
    errMsg: not allowed
    words: [idiot]
"#;

/// Posts fixture `<command>.json` with `from` replaced by `to` in its body.
async fn post_edited(
    addr: std::net::SocketAddr,
    command: &str,
    from: &str,
    to: &str,
) -> (Value, Vec<u8>, Vec<u8>) {
    let body = String::from_utf8(fixture(&format!("{command}.json"))).unwrap();
    assert!(body.contains(from), "{command} fixture has no {from:?}");
    let body = body.replace(from, to).into_bytes();
    let r = post(addr, &format!("/openim/{command}"), &body, Some("texts-1")).await;
    assert_eq!(r.status, 200);
    (r.json(), r.body.to_vec(), body)
}

#[tokio::test]
async fn texts_outside_messages_are_masked_where_openim_applies_it_and_refused_elsewhere() {
    let policy = spawn_policy_with_rules(RULES).await;
    let shim = spawn_shim(shim_settings(&policy.url())).await;
    let a = shim.addr;
    let mut replies = Vec::new();

    // Rewritten where OpenIM applies the reply's text.
    let cases = [
        (
            "callbackBeforeUpdateUserInfoCommand",
            "Alice \\u003cadmin\\u003e",
            "I am badname",
            "nickName",
            "I am *******",
            "CallbackBeforeUpdateUserInfoResp",
        ),
        (
            "callbackBeforeUpdateUserInfoExCommand",
            "Alice the 2nd",
            "badname",
            "nickName",
            "*******",
            "CallbackBeforeUpdateUserInfoExResp",
        ),
        (
            "callbackBeforeSetFriendRemarkCommand",
            "Bobby",
            "Bob badname",
            "remark",
            "Bob *******",
            "CallbackBeforeSetFriendRemarkResp",
        ),
        (
            "callbackBeforeCreateGroupCommand",
            r#""groupName":"Team""#,
            r#""groupName":"badname club""#,
            "groupName",
            "******* club",
            "CallbackBeforeCreateGroupResp",
        ),
        (
            "callbackBeforeSetGroupMemberInfoCommand",
            "Bob (admin)",
            "badname",
            "nickName",
            "*******",
            "CallbackBeforeSetGroupMemberInfoResp",
        ),
        (
            "callbackBeforeSetGroupInfoCommand",
            r#""introduction":"Our team""#,
            r#""introduction":"we badname""#,
            "introduction",
            "we *******",
            "CallbackBeforeSetGroupInfoResp",
        ),
        (
            "callbackBeforeSetGroupInfoExCommand",
            r#""groupName":"Team Rocket""#,
            r#""groupName":"badname""#,
            "groupName",
            "*******",
            "CallbackBeforeSetGroupInfoExResp",
        ),
    ];
    for (command, from, to, key, want, go_struct) in cases {
        let (reply, raw, body) = post_edited(a, command, from, to).await;
        assert_eq!(meaning(&reply), Meaning::Continue, "{command}: {reply}");
        assert_eq!(reply[key], want, "{command}: {reply}");
        replies.push((go_struct, raw, body));
    }
    // SetGroupInfo still echoes the fields the policy left alone.
    let (reply, _, _) = post_edited(
        a,
        "callbackBeforeSetGroupInfoCommand",
        r#""introduction":"Our team""#,
        r#""introduction":"we badname""#,
    )
    .await;
    assert_eq!(reply["groupName"], "Team Rocket");

    // Registration: the whole user list comes back, with the nickname masked.
    let (reply, raw, body) = post_edited(
        a,
        "callbackBeforeUserRegisterCommand",
        "Dave",
        "badname Dave",
    )
    .await;
    assert_eq!(meaning(&reply), Meaning::Continue);
    let users = reply["users"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert_eq!(users[1]["nickname"], "******* Dave");
    assert_eq!(users[0]["nickname"], "卡罗尔");
    replies.push(("CallbackBeforeUserRegisterResp", raw, body));

    // Refused: a refusing word anywhere, or a masking word where OpenIM applies no rewrite.
    let refusals = [
        (
            "callbackBeforeUpdateUserInfoExCommand",
            "Alice the 2nd",
            "you idiot",
            5301,
        ),
        ("callbackBeforeAddFriendCommand", "Hi Alice", "idiot", 5301),
        (
            "callbackBeforeJoinGroupCommand",
            "let me in",
            "let idiot in",
            5301,
        ),
        (
            "callbackBeforeCreateGroupCommand",
            r#""notification":"""#,
            r#""notification":"idiot""#,
            5301,
        ),
    ];
    for (command, from, to, code) in refusals {
        let (reply, raw, body) = post_edited(a, command, from, to).await;
        assert!(
            matches!(meaning(&reply), Meaning::Refuse { err_code, .. } if err_code == code),
            "{command}: {reply}"
        );
        replies.push(("CommonCallbackResp", raw, body));
    }
    for (command, from, to) in [
        ("callbackBeforeAddFriendCommand", "Hi Alice", "badname"),
        ("callbackBeforeJoinGroupCommand", "let me in", "badname"),
    ] {
        let (reply, _, _) = post_edited(a, command, from, to).await;
        assert!(
            matches!(meaning(&reply), Meaning::Refuse { .. }),
            "{command}: {reply}"
        );
    }

    // Clean texts continue unchanged.
    let (reply, _, _) = post_edited(
        a,
        "callbackBeforeAddFriendCommand",
        "Hi Alice",
        "Hello Alice",
    )
    .await;
    assert_eq!(reply.as_object().unwrap().len(), 5, "{reply}");

    let inputs: Vec<_> = replies
        .iter()
        .map(|(s, r, b)| (*s, &r[..], Some(&b[..])))
        .collect();
    for (v, (_, raw, _)) in go_decoder::check_against(&inputs).iter().zip(&replies) {
        v.assert_portable(&String::from_utf8_lossy(raw));
    }
    shim.stop().await;
    policy.stop().await;
}
