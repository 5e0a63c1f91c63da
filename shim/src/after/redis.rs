//! The Redis backend (`spool.backend: redis`): one stream that every shim of a fleet appends to
//! and reads from as one consumer group, so that what one shim acknowledged another delivers if
//! the first is gone. Redis 7.0 commands only (what OpenIM ships).
//!
//! Keys (`redis.stream`, default `openim-shim:after`):
//!
//! - the stream: one entry per pending event, field `r` = the encoded `SpoolRecord` (the same
//!   bytes as the local spool's; it carries the idempotency key and when the event was
//!   accepted, so `after.maxAge` counts from the first acknowledgement whoever delivers);
//! - its consumer group (`redis.group`), created from `0` with `MKSTREAM`; each shim is one
//!   consumer (`redis.consumer`);
//! - the hash `<stream>:attempts`: entry ID → delivery attempts made so far, by any shim.
//!
//! Tasks:
//!
//! - writer: appends what the intake queue holds with pipelined `XADD`s in a `MULTI` (one round
//!   trip per batch, all or nothing), refusing beyond `spool.maxEvents` entries (counted
//!   `spool_full`). When Redis cannot be reached or refuses, the batch goes to the local spool
//!   instead (`openim_shim_spool_fallback_total`), and the writer moves it to Redis once Redis
//!   answers again (`openim_shim_spool_moved_total`; checked every `PROBE_EVERY`);
//! - reader: `XREADGROUP ... >` on a connection of its own (it blocks for `BLOCK`, so its response
//!   timeout is longer), as many entries as there are free delivery slots; every `claim_every`
//!   it takes over, with `XAUTOCLAIM`, entries that another shim read and has shown no sign of
//!   life for `redis.claimIdle` (a shim that died or was removed)
//!   (`openim_shim_spool_claimed_total`);
//! - heartbeat: every third of `claimIdle` the shim re-claims (`XCLAIM ... JUSTID`, which resets
//!   the idle time without counting a delivery) the entries it is delivering, however long a
//!   policy outage makes it retry them;
//! - acker: a delivered event is `XACK`ed, `XDEL`eted and its attempt count removed in one
//!   `MULTI`; attempt counts are `HSET`. While Redis cannot be reached they are kept and retried.
//!
//! At shutdown the shim stops reading, delivers what it holds while the policy takes it (the
//! drain), then releases the rest (`XCLAIM ... IDLE <claimIdle>`), so that the other shims take
//! it over at their next sweep instead of after `claimIdle`.

