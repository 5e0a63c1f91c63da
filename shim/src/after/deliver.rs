//! Delivery of spooled after-events to the policy: a feeder walks the spool in arrival order and
//! starts one task per event, at most `concurrency` at a time; each task calls the policy until
//! the event is done with, backing off exponentially with jitter between attempts.
//!
//! An event is done with when the policy answers OK, UNIMPLEMENTED (it does not want this
//! callback), ALREADY_EXISTS (it had the event: a duplicate) or INVALID_ARGUMENT (it will never
//! accept this event), or when it has been retried for `max_age` (given up: logged and counted).
//! Any other answer, a timeout or an unreachable policy means "try again later". Only then is it
//! removed from the spool, so an event is delivered at least once, possibly more (after a crash
//! or a shutdown during an attempt): the idempotency key lets the policy drop duplicates.

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::{Duration, Instant},
};

use metrics::{counter, gauge};
use prost::Message as _;
use tokio::{
    sync::{Semaphore, mpsc, watch},
    task::JoinSet,
};
use tonic::Code;

use super::{
    spool::{Batch, SpoolRecord, Store, Stored},
    writer::{State, unix_ms},
};
use crate::{
    commands,
    config::RetrySettings,
    policy_client::{CallError, CallMeta, PolicyClient},
    traces,
};

/// Events loaded from the spool per read.
const PAGE: usize = 256;
/// Pause after a spool read failed.
const READ_RETRY: Duration = Duration::from_secs(1);

/// When a delivery failure was last logged at warn level, in ms since the Unix epoch.
static LAST_WARN_MS: AtomicI64 = AtomicI64::new(0);

