//! The audit log: JSON lines of decisions and sent messages, written by a thread of its own so
//! that a slow disk never slows an RPC.
//!
//! The RPC thread serialises one line (one allocation) and hands it over a bounded channel with
//! `try_send`; when the channel is full the line is dropped and counted
//! (`openim_policy_audit_dropped_total`), never waited for. The writer thread appends lines
//! through a buffer, flushes whenever the channel is empty, and rotates by size: `audit.jsonl`
//! becomes `audit.jsonl.1`, `.1` becomes `.2`, ... up to `keepFiles`.
//!
//! With `idKeyFile`, user and group IDs are written as keyed hashes (HMAC-SHA256, truncated to
//! 128 bits): lines about the same user still join, but a reader without the key cannot tell who
//! it is, nor test a guess (a plain hash of a short numeric ID would fall to a dictionary).

use std::{
    borrow::Cow,
    fs::{File, OpenOptions},
    io::{self, BufWriter, Write},
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc::{self, Receiver, SyncSender, TrySendError},
    },
    time::SystemTime,
};

use metrics::Counter;
use openim_common::pseudonym::{MIN_KEY_BYTES, Pseudonymizer};
use serde::{Serialize, Serializer};

use crate::rules::{AuditContent, AuditSpec, RulesError};

/// Default size at which the file is rotated.
const DEFAULT_MAX_FILE_SIZE: u64 = 100 << 20;
/// Default number of rotated files kept.
const DEFAULT_KEEP_FILES: u32 = 5;
/// Default number of lines waiting to be written.
const DEFAULT_QUEUE: usize = 10_000;

enum Msg {
    Line(String),
    /// Write everything before this, then answer.
    Flush(mpsc::Sender<()>),
}

/// Where lines go: the rotating file, or a test's sink.
pub(crate) trait Sink: Send + 'static {
    /// Appends one line (without its newline).
    fn write_line(&mut self, line: &str) -> io::Result<()>;
    /// Makes what was written durable enough (the OS has it).
    fn flush(&mut self) -> io::Result<()>;
}

/// An open audit log.
pub(crate) struct AuditLog {
    tx: SyncSender<Msg>,
    spec: AuditSpec,
    base_dir: PathBuf,
    dropped: AtomicU64,
    dropped_counter: Counter,
    /// Keyed hashes of IDs (`idKeyFile`); none: IDs in clear. The shim's capture
    /// (`capture.hashKey`) uses the same function: the same key gives the same pseudonyms, so
    /// audit lines and captured callbacks still join.
    id_key: Option<Pseudonymizer>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("path", &self.spec.path)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (creates) the file of `spec`, relative to `base_dir`, and starts its writer; reuses
    /// `previous` when it is the same log.
    pub(crate) fn open(
        spec: &AuditSpec,
        base_dir: &Path,
        previous: Option<&Arc<Self>>,
    ) -> Result<Arc<Self>, RulesError> {
        if let Some(p) = previous
            && p.spec == *spec
            && p.base_dir == base_dir
        {
            return Ok(p.clone());
        }
        let file = match &spec.path {
            Some(path) => {
                let path = base_dir.join(path);
                Some(
                    RotatingFile::open(
                        path.clone(),
                        spec.max_file_size.map_or(DEFAULT_MAX_FILE_SIZE, |s| s.0),
                        spec.keep_files.unwrap_or(DEFAULT_KEEP_FILES),
                    )
                    .map_err(|source| RulesError::Read { path, source })?,
                )
            }
            None if spec.stdout => None,
            None => {
                return Err(RulesError::Invalid {
                    path: None,
                    line: None,
                    key: "audit".into(),
                    message: "give the audit log a `path`, or `stdout: true`, or both".into(),
                });
            }
        };
        let file = Tee {
            file,
            stdout: spec.stdout.then(|| BufWriter::new(io::stdout())),
        };
        let id_key = match &spec.id_key_file {
            Some(key) => Some(read_id_key(&base_dir.join(key))?),
            None => None,
        };
        let queue = spec.queue_size.map_or(DEFAULT_QUEUE, |n| n.get() as usize);
        let mut log = Self::start(spec.clone(), base_dir, file, queue);
        log.id_key = id_key;
        Ok(Arc::new(log))
    }