use std::{
    collections::{BTreeMap, HashSet},
    future::Future,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use metrics::{counter, gauge, histogram};
use prost::Message as _;
use redis::{
    Client, RedisError, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::{
    sync::{Semaphore, mpsc, watch},
    task::{JoinHandle, JoinSet},
};

use super::{
    Queued, SpoolStatus,
    deliver::{Deliverer, Outcome},
    spool::{Batch, SpoolError, SpoolRecord, Store, Summary},
    writer::{dropped, record_of, unix_ms},
};
use crate::config::{RedisSettings, redact_url};

/// Most events in one `XADD` batch.
const MAX_BATCH: usize = 512;
/// Local events moved to Redis per round.
const MOVE_PAGE: usize = 256;
/// How long `XREADGROUP` blocks waiting for new entries.
const BLOCK: Duration = Duration::from_millis(1000);
/// While Redis fails, how often it is tried again.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// Pause after a failed read or acknowledgement.
const RETRY: Duration = Duration::from_millis(500);
/// The stream entry field holding the record.
const FIELD: &str = "r";

/// What `start` needs.
pub(crate) struct Start {
    pub(crate) settings: RedisSettings,
    pub(crate) max_events: u64,
    /// The local spool: the fallback.
    pub(crate) store: Arc<Store>,
    pub(crate) summary: Summary,
    pub(crate) intake: mpsc::Receiver<Queued>,
    pub(crate) deliverer: Arc<Deliverer>,
    pub(crate) concurrency: usize,
    pub(crate) stop_delivery: watch::Sender<bool>,
    pub(crate) status: Arc<SpoolStatus>,
}

/// The running Redis backend.
#[derive(Debug)]
pub(crate) struct Running {
    writer: JoinHandle<()>,
    reader: JoinHandle<()>,
    acker: JoinHandle<()>,
    background: Vec<JoinHandle<()>>,
    /// `Some(deadline)` once shutdown begins.
    stop_intake: watch::Sender<Option<tokio::time::Instant>>,
    stop_reading: watch::Sender<bool>,
    stop_delivery: watch::Sender<bool>,
    shared: Arc<Shared>,
    local_events: watch::Receiver<u64>,
}

/// What the tasks share.
#[derive(Debug)]
struct Shared {
    keys: Keys,
    conn: ConnectionManager,
    /// Entries this shim is delivering (read or claimed, not yet done with).
    held: Mutex<HashSet<String>>,
    /// The stream's length as last seen (for `spool.maxEvents`).
    stream_len: AtomicU64,
    status: Arc<SpoolStatus>,
}

#[derive(Debug, Clone)]
struct Keys {
    stream: String,
    attempts: String,
    group: String,
    consumer: String,
    claim_idle: Duration,
}

impl Shared {
    fn held(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ok(&self) {
        self.status.redis(|r| r.error = None);
    }

    fn failed(&self, what: &str, e: &RedisError) {
        let was_ok = {
            let mut was = false;
            self.status.redis(|r| {
                was = r.error.is_none();
                r.error = Some(format!("{what}: {e}"));
            });
            was
        };
        if was_ok {
            tracing::error!(error = %e, what, "redis: command failed (the spool falls back to the local spool for new events)");
        } else {
            tracing::debug!(error = %e, what, "redis: command failed again");
        }
        counter!("openim_shim_spool_redis_errors_total", "op" => what.to_owned()).increment(1);
    }
}

/// The Redis client of `settings`: URL, user name and password overrides, CA file.
fn client(settings: &RedisSettings) -> Result<Client, SpoolError> {
    let bad = |e: &dyn std::fmt::Display| {
        SpoolError::Redis(format!("{}: {e}", redact_url(&settings.url)))
    };
    let mut info = redis::IntoConnectionInfo::into_connection_info(settings.url.as_str())
        .map_err(|e| bad(&e))?;
    let mut redis_info = info.redis_settings().clone();
    if let Some(user) = &settings.username {
        redis_info = redis_info.set_username(user);
    }
    if let Some(password) = &settings.password {
        redis_info = redis_info.set_password(password);
    }
    info = info.set_redis_settings(redis_info);
    match &settings.ca_file {
        Some(path) => {
            let root = std::fs::read(path)
                .map_err(|e| SpoolError::Redis(format!("redis.caFile {}: {e}", path.display())))?;
            Client::build_with_tls(
                info,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(root),
                },
            )
            .map_err(|e| bad(&e))
        }
        None => Client::open(info).map_err(|e| bad(&e)),
    }
}

/// A reconnecting connection whose commands time out after `timeout`.
fn manager(client: &Client, timeout: Duration) -> Result<ConnectionManager, RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_number_of_retries(1)
        .set_max_delay(PROBE_EVERY);
    client.get_connection_manager_lazy(config)
}

/// `XGROUP CREATE <stream> <group> 0 MKSTREAM`; an existing group is fine.
async fn create_group(conn: &mut ConnectionManager, keys: &Keys) -> Result<(), RedisError> {
    let created: Result<Value, _> = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(&keys.stream)
        .arg(&keys.group)
        .arg("0")
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() == Some("BUSYGROUP") => Ok(()),
        other => other.map(drop),
    }
}