/// Whether a delivery failure may be logged at warn level now: at most one per second, so an
/// outage with thousands of events spooled does not flood the log (every failure is counted).
fn warn_now() -> bool {
    let now = unix_ms();
    let last = LAST_WARN_MS.load(Ordering::Relaxed);
    now - last >= 1000
        && LAST_WARN_MS
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

/// What a delivery task reports about a spooled event, keyed by the backend's `K` (a sequence
/// number in the local spool, an entry ID in Redis).
#[derive(Debug, Clone)]
pub(crate) enum Outcome<K> {
    /// Done with: delivered, or given up. Removes it.
    Done {
        /// Its key.
        key: K,
        /// Size of its record, to keep the spool's byte count.
        bytes: u64,
    },
    /// This many attempts were made so far (kept across restarts, and across replicas).
    Attempted {
        /// Its key.
        key: K,
        /// Attempts made.
        attempts: u32,
    },
}

/// What the delivery tasks share.
pub(crate) struct Deliverer {
    pub(crate) client: PolicyClient,
    pub(crate) retry: RetrySettings,
    /// Deadline of one attempt, by command name.
    pub(crate) timeouts: HashMap<&'static str, Duration>,
    /// Used for commands missing from `timeouts` (none, by construction).
    pub(crate) default_timeout: Duration,
    /// How long a policy endpoint's UNIMPLEMENTED is remembered.
    pub(crate) unimplemented_ttl: Duration,
    /// Set when delivery must stop: tasks return at once, leaving their event spooled.
    pub(crate) stop: watch::Receiver<bool>,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Done with; the label says how (`delivered`, `unimplemented`, `duplicate`, `rejected`).
    Done(&'static str),
    /// Try again later; the label says why.
    Retry(&'static str),
}

/// The events of a batch just committed from sequence number `next` on, as the spool would
/// load them (no attempts yet, records shared with the batch), if the batch holds `next`; `None`
/// means read the spool.
fn fresh_page(batch: &Batch, next: u64) -> Option<Vec<Stored>> {
    let skip = batch
        .append
        .binary_search_by_key(&next, |(seq, _)| *seq)
        .ok()?;
    Some(
        batch.append[skip..]
            .iter()
            .map(|(seq, record)| Stored {
                seq: *seq,
                record: record.clone(),
                attempts: 0,
            })
            .collect(),
    )
}

/// Classifies the result of one delivery attempt (see the module docs).
pub(crate) fn classify(result: &Result<(), CallError>) -> Attempt {
    match result {
        Ok(()) => Attempt::Done("delivered"),
        Err(CallError::Unimplemented) => Attempt::Done("unimplemented"),
        Err(CallError::Status(s)) if s.code() == Code::AlreadyExists => Attempt::Done("duplicate"),
        Err(CallError::Status(s)) if s.code() == Code::InvalidArgument => Attempt::Done("rejected"),
        Err(e) => Attempt::Retry(crate::outcome::Cause::of(e).as_str()),
    }
}

/// The wait after failed attempt number `attempt` (1 for the first): `initial` doubled per
/// attempt up to `max`, then scaled by `0.5 + 0.5 * unit` ("equal jitter": at least half the
/// backoff, so retries stay spaced, and spread so that events failed together do not retry
/// together). `unit` is a random number in `[0, 1)`.
pub(crate) fn backoff(attempt: u32, retry: &RetrySettings, unit: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let full = retry.initial.saturating_mul(factor).min(retry.max);
    full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
}

impl Deliverer {
    /// Walks the spool from its start, starting a delivery task per event as permits allow,
    /// until `stop`; then waits for the tasks (which return promptly once stopped).
    pub(crate) async fn feed(
        self: Arc<Self>,
        store: Arc<Store>,
        mut state: watch::Receiver<State>,
        concurrency: usize,
        outcomes: mpsc::UnboundedSender<Outcome<u64>>,
    ) {
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut stop = self.stop.clone();
        let mut tasks = JoinSet::new();
        // Sequence numbers start at 1, and the wait below only lets through a commit at or
        // beyond `next`, so a read finds at least one event.
        let mut next = 1u64;
        'feed: loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                r = state.wait_for(|s| s.last_seq >= next) => if r.is_err() { break },
            }
            // Everything committed up to here is visible to the read below.
            let (committed, fresh) = {
                let s = state.borrow();
                (s.last_seq, s.fresh.clone())
            };
            let reader = store.clone();
            let page = match fresh.as_deref().and_then(|batch| fresh_page(batch, next)) {
                // Just committed, still in memory: no read back (the usual case while the feeder
                // keeps up).
                Some(page) => page,
                None => match tokio::task::spawn_blocking(move || reader.load(next, PAGE)).await {
                    Ok(Ok(page)) => page,
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "cannot read the after-event spool; retrying");
                        tokio::time::sleep(READ_RETRY).await;
                        continue;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "after-event spool read task failed; retrying");
                        tokio::time::sleep(READ_RETRY).await;
                        continue;
                    }
                },
            };
            if page.is_empty() {
                // Only if events up to `committed` were removed unread (none are): skip past
                // them. Not past the current `last_seq`: a commit that landed after the read
                // must be read next.
                next = next.max(committed + 1);
                continue;
            }
            for stored in page {
                let permit = tokio::select! {
                    _ = stop.wait_for(|s| *s) => break 'feed,
                    p = permits.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break 'feed,
                    },
                };
                next = stored.seq + 1;
                let this = self.clone();
                let outcomes = outcomes.clone();
                tasks.spawn(async move {
                    gauge!("openim_shim_after_in_flight").increment(1.0);
                    let Stored {
                        seq,
                        record,
                        attempts,
                    } = stored;
                    let _ = this.deliver(seq, &record, attempts, &outcomes).await;
                    gauge!("openim_shim_after_in_flight").decrement(1.0);
                    drop(permit);
                });
                // Reap finished tasks so the set does not grow with the event count.
                while tasks.try_join_next().is_some() {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Delivers one spooled event (`record`, keyed `key`, `attempts` made before) until it is
    /// done with, or delivery stops; reports on `outcomes`. Returns whether it is done with
    /// (not: stopped).
    pub(crate) async fn deliver<K: Clone + std::fmt::Debug>(
        &self,
        key: K,
        record: &[u8],
        attempts: u32,
        outcomes: &mpsc::UnboundedSender<Outcome<K>>,
    ) -> bool {
        let bytes = record.len() as u64;
        let done = || {
            let _ = outcomes.send(Outcome::Done {
                key: key.clone(),
                bytes,
            });
            true
        };
        let record = match SpoolRecord::decode(record) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(?key, error = %e, "unreadable after-event in the spool: removed");
                counter!("openim_shim_after_dropped_total",
                    "command" => "unknown", "reason" => "corrupt")
                .increment(1);
                return done();
            }
        };
        let Some((wire_name, command)) = commands::lookup(&record.command) else {
            // Spooled by a version that served a command this one does not.
            tracing::error!(
                command = record.command,
                operation_id = record.operation_id,
                idempotency_key = record.idempotency_key,
                "spooled after-event of a command this version does not serve: removed"
            );
            counter!("openim_shim_after_dropped_total",
                "command" => "unknown", "reason" => "unknown_command")
            .increment(1);
            return done();
        };
        let name = command.name;
        let timeout = self
            .timeouts
            .get(name)
            .copied()
            .unwrap_or(self.default_timeout);
        let mut stop = self.stop.clone();
        let mut attempt = attempts.saturating_add(1);
        let started = Instant::now();
        loop {
            let trace = traces::delivery(
                name,
                &record.traceparent,
                &record.tracestate,
                &record.operation_id,
                &record.idempotency_key,
                attempt,
            );
            let meta = CallMeta {
                operation_id: &record.operation_id,
                command: wire_name,
                timeout,
                unimplemented_ttl: self.unimplemented_ttl,
                idempotency_key: Some(&record.idempotency_key),
                delivery_attempt: Some(attempt),
                trace: &trace,
            };
            let call = self
                .client
                .unary_encoded(command.rpc, record.payload.clone(), meta);
            let result = tokio::select! {
                r = call => r,
                _ = stop.wait_for(|s| *s) => {
                    traces::delivery_end(&trace, "stopped", true);
                    // The policy may have got it: count the attempt. The event stays spooled.
                    let _ = outcomes.send(Outcome::Attempted { key: key.clone(), attempts: attempt });
                    return false;
                }
            };
            let cause = match classify(&result) {
                Attempt::Done(label) => {
                    traces::delivery_end(&trace, label, false);
                    if attempt > 1 {
                        tracing::info!(
                            command = name,
                            operation_id = record.operation_id,
                            idempotency_key = record.idempotency_key,
                            attempt,
                            result = label,
                            "after-event delivered after retries"
                        );
                    }
                    counter!("openim_shim_after_deliveries_total",
                        "command" => name, "result" => label)
                    .increment(1);
                    super::LAST_DONE_MS.store(unix_ms(), Ordering::Relaxed);
                    return done();
                }
                Attempt::Retry(cause) => {
                    traces::delivery_end(&trace, cause, true);
                    cause
                }
            };
            let age_ms = unix_ms().saturating_sub(record.accepted_unix_ms);
            if u128::try_from(age_ms).unwrap_or(0) >= self.retry.max_age.as_millis() {
                tracing::error!(command = name, operation_id = record.operation_id,
                    idempotency_key = record.idempotency_key, attempt, cause,
                    error = %result.err().map(|e| e.to_string()).unwrap_or_default(),
                    "after-event given up: still not delivered after max_age");
                counter!("openim_shim_after_dropped_total",
                    "command" => name, "reason" => "expired")
                .increment(1);
                return done();
            }
            let _ = outcomes.send(Outcome::Attempted {
                key: key.clone(),
                attempts: attempt,
            });
            counter!("openim_shim_after_retries_total", "command" => name, "cause" => cause)
                .increment(1);
            let error = result.err().map(|e| e.to_string()).unwrap_or_default();
            if attempt == attempts.saturating_add(1) && warn_now() {
                tracing::warn!(
                    command = name,
                    operation_id = record.operation_id,
                    idempotency_key = record.idempotency_key,
                    attempt,
                    cause,
                    error,
                    "after-event delivery failed; retrying with backoff (further failures \
                     this second at debug level; all in openim_shim_after_retries_total)"
                );
            } else {
                tracing::debug!(command = name, operation_id = record.operation_id,
                    idempotency_key = record.idempotency_key, attempt, cause, error,
                    since = ?started.elapsed(), "after-event delivery failed again");
            }
            let wait = backoff(attempt, &self.retry, fastrand::f64());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = stop.wait_for(|s| *s) => return false,
            }
            attempt = attempt.saturating_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tonic::Status;

    use super::*;

    #[test]
    fn a_fresh_batch_is_delivered_from_memory_only_when_it_holds_the_next_event() {
        let batch = Batch {
            append: vec![
                (7, Bytes::from_static(b"seven")),
                (8, Bytes::from_static(b"eight")),
            ],
            ..Batch::default()
        };
        let page = fresh_page(&batch, 8).expect("8 is in the batch");
        assert_eq!(
            page,
            vec![Stored {
                seq: 8,
                record: Bytes::from_static(b"eight"),
                attempts: 0,
            }]
        );
        // Shared with the batch, not copied.
        assert_eq!(page[0].record.as_ptr(), batch.append[1].1.as_ptr());
        assert_eq!(fresh_page(&batch, 7).map(|p| p.len()), Some(2));
        // Events before the batch, or after it, are read from the spool.
        assert_eq!(fresh_page(&batch, 6), None);
        assert_eq!(fresh_page(&batch, 9), None);
        assert_eq!(fresh_page(&Batch::default(), 1), None);
    }

    fn retry() -> RetrySettings {
        RetrySettings {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(5),
            max_age: Duration::from_secs(3600),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_keeps_at_least_half() {
        let r = retry();
        let full: Vec<_> = (1..=8).map(|a| backoff(a, &r, 1.0)).collect();
        assert_eq!(
            full,
            [200, 400, 800, 1600, 3200, 5000, 5000, 5000].map(Duration::from_millis)
        );
        assert_eq!(backoff(1, &r, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(3, &r, 0.5), Duration::from_millis(600));
        // No overflow, however many attempts.
        assert_eq!(backoff(u32::MAX, &r, 1.0), r.max);
    }

    #[test]
    fn only_answers_that_can_change_are_retried() {
        let status = |c| Err(CallError::Status(Status::new(c, "x")));
        assert_eq!(classify(&Ok(())), Attempt::Done("delivered"));
        assert_eq!(
            classify(&Err(CallError::Unimplemented)),
            Attempt::Done("unimplemented")
        );
        assert_eq!(
            classify(&status(Code::AlreadyExists)),
            Attempt::Done("duplicate")
        );
        assert_eq!(
            classify(&status(Code::InvalidArgument)),
            Attempt::Done("rejected")
        );
        assert_eq!(
            classify(&Err(CallError::Timeout(Duration::from_secs(1)))),
            Attempt::Retry("timeout")
        );
        assert_eq!(
            classify(&status(Code::Unavailable)),
            Attempt::Retry("unavailable")
        );
        for code in [
            Code::Internal,
            Code::Unknown,
            Code::ResourceExhausted,
            Code::Aborted,
            Code::FailedPrecondition,
        ] {
            assert_eq!(classify(&status(code)), Attempt::Retry("error"), "{code:?}");
        }
    }
}
