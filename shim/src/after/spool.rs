//! The after-event spool's storage: a `redb` database (an embedded, crash-safe, copy-on-write
//! B-tree store) in the spool directory, or the same in memory when the spool is disabled.
//!
//! Blocking code: every method does disk I/O and is called from `spawn_blocking`, never from
//! the async runtime's threads. One writer (see `super::writer`) commits batches; readers load
//! pages of events for delivery.
//!
//! Each event is keyed by a sequence number that only grows, so a delivery cursor can walk the
//! spool in arrival order while the writer appends behind it. A second table holds the number
//! of delivery attempts already made, so that `delivery-attempt` keeps counting across restarts.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use redb::{
    Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition,
    backends::InMemoryBackend,
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
    /// Its encoded [`SpoolRecord`].
    pub record: Vec<u8>,
    /// Delivery attempts already made.
    pub attempts: u32,
}

/// One group commit.
#[derive(Debug, Default)]
pub struct Batch {
    /// New events: sequence number and encoded [`SpoolRecord`].
    pub append: Vec<(u64, Vec<u8>)>,
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

/// The spool's database.
#[derive(Debug)]
pub struct Store {
    db: Database,
    on_disk: bool,
}

impl Store {
    /// Opens (or creates) the spool in `dir`. Fails if another process has it open.
    pub fn open(dir: &Path) -> Result<Self, SpoolError> {
        std::fs::create_dir_all(dir).map_err(|source| SpoolError::Dir {
            dir: dir.to_owned(),
            source,
        })?;
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(dir.join(FILE_NAME))
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => SpoolError::Locked {
                    dir: dir.to_owned(),
                },
                e => db_error(e),
            })?;
        Self::init(db, true)
    }

    /// A spool in memory: same behaviour, lost when the process ends.
    pub fn in_memory() -> Result<Self, SpoolError> {
        let db = Database::builder()
            .create_with_backend(InMemoryBackend::new())
            .map_err(db_error)?;
        Self::init(db, false)
    }

    fn init(db: Database, on_disk: bool) -> Result<Self, SpoolError> {
        let tx = db.begin_write().map_err(db_error)?;
        tx.open_table(EVENTS).map_err(db_error)?;
        tx.open_table(ATTEMPTS).map_err(db_error)?;
        tx.commit().map_err(db_error)?;
        Ok(Self { db, on_disk })
    }

    /// Whether events survive a restart.
    pub fn is_durable(&self) -> bool {
        self.on_disk
    }

    /// Counts what the spool holds (reads every record's size: done once, at start).
    pub fn summary(&self) -> Result<Summary, SpoolError> {
        let tx = self.db.begin_read().map_err(db_error)?;
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
    }

    /// Commits `batch` in one write transaction, synced to disk before it returns (one fsync for
    /// the whole batch: this is the group commit).
    pub fn commit(&self, batch: &Batch) -> Result<(), SpoolError> {
        let mut tx = self.db.begin_write().map_err(db_error)?;
        tx.set_durability(Durability::Immediate);
        {
            let mut events = tx.open_table(EVENTS).map_err(db_error)?;
            let mut attempts = tx.open_table(ATTEMPTS).map_err(db_error)?;
            for (seq, record) in &batch.append {
                events.insert(seq, record.as_slice()).map_err(db_error)?;
            }
            for (seq, n) in &batch.attempts {
                attempts.insert(seq, n).map_err(db_error)?;
            }
            for seq in &batch.remove {
                events.remove(seq).map_err(db_error)?;
                attempts.remove(seq).map_err(db_error)?;
            }
        }
        tx.commit().map_err(db_error)?;
        Ok(())
    }

    /// Up to `limit` events with sequence numbers from `from` on, in order.
    pub fn load(&self, from: u64, limit: usize) -> Result<Vec<Stored>, SpoolError> {
        let tx = self.db.begin_read().map_err(db_error)?;
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
                record: record.value().to_vec(),
                attempts,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(n: u8) -> Vec<u8> {
        vec![n; 10 + usize::from(n)]
    }

    #[test]
    fn a_spool_in_use_is_refused_naming_the_directory_and_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Store::open(dir.path()).unwrap();
        let e = Store::open(dir.path()).unwrap_err().to_string();
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
            let store = Store::open(dir.path()).unwrap();
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
        let store = Store::open(dir.path()).unwrap();
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
        let e = Store::open(&file.join("spool")).unwrap_err().to_string();
        assert!(
            e.contains("cannot create spool directory") && e.contains("a-file"),
            "{e}"
        );
    }

    #[test]
    fn the_memory_spool_behaves_the_same() {
        let store = Store::in_memory().unwrap();
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
}