    /// `id` as the log writes it: in clear, or its keyed hash (an empty ID stays empty).
    pub(crate) fn id<'a>(&self, id: &'a str) -> Cow<'a, str> {
        match &self.id_key {
            Some(key) => Cow::Owned(key.hash(id)),
            None => Cow::Borrowed(id),
        }
    }

    /// Starts a writer thread writing to `sink`.
    pub(crate) fn start(spec: AuditSpec, base_dir: &Path, sink: impl Sink, queue: usize) -> Self {
        let (tx, rx) = mpsc::sync_channel(queue);
        std::thread::Builder::new()
            .name("openim-policy-audit".into())
            .spawn(move || run(&rx, sink))
            .expect("cannot start the audit writer thread");
        Self {
            tx,
            spec,
            base_dir: base_dir.to_owned(),
            dropped: AtomicU64::new(0),
            dropped_counter: metrics::counter!("openim_policy_audit_dropped_total"),
            id_key: None,
        }
    }

    /// What to write of message contents.
    pub(crate) fn content(&self) -> AuditContent {
        self.spec.content
    }

    /// Queues `record`, or drops it when the queue is full. Never blocks. The line carries the
    /// RPC's decision ID and trace ID (`crate::observe`), which join it with the policy's span.
    pub(crate) fn write(&self, record: &Record<'_>) {
        let ids = crate::observe::ids();
        let line = Line {
            record,
            decision_id: ids.as_ref().map(|i| i.0.as_str()),
            trace_id: ids.as_ref().and_then(|i| i.1.as_deref()),
        };
        let line = match serde_json::to_string(&line) {
            Ok(line) => line,
            Err(e) => {
                tracing::warn!(error = %e, "cannot serialise an audit record");
                return;
            }
        };
        match self.tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped_counter.increment(1);
                if self.dropped.fetch_add(1, Ordering::Relaxed) == 0 {
                    tracing::warn!(
                        "audit log queue full: dropping audit lines (counted in openim_policy_audit_dropped_total)"
                    );
                }
            }
        }
    }

    /// Lines dropped so far.
    #[cfg(test)]
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Waits until every line queued so far is written (blocks: not for RPC threads).
    pub(crate) fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Msg::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

/// The HMAC key in the file at `path` (surrounding whitespace ignored).
fn read_id_key(path: &Path) -> Result<Pseudonymizer, RulesError> {
    let bytes = std::fs::read(path).map_err(|source| RulesError::Read {
        path: path.to_owned(),
        source,
    })?;
    let key = bytes.trim_ascii();
    Pseudonymizer::new(key).map_err(|_| RulesError::Invalid {
        path: None,
        line: None,
        key: "audit.idKeyFile".into(),
        message: format!(
            "{}: the key has {} bytes, at least {MIN_KEY_BYTES} are needed \
             (e.g. `openssl rand -hex 32`)",
            path.display(),
            key.len()
        ),
    })
}

/// The writer thread: until every sender is gone.
fn run(rx: &Receiver<Msg>, mut sink: impl Sink) {
    let written = metrics::counter!("openim_policy_audit_lines_total");
    let errors = metrics::counter!("openim_policy_audit_errors_total");
    let mut failing = false;
    let mut report = |result: io::Result<()>| match result {
        Ok(()) => failing = false,
        Err(e) => {
            errors.increment(1);
            if !failing {
                tracing::warn!(error = %e, "cannot write the audit log");
            }
            failing = true;
        }
    };
    while let Ok(msg) = rx.recv() {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            match msg {
                Msg::Line(line) => {
                    written.increment(1);
                    report(sink.write_line(&line));
                }
                Msg::Flush(done) => {
                    report(sink.flush());
                    let _ = done.send(());
                }
            }
            next = rx.try_recv().ok();
        }
        report(sink.flush());
    }
    report(sink.flush());
}

