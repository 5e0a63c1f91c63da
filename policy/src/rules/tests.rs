//! The rule engine as a whole: each rule through the engine's methods, their order, dry-run,
//! exemptions, text fields and the audit log.

use std::path::PathBuf;

use serde_json::json;

use super::*;

fn engine(yaml: &str) -> RuleEngine {
    RuleEngine::from_rules(RulesFile::parse(yaml).unwrap()).unwrap()
}

#[allow(clippy::needless_pass_by_value)] // tests read better with `json!` inline
fn message(content_type: pb::ContentType, content: serde_json::Value) -> pb::Message {
    pb::Message {
        sender_user_id: "u1".into(),
        sender_nickname: "Alice".into(),
        receiver_user_id: "u2".into(),
        session_type: pb::SessionType::Single as i32,
        content_type: content_type as i32,
        content: content.to_string(),
        client_msg_id: "c1".into(),
        server_msg_id: "s1".into(),
        ..Default::default()
    }
}

fn text(s: &str) -> pb::Message {
    message(pb::ContentType::Text, json!({ "content": s }))
}

fn in_group(mut m: pb::Message, group: &str) -> pb::Message {
    m.receiver_user_id.clear();
    m.group_id = group.into();
    m.session_type = pb::SessionType::Group as i32;
    m
}

fn refusal_code(e: &RuleEngine, m: &pb::Message) -> Option<i32> {
    e.check_message(&Default::default(), m).map(|r| r.err_code)
}

/// The new content of msg-modify, parsed.
fn modified(e: &RuleEngine, m: &pb::Message) -> Option<serde_json::Value> {
    let r = e.modify_message(&Default::default(), m);
    assert!(r.refuse.is_none(), "refused: {:?}", r.refuse);
    r.content.map(|c| serde_json::from_str(&c).unwrap())
}

const WORDS: &str = "
wordLists:
  - name: spam
    action: mask
    ignoreSeparators: true
    words: [spam, 坏词]
  - name: abuse
    action: refuse
    errCode: 5100
    errMsg: be nice
    words: [idiot]
  - name: watch
    action: flag
    words: [crypto]
";

#[test]
fn word_lists_apply_to_the_text_of_every_text_bearing_type() {
    let e = engine(WORDS);
    use pb::ContentType as T;
    let cases = [
        (T::Text, json!({"content": "s-p-a-m!"}), "content"),
        (
            T::AtText,
            json!({"text": "@Bob spam", "atUserList": ["u2"], "isAtSelf": false}),
            "text",
        ),
        (
            T::Quote,
            json!({"text": "spam", "quoteMessage": {"content": "spam"}}),
            "text",
        ),
        (
            T::AdvancedText,
            json!({"text": "a 坏词", "messageEntityList": []}),
            "text",
        ),
        (T::MarkdownText, json!({"content": "**spam**"}), "content"),
        (
            T::Custom,
            json!({"data": "spam", "description": "ok", "extension": "坏-词"}),
            "data",
        ),
    ];
    for (t, content, key) in cases {
        let m = message(t, content.clone());
        let out = modified(&e, &m).unwrap_or_else(|| panic!("{t:?} not masked"));
        assert!(out[key].as_str().unwrap().contains('*'), "{t:?}: {out}");
        // Other keys are kept.
        for (k, v) in content.as_object().unwrap() {
            if k != key && k != "extension" {
                assert_eq!(&out[k], v, "{t:?} {k}");
            }
        }
        let refuse = message(
            t,
            json!({"content": "idiot", "text": "idiot", "data": "idiot"}),
        );
        assert_eq!(refusal_code(&e, &refuse), Some(5100), "{t:?}");
    }
    let custom = modified(
        &e,
        &message(
            T::Custom,
            json!({"data": "spam", "description": "ok", "extension": "坏-词"}),
        ),
    )
    .unwrap();
    assert_eq!(
        custom,
        json!({"data": "****", "description": "ok", "extension": "***"})
    );
    // Types without text, and flag-only matches, continue.
    assert_eq!(
        refusal_code(&e, &message(T::Picture, json!({"content": "idiot"}))),
        None
    );
    assert_eq!(modified(&e, &text("crypto")), None);
    assert_eq!(refusal_code(&e, &text("crypto")), None);
}