/// Starts the backend. Redis need not be reachable: until it is, events go to the local spool.
pub(crate) async fn start(s: Start) -> Result<Running, SpoolError> {
    let client = client(&s.settings)?;
    let redis_error = |e: RedisError| SpoolError::Redis(e.to_string());
    let mut conn = manager(&client, s.settings.timeout).map_err(redis_error)?;
    // Its own connection: it blocks for BLOCK, longer than the others' response timeout.
    let reading = manager(&client, BLOCK + s.settings.timeout).map_err(redis_error)?;
    let keys = Keys {
        attempts: format!("{}:attempts", s.settings.stream),
        stream: s.settings.stream.clone(),
        group: s.settings.group.clone(),
        consumer: s.settings.consumer.clone(),
        claim_idle: s.settings.claim_idle,
    };
    s.status.redis(|r| {
        r.url = redact_url(&s.settings.url);
        r.stream = keys.stream.clone();
        r.consumer = keys.consumer.clone();
    });
    let shared = Arc::new(Shared {
        keys: keys.clone(),
        conn: conn.clone(),
        held: Mutex::default(),
        stream_len: AtomicU64::new(0),
        status: s.status.clone(),
    });
    match create_group(&mut conn, &keys).await {
        Ok(()) => tracing::info!(url = %redact_url(&s.settings.url), stream = keys.stream,
            group = keys.group, consumer = keys.consumer, "after-event spool: redis"),
        Err(e) => shared.failed("connect", &e),
    }
    if s.summary.events > 0 {
        tracing::info!(
            events = s.summary.events,
            "after-events in the local spool: moving them to redis"
        );
    }
    let (stop_intake, stop_intake_rx) = watch::channel(None);
    let (stop_reading, stop_reading_rx) = watch::channel(false);
    let (local_tx, local_events) = watch::channel(s.summary.events);
    let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
    let writer = tokio::spawn(
        Writer {
            shared: shared.clone(),
            store: s.store,
            max_events: s.max_events,
            intake: s.intake,
            stop: stop_intake_rx,
            local: local_tx,
        }
        .run(s.summary),
    );
    let reader = tokio::spawn(read(
        shared.clone(),
        reading,
        s.deliverer,
        s.concurrency,
        stop_reading_rx,
        outcomes_tx,
    ));
    let acker = tokio::spawn(ack(shared.clone(), outcomes));
    let background = vec![
        tokio::spawn(heartbeat(shared.clone())),
        tokio::spawn(gauges(shared.clone())),
    ];
    Ok(Running {
        writer,
        reader,
        acker,
        background,
        stop_intake,
        stop_reading,
        stop_delivery: s.stop_delivery,
        shared,
        local_events,
    })
}

impl Running {
    /// See `Delivery::shutdown`; `drain` waits while its argument says work is pending.
    pub(crate) async fn shutdown<F, Fut>(self, deadline: tokio::time::Instant, drain: F)
    where
        F: FnOnce(Box<dyn Fn() -> bool + Send>) -> Fut,
        Fut: Future<Output = bool>,
    {
        let started = Instant::now();
        let _ = self.stop_intake.send(Some(deadline));
        let _ = self.stop_reading.send(true);
        let shared = self.shared.clone();
        drain(Box::new(move || !shared.held().is_empty())).await;
        let _ = self.stop_delivery.send(true);
        finish(deadline, self.reader).await;
        // What is still held goes back to the group: idle as if abandoned for claimIdle, so that
        // the other shims' next sweep takes it.
        let held: Vec<String> = self.shared.held().iter().cloned().collect();
        if !held.is_empty() {
            let mut conn = self.shared.conn.clone();
            let k = &self.shared.keys;
            let mut cmd = redis::cmd("XCLAIM");
            cmd.arg(&k.stream).arg(&k.group).arg(&k.consumer).arg(0);
            cmd.arg(&held)
                .arg("IDLE")
                .arg(k.claim_idle.as_millis() as u64)
                .arg("JUSTID");
            let released: Result<Value, _> = cmd.query_async(&mut conn).await;
            match released {
                Ok(_) => tracing::info!(
                    events = held.len(),
                    "after-events not delivered by this shim released to the other shims"
                ),
                Err(e) => tracing::warn!(events = held.len(), error = %e,
                    "cannot release the after-events this shim held: the other shims take them \
                     over after redis.claimIdle"),
            }
        }
        // The writer moves what the local spool holds to Redis until the deadline.
        finish(deadline, self.writer).await;
        finish(deadline, self.acker).await;
        for task in self.background {
            task.abort();
        }
        let local = *self.local_events.borrow();
        if local > 0 {
            tracing::error!(
                events = local,
                "after-events left in the local spool: redis could not be reached to take them; \
                 the next start on this spool.dir moves them, they are lost if the directory is \
                 not kept"
            );
        }
        tracing::info!(took = ?started.elapsed(), "redis after-event spool stopped");
    }
}

