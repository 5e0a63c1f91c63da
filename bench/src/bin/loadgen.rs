//! `loadgen`: the benchmark's load generator. Sends a mix of OpenIM callback requests over
//! HTTP/1.1 (as OpenIM does) or the equivalent policy requests over gRPC, and prints one JSON
//! object with throughput and latency percentiles, overall and per command.
//!
//! Two modes:
//! - closed loop (`--concurrency N`): N workers each send a request as soon as the previous
//!   answered; gives the maximum throughput at that concurrency;
//! - open loop (`--rate R`): requests are scheduled at fixed times (R per second) whatever the
//!   server does, and each latency is measured from its scheduled time, so a stalled server is
//!   charged for the requests it delayed (no coordinated omission).
//!
//! Run: `loadgen --target http://127.0.0.1:10006 --mix bench/mix.json --rate 1000 --duration 10s`

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use openim_shim::{
    callbacks::{After, Before, message, push},
    policy_client::{CallMeta, ClientSettings, PolicyClient, TraceParent},
};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// Command line.
#[derive(Debug, Parser)]
#[command(
    about = "Open/closed-loop load generator for OpenIM callbacks (HTTP) and policies (gRPC)."
)]
struct Args {
    /// Base URL: the shim or a peer (HTTP), or the policy (`--grpc`).
    #[arg(long)]
    target: String,
    /// Send policy requests over gRPC instead of OpenIM callbacks over HTTP.
    #[arg(long)]
    grpc: bool,
    /// Request mix: a JSON array of `{"command", "body" (file path), "weight", "path"?}`.
    #[arg(long)]
    mix: PathBuf,
    /// Measured duration.
    #[arg(long, default_value = "10s", value_parser = openim_common::parse_duration)]
    duration: Duration,
    /// Unmeasured warm-up before it.
    #[arg(long, default_value = "2s", value_parser = openim_common::parse_duration)]
    warmup: Duration,
    /// Closed loop with this many workers.
    #[arg(long, conflicts_with = "rate")]
    concurrency: Option<usize>,
    /// Open loop at this many requests per second.
    #[arg(long)]
    rate: Option<u64>,
}

/// One entry of the mix file.
#[derive(Debug, Deserialize)]
struct MixEntry {
    command: String,
    body: PathBuf,
    /// HTTP path to post to instead of `/callbackExample/{command}` (e.g. a gRPC-JSON bridge).
    #[serde(default)]
    path: Option<String>,
    #[serde(default = "one")]
    weight: usize,
}

fn one() -> usize {
    1
}

/// One prepared request.
#[derive(Debug, Clone)]
struct Item {
    command: &'static str,
    http_path: String,
    body: Bytes,
    rpc: &'static str,
}

/// Where requests go.
#[derive(Clone)]
enum Sender {
    Http {
        // Boxed: the client is large and the sender is cloned into every task.
        client: Box<Client<HttpConnector, Full<Bytes>>>,
        base: String,
    },
    Grpc(PolicyClient),
}

impl Sender {
    /// Sends one request; `Ok(false)` for an answer OpenIM could not use.
    async fn send(&self, item: &Item) -> anyhow::Result<bool> {
        match self {
            Self::Http { client, base } => {
                let req = http::Request::post(format!("{base}{}", item.http_path))
                    .header("content-type", "application/json; charset=utf-8")
                    .header("operationid", "bench")
                    .body(Full::new(item.body.clone()))?;
                let resp = client.request(req).await?;
                let ok = resp.status() == 200;
                let body = resp.into_body().collect().await?.to_bytes();
                Ok(ok && body.first() == Some(&b'{'))
            }
            Self::Grpc(client) => {
                let meta = CallMeta {
                    operation_id: "bench",
                    command: item.command,
                    timeout: Duration::from_secs(5),
                    unimplemented_ttl: Duration::from_secs(30),
                    idempotency_key: None,
                    delivery_attempt: None,
                    trace: &TraceParent::None,
                };
                client
                    .unary_encoded(item.rpc, item.body.clone(), meta)
                    .await?;
                Ok(true)
            }
        }
    }
}

/// Latencies per command, in microseconds.
#[derive(Default)]
struct Recorder {
    by_command: BTreeMap<&'static str, Histogram<u64>>,
    errors: u64,
    invalid: u64,
    /// Open loop: how late each request left after its scheduled time (the load generator's
    /// own error, included in the latencies).
    send_lag: Option<Histogram<u64>>,
}

