//! Shadow: a second policy (`shadow.targets`) asked about a copy of before-callbacks after the
//! primary answered, to see how a new policy would decide on real traffic before it decides for
//! real. Its answer never reaches OpenIM: the reply is already made when the copy is offered.
//!
//! The copy runs on a task of its own, with its own deadline (`shadow.timeout`) and at most
//! `shadow.concurrency` in flight (a semaphore: when all permits are taken the copy is dropped
//! and counted, so a hanging shadow holds no more than that). Each answer is compared with the
//! primary's ([`crate::compare`]) and counted, `openim_shim_shadow_total{command,agreement}`;
//! a sample of disagreements is logged and, if the capture is on, captured with both answers.

use std::{
    collections::HashSet,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use tokio::sync::Semaphore;

use crate::{
    callbacks::Verdict,
    capture::{Capture, Record, ShadowAnswer, sampled},
    commands::Command,
    compare::{Agreement, Decision, compare},
    config::ShadowSettings,
    dispatch::{Ask, AskError, Call},
    policy_client::{ClientSettings, PolicyClient, TargetError},
};

/// Longest reply or body excerpt in a disagreement's log line.
const LOG_EXCERPT: usize = 300;

/// The shadow policy, shared by all requests.
#[derive(Debug)]
pub(crate) struct Shadow {
    client: PolicyClient,
    timeout: Duration,
    sample: f64,
    disagreement_sample: f64,
    refuse_err_code: i32,
    /// Config keys of the shadowed commands; `None`: every before-callback.
    commands: Option<HashSet<&'static str>>,
    permits: Arc<Semaphore>,
    capture: Option<Capture>,
}

impl Shadow {
    /// The shadow of `settings`, reached like the primary (`primary`'s connection settings),
    /// if it has targets.
    pub(crate) async fn start(
        settings: &ShadowSettings,
        primary: &ClientSettings,
        refuse_err_code: i32,
        capture: Option<Capture>,
    ) -> Result<Option<Arc<Self>>, TargetError> {
        if settings.targets.is_empty() {
            return Ok(None);
        }
        let client = PolicyClient::new(&ClientSettings {
            targets: settings.targets.clone(),
            services: Default::default(),
            ..primary.clone()
        })
        .await?;
        tracing::info!(targets = ?settings.targets, sample = settings.sample,
            timeout = ?settings.timeout, "shadow policy: before-callbacks are copied to it");
        Ok(Some(Arc::new(Self {
            client,
            timeout: settings.timeout,
            sample: settings.sample,
            disagreement_sample: settings.disagreement_sample,
            refuse_err_code,
            commands: (!settings.commands.is_empty())
                .then(|| settings.commands.iter().copied().collect()),
            permits: Arc::new(Semaphore::new(settings.concurrency)),
            capture,
        })))
    }

    /// Copies `call`, which the primary answered with `primary`, to the shadow policy, if the
    /// filter and sampling say so and a permit is free. Never waits.
    pub(crate) fn offer(self: &Arc<Self>, call: &Call, primary: &Verdict) {
        let command = call.command;
        if let Some(commands) = &self.commands
            && !commands.contains(command.config_key)
        {
            return;
        }
        let (Some(ask), Some(first)) = (command.ask, Decision::of(primary.outcome)) else {
            return;
        };
        if !sampled(self.sample, fastrand::f64()) {
            return;
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            metrics::counter!("openim_shim_shadow_dropped_total", "command" => command.name)
                .increment(1);
            return;
        };
        let shadow = self.clone();
        let copy = Copy {
            command,
            wire_name: call.wire_name,
            operation_id: call.operation_id.clone(),
            body: call.body.clone(),
            primary: primary.clone(),
            first,
        };
        tokio::spawn(async move {
            let started = Instant::now();
            let asked = Ask {
                body: &copy.body,
                wire_name: copy.wire_name,
                operation_id: &copy.operation_id,
                timeout: shadow.timeout,
                refuse_err_code: shadow.refuse_err_code,
            };
            // The pool enforces the deadline; this one also bounds a connection that hangs
            // before the call starts.
            let answer = tokio::time::timeout(shadow.timeout, ask(&shadow.client, asked)).await;
            let latency = started.elapsed();
            drop(permit);
            shadow.judge(&copy, answer.as_ref().ok(), latency);
        });
    }

    /// Counts the shadow's `answer` (`None`: past its deadline), and logs and captures a sample
    /// of disagreements.
    fn judge(&self, copy: &Copy, answer: Option<&Result<Verdict, AskError>>, latency: Duration) {
        let (agreement, reply, outcome) = match answer {
            Some(Ok(verdict)) => match Decision::of(verdict.outcome) {
                Some(second) => (
                    compare((copy.first, &copy.primary.body), (second, &verdict.body)),
                    verdict.body.clone(),
                    verdict.outcome.as_str().to_owned(),
                ),
                None => (
                    Agreement::Error,
                    verdict.body.clone(),
                    verdict.outcome.to_string(),
                ),
            },
            Some(Err(e)) => (Agreement::Error, Bytes::new(), error_label(e)),
            None => (Agreement::Error, Bytes::new(), "timeout".to_owned()),
        };
        metrics::counter!("openim_shim_shadow_total",
            "command" => copy.command.name, "agreement" => agreement.as_str())
        .increment(1);
        if agreement == Agreement::Same || !sampled(self.disagreement_sample, fastrand::f64()) {
            return;
        }
        tracing::warn!(
            command = copy.wire_name,
            operation_id = copy.operation_id,
            %agreement,
            primary = excerpt(&copy.primary.body),
            shadow = excerpt(&reply),
            shadow_outcome = outcome,
            body = excerpt(&copy.body),
            "shadow policy disagrees"
        );
        if let Some(capture) = &self.capture {
            // Dropped when the capture's queue is full: counted there.
            let _ = capture.push(Record {
                time: SystemTime::now(),
                command: copy.wire_name,
                kind: copy.command.kind,
                operation_id: copy.operation_id.clone(),
                body: copy.body.clone(),
                reply: copy.primary.body.clone(),
                outcome: copy.primary.outcome,
                cause: None,
                policy_latency: None,
                shadow: Some(ShadowAnswer {
                    reply,
                    outcome,
                    agreement,
                    latency,
                }),
            });
        }
    }
}

/// A callback copied to the shadow.
struct Copy {
    command: &'static Command,
    wire_name: &'static str,
    operation_id: String,
    body: Bytes,
    primary: Verdict,
    first: Decision,
}

/// The cause of a shadow failure, as the primary's failures are labelled.
fn error_label(e: &AskError) -> String {
    match e {
        AskError::Malformed(_) => "malformed".to_owned(),
        AskError::Call(e) => crate::outcome::Cause::of(e).as_str().to_owned(),
    }
}

/// The start of `bytes` as text, at most [`LOG_EXCERPT`] bytes (on a character boundary).
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(bytes), LOG_EXCERPT)
}

/// `text` cut to at most `max` bytes on a character boundary, with `…` when cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_cut_on_character_boundaries() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "abc…");
        // "é" is two bytes: a cut inside it backs off.
        assert_eq!(truncate("aéb", 2), "a…");
    }
}