/// Waits for `task` until `deadline`, then stops it.
async fn finish(deadline: tokio::time::Instant, mut task: JoinHandle<()>) {
    if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
        task.abort();
    }
}

/// The writer's state and inputs.
struct Writer {
    shared: Arc<Shared>,
    store: Arc<Store>,
    max_events: u64,
    intake: mpsc::Receiver<Queued>,
    stop: watch::Receiver<Option<tokio::time::Instant>>,
    /// Events in the local spool.
    local: watch::Sender<u64>,
}

impl Writer {
    async fn run(mut self, summary: Summary) {
        let mut next_seq = summary.last_seq + 1;
        let mut local = summary.events;
        let mut down_until: Option<Instant> = None;
        let mut stopping: Option<tokio::time::Instant> = None;
        let mut intake_open = true;
        let mut conn = self.shared.conn.clone();
        gauge!("openim_shim_spool_events", "backend" => "local").set(local as f64);
        loop {
            let usable = down_until.is_none_or(|t| Instant::now() >= t);
            // Move local events while Redis is usable; stop at the deadline when stopping.
            let moving =
                local > 0 && stopping.is_none_or(|d| tokio::time::Instant::now() + RETRY < d);
            if !intake_open && !moving {
                break;
            }
            let mut accepted = Vec::new();
            let wake =
                down_until.map_or(PROBE_EVERY, |t| t.saturating_duration_since(Instant::now()));
            tokio::select! {
                biased;
                d = self.stop.wait_for(Option::is_some), if stopping.is_none() => {
                    stopping = d.map(|d| *d).unwrap_or(None);
                    self.intake.close();
                }
                e = self.intake.recv(), if intake_open => match e {
                    Some(e) => accepted.push(e),
                    None => intake_open = false,
                },
                () = tokio::time::sleep(wake.max(Duration::from_millis(10))), if moving => {}
            }
            while accepted.len() < MAX_BATCH {
                match self.intake.try_recv() {
                    Ok(e) => accepted.push(e),
                    Err(_) => break,
                }
            }
            gauge!("openim_shim_after_queue_depth").decrement(accepted.len() as f64);
            if !accepted.is_empty() {
                let mut records = Vec::with_capacity(accepted.len());
                let mut full = Vec::new();
                let room = self
                    .max_events
                    .saturating_sub(self.shared.stream_len.load(Ordering::Relaxed));
                for q in accepted {
                    let at = q.at;
                    let (command, record) = record_of(q);
                    if records.len() as u64 >= room {
                        full.push(command);
                    } else {
                        records.push((command, at, record.encode_to_vec()));
                    }
                }
                dropped(
                    "spool_full",
                    &full,
                    "the redis stream holds spool.maxEvents entries",
                );
                let sent = if usable {
                    let payloads: Vec<&[u8]> = records.iter().map(|r| &r.2[..]).collect();
                    match xadd(&mut conn, &self.shared, &payloads).await {
                        Ok(()) => {
                            down_until = None;
                            for (_, at, _) in &records {
                                histogram!("openim_shim_spool_commit_delay_seconds", "backend" => "redis")
                                    .record(at.elapsed().as_secs_f64());
                            }
                            true
                        }
                        Err(e) => {
                            self.shared.failed("xadd", &e);
                            down_until = Some(Instant::now() + PROBE_EVERY);
                            false
                        }
                    }
                } else {
                    false
                };
                if !sent {
                    // The fallback: the local spool, moved to Redis when it answers again.
                    let commands: Vec<_> = records.iter().map(|r| r.0).collect();
                    let mut batch = Batch::default();
                    for (_, _, encoded) in records {
                        batch.append.push((next_seq, encoded.into()));
                        next_seq += 1;
                    }
                    let n = batch.append.len() as u64;
                    match self.commit(batch).await {
                        Ok(()) => {
                            local += n;
                            counter!("openim_shim_spool_fallback_total").increment(n);
                        }
                        Err(e) => {
                            self.shared.status.local_error(&e, n);
                            dropped(
                                "spool_error",
                                &commands,
                                "redis unreachable and the local spool cannot be written",
                            );
                        }
                    }
                }
            }
            if local > 0 && down_until.is_none_or(|t| Instant::now() >= t) {
                match self.move_page(&mut conn).await {
                    Ok(moved) => {
                        local = local.saturating_sub(moved);
                        if moved > 0 {
                            down_until = None;
                        } else {
                            // Counted wrong (a failed commit that landed): recount.
                            local = self.count().await.unwrap_or(local);
                        }
                    }
                    Err(()) => down_until = Some(Instant::now() + PROBE_EVERY),
                }
            }
            self.local.send_replace(local);
            gauge!("openim_shim_spool_events", "backend" => "local").set(local as f64);
        }
    }