/// The histogram every latency goes in: 1 µs to 60 s, 3 significant digits.
fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

impl Recorder {
    fn record(&mut self, command: &'static str, latency: Duration, result: &anyhow::Result<bool>) {
        match result {
            Ok(true) => {}
            Ok(false) => self.invalid += 1,
            Err(_) => self.errors += 1,
        }
        self.by_command
            .entry(command)
            .or_insert_with(histogram)
            .saturating_record(micros(latency));
    }

    fn merge(&mut self, other: Self) {
        self.errors += other.errors;
        self.invalid += other.invalid;
        for (k, h) in other.by_command {
            match self.by_command.get_mut(k) {
                Some(mine) => mine.add(&h).expect("same bounds"),
                None => {
                    self.by_command.insert(k, h);
                }
            }
        }
    }
}

/// Latency percentiles, microseconds.
#[derive(Debug, Serialize)]
struct Percentiles {
    count: u64,
    p50: u64,
    p90: u64,
    p99: u64,
    p999: u64,
    max: u64,
}

impl From<&Histogram<u64>> for Percentiles {
    fn from(h: &Histogram<u64>) -> Self {
        Self {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// The result printed on stdout.
#[derive(Debug, Serialize)]
struct Report {
    mode: String,
    seconds: f64,
    requests: u64,
    throughput_rps: f64,
    errors: u64,
    invalid: u64,
    latency_us: Percentiles,
    /// Open loop only: lateness of the sends themselves.
    #[serde(skip_serializing_if = "Option::is_none")]
    send_lag_us: Option<Percentiles>,
    by_command: BTreeMap<&'static str, Percentiles>,
}

fn load_mix(path: &PathBuf, grpc: bool) -> anyhow::Result<Vec<Item>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path:?}"))?;
    let entries: Vec<MixEntry> = serde_json::from_str(&text).context("parsing the mix")?;
    let base = path.parent().unwrap_or(std::path::Path::new("."));
    let mut items = Vec::new();
    for e in entries {
        let (command, cmd) = openim_shim::commands::lookup(&e.command)
            .with_context(|| format!("unknown command {}", e.command))?;
        let body_path = base.join(&e.body);
        let raw = std::fs::read(&body_path).with_context(|| format!("reading {body_path:?}"))?;
        let body = if grpc {
            Bytes::from(encode_request(command, &raw)?)
        } else {
            Bytes::from(raw)
        };
        let item = Item {
            command,
            http_path: e
                .path
                .unwrap_or_else(|| format!("/callbackExample/{command}")),
            body,
            rpc: cmd.rpc,
        };
        items.extend(std::iter::repeat_n(item, e.weight));
    }
    if items.is_empty() {
        bail!("empty mix");
    }
    Ok(items)
}

/// The policy request the shim would send for this OpenIM body (the callbacks of the mixes).
fn encode_request(command: &str, body: &[u8]) -> anyhow::Result<Vec<u8>> {
    fn before<C: Before>(body: &[u8]) -> anyhow::Result<Vec<u8>> {
        Ok(C::decode(body)?.0.encode_to_vec())
    }
    fn after<C: After>(body: &[u8]) -> anyhow::Result<Vec<u8>> {
        Ok(C::decode(body)?.encode_to_vec())
    }
    match command {
        "callbackBeforeSendSingleMsgCommand" => before::<message::BeforeSendSingleMsg>(body),
        "callbackBeforeSendGroupMsgCommand" => before::<message::BeforeSendGroupMsg>(body),
        "callbackBeforeMsgModifyCommand" => before::<message::BeforeMsgModify>(body),
        "callbackBeforeOfflinePushCommand" => before::<push::BeforeOfflinePush>(body),
        "callbackAfterSendSingleMsgCommand" => after::<message::AfterSendSingleMsg>(body),
        "callbackAfterSendGroupMsgCommand" => after::<message::AfterSendGroupMsg>(body),
        other => bail!("no gRPC encoding for {other} in loadgen"),
    }
}

async fn closed_loop(
    sender: Sender,
    items: Arc<Vec<Item>>,
    workers: usize,
    measure_from: Instant,
    end: Instant,
) -> Recorder {
    let mut tasks = Vec::with_capacity(workers);
    for w in 0..workers {
        let (sender, items) = (sender.clone(), items.clone());
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            let mut i = w;
            while Instant::now() < end {
                let item = &items[i % items.len()];
                i += 1;
                let started = Instant::now();
                let result = sender.send(item).await;
                if started >= measure_from {
                    rec.record(item.command, started.elapsed(), &result);
                }
            }
            rec
        }));
    }
    let mut total = Recorder::default();
    for t in tasks {
        total.merge(t.await.expect("worker panicked"));
    }
    total
}

