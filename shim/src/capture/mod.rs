//! Capture: callbacks recorded to JSON lines files, for `openim-shim replay` (what would a new
//! policy have answered?) and for looking at real traffic. Off by default.
//!
//! Never on the reply's path: the handler decides whether to keep a callback (command filter,
//! sampling), copies reference-counted buffers into a [`Record`] and `try_send`s it to a bounded
//! queue; when the queue is full the record is dropped and counted
//! (`openim_shim_capture_dropped_total`). A thread of its own turns records into lines (and
//! hashes IDs, if configured) and writes them ([`files`]: rotated by size, bounded in total).
//!
//! - [`record`]: one line, written and read back. Pure.
//! - [`files`]: the rotating, size-bounded files.

pub mod files;
pub mod record;

use std::{
    collections::HashSet,
    io,
    sync::Arc,
    time::{Duration, SystemTime},
};

use metrics::Counter;
use openim_common::pseudonym::Pseudonymizer;
use tokio::sync::{mpsc, oneshot};

use crate::{callbacks::Verdict, config::CaptureSettings, dispatch::Call};
use files::CaptureFiles;
pub(crate) use record::{Record, ShadowAnswer};

enum Msg {
    Record(Box<Record>),
    /// Write out everything before this, then answer.
    Flush(oneshot::Sender<()>),
}

/// The capture, shared by all requests; cheap to clone.
#[derive(Debug, Clone)]
pub struct Capture(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    tx: mpsc::Sender<Msg>,
    sample: f64,
    /// Config keys of the captured commands; `None`: every command.
    commands: Option<HashSet<&'static str>>,
    dropped: Counter,
}

/// Whether a callback is kept at sampling rate `rate` (0 to 1), given a uniform draw in
/// `[0, 1)`: rate 1 keeps all, 0 none.
pub(crate) fn sampled(rate: f64, draw: f64) -> bool {
    draw < rate
}

impl Capture {
    /// Opens the capture directory and starts the writer, if `settings` enable the capture.
    pub async fn start(settings: &CaptureSettings) -> io::Result<Option<Self>> {
        if !settings.enabled {
            return Ok(None);
        }
        let (dir, max_file, max_total) = (
            settings.dir.clone(),
            settings.max_file_bytes,
            settings.max_total_bytes,
        );
        // Creating the directory and listing its files is blocking I/O.
        let files =
            tokio::task::spawn_blocking(move || CaptureFiles::open(&dir, max_file, max_total))
                .await
                .map_err(io::Error::other)??;
        let ids = match &settings.hash_key {
            Some(key) => Some(Pseudonymizer::new(key.as_bytes()).map_err(io::Error::other)?),
            None => None,
        };
        let (tx, rx) = mpsc::channel(settings.queue);
        std::thread::Builder::new()
            .name("openim-shim-capture".into())
            .spawn(move || write(rx, files, ids.as_ref()))?;
        tracing::info!(dir = %settings.dir.display(), sample = settings.sample,
            ids_hashed = settings.hash_key.is_some(), "capturing callbacks");
        Ok(Some(Self(Arc::new(Inner {
            tx,
            sample: settings.sample,
            commands: (!settings.commands.is_empty())
                .then(|| settings.commands.iter().copied().collect()),
            dropped: metrics::counter!("openim_shim_capture_dropped_total"),
        }))))
    }

    /// Keeps `call`, answered with `verdict`, if the filter and the sampling say so. Never
    /// waits.
    pub(crate) fn offer(&self, call: &Call, verdict: &Verdict) {
        let inner = &self.0;
        if let Some(commands) = &inner.commands
            && !commands.contains(call.command.config_key)
        {
            return;
        }
        if !sampled(inner.sample, fastrand::f64()) {
            return;
        }
        self.push(Record {
            time: SystemTime::now(),
            command: call.wire_name,
            kind: call.command.kind,
            operation_id: call.operation_id.clone(),
            body: call.body.clone(),
            reply: verdict.body.clone(),
            outcome: verdict.outcome,
            cause: call.cause,
            policy_latency: call.policy_latency,
            shadow: None,
        });
    }