    async fn commit(&self, batch: Batch) -> Result<(), String> {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.commit(&batch)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn count(&self) -> Option<u64> {
        let store = self.store.clone();
        let summary = tokio::task::spawn_blocking(move || store.summary()).await;
        summary.ok()?.ok().map(|s| s.events)
    }

    /// Moves a page of the local spool to Redis; returns how many.
    async fn move_page(&self, conn: &mut ConnectionManager) -> Result<u64, ()> {
        let store = self.store.clone();
        let Ok(Ok(page)) = tokio::task::spawn_blocking(move || store.load(0, MOVE_PAGE)).await
        else {
            return Err(());
        };
        if page.is_empty() {
            return Ok(0);
        }
        let payloads: Vec<&[u8]> = page.iter().map(|s| &s.record[..]).collect();
        if let Err(e) = xadd(conn, &self.shared, &payloads).await {
            self.shared.failed("xadd", &e);
            return Err(());
        }
        let n = page.len() as u64;
        let batch = Batch {
            remove: page.iter().map(|s| s.seq).collect(),
            ..Batch::default()
        };
        if let Err(e) = self.commit(batch).await {
            // In Redis now, and still in the local spool: moved again later (a duplicate).
            tracing::error!(
                error = e,
                "cannot remove moved after-events from the local spool"
            );
            return Err(());
        }
        counter!("openim_shim_spool_moved_total").increment(n);
        tracing::info!(
            events = n,
            "after-events moved from the local spool to redis"
        );
        Ok(n)
    }
}

/// Appends `payloads` in one `MULTI` (all or none), and reads the stream's length.
async fn xadd(
    conn: &mut ConnectionManager,
    shared: &Shared,
    payloads: &[&[u8]],
) -> Result<(), RedisError> {
    if payloads.is_empty() {
        return Ok(());
    }
    let stream = &shared.keys.stream;
    let mut pipe = redis::pipe();
    pipe.atomic();
    for p in payloads {
        pipe.cmd("XADD")
            .arg(stream)
            .arg("*")
            .arg(FIELD)
            .arg(*p)
            .ignore();
    }
    pipe.cmd("XLEN").arg(stream);
    let (len,): (u64,) = pipe.query_async(conn).await?;
    shared.stream_len.store(len, Ordering::Relaxed);
    shared.ok();
    Ok(())
}

/// An entry read or claimed: its ID and record (`None`: no `r` field).
type Entry = (String, Option<Vec<u8>>);

/// The entries of an `XREADGROUP`/`XAUTOCLAIM` entry list.
fn entries(list: &Value) -> Vec<Entry> {
    let Value::Array(items) = list else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let Value::Array(pair) = item else {
                return None;
            };
            let id = match pair.first()? {
                Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Value::SimpleString(s) => s.clone(),
                _ => return None,
            };
            let mut record = None;
            if let Some(Value::Array(fields)) = pair.get(1) {
                for kv in fields.chunks(2) {
                    if let [Value::BulkString(k), Value::BulkString(v)] = kv
                        && k == FIELD.as_bytes()
                    {
                        record = Some(v.clone());
                    }
                }
            }
            Some((id, record))
        })
        .collect()
}