async fn open_loop(
    sender: Sender,
    items: Arc<Vec<Item>>,
    rate: u64,
    start: Instant,
    measure_from: Instant,
    end: Instant,
) -> Recorder {
    let recorder = Arc::new(Mutex::new(Recorder::default()));
    let interval = Duration::from_secs_f64(1.0 / rate as f64);
    let runtime = tokio::runtime::Handle::current();
    let schedule = {
        let recorder = recorder.clone();
        // Tokio's timer has millisecond resolution: requests would leave up to 1 ms late and
        // that lateness would be charged to the server. A dedicated thread sleeps until each
        // send time with the kernel's high-resolution timers. It must not spin: the load
        // generator is pinned to one CPU, and a spinning scheduler takes that CPU from the
        // runtime thread that sends and receives (at 5,000/s the old spin-wait never slept,
        // and replies waited for the scheduler's time slice to end, adding milliseconds).
        std::thread::spawn(move || {
            let mut in_flight = Vec::new();
            let mut lag = histogram();
            for i in 0u64.. {
                let at = start + interval.mul_f64(i as f64);
                if at >= end {
                    break;
                }
                if let Some(early) = at.checked_duration_since(Instant::now()) {
                    std::thread::sleep(early);
                }
                if at >= measure_from {
                    lag.saturating_record(micros(at.elapsed()));
                }
                let item = items[(i as usize) % items.len()].clone();
                let (sender, recorder) = (sender.clone(), recorder.clone());
                in_flight.push(runtime.spawn(async move {
                    let result = sender.send(&item).await;
                    if at >= measure_from {
                        // Measured from the scheduled time, queueing included.
                        let latency = at.elapsed();
                        recorder.lock().expect("recorder lock").record(
                            item.command,
                            latency,
                            &result,
                        );
                    }
                }));
                in_flight.retain(|t| !t.is_finished());
            }
            (in_flight, lag)
        })
    };
    let (in_flight, lag) = tokio::task::spawn_blocking(move || schedule.join().expect("scheduler"))
        .await
        .expect("scheduler thread");
    for task in in_flight {
        let _ = task.await;
    }
    let mut recorder = Arc::try_unwrap(recorder)
        .ok()
        .expect("all tasks done")
        .into_inner()
        .expect("recorder lock");
    recorder.send_lag = Some(lag);
    recorder
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Linux lets a timed sleep end up to 50 µs late by default ("timer slack"), lateness the open
    // loop would charge to the server. The scheduler thread inherits this thread's slack; 1 µs
    // is plenty. Best effort: without it the sends are only a little later (see send_lag_us).
    let _ = std::fs::write("/proc/self/timerslack_ns", "1000");
    let items = Arc::new(load_mix(&args.mix, args.grpc)?);
    let sender = if args.grpc {
        Sender::Grpc(PolicyClient::new(&ClientSettings::to(&args.target)).await?)
    } else {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1024)
            .build_http();
        Sender::Http {
            client: Box::new(client),
            base: args.target.trim_end_matches('/').to_owned(),
        }
    };
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let end = measure_from + args.duration;
    let (mode, rec) = match (args.concurrency, args.rate) {
        (Some(c), _) => (
            format!("closed-loop concurrency={c}"),
            closed_loop(sender, items, c, measure_from, end).await,
        ),
        (None, Some(r)) => (
            format!("open-loop rate={r}/s"),
            open_loop(sender, items, r, start, measure_from, end).await,
        ),
        (None, None) => bail!("give --concurrency or --rate"),
    };
    let mut all = histogram();
    for h in rec.by_command.values() {
        all.add(h)?;
    }
    let seconds = args.duration.as_secs_f64();
    let report = Report {
        mode,
        seconds,
        requests: all.len(),
        throughput_rps: all.len() as f64 / seconds,
        errors: rec.errors,
        invalid: rec.invalid,
        latency_us: Percentiles::from(&all),
        send_lag_us: rec.send_lag.as_ref().map(Percentiles::from),
        by_command: rec
            .by_command
            .iter()
            .map(|(k, h)| (*k, Percentiles::from(h)))
            .collect(),
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
