//! Offline push rules: skip pushes of muted senders and groups, cap the recipients, rewrite the
//! title and text from templates.

use std::{collections::HashMap, time::SystemTime};

use policy_proto::v1 as pb;

use super::{
    file::PushSpec,
    kinds,
    mutes::Mutes,
    nicknames::Nicknames,
    rule::{Rule, Stage},
    template::{Template, Var},
};

/// The push rules.
#[derive(Debug)]
pub(crate) struct PushRules {
    title: Option<Template>,
    desc: Option<Template>,
    /// `{contentType}` by content type.
    names: HashMap<i32, String>,
    suppress: Option<Rule>,
    cap: Option<(Rule, usize)>,
    rewrite: Rule,
}

impl PushRules {
    /// The section.
    pub(crate) fn new(spec: &PushSpec) -> Self {
        let mut names: HashMap<i32, String> = kinds::content_type_names().collect();
        for (t, name) in &spec.content_type_names {
            names.insert(t.0, name.clone());
        }
        let rule = |name: &str, msg: &str| Rule::new("push", name, 5002, msg, spec.dry_run);
        Self {
            title: spec.title.clone(),
            desc: spec.desc.clone(),
            names,
            suppress: spec.suppress_muted.then(|| {
                rule(
                    "push.suppressMuted",
                    "offline push skipped: sender or group muted",
                )
            }),
            cap: spec
                .max_recipients
                .map(|n| (rule("push.maxRecipients", ""), n.get() as usize)),
            rewrite: rule("push.template", ""),
        }
    }

    /// The decision on one offline push.
    pub(crate) fn decide(
        &self,
        push: &pb::PushMessage,
        mutes: Option<&Mutes>,
        nicknames: &Nicknames,
        engine_dry_run: bool,
        now: SystemTime,
    ) -> pb::BeforeOfflinePushResponse {
        let mut response = pb::BeforeOfflinePushResponse::default();
        // Notification pushes (group created, friend added, ...) are OpenIM's own texts.
        if kinds::is_notification(push.content_type) {
            return response;
        }
        if let (Some(rule), Some(mutes)) = (&self.suppress, mutes)
            && (mutes.user(&push.sender_user_id, now) || mutes.group(&push.group_id, now))
        {
            let enforced = rule.matched(Stage::OfflinePush, engine_dry_run);
            tracing::info!(rule = %rule.name, enforced, sender = %push.sender_user_id,
                group = %push.group_id, "offline push of a muted sender or group");
            if enforced {
                response.refuse = Some(rule.refusal());
                return response;
            }
        }
        if let Some((rule, max)) = &self.cap
            && push.target_user_ids.len() > *max
        {
            let enforced = rule.matched(Stage::OfflinePush, engine_dry_run);
            tracing::info!(rule = %rule.name, enforced, recipients = push.target_user_ids.len(),
                max, "offline push recipients capped");
            if enforced {
                response.target_user_ids = Some(pb::StringList {
                    values: push.target_user_ids[..*max].to_vec(),
                });
            }
        }
        if (self.title.is_some() || self.desc.is_some())
            && self.rewrite.matched(Stage::OfflinePush, engine_dry_run)
        {
            response.offline_push_info = Some(self.render(push, nicknames));
        }
        response
    }

