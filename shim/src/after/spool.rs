//! The after-event spool's storage: a `redb` database (an embedded, crash-safe, copy-on-write
//! B-tree store) in the spool directory, or the same in memory when the spool is disabled.
//!
//! Blocking code: every method does disk I/O and is called from `spawn_blocking`, never from
//! the async runtime's threads. One writer (see `super::writer`) commits batches; readers load
//! pages of events for delivery.
//!
//! Storage faults do not wedge it: after a failed write (a full disk, an I/O error) redb refuses
//! every further transaction until the database is opened again, so the store reopens it (redb
//! then repairs it from the last commit) on the next call, at most every `REOPEN_EVERY`. The
//! file never grows past `spool.maxBytes`: the storage under redb refuses to (see [`Capped`]).
//!
//! Each event is keyed by a sequence number that only grows, so a delivery cursor can walk the
//! spool in arrival order while the writer appends behind it. A second table holds the number
//! of delivery attempts already made, so that `delivery-attempt` keeps counting across restarts.

use std::{
    fs::OpenOptions,
    io,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use prost::Message as _;
use redb::{
    Database, Durability, ReadableTable, ReadableTableMetadata, StorageBackend, TableDefinition,
    backends::{FileBackend, InMemoryBackend},
};

/// Event sequence number → encoded [`SpoolRecord`].
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("after_events");
/// Event sequence number → delivery attempts made so far (absent: none).
const ATTEMPTS: TableDefinition<u64, u32> = TableDefinition::new("after_attempts");

/// Name of the database file in the spool directory.
pub const FILE_NAME: &str = "after-events.redb";

/// redb's page cache. The spool is written once and read back soon after, so a small cache is
/// enough; redb's default (1 GiB) would be a surprising amount of memory for a shim.
const CACHE_BYTES: usize = 16 << 20;

/// One spooled event as stored. A protobuf message so that the format can grow compatibly.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SpoolRecord {
    /// The command as OpenIM sent it (looked up in the command table on delivery).
    #[prost(string, tag = "1")]
    pub command: String,
    /// OpenIM's operation ID.
    #[prost(string, tag = "2")]
    pub operation_id: String,
    /// The idempotency key (also inside `payload`'s context).
    #[prost(string, tag = "3")]
    pub idempotency_key: String,
    /// The encoded policy request.
    #[prost(bytes = "bytes", tag = "4")]
    pub payload: Bytes,
    /// When the shim accepted the event, in milliseconds since the Unix epoch.
    #[prost(int64, tag = "5")]
    pub accepted_unix_ms: i64,
    /// The W3C `traceparent` of the callback that brought the event (empty: none): its
    /// deliveries are linked to that trace.
    #[prost(string, tag = "6")]
    pub traceparent: String,
    /// The W3C `tracestate` that came with it (empty: none).
    #[prost(string, tag = "7")]
    pub tracestate: String,
}

/// Why the spool cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The directory cannot be created.
    #[error("cannot create spool directory {}: {source}", dir.display())]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process holds the spool (one spool directory per shim process).
    #[error(
        "spool directory {} is in use by another openim-shim process: give each shim its own \
         (--spool-dir, or spool.dir in the config file)",
        dir.display()
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
    },
    /// The database failed (cannot open, I/O error, corrupt).
    #[error("spool database: {0}")]
    Db(Box<redb::Error>),
    /// The database is being reopened after an error; try again shortly.
    #[error("spool database: reopening after an error")]
    Reopening,
    /// Redis cannot be set up (the URL, the CA file).
    #[error("redis: {0}")]
    Redis(String),
}

/// Wraps any of redb's error types (boxed: redb's error is large, and errors are rare).
fn db_error(e: impl Into<redb::Error>) -> SpoolError {
    SpoolError::Db(Box::new(e.into()))
}

/// What a spool holds when it is opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Events.
    pub events: u64,
    /// Bytes of their records.
    pub bytes: u64,
    /// The highest sequence number in use (0: none).
    pub last_seq: u64,
}

/// One event loaded for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Its sequence number.
    pub seq: u64,
    /// Its encoded [`SpoolRecord`] (shared, not copied, when it comes from a [`Batch`]).
    pub record: Bytes,
    /// Delivery attempts already made.
    pub attempts: u32,
}