#[test]
fn masking_happens_in_msg_modify_and_refusing_in_both() {
    let e = engine(WORDS);
    assert_eq!(
        refusal_code(&e, &text("SPAM")),
        None,
        "before-send cannot mask"
    );
    assert_eq!(
        modified(&e, &text("ＳＰＡＭ here")),
        Some(json!({"content": "**** here"}))
    );
    let r = e.modify_message(&Default::default(), &text("you idiot"));
    let refusal = r.refuse.unwrap();
    assert_eq!(
        (refusal.err_code, refusal.err_msg.as_str()),
        (5100, "be nice")
    );
    assert_eq!(refusal.err_dlt, "matched rule: abuse");
    assert_eq!(r.content, None);
}

const SPEAK: &str = "
exemptUserIDs: [bot]
mutes:
  users: [u1, {id: u9, until: 2000-01-01T00:00:00Z}]
  groups: [{id: g1, reason: raid}]
  errCode: 6001
rateLimit: {messages: 2, per: 1m, errCode: 6002}
contentTypes:
  group: {deny: [picture]}
  errCode: 6003
limits: {maxContentBytes: 100, maxTextLength: 10, errCode: 6004}
";

#[test]
fn muted_users_and_groups_are_refused_until_their_mute_expires() {
    let e = engine(SPEAK);
    assert_eq!(refusal_code(&e, &text("hi")), Some(6001));
    let mut m = text("hi");
    m.sender_user_id = "u9".into();
    assert_eq!(refusal_code(&e, &m), None, "expired mute");
    m.sender_user_id = "u3".into();
    assert_eq!(refusal_code(&e, &in_group(m.clone(), "g1")), Some(6001));
    assert_eq!(refusal_code(&e, &in_group(m, "g2")), None);
}

#[test]
fn the_rate_limit_counts_before_send_only() {
    let e = engine(SPEAK);
    let mut m = text("hi");
    m.sender_user_id = "u5".into();
    assert_eq!(refusal_code(&e, &m), None);
    assert!(
        e.modify_message(&Default::default(), &m).refuse.is_none(),
        "msg-modify takes no token"
    );
    assert_eq!(refusal_code(&e, &m), None);
    assert_eq!(refusal_code(&e, &m), Some(6002));
    m.sender_user_id = "u6".into();
    assert_eq!(refusal_code(&e, &m), None, "per sender");
}

#[test]
fn content_types_and_sizes_are_limited() {
    let e = engine(SPEAK);
    let mut pic = message(pb::ContentType::Picture, json!({"sourcePicture": {}}));
    pic.sender_user_id = "u7".into();
    assert_eq!(
        refusal_code(&e, &pic),
        None,
        "pictures are fine in single chats"
    );
    assert_eq!(refusal_code(&e, &in_group(pic, "g2")), Some(6003));
    let mut long = text("01234567890");
    long.sender_user_id = "u8".into();
    assert_eq!(refusal_code(&e, &long), Some(6004), "11 characters");
    let mut cjk = text("一二三四五六七八九十");
    cjk.sender_user_id = "u10".into();
    assert_eq!(refusal_code(&e, &cjk), None, "10 characters, 30 bytes");
    let mut big = message(pb::ContentType::File, json!({"fileName": "x".repeat(100)}));
    big.sender_user_id = "u11".into();
    assert_eq!(refusal_code(&e, &big), Some(6004));
}

#[test]
fn exempt_users_and_notifications_are_never_stopped_by_who_may_speak_rules() {
    let e = engine(&format!("{SPEAK}{}", WORDS.trim_start()));
    let mut m = in_group(message(pb::ContentType::Picture, json!({})), "g1");
    m.sender_user_id = "bot".into();
    for _ in 0..5 {
        assert_eq!(refusal_code(&e, &m), None);
    }
    let mut idiot = text("idiot");
    idiot.sender_user_id = "bot".into();
    assert_eq!(
        refusal_code(&e, &idiot),
        Some(5100),
        "word lists still apply"
    );
    let mut notification = in_group(message(pb::ContentType::GroupCreated, json!({})), "g1");
    notification.content = json!({"detail": "idiot"}).to_string();
    assert_eq!(refusal_code(&e, &notification), None);
}

#[test]
fn links_outside_the_allow_list_are_refused_or_masked() {
    let e = engine("links:\n  action: refuse\n  allowDomains: [openim.io]\n  errCode: 6005\n");
    assert_eq!(refusal_code(&e, &text("see https://doc.openim.io/x")), None);
    assert_eq!(
        refusal_code(&e, &text("see ｅｖｉｌ．ｃｏｍ now")),
        Some(6005)
    );
    let e = engine("links:\n  action: mask\n  replacement: '[link]'\n");
    assert_eq!(
        modified(&e, &text("访问 http://evil.cn/a?b=1 吧")),
        Some(json!({"content": "访问 [link] 吧"}))
    );
    assert_eq!(
        refusal_code(&e, &text("http://evil.cn")),
        None,
        "masking never refuses"
    );
}

