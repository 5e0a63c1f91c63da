//! Distinct OpenIM events for delivery tests, and reading the shim's Prometheus metrics.

use std::collections::BTreeMap;

use crate::fixture;

/// One after-event as OpenIM would send it.
#[derive(Debug, Clone)]
pub struct AfterEvent {
    /// The command, e.g. `callbackAfterSendSingleMsgCommand`.
    pub command: &'static str,
    /// The operation ID (header and body).
    pub operation_id: String,
    /// The message's server ID: the natural key.
    pub server_msg_id: String,
    /// The byte-exact body.
    pub body: Vec<u8>,
}

impl AfterEvent {
    /// The idempotency key the shim gives this event (`<configKey>:<serverMsgID>:<operationID>`).
    pub fn expected_key(&self) -> String {
        let config_key = match self.command {
            "callbackAfterSendSingleMsgCommand" => "afterSendSingleMsg",
            "callbackAfterSendGroupMsgCommand" => "afterSendGroupMsg",
            other => panic!("no config key known for {other}"),
        };
        format!("{config_key}:{}:{}", self.server_msg_id, self.operation_id)
    }

    /// `/openim/<command>`.
    pub fn path(&self) -> String {
        format!("/openim/{}", self.command)
    }
}

/// Event number `n` (alternating single and group after-send), from the fixture with its
/// message IDs and operation ID made unique by `tag` and `n`.
pub fn after_event(tag: &str, n: usize) -> AfterEvent {
    let command = if n.is_multiple_of(2) {
        "callbackAfterSendSingleMsgCommand"
    } else {
        "callbackAfterSendGroupMsgCommand"
    };
    let mut body = String::from_utf8(fixture(&format!("{command}.json"))).expect("UTF-8 fixture");
    let json: serde_json::Value = serde_json::from_str(&body).expect("JSON fixture");
    let server_msg_id = format!("srv-{tag}-{n:06}");
    let operation_id = format!("op-{tag}-{n:06}");
    // Replace values in the text, so the body keeps OpenIM's exact shape and key order.
    for (key, value) in [
        ("serverMsgID", server_msg_id.clone()),
        ("clientMsgID", format!("cli-{tag}-{n:06}")),
        ("operationID", operation_id.clone()),
    ] {
        let old = json[key].as_str().expect("string ID in the fixture");
        body = body.replace(
            &format!("\"{key}\":\"{old}\""),
            &format!("\"{key}\":\"{value}\""),
        );
    }
    AfterEvent {
        command,
        operation_id,
        server_msg_id,
        body: body.into_bytes(),
    }
}

/// Prometheus text exposition, parsed into `name{labels}` → value.
#[derive(Debug, Clone, Default)]
pub struct Metrics(BTreeMap<String, f64>);

impl Metrics {
    /// Parses the text format (comments skipped).
    pub fn parse(text: &str) -> Self {
        let mut samples = BTreeMap::new();
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            if let Some((series, value)) = line.rsplit_once(' ')
                && let Ok(v) = value.parse::<f64>()
            {
                samples.insert(series.to_owned(), v);
            }
        }
        Self(samples)
    }

    /// The sum of every sample of `name` whose labels include all of `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(series, _)| {
                let (n, rest) = series.split_once('{').unwrap_or((series, ""));
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// Whether any sample of `name` exists.
    pub fn has(&self, name: &str) -> bool {
        self.0
            .keys()
            .any(|s| s.split_once('{').map_or(s.as_str(), |(n, _)| n) == name)
    }
}