/// One group commit.
#[derive(Debug, Default)]
pub struct Batch {
    /// New events: sequence number and encoded [`SpoolRecord`].
    pub append: Vec<(u64, Bytes)>,
    /// Attempts made, by sequence number.
    pub attempts: Vec<(u64, u32)>,
    /// Events done with (delivered, or given up).
    pub remove: Vec<u64>,
}

impl Batch {
    /// Whether there is nothing to commit.
    pub fn is_empty(&self) -> bool {
        self.append.is_empty() && self.attempts.is_empty() && self.remove.is_empty()
    }
}

/// Least time between two reopenings, so that a disk that stays full is not repaired in a loop.
const REOPEN_EVERY: Duration = Duration::from_millis(500);

/// The storage under redb: a file (or memory) that refuses to grow past `max` bytes, as a disk
/// of that size would. Shared, so that the database can be opened again on the same file
/// descriptor (and its lock) after an error.
#[derive(Debug)]
pub struct Capped {
    inner: Box<dyn StorageBackend>,
    max: u64,
    /// Set when a growth was refused; cleared by [`Store::take_refused`].
    refused: AtomicBool,
}

#[derive(Debug)]
struct Shared(Arc<Capped>);

impl StorageBackend for Shared {
    fn len(&self) -> io::Result<u64> {
        self.0.inner.len()
    }

    fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        self.0.inner.read(offset, len)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        if len > self.0.max && len > self.0.inner.len()? {
            self.0.refused.store(true, Ordering::Release);
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("the spool file would grow to {len} bytes, past spool.maxBytes"),
            ));
        }
        self.0.inner.set_len(len)
    }

    fn sync_data(&self, eventual: bool) -> io::Result<()> {
        self.0.inner.sync_data(eventual)
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.0.inner.write(offset, data)
    }
}