    /// The push texts with the templates applied; the message's others kept (the reply
    /// replaces all of them).
    fn render(&self, push: &pb::PushMessage, nicknames: &Nicknames) -> pb::OfflinePushInfo {
        let original = push.offline_push_info.clone().unwrap_or_default();
        let nickname = nicknames.get(&push.sender_user_id);
        let number;
        let content_type = match self.names.get(&(push.content_type)) {
            Some(name) => name.as_str(),
            None => {
                number = (push.content_type).to_string();
                number.as_str()
            }
        };
        let value = |v: Var| -> &str {
            match v {
                Var::SenderId => &push.sender_user_id,
                Var::SenderNickname => nickname.as_deref().unwrap_or(&push.sender_user_id),
                Var::GroupId => &push.group_id,
                Var::ContentType => content_type,
                Var::Title => &original.title,
                Var::Desc => &original.desc,
            }
        };
        let title = self.title.as_ref().map(|t| t.render(value));
        let desc = self.desc.as_ref().map(|t| t.render(value));
        let mut info = original.clone();
        if let Some(title) = title {
            info.title = title;
        }
        if let Some(desc) = desc {
            info.desc = desc;
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::file::RulesFile;

    fn rules(yaml: &str) -> (PushRules, Option<Mutes>) {
        let file = RulesFile::parse(yaml).unwrap();
        (
            PushRules::new(file.push.as_ref().unwrap()),
            file.mutes.as_ref().map(Mutes::new),
        )
    }

    fn push(sender: &str, group: &str, content_type: pb::ContentType) -> pb::PushMessage {
        pb::PushMessage {
            sender_user_id: sender.into(),
            group_id: group.into(),
            content_type: content_type as i32,
            target_user_ids: vec!["a".into(), "b".into(), "c".into()],
            offline_push_info: Some(pb::OfflinePushInfo {
                title: "You have a new message.".into(),
                ios_push_sound: "+1".into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn templates_use_the_learned_nickname_and_content_type_names() {
        let (p, _) = rules(
            "push:\n  title: '{senderNickname}'\n  desc: '[{contentType}] in {groupID}'\n  contentTypeNames: {picture: 图片}\n",
        );
        let nicknames = Nicknames::new(10);
        nicknames.learn("u1", "Alice");
        let now = SystemTime::now();
        let r = p.decide(
            &push("u1", "g1", pb::ContentType::Picture),
            None,
            &nicknames,
            false,
            now,
        );
        let info = r.offline_push_info.unwrap();
        assert_eq!(
            (info.title.as_str(), info.desc.as_str()),
            ("Alice", "[图片] in g1")
        );
        assert_eq!(info.ios_push_sound, "+1", "the other push texts are kept");
        let r = p.decide(
            &push("u2", "", pb::ContentType::AtText),
            None,
            &nicknames,
            false,
            now,
        );
        let info = r.offline_push_info.unwrap();
        assert_eq!(
            (info.title.as_str(), info.desc.as_str()),
            ("u2", "[atText] in ")
        );
        assert!(r.refuse.is_none() && r.target_user_ids.is_none());
    }

    #[test]
    fn muted_senders_and_groups_get_no_offline_push() {
        let (p, m) = rules("mutes: {users: [u1], groups: [g1]}\npush: {suppressMuted: true}\n");
        let n = Nicknames::new(10);
        let now = SystemTime::now();
        let decide = |s, g| {
            p.decide(
                &push(s, g, pb::ContentType::Text),
                m.as_ref(),
                &n,
                false,
                now,
            )
        };
        assert!(decide("u1", "").refuse.is_some());
        assert!(decide("u2", "g1").refuse.is_some());
        assert_eq!(decide("u2", "g2"), pb::BeforeOfflinePushResponse::default());
        // Dry-run: counted, not applied.
        let r = p.decide(
            &push("u1", "", pb::ContentType::Text),
            m.as_ref(),
            &n,
            true,
            now,
        );
        assert!(r.refuse.is_none());
    }

    #[test]
    fn recipients_are_capped_and_notifications_left_alone() {
        let (p, _) = rules("push: {maxRecipients: 2, title: x}\n");
        let n = Nicknames::new(10);
        let now = SystemTime::now();
        let r = p.decide(&push("u", "g", pb::ContentType::Text), None, &n, false, now);
        assert_eq!(r.target_user_ids.unwrap().values, ["a", "b"]);
        let r = p.decide(
            &push("u", "g", pb::ContentType::GroupCreated),
            None,
            &n,
            false,
            now,
        );
        assert_eq!(r, pb::BeforeOfflinePushResponse::default());
    }
}