/// Where an audit log's lines go: its file, standard output, or both.
struct Tee {
    file: Option<RotatingFile>,
    stdout: Option<BufWriter<io::Stdout>>,
}

impl Sink for Tee {
    fn write_line(&mut self, line: &str) -> io::Result<()> {
        // Both are tried: a full disk must not silence standard output, nor the reverse.
        let file = self.file.as_mut().map_or(Ok(()), |f| f.write_line(line));
        let stdout = self.stdout.as_mut().map_or(Ok(()), |out| {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")
        });
        file.and(stdout)
    }

    fn flush(&mut self) -> io::Result<()> {
        let file = self.file.as_mut().map_or(Ok(()), Sink::flush);
        let stdout = self.stdout.as_mut().map_or(Ok(()), Write::flush);
        file.and(stdout)
    }
}

/// The audit file, rotated by size.
struct RotatingFile {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
    max_size: u64,
    keep: u32,
}

impl RotatingFile {
    fn open(path: PathBuf, max_size: u64, keep: u32) -> io::Result<Self> {
        // A log in a directory of its own (e.g. `data/` of a fresh checkout) needs no setup.
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            out: BufWriter::new(file),
            size,
            max_size,
            keep,
        })
    }

    fn numbered(&self, n: u32) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(format!(".{n}"));
        name.into()
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.out.flush()?;
        if self.keep == 0 {
            let file = OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(&self.path)?;
            self.out = BufWriter::new(file);
        } else {
            for n in (1..self.keep).rev() {
                match std::fs::rename(self.numbered(n), self.numbered(n + 1)) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            std::fs::rename(&self.path, self.numbered(1))?;
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            self.out = BufWriter::new(file);
        }
        self.size = 0;
        Ok(())
    }
}

impl Sink for RotatingFile {
    fn write_line(&mut self, line: &str) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.size > 0 && self.size + len > self.max_size {
            self.rotate()?;
        }
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.size += len;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn rfc3339<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&humantime::format_rfc3339_millis(*t))
}

/// A record as written: with the IDs of the RPC that made it.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    record: &'a Record<'a>,
    /// Random, one per RPC: the `openim.decision_id` of the policy's span.
    #[serde(rename = "decisionID", skip_serializing_if = "Option::is_none")]
    decision_id: Option<&'a str>,
    /// The W3C trace ID of the call (the shim's trace, or OpenIM's when it sent one).
    #[serde(rename = "traceID", skip_serializing_if = "Option::is_none")]
    trace_id: Option<&'a str>,
}

/// One audit line. Keys follow OpenIM's JSON (`sendID`, `serverMsgID`, ...).
#[derive(Debug, Serialize)]
pub(crate) struct Record<'a> {
    /// When.
    #[serde(serialize_with = "rfc3339")]
    pub(crate) time: SystemTime,
    /// `decision` (a before-callback's decision that was not a plain continue), `sent` (an
    /// after-send event) or `text` (a text-field decision).
    pub(crate) event: &'static str,
    /// The callback.
    pub(crate) command: &'static str,
    /// `refuse`, `modify`, `continue`, or `dryRun` (a rule in dry-run matched: it would have
    /// refused or changed something).
    pub(crate) outcome: &'static str,
    /// The rule that decided (or would have).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) rule: Option<&'a str>,
    /// OpenIM's operation ID, where the callback has it.
    #[serde(rename = "operationID", skip_serializing_if = "Option::is_none")]
    pub(crate) operation_id: Option<&'a str>,
    /// The message, for message events.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<MessageFields<'a>>,
    /// The text field, for text events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) field: Option<&'static str>,
}