    #[cfg(test)]
    fn with_queue(queue: usize) -> (Self, mpsc::Receiver<Msg>) {
        let (tx, rx) = mpsc::channel(queue);
        let inner = Inner {
            tx,
            sample: 1.0,
            commands: None,
            dropped: Counter::noop(),
        };
        (Self(Arc::new(inner)), rx)
    }

    /// Keeps `record` (a shadow disagreement, already sampled). Never waits: when the queue is
    /// full the record is dropped and counted. Returns whether it was queued.
    pub(crate) fn push(&self, record: Record) -> bool {
        let queued = self.0.tx.try_send(Msg::Record(Box::new(record))).is_ok();
        if !queued {
            self.0.dropped.increment(1);
        }
        queued
    }

    /// Waits (at most `within`) until what was queued is written out: at shutdown.
    pub async fn flush(&self, within: Duration) {
        let (done, written) = oneshot::channel();
        let flushed = tokio::time::timeout(within, async {
            self.0.tx.send(Msg::Flush(done)).await.ok()?;
            written.await.ok()
        })
        .await;
        if !matches!(flushed, Ok(Some(()))) {
            tracing::warn!(?within, "capture: not all records were written out in time");
        }
    }
}

/// The writer thread: lines out, flushed whenever the queue is empty.
#[allow(clippy::needless_pass_by_value)] // the thread owns them
fn write(mut rx: mpsc::Receiver<Msg>, mut files: CaptureFiles, ids: Option<&Pseudonymizer>) {
    let written = metrics::counter!("openim_shim_capture_written_total");
    let failed = metrics::counter!("openim_shim_capture_errors_total");
    let mut errors = 0u64;
    let mut report = |e: io::Error| {
        failed.increment(1);
        errors += 1;
        // The first error, then one in a thousand: a full disk must not flood the log.
        if errors % 1000 == 1 {
            tracing::warn!(error = %e, errors, "capture: cannot write");
        }
    };
    while let Some(msg) = rx.blocking_recv() {
        let mut next = Some(msg);
        while let Some(msg) = next {
            match msg {
                Msg::Record(record) => match files.write_line(&record.to_line(ids)) {
                    Ok(()) => written.increment(1),
                    Err(e) => report(e),
                },
                Msg::Flush(done) => {
                    if let Err(e) = files.flush() {
                        report(e);
                    }
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = files.flush() {
            report(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that cannot keep up (here: one that does not read at all) costs records, never
    /// a wait.
    #[test]
    fn a_full_queue_drops_records_at_once() {
        let (capture, _rx) = Capture::with_queue(2);
        let record = Record {
            time: SystemTime::now(),
            command: "callbackBeforeSendSingleMsgCommand",
            kind: crate::commands::Kind::Before,
            operation_id: String::new(),
            body: bytes::Bytes::from_static(b"{}"),
            reply: bytes::Bytes::from_static(crate::openim::CONTINUE),
            outcome: crate::outcome::Outcome::Continue,
            cause: None,
            policy_latency: None,
            shadow: None,
        };
        let queued: Vec<_> = (0..5).map(|_| capture.push(record.clone())).collect();
        assert_eq!(queued, [true, true, false, false, false]);
    }

    #[test]
    fn sampling_keeps_the_configured_share() {
        assert!((0..1000).all(|_| sampled(1.0, fastrand::f64())));
        assert!((0..1000).all(|_| !sampled(0.0, fastrand::f64())));
        let mut rng = fastrand::Rng::with_seed(7);
        let kept = (0..100_000).filter(|_| sampled(0.25, rng.f64())).count();
        // 25,000 expected; the standard deviation is about 137.
        assert!((24_000..26_000).contains(&kept), "{kept}");
    }
}