#[test]
fn dry_run_rules_and_a_dry_run_engine_change_nothing() {
    let e = engine(
        "wordLists:\n  - {name: new, action: refuse, dryRun: true, words: [maybe]}\n  - {name: old, action: refuse, words: [surely]}\n",
    );
    assert_eq!(refusal_code(&e, &text("maybe")), None);
    assert!(
        refusal_code(&e, &text("maybe surely")).is_some(),
        "other rules still apply"
    );
    let e = engine(&format!("dryRun: true\n{SPEAK}{}", WORDS.trim_start()));
    assert_eq!(refusal_code(&e, &text("idiot")), None);
    assert_eq!(modified(&e, &text("spam")), None);
    let mut m = text("hi");
    m.sender_user_id = "u1".into();
    assert_eq!(refusal_code(&e, &m), None, "muted, but dry-run");
}

#[test]
fn check_text_masks_rewritable_fields_and_refuses_the_others() {
    let e = engine(
        "wordLists:\n  - {name: spam, action: mask, words: [spam]}\n  - {name: abuse, action: refuse, errCode: 5100, words: [idiot]}\n  - {name: names, action: refuse, errCode: 5200, fields: [nickname, groupMemberNickname], words: [admin]}\n  - {name: msgs, action: refuse, fields: [messages], words: [onlymsg]}\n",
    );
    for field in TextField::ALL {
        let verdict = e.check_text(&Default::default(), field, "Spam here");
        if field.rewritable() {
            assert_eq!(
                verdict,
                TextVerdict::Replace("**** here".into()),
                "{field:?}"
            );
        } else {
            let TextVerdict::Refuse(r) = verdict else {
                panic!("{field:?}: {verdict:?}");
            };
            assert_eq!(r.err_dlt, "matched rule: spam", "{field:?}");
        }
        let TextVerdict::Refuse(r) = e.check_text(&Default::default(), field, "you idiot") else {
            panic!("{field:?}");
        };
        assert_eq!(r.err_code, 5100);
        assert_eq!(
            e.check_text(&Default::default(), field, "hello"),
            TextVerdict::Pass,
            "{field:?}"
        );
        assert_eq!(
            e.check_text(&Default::default(), field, "onlymsg"),
            TextVerdict::Pass,
            "{field:?}"
        );
    }
    assert!(
        matches!(e.check_text(&Default::default(), TextField::Nickname, "ADMIN"), TextVerdict::Refuse(r) if r.err_code == 5200)
    );
    assert_eq!(
        e.check_text(&Default::default(), TextField::GroupName, "admin"),
        TextVerdict::Pass
    );
    assert_eq!(refusal_code(&e, &text("admin")), None);
}