/// The message part of an audit line.
#[derive(Debug, Serialize)]
pub(crate) struct MessageFields<'a> {
    /// Sender (in clear, or its keyed hash: see [`AuditLog::id`]).
    #[serde(rename = "sendID")]
    pub(crate) send_id: Cow<'a, str>,
    /// Receiver (one-to-one chats).
    #[serde(rename = "recvID")]
    pub(crate) recv_id: Cow<'a, str>,
    /// Group (group chats).
    #[serde(rename = "groupID")]
    pub(crate) group_id: Cow<'a, str>,
    /// Session type number.
    #[serde(rename = "sessionType")]
    pub(crate) session_type: i32,
    /// Content type number.
    #[serde(rename = "contentType")]
    pub(crate) content_type: i32,
    /// Client message ID.
    #[serde(rename = "clientMsgID")]
    pub(crate) client_msg_id: &'a str,
    /// Server message ID.
    #[serde(rename = "serverMsgID")]
    pub(crate) server_msg_id: &'a str,
    /// Size of the content in bytes.
    #[serde(rename = "contentBytes")]
    pub(crate) content_bytes: usize,
    /// The content, as `audit.content` says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<Cow<'a, str>>,
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    fn spec(path: &str) -> AuditSpec {
        crate::rules::RulesFile::parse(&format!("audit: {{path: {path}}}\n"))
            .unwrap()
            .audit
            .unwrap()
    }

    fn record(event: &'static str) -> Record<'static> {
        Record {
            time: SystemTime::UNIX_EPOCH,
            event,
            command: "afterSendSingleMsg",
            outcome: "continue",
            rule: None,
            operation_id: Some("op-1"),
            message: Some(MessageFields {
                send_id: Cow::Borrowed("u1"),
                recv_id: Cow::Borrowed("u2"),
                group_id: Cow::Borrowed(""),
                session_type: 1,
                content_type: 101,
                client_msg_id: "c",
                server_msg_id: "s",
                content_bytes: 17,
                content: Some(Cow::Borrowed(r#"{"content":"hi"}"#)),
            }),
            field: None,
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("openim-policy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn lines_are_json_with_openim_keys() {
        let line = serde_json::to_string(&record("sent")).unwrap();
        assert_eq!(
            line,
            r#"{"time":"1970-01-01T00:00:00.000Z","event":"sent","command":"afterSendSingleMsg","outcome":"continue","operationID":"op-1","sendID":"u1","recvID":"u2","groupID":"","sessionType":1,"contentType":101,"clientMsgID":"c","serverMsgID":"s","contentBytes":17,"content":"{\"content\":\"hi\"}"}"#
        );
    }

    /// An audit log needs somewhere to go: a file, standard output, or both.
    #[test]
    fn an_audit_log_goes_to_a_file_to_stdout_or_both() {
        let dir = tempfile::tempdir().unwrap();
        let parse = |yaml: &str| crate::rules::RulesFile::parse(yaml).unwrap().audit.unwrap();
        let nowhere = parse("audit: {content: none}\n");
        let e = AuditLog::open(&nowhere, dir.path(), None).unwrap_err();
        assert!(e.to_string().contains("stdout: true"), "{e}");
        let stdout_only = parse("audit: {stdout: true}\n");
        assert!(AuditLog::open(&stdout_only, dir.path(), None).is_ok());
        assert!(!dir.path().join("audit.jsonl").exists());
        let both = parse("audit: {path: audit.jsonl, stdout: true}\n");
        let log = AuditLog::open(&both, dir.path(), None).unwrap();
        log.write(&record("sent"));
        log.flush();
        let written = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
        assert_eq!(written.lines().count(), 1, "{written}");
    }

    /// Outside an RPC (no decision ID), a line is the record alone; inside one it carries the
    /// IDs (tests/tests/traces.rs checks them against the span).
    #[test]
    fn a_line_written_outside_an_rpc_has_no_decision_id() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::open(&spec("audit.jsonl"), dir.path(), None).unwrap();
        log.write(&record("sent"));
        log.flush();
        let written = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
        assert_eq!(
            written.trim_end(),
            serde_json::to_string(&record("sent")).unwrap()
        );
    }

    #[test]
    fn with_an_id_key_ids_are_keyed_hashes_that_still_join() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec("audit.jsonl");
        let clear = AuditLog::open(&s, dir.path(), None).unwrap();
        assert_eq!(clear.id("4826475913"), "4826475913");
        std::fs::write(dir.path().join("id.key"), "0123456789abcdef0123\n").unwrap();
        s.id_key_file = Some("id.key".into());
        let log = AuditLog::open(&s, dir.path(), None).unwrap();
        let hashed = log.id("4826475913");
        assert!(
            hashed.starts_with("h:") && hashed.len() == 2 + 32,
            "{hashed}"
        );
        assert!(!hashed.contains("4826475913"));
        assert_eq!(log.id("4826475913"), hashed, "the same user must join");
        assert_ne!(log.id("4826475914"), hashed);
        assert_eq!(log.id(""), "", "no ID stays no ID");
        // Another key, another hash: a reader cannot test guesses without the key.
        std::fs::write(dir.path().join("other.key"), "fedcba9876543210fedc").unwrap();
        s.id_key_file = Some("other.key".into());
        let other = AuditLog::open(&s, dir.path(), None).unwrap();
        assert_ne!(other.id("4826475913"), hashed);
        // A short key is refused, naming the setting.
        std::fs::write(dir.path().join("short.key"), "abc").unwrap();
        s.id_key_file = Some("short.key".into());
        let e = AuditLog::open(&s, dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("audit.idKeyFile") && e.contains("16"), "{e}");
    }

    #[test]
    fn the_file_is_rotated_by_size_keeping_n_files() {
        let dir = temp_dir("audit-rotate");
        let one = serde_json::to_string(&record("sent")).unwrap().len() as u64 + 1;
        let mut s = spec("audit.jsonl");
        s.max_file_size = Some(crate::rules::ByteSize(one * 2));
        s.keep_files = Some(2);
        let log = AuditLog::open(&s, &dir, None).unwrap();
        for _ in 0..7 {
            log.write(&record("sent"));
        }
        log.flush();
        let lines = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .map(|t| t.lines().count())
                .unwrap_or(0)
        };
        assert_eq!(
            (
                lines("audit.jsonl"),
                lines("audit.jsonl.1"),
                lines("audit.jsonl.2")
            ),
            (1, 2, 2)
        );
        assert!(!dir.join("audit.jsonl.3").exists());
        let first = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(first.trim()).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_path_is_a_rules_error_and_missing_directories_are_made() {
        // A path under a regular file cannot be created, even by root.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a-file"), b"x").unwrap();
        let e = AuditLog::open(&spec("a-file/x/audit.jsonl"), dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a-file/x/audit.jsonl"), "{e}");
        AuditLog::open(&spec("new/dirs/audit.jsonl"), dir.path(), None).unwrap();
        assert!(dir.path().join("new/dirs/audit.jsonl").exists());
    }

    /// A sink stuck until the test lets it go: a disk that does not answer.
    struct Stuck {
        gate: Arc<Mutex<()>>,
        lines: Arc<Mutex<Vec<String>>>,
    }

    impl Sink for Stuck {
        fn write_line(&mut self, line: &str) -> io::Result<()> {
            drop(self.gate.lock().unwrap());
            self.lines.lock().unwrap().push(line.to_owned());
            Ok(())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stuck_disk_drops_and_counts_lines_instead_of_blocking() {
        let gate = Arc::new(Mutex::new(()));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let held = gate.lock().unwrap();
        let log = AuditLog::start(
            spec("unused"),
            Path::new("."),
            Stuck {
                gate: gate.clone(),
                lines: lines.clone(),
            },
            4,
        );
        // The writer takes at most one line and then waits on the disk; the queue holds 4.
        for _ in 0..100 {
            log.write(&record("sent"));
        }
        assert!(log.dropped() >= 95, "dropped {}", log.dropped());
        drop(held);
        log.flush();
        let written = lines.lock().unwrap().len() as u64;
        assert_eq!(written + log.dropped(), 100);
    }

    #[test]
    fn the_same_log_is_reused_across_reloads() {
        let dir = temp_dir("audit-reuse");
        let a = AuditLog::open(&spec("a.jsonl"), &dir, None).unwrap();
        let b = AuditLog::open(&spec("a.jsonl"), &dir, Some(&a)).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = AuditLog::open(&spec("c.jsonl"), &dir, Some(&a)).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