/// Reads and claims entries, and delivers them, as slots allow, until `stop`.
async fn read(
    shared: Arc<Shared>,
    mut reading: ConnectionManager,
    deliverer: Arc<Deliverer>,
    concurrency: usize,
    mut stop: watch::Receiver<bool>,
    outcomes: mpsc::UnboundedSender<Outcome<String>>,
) {
    let k = shared.keys.clone();
    let mut conn = shared.conn.clone();
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let claim_every = (k.claim_idle / 2).min(Duration::from_secs(2));
    let mut next_claim = Instant::now();
    let mut cursor = "0-0".to_owned();
    loop {
        let first = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let more = permits.available_permits();
        let mut slots = vec![first];
        if let Ok(p) = permits.clone().try_acquire_many_owned(more as u32)
            && more > 0
        {
            // One permit per entry: split them.
            let mut p = p;
            for _ in 1..more {
                if let Some(one) = p.split(1) {
                    slots.push(one);
                }
            }
            slots.push(p);
        }
        let count = slots.len();
        let claiming = Instant::now() >= next_claim;
        let (got, attempts) = if claiming {
            let reply: Result<Value, _> = redis::cmd("XAUTOCLAIM")
                .arg(&k.stream)
                .arg(&k.group)
                .arg(&k.consumer)
                .arg(k.claim_idle.as_millis() as u64)
                .arg(&cursor)
                .arg("COUNT")
                .arg(count)
                .query_async(&mut conn)
                .await;
            match reply {
                Ok(Value::Array(parts)) if parts.len() >= 2 => {
                    cursor = match &parts[0] {
                        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                        Value::SimpleString(s) => s.clone(),
                        _ => "0-0".to_owned(),
                    };
                    if cursor == "0-0" {
                        next_claim = Instant::now() + claim_every;
                    }
                    if let Some(Value::Array(deleted)) = parts.get(2)
                        && !deleted.is_empty()
                    {
                        tracing::error!(
                            entries = deleted.len(),
                            "redis: pending after-events deleted from the stream by someone else \
                             (trimmed?): lost"
                        );
                        counter!("openim_shim_after_dropped_total",
                            "command" => "unknown", "reason" => "trimmed")
                        .increment(deleted.len() as u64);
                    }
                    let got = entries(&parts[1]);
                    if !got.is_empty() {
                        tracing::info!(
                            entries = got.len(),
                            "redis: after-events taken over from a shim that stopped delivering them"
                        );
                        counter!("openim_shim_spool_claimed_total").increment(got.len() as u64);
                        shared.status.redis(|r| r.claimed += got.len() as u64);
                    }
                    let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
                    let attempts = attempts_of(&mut conn, &k, &ids).await;
                    (got, attempts)
                }
                Ok(_) => {
                    next_claim = Instant::now() + claim_every;
                    (Vec::new(), Vec::new())
                }
                Err(e) => {
                    next_claim = Instant::now() + claim_every;
                    shared.failed("xautoclaim", &e);
                    (Vec::new(), Vec::new())
                }
            }
        } else {
            let block = BLOCK.min(next_claim.saturating_duration_since(Instant::now()));
            let reply: Result<Value, _> = redis::cmd("XREADGROUP")
                .arg("GROUP")
                .arg(&k.group)
                .arg(&k.consumer)
                .arg("COUNT")
                .arg(count)
                .arg("BLOCK")
                .arg(block.as_millis().max(1) as u64)
                .arg("STREAMS")
                .arg(&k.stream)
                .arg(">")
                .query_async(&mut reading)
                .await;
            match reply {
                // One stream: [[name, entries]].
                Ok(Value::Array(streams)) => {
                    let got = match streams.first() {
                        Some(Value::Array(s)) if s.len() == 2 => entries(&s[1]),
                        _ => Vec::new(),
                    };
                    let n = got.len();
                    (got, vec![0; n])
                }
                Ok(_) => (Vec::new(), Vec::new()),
                Err(e) => {
                    if e.code() == Some("NOGROUP") {
                        // A new or emptied Redis (restarted without persistence).
                        let _ = create_group(&mut conn, &k).await;
                    } else {
                        shared.failed("xreadgroup", &e);
                        tokio::time::sleep(RETRY).await;
                    }
                    (Vec::new(), Vec::new())
                }
            }
        };
        let mut slots = slots.into_iter();
        for ((id, record), attempts) in got.into_iter().zip(attempts) {
            let Some(permit) = slots.next() else { break };
            shared.held().insert(id.clone());
            let (this, shared, outcomes) = (deliverer.clone(), shared.clone(), outcomes.clone());
            tasks.spawn(async move {
                gauge!("openim_shim_after_in_flight").increment(1.0);
                let done = match record {
                    Some(record) => this.deliver(id.clone(), &record, attempts, &outcomes).await,
                    None => {
                        tracing::error!(id, "redis: stream entry without a record: removed");
                        counter!("openim_shim_after_dropped_total",
                            "command" => "unknown", "reason" => "corrupt")
                        .increment(1);
                        let _ = outcomes.send(Outcome::Done {
                            key: id.clone(),
                            bytes: 0,
                        });
                        true
                    }
                };
                if done {
                    shared.held().remove(&id);
                }
                gauge!("openim_shim_after_in_flight").decrement(1.0);
                drop(permit);
            });
            while tasks.try_join_next().is_some() {}
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// The attempts made so far on entries `ids` (0 for those without a count).
async fn attempts_of(conn: &mut ConnectionManager, k: &Keys, ids: &[&str]) -> Vec<u32> {
    if ids.is_empty() {
        return Vec::new();
    }
    let got: Result<Vec<Option<u32>>, _> = redis::cmd("HMGET")
        .arg(&k.attempts)
        .arg(ids)
        .query_async(conn)
        .await;
    match got {
        Ok(v) if v.len() == ids.len() => v.into_iter().map(Option::unwrap_or_default).collect(),
        _ => vec![0; ids.len()],
    }
}

/// Writes delivery outcomes to Redis until every sender is gone and all are written.
async fn ack(shared: Arc<Shared>, mut outcomes: mpsc::UnboundedReceiver<Outcome<String>>) {
    let k = shared.keys.clone();
    let mut conn = shared.conn.clone();
    let mut done: Vec<String> = Vec::new();
    let mut attempts: BTreeMap<String, u32> = BTreeMap::new();
    let mut open = true;
    loop {
        if done.is_empty() && attempts.is_empty() {
            if !open {
                break;
            }
            match outcomes.recv().await {
                Some(o) => add(o, &mut done, &mut attempts),
                None => open = false,
            }
        }
        while let Ok(o) = outcomes.try_recv() {
            add(o, &mut done, &mut attempts);
        }
        if done.is_empty() && attempts.is_empty() {
            continue;
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        if !attempts.is_empty() {
            let pairs: Vec<(&String, &u32)> = attempts.iter().collect();
            pipe.cmd("HSET").arg(&k.attempts).arg(pairs).ignore();
        }
        if !done.is_empty() {
            pipe.cmd("XACK")
                .arg(&k.stream)
                .arg(&k.group)
                .arg(&done)
                .ignore();
            pipe.cmd("XDEL").arg(&k.stream).arg(&done).ignore();
            pipe.cmd("HDEL").arg(&k.attempts).arg(&done).ignore();
        }
        let written: Result<(), _> = pipe.query_async(&mut conn).await;
        match written {
            Ok(()) => {
                done.clear();
                attempts.clear();
            }
            Err(e) => {
                shared.failed("xack", &e);
                tokio::time::sleep(RETRY).await;
            }
        }
    }
}

fn add(o: Outcome<String>, done: &mut Vec<String>, attempts: &mut BTreeMap<String, u32>) {
    match o {
        Outcome::Done { key, .. } => {
            attempts.remove(&key);
            done.push(key);
        }
        Outcome::Attempted { key, attempts: n } => {
            let a = attempts.entry(key).or_default();
            *a = (*a).max(n);
        }
    }
}

/// Keeps the entries this shim is delivering its own: resets their idle time every third of
/// `claimIdle`, so that no other shim takes them over while this one retries.
async fn heartbeat(shared: Arc<Shared>) {
    let k = shared.keys.clone();
    let mut conn = shared.conn.clone();
    loop {
        tokio::time::sleep(k.claim_idle / 3).await;
        let held: Vec<String> = shared.held().iter().cloned().collect();
        for chunk in held.chunks(1000) {
            let renewed: Result<Value, _> = redis::cmd("XCLAIM")
                .arg(&k.stream)
                .arg(&k.group)
                .arg(&k.consumer)
                .arg(0)
                .arg(chunk)
                .arg("JUSTID")
                .query_async(&mut conn)
                .await;
            if let Err(e) = renewed {
                shared.failed("xclaim", &e);
                break;
            }
        }
    }
}

/// Publishes the stream's state every second: entries (pending events of every shim), entries
/// read and not yet acknowledged, and the oldest entry's age.
async fn gauges(shared: Arc<Shared>) {
    let k = shared.keys.clone();
    let mut conn = shared.conn.clone();
    loop {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(&k.stream);
        pipe.cmd("XRANGE")
            .arg(&k.stream)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1);
        pipe.cmd("XPENDING").arg(&k.stream).arg(&k.group);
        let reply: Result<(u64, Value, Value), _> = pipe.query_async(&mut conn).await;
        match reply {
            Ok((len, first, pending)) => {
                shared.ok();
                shared.stream_len.store(len, Ordering::Relaxed);
                let oldest = entries(&first).into_iter().next().map(|(id, record)| {
                    record
                        .and_then(|r| SpoolRecord::decode(&r[..]).ok())
                        .map(|r| r.accepted_unix_ms)
                        .filter(|ms| *ms > 0)
                        .unwrap_or_else(|| {
                            id.split('-')
                                .next()
                                .and_then(|ms| ms.parse().ok())
                                .unwrap_or(0)
                        })
                });
                let pending = match pending {
                    Value::Array(p) => match p.first() {
                        Some(Value::Int(n)) => *n as u64,
                        _ => 0,
                    },
                    _ => 0,
                };
                let age = oldest.map_or(0.0, |ms| (unix_ms() - ms).max(0) as f64 / 1000.0);
                gauge!("openim_shim_spool_events", "backend" => "redis").set(len as f64);
                gauge!("openim_shim_spool_pending", "backend" => "redis").set(pending as f64);
                gauge!("openim_shim_spool_oldest_age_seconds", "backend" => "redis").set(age);
                shared.status.redis(|r| {
                    r.stream_len = len;
                    r.pending = pending;
                    r.oldest_ms = oldest;
                });
            }
            Err(e) if e.code() == Some("NOGROUP") => {}
            Err(e) => shared.failed("xlen", &e),
        }
        tokio::time::sleep(super::GAUGE_EVERY).await;
    }
}