#[test]
fn push_templates_use_nicknames_learned_from_messages() {
    let e = engine("push:\n  title: '{senderNickname}'\n  desc: '[{contentType}]'\n");
    let push = pb::PushMessage {
        sender_user_id: "u1".into(),
        content_type: pb::ContentType::Picture as i32,
        ..Default::default()
    };
    assert_eq!(
        e.offline_push(&Default::default(), &push)
            .offline_push_info
            .unwrap()
            .title,
        "u1"
    );
    e.message_sent(
        AfterSend::Single,
        &pb::CallbackContext::default(),
        &text("hi"),
    );
    let info = e
        .offline_push(&Default::default(), &push)
        .offline_push_info
        .unwrap();
    assert_eq!(
        (info.title.as_str(), info.desc.as_str()),
        ("Alice", "[picture]")
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "openim-policy-engine-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn audit_lines(dir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_audit_log_records_decisions_and_sent_messages() {
    let dir = temp_dir("audit");
    std::fs::write(
        dir.join("rules.yaml"),
        format!(
            "{}mutes: {{groups: [g-muted]}}\npush: {{suppressMuted: true}}\naudit:\n  path: audit.jsonl\n  content: masked\n",
            WORDS.trim_start()
        ),
    )
    .unwrap();
    let e = RuleEngine::from_path(&dir.join("rules.yaml")).unwrap();
    let context = pb::CallbackContext {
        operation_id: "op-9".into(),
        ..Default::default()
    };
    assert_eq!(refusal_code(&e, &text("hello")), None);
    assert!(e.check_message(&context, &text("idiot")).is_some());
    assert!(e.modify_message(&context, &text("spam")).content.is_some());
    e.message_sent(AfterSend::Single, &context, &text("my spam"));
    assert!(matches!(
        e.check_text(&context, TextField::Nickname, "idiot"),
        TextVerdict::Refuse(_)
    ));
    let muted_push = pb::PushMessage {
        group_id: "g-muted".into(),
        ..Default::default()
    };
    assert!(e.offline_push(&context, &muted_push).refuse.is_some());
    e.shutdown();
    let lines = audit_lines(&dir);
    let summary: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l["event"].as_str().unwrap(),
                l["command"].as_str().unwrap(),
                l["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("decision", "callbackBeforeSendSingleMsgCommand", "refuse"),
            ("decision", "callbackBeforeMsgModifyCommand", "modify"),
            ("sent", "callbackAfterSendSingleMsgCommand", "continue"),
            ("text", "checkText", "refuse"),
            ("decision", "callbackBeforeOfflinePushCommand", "refuse"),
        ]
    );
    assert_eq!(lines[0]["rule"], "abuse");
    assert_eq!(
        lines[0]["content"], r#"{"content":"*****"}"#,
        "masked content"
    );
    // Every line carries OpenIM's operation ID, to find the call in OpenIM's own logs.
    for line in &lines {
        assert_eq!(line["operationID"], "op-9", "{line}");
    }
    assert_eq!(lines[2]["content"], r#"{"content":"my ****"}"#);
    assert_eq!(lines[3]["field"], "nickname");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reloading_keeps_rate_limit_buckets_and_nicknames() {
    let dir = temp_dir("reload-state");
    let path = dir.join("rules.yaml");
    std::fs::write(
        &path,
        "rateLimit: {messages: 1, per: 1m}\npush: {title: '{senderNickname}'}\n",
    )
    .unwrap();
    let a = RuleEngine::from_path(&path).unwrap();
    assert_eq!(refusal_code(&a, &text("hi")), None);
    std::fs::write(
        &path,
        "rateLimit: {messages: 1, per: 1m, errCode: 7}\npush: {title: '{senderNickname}!'}\n",
    )
    .unwrap();
    let b = RuleEngine::load(&path, Some(&a)).unwrap();
    assert_eq!(refusal_code(&b, &text("hi")), Some(7), "same bucket");
    let push = pb::PushMessage {
        sender_user_id: "u1".into(),
        ..Default::default()
    };
    assert_eq!(
        b.offline_push(&Default::default(), &push)
            .offline_push_info
            .unwrap()
            .title,
        "Alice!"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

fn raw(content_type: pb::ContentType, content: &str) -> pb::Message {
    pb::Message {
        content: content.into(),
        ..message(content_type, json!({}))
    }
}

/// Issue 17: texts are read as OpenIM's (Go) clients read them, so another letter case of the
/// key, a duplicate key and a lone surrogate escape hide nothing.
#[test]
fn texts_are_read_as_the_clients_read_them() {
    let e = engine(WORDS);
    for content in [
        r#"{"Content":"idiot"}"#,
        r#"{"CONTENT":"idiot"}"#,
        r#"{"content":"ok","content":"idiot"}"#,
        r#"{"content":"ok","Content":"idiot","content":null}"#,
        r#"{"content":"idiot \ud800"}"#,
        r#"{"content":"\u0069diot"}"#,
        r#"{"content":"i\u200bdiot"}"#,
    ] {
        let m = raw(pb::ContentType::Text, content);
        assert_eq!(refusal_code(&e, &m), Some(5100), "{content}");
    }
    // The key the client does not read is not checked; the one it reads is.
    let m = raw(
        pb::ContentType::Text,
        r#"{"content":"idiot","content":"fine"}"#,
    );
    assert_eq!(refusal_code(&e, &m), None);
    // Custom messages that do not trigger a conversation or go online only are custom too.
    for t in [
        pb::ContentType::CustomNotTriggerConversation,
        pb::ContentType::CustomOnlineOnly,
    ] {
        let m = raw(t, r#"{"Description":"idiot"}"#);
        assert_eq!(refusal_code(&e, &m), Some(5100), "{t:?}");
    }
}

/// msg-modify writes the masked text back under the SDK's key, once: no other spelling of the
/// key is left for a client to read.
#[test]
fn masking_writes_one_canonical_key_and_is_idempotent() {
    let e = engine(WORDS);
    let m = raw(
        pb::ContentType::Text,
        r#"{"Content":"spam","x":"\ud800","content":"ok spam","CONTENT":null}"#,
    );
    let r = e.modify_message(&Default::default(), &m);
    assert!(r.refuse.is_none());
    let content = r.content.unwrap();
    assert_eq!(content, "{\"content\":\"ok ****\",\"x\":\"\u{FFFD}\"}");
    // The masked content needs no more masking.
    let again = e.modify_message(&Default::default(), &raw(pb::ContentType::Text, &content));
    assert!(
        again.refuse.is_none() && again.content.is_none(),
        "{again:?}"
    );
}

#[test]
fn content_the_clients_cannot_decode_is_refused_by_default() {
    let e = engine(WORDS);
    for content in [
        "not json",
        "",
        r#"{"content":"hi"} trailing"#,
        r#""just a string""#,
        r#"["content"]"#,
        r#"{"content":5}"#,
        r#"{"content":"hi","CONTENT":{"a":1}}"#,
    ] {
        let m = raw(pb::ContentType::Text, content);
        assert_eq!(refusal_code(&e, &m), Some(5007), "{content:?}");
        let r = e.modify_message(&Default::default(), &m);
        assert_eq!(r.refuse.map(|r| r.err_code), Some(5007), "{content:?}");
    }
    // `null` is nothing to show; types without text are not read.
    assert_eq!(refusal_code(&e, &raw(pb::ContentType::Text, "null")), None);
    assert_eq!(
        refusal_code(&e, &raw(pb::ContentType::Picture, "not json")),
        None
    );
}

#[test]
fn content_the_clients_cannot_decode_can_be_checked_as_raw_text() {
    let e = engine(&format!(
        "{WORDS}undecodableContent: {{action: checkRaw}}\n"
    ));
    let m = raw(pb::ContentType::Text, "hello there");
    assert_eq!(refusal_code(&e, &m), None);
    assert_eq!(modified(&e, &m), None);
    let m = raw(pb::ContentType::Text, "you idiot");
    assert_eq!(refusal_code(&e, &m), Some(5100));
    // A masking match cannot be masked in content that cannot be decoded: refused by its list.
    let m = raw(pb::ContentType::Text, r#"{"content":"spam"}x"#);
    let r = e.modify_message(&Default::default(), &m);
    assert_eq!(
        r.refuse.map(|r| r.err_dlt),
        Some("matched rule: spam".into())
    );
    // A custom code, and dry-run.
    let e = engine("undecodableContent: {errCode: 6100, errMsg: unreadable}\n");
    assert_eq!(
        refusal_code(&e, &raw(pb::ContentType::Text, "x")),
        Some(6100)
    );
    let e = engine("undecodableContent: {dryRun: true}\n");
    assert_eq!(refusal_code(&e, &raw(pb::ContentType::Text, "x")), None);
}

/// A masked text is what every client shows: when masking makes a new match, it is masked
/// again or refused, never let through.
#[test]
fn a_masked_text_is_checked_again() {
    // The replacement holds a refused word.
    let e = engine(
        "wordLists:\n  - {name: m, action: mask, replacement: '[idiot]', words: [darn]}\n  - {name: r, action: refuse, errCode: 6200, words: [idiot]}\n",
    );
    let r = e.modify_message(&Default::default(), &text("darn"));
    assert_eq!(r.refuse.map(|r| r.err_code), Some(6200));
    assert!(matches!(
        e.check_text(&Default::default(), TextField::Nickname, "darn"),
        TextVerdict::Refuse(r) if r.err_code == 6200
    ));
    // Masking `b` away brings `a` and `c` together for a list that ignores separators.
    let e = engine(
        "wordLists:\n  - {name: b, action: mask, words: [b]}\n  - {name: ac, action: mask, ignoreSeparators: true, words: [ac]}\n",
    );
    let out = modified(&e, &text("abc")).unwrap();
    assert_eq!(out["content"], "***");
    // A replacement that keeps matching itself is refused by its list.
    let e = engine(
        "wordLists:\n  - {name: loop, action: mask, replacement: 'xbadx', errCode: 6300, words: [bad]}\n",
    );
    let r = e.modify_message(&Default::default(), &text("bad"));
    assert_eq!(r.refuse.map(|r| r.err_code), Some(6300));
}
