//! Muted users and groups, each until an optional time.

use std::{collections::HashMap, time::SystemTime};

use super::{
    file::{MuteEntry, MutesSpec},
    rule::Rule,
};

/// Default errCode of the mute rule.
const DEFAULT_CODE: i32 = 5002;
/// Default errMsg of the mute rule.
const DEFAULT_MSG: &str = "you cannot send messages here at the moment";

/// Who is muted, and until when (`None`: until removed from the rules).
#[derive(Debug)]
pub(crate) struct Mutes {
    /// Name, refusal, dry-run, counters.
    pub(crate) rule: Rule,
    users: HashMap<String, Option<SystemTime>>,
    groups: HashMap<String, Option<SystemTime>>,
}

fn table(entries: &[MuteEntry]) -> HashMap<String, Option<SystemTime>> {
    entries.iter().map(|e| (e.id.clone(), e.until)).collect()
}

fn active(table: &HashMap<String, Option<SystemTime>>, id: &str, now: SystemTime) -> bool {
    !id.is_empty()
        && table
            .get(id)
            .is_some_and(|until| until.is_none_or(|t| now < t))
}

impl Mutes {
    /// The section's tables.
    pub(crate) fn new(spec: &MutesSpec) -> Self {
        Self {
            rule: Rule::new(
                "mute",
                "mutes",
                spec.err_code.map_or(DEFAULT_CODE, |c| c.0),
                spec.err_msg.as_deref().unwrap_or(DEFAULT_MSG),
                spec.dry_run,
            ),
            users: table(&spec.users),
            groups: table(&spec.groups),
        }
    }

    /// Whether user `id` is muted at `now`.
    pub(crate) fn user(&self, id: &str, now: SystemTime) -> bool {
        active(&self.users, id, now)
    }

    /// Whether group `id` is muted at `now`.
    pub(crate) fn group(&self, id: &str, now: SystemTime) -> bool {
        active(&self.groups, id, now)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::rules::file::RulesFile;

    #[test]
    fn mutes_hold_until_their_expiry() {
        let spec = RulesFile::parse(
            "mutes:\n  users: [u1, {id: u2, until: 2030-01-01T00:00:00Z}]\n  groups: [{id: g1, until: 2030-01-01T00:00:00Z, reason: raid}]\n",
        )
        .unwrap()
        .mutes
        .unwrap();
        let m = Mutes::new(&spec);
        let until = humantime::parse_rfc3339("2030-01-01T00:00:00Z").unwrap();
        let before = until - Duration::from_secs(1);
        assert!(
            m.user("u1", until + Duration::from_secs(1_000_000)),
            "no expiry"
        );
        assert!(m.user("u2", before) && !m.user("u2", until));
        assert!(m.group("g1", before) && !m.group("g1", until));
        assert!(!m.user("u3", before) && !m.group("u1", before) && !m.user("", before));
    }
}