/// The spool's database.
#[derive(Debug)]
pub struct Store {
    storage: Arc<Capped>,
    /// `None` while it is being reopened.
    db: Mutex<Option<Arc<Database>>>,
    /// A call failed: reopen before the next.
    broken: AtomicBool,
    last_reopen: Mutex<Option<Instant>>,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (or creates) the spool in `dir`, its file at most `max_bytes` long. Fails if another
    /// process has it open.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(|source| SpoolError::Dir {
            dir: dir.to_owned(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| SpoolError::Dir {
                dir: dir.to_owned(),
                source,
            })?;
        let backend = FileBackend::new(file).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => SpoolError::Locked {
                dir: dir.to_owned(),
            },
            e => db_error(e),
        })?;
        Self::init(Box::new(backend), max_bytes, Some(path))
    }

    /// A spool in memory: same behaviour, lost when the process ends.
    pub fn in_memory(max_bytes: u64) -> Result<Self, SpoolError> {
        Self::init(Box::new(InMemoryBackend::new()), max_bytes, None)
    }

    fn init(
        inner: Box<dyn StorageBackend>,
        max: u64,
        path: Option<PathBuf>,
    ) -> Result<Self, SpoolError> {
        let storage = Arc::new(Capped {
            inner,
            max,
            refused: AtomicBool::new(false),
        });
        let db = Self::create(&storage)?;
        Ok(Self {
            storage,
            db: Mutex::new(Some(Arc::new(db))),
            broken: AtomicBool::new(false),
            last_reopen: Mutex::new(None),
            path,
        })
    }

    fn create(storage: &Arc<Capped>) -> Result<Database, SpoolError> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(Shared(storage.clone()))
            .map_err(db_error)?;
        let tx = db.begin_write().map_err(db_error)?;
        tx.open_table(EVENTS).map_err(db_error)?;
        tx.open_table(ATTEMPTS).map_err(db_error)?;
        tx.commit().map_err(db_error)?;
        Ok(db)
    }

    /// Whether events survive a restart.
    pub fn is_durable(&self) -> bool {
        self.path.is_some()
    }

    /// The database file, if on disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The size of the storage (the file), in bytes.
    pub fn file_len(&self) -> u64 {
        self.storage.inner.len().unwrap_or(0)
    }

    /// Whether a growth past `maxBytes` was refused since the last call.
    pub fn take_refused(&self) -> bool {
        self.storage.refused.swap(false, Ordering::AcqRel)
    }

    /// The database, reopened first if a call failed. Errors while another thread still uses
    /// the failed one (a read in progress), or within `REOPEN_EVERY` of the last reopening.
    fn db(&self) -> Result<Arc<Database>, SpoolError> {
        let mut slot = self.db.lock().unwrap_or_else(|e| e.into_inner());
        if !self.broken.load(Ordering::Acquire)
            && let Some(db) = &*slot
        {
            return Ok(db.clone());
        }
        if let Some(old) = slot.take() {
            match Arc::try_unwrap(old) {
                // Dropped before the new one opens the file: a failed database writes nothing
                // when dropped, and no two are ever open at once.
                Ok(old) => drop(old),
                Err(shared) => {
                    *slot = Some(shared);
                    return Err(SpoolError::Reopening);
                }
            }
        }
        let mut last = self.last_reopen.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < REOPEN_EVERY) {
            return Err(SpoolError::Reopening);
        }
        *last = Some(Instant::now());
        let db = Arc::new(Self::create(&self.storage)?);
        tracing::warn!(
            file = ?self.path,
            "after-event spool database reopened after an error"
        );
        metrics::counter!("openim_shim_spool_reopens_total").increment(1);
        self.broken.store(false, Ordering::Release);
        *slot = Some(db.clone());
        Ok(db)
    }

    /// Runs `f` on the database; an error marks it for reopening.
    fn with<T>(&self, f: impl FnOnce(&Database) -> Result<T, SpoolError>) -> Result<T, SpoolError> {
        let db = self.db()?;
        let result = f(&db);
        if result.is_err() {
            self.broken.store(true, Ordering::Release);
        }
        result
    }

    /// Counts what the spool holds (reads every record's size: done once, at start).
    pub fn summary(&self) -> Result<Summary, SpoolError> {
        self.with(|db| {
            let tx = db.begin_read().map_err(db_error)?;
            let events = tx.open_table(EVENTS).map_err(db_error)?;
            let mut summary = Summary {
                events: events.len().map_err(db_error)?,
                ..Summary::default()
            };
            for entry in events.iter().map_err(db_error)? {
                let (seq, record) = entry.map_err(db_error)?;
                summary.bytes += record.value().len() as u64;
                summary.last_seq = summary.last_seq.max(seq.value());
            }
            Ok(summary)
        })
    }

    /// Commits `batch` in one write transaction, synced to disk before it returns (one fsync for
    /// the whole batch: this is the group commit).
    pub fn commit(&self, batch: &Batch) -> Result<(), SpoolError> {
        self.with(|db| {
            let mut tx = db.begin_write().map_err(db_error)?;
            tx.set_durability(Durability::Immediate);
            {
                let mut events = tx.open_table(EVENTS).map_err(db_error)?;
                let mut attempts = tx.open_table(ATTEMPTS).map_err(db_error)?;
                for (seq, record) in &batch.append {
                    events.insert(seq, record.as_ref()).map_err(db_error)?;
                }
                for (seq, n) in &batch.attempts {
                    attempts.insert(seq, n).map_err(db_error)?;
                }
                for seq in &batch.remove {
                    events.remove(seq).map_err(db_error)?;
                    attempts.remove(seq).map_err(db_error)?;
                }
            }
            tx.commit().map_err(db_error)
        })
    }

    /// Up to `limit` events with sequence numbers from `from` on, in order.
    pub fn load(&self, from: u64, limit: usize) -> Result<Vec<Stored>, SpoolError> {
        self.with(|db| {
            let tx = db.begin_read().map_err(db_error)?;
            let events = tx.open_table(EVENTS).map_err(db_error)?;
            let attempts = tx.open_table(ATTEMPTS).map_err(db_error)?;
            let mut out = Vec::new();
            for entry in events.range(from..).map_err(db_error)?.take(limit) {
                let (seq, record) = entry.map_err(db_error)?;
                let seq = seq.value();
                let attempts = attempts
                    .get(seq)
                    .map_err(db_error)?
                    .map_or(0, |a| a.value());
                out.push(Stored {
                    seq,
                    record: Bytes::copy_from_slice(record.value()),
                    attempts,
                });
            }
            Ok(out)
        })
    }

    /// When the oldest event was accepted, in ms since the Unix epoch (`None`: empty).
    pub fn oldest_accepted_ms(&self) -> Result<Option<i64>, SpoolError> {
        self.with(|db| {
            let tx = db.begin_read().map_err(db_error)?;
            let events = tx.open_table(EVENTS).map_err(db_error)?;
            let first = events.first().map_err(db_error)?;
            Ok(first.map(|(_, record)| {
                SpoolRecord::decode(record.value()).map_or(0, |r| r.accepted_unix_ms)
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u8) -> Bytes {
        vec![n; 10 + usize::from(n)].into()
    }

    #[test]
    fn a_spool_in_use_is_refused_naming_the_directory_and_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path(), 1 << 30).unwrap();
        let e = Store::open(dir.path(), 1 << 30).unwrap_err().to_string();
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
        assert!(
            e.contains("in use by another openim-shim") && e.contains("--spool-dir"),
            "{e}"
        );
    }

    #[test]
    fn events_attempts_and_removals_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), 1 << 30).unwrap();
            assert!(store.is_durable());
            assert_eq!(store.summary().unwrap(), Summary::default());
            store
                .commit(&Batch {
                    append: vec![(1, record(1)), (2, record(2)), (3, record(3))],
                    ..Batch::default()
                })
                .unwrap();
            store
                .commit(&Batch {
                    attempts: vec![(2, 4)],
                    remove: vec![1],
                    ..Batch::default()
                })
                .unwrap();
        }
        let store = Store::open(dir.path(), 1 << 30).unwrap();
        assert_eq!(
            store.summary().unwrap(),
            Summary {
                events: 2,
                bytes: 12 + 13,
                last_seq: 3
            }
        );
        let loaded = store.load(0, 10).unwrap();
        assert_eq!(
            loaded,
            vec![
                Stored {
                    seq: 2,
                    record: record(2),
                    attempts: 4
                },
                Stored {
                    seq: 3,
                    record: record(3),
                    attempts: 0
                },
            ]
        );
        assert_eq!(store.load(3, 10).unwrap().len(), 1);
        assert_eq!(store.load(0, 1).unwrap()[0].seq, 2);
        assert!(store.load(4, 10).unwrap().is_empty());
        // Removing drops the attempt count too.
        store
            .commit(&Batch {
                remove: vec![2, 3],
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(store.summary().unwrap().events, 0);
    }

    #[test]
    fn an_uncreatable_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let e = Store::open(&file.join("spool"), 1 << 30)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot create spool directory") && e.contains("a-file"),
            "{e}"
        );
    }

    #[test]
    fn the_memory_spool_behaves_the_same() {
        let store = Store::in_memory(1 << 30).unwrap();
        assert!(!store.is_durable());
        store
            .commit(&Batch {
                append: vec![(7, record(7))],
                attempts: vec![(7, 1)],
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(store.load(0, 10).unwrap()[0].attempts, 1);
        assert_eq!(store.summary().unwrap().last_seq, 7);
    }

    #[test]
    fn the_file_never_grows_past_max_bytes_and_the_store_recovers_after_the_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let max = 2 << 20;
        let store = Store::open(dir.path(), max).unwrap();
        let mut seq = 0;
        let mut committed = Vec::new();
        let refused = loop {
            let append: Vec<_> = (0..50)
                .map(|_| {
                    seq += 1;
                    (seq, Bytes::from(vec![7u8; 1000]))
                })
                .collect();
            let seqs: Vec<_> = append.iter().map(|(s, _)| *s).collect();
            match store.commit(&Batch {
                append,
                ..Batch::default()
            }) {
                Ok(()) => committed.extend(seqs),
                Err(_) => break store.take_refused(),
            }
            assert!(seq < 10_000, "never refused");
        };
        assert!(refused, "the growth past maxBytes was refused");
        assert!(store.file_len() <= max, "{} > {max}", store.file_len());
        // The next call reopens the database: everything committed is there.
        let loaded = store.load(0, usize::MAX).unwrap();
        assert_eq!(loaded.len(), committed.len());
        // Removals free pages inside the file: new events fit again, still within maxBytes.
        store
            .commit(&Batch {
                remove: committed,
                ..Batch::default()
            })
            .unwrap();
        store
            .commit(&Batch {
                append: vec![(seq + 1, vec![1u8; 1000].into())],
                ..Batch::default()
            })
            .unwrap();
        assert_eq!(store.summary().unwrap().events, 1);
        assert!(store.file_len() <= max);
    }
}
