//! `openim-policy` binary: parses the command line, loads the rules, serves gRPC (and metrics)
//! until SIGINT or SIGTERM; reloads the rules on SIGHUP and when their files change. See
//! `openim-policy --help`.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context as _;
use clap::Parser;
use openim_common::{parse_duration, shutdown_signal, telemetry};
use openim_policy::{ListenAddr, Listener, Policy, Stop};
use tokio::net::TcpListener;

/// Command line of `openim-policy`.
#[derive(Debug, Parser)]
#[command(
    name = "openim-policy",
    version,
    about = "Default gRPC policy service for OpenIM callbacks (contract openim.policy.v1)."
)]
struct Args {
    /// Address to serve gRPC on: host:port, or unix:/path/to.sock for a policy next to the shim
    /// (`openim-shim --policy unix:/path/to.sock`).
    #[arg(long, env = "OPENIM_POLICY_LISTEN", default_value = "0.0.0.0:50051")]
    listen: ListenAddr,

    /// Rules file (YAML; see examples/rules.yaml). Without one, every callback continues. It is
    /// reloaded on SIGHUP and when it (or a word file it names) changes.
    #[arg(long, env = "OPENIM_POLICY_RULES")]
    rules: Option<PathBuf>,

    /// Start even if the rules file is missing or invalid: health says NOT_SERVING and every
    /// decision answers UNAVAILABLE until a valid file is there. Without it, such a file stops
    /// the start.
    #[arg(long, env = "OPENIM_POLICY_WAIT_FOR_RULES", requires = "rules")]
    wait_for_rules: bool,

    /// How often to look at the rules files for changes.
    #[arg(long, env = "OPENIM_POLICY_RELOAD_INTERVAL", default_value = "5s",
          value_parser = parse_duration)]
    reload_interval: Duration,

    /// Address to serve Prometheus metrics on (`GET /metrics`); none by default.
    #[arg(long, env = "OPENIM_POLICY_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,

    /// After SIGTERM: NOT_SERVING on grpc.health.v1, still serving for this long (clients and
    /// load balancers move away first), then no new calls.
    #[arg(long, env = "OPENIM_POLICY_DRAIN_DELAY", default_value = "2s",
          value_parser = parse_duration_or_zero)]
    drain_delay: Duration,

    /// From SIGTERM to the exit, at most: calls still in flight are cut then. Keep it under the
    /// orchestrator's grace period (Kubernetes: 30 s by default).
    #[arg(long, env = "OPENIM_POLICY_SHUTDOWN_TIMEOUT", default_value = "20s",
          value_parser = parse_duration)]
    shutdown_timeout: Duration,

    /// Serve TLS with this certificate chain (PEM, leaf first); needs --tls-key. The files are
    /// looked at every --reload-interval and a change applies to new connections.
    #[arg(long, env = "OPENIM_POLICY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "OPENIM_POLICY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Require client certificates signed by these CAs (PEM): mutual TLS. Needs --tls-cert.
    #[arg(long, env = "OPENIM_POLICY_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,

    /// Serve gRPC server reflection (v1 and v1alpha) for grpcurl and similar tools. Off by
    /// default: it describes the whole contract to anyone who can connect.
    #[arg(long, env = "OPENIM_POLICY_REFLECTION")]
    reflection: bool,

    /// Calls in flight per connection, at most (HTTP/2 concurrent streams).
    #[arg(long, env = "OPENIM_POLICY_MAX_CONCURRENT_STREAMS",
          default_value_t = openim_policy::DEFAULT_MAX_CONCURRENT_STREAMS)]
    max_concurrent_streams: u32,

    /// Largest request message, e.g. 16MiB.
    #[arg(long, env = "OPENIM_POLICY_MAX_MESSAGE", default_value = "16MiB")]
    max_message: openim_common::ByteSize,

    /// Log format (the level is set with `RUST_LOG`, default `info`).
    #[arg(long, env = "OPENIM_POLICY_LOG_FORMAT", value_enum,
          default_value_t = telemetry::LogFormat::Text)]
    log_format: telemetry::LogFormat,
}

/// mimalloc instead of the system allocator: decisions make many small, short-lived allocations
/// (7% fewer instructions per decision under callgrind). Built with `no_thp` (workspace
/// Cargo.toml): mimalloc's transparent huge pages doubled the peak RSS with the 10k-word rules
/// (57 MB against 27 MB).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for a rules file that cannot be used (as clap's for an invalid flag, and the
/// shim's for an invalid configuration).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let runtime = match openim_common::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("openim-policy: cannot start the Tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match openim_common::block_on(&runtime, run(Args::parse())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain on one line, no backtrace whatever RUST_BACKTRACE says: a rules
            // file with a typo is the user's to fix, not a crash to debug.
            eprintln!("openim-policy: {e:#}");
            let usage = e
                .chain()
                .any(|c| c.is::<openim_policy::RulesError>() || c.is::<UsageError>());
            ExitCode::from(if usage { EXIT_USAGE } else { 1 })
        }
    }
}

/// A setting that cannot be used (unreadable TLS files): exit status 2, as for a bad flag.
#[derive(Debug, thiserror::Error)]
#[error("invalid TLS settings: {0}")]
struct UsageError(openim_common::tls::TlsError);

/// A duration, or 0 for none.
fn parse_duration_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim().trim_end_matches(['s', 'm']) == "0" {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

async fn run(args: Args) -> anyhow::Result<()> {
    telemetry::init(args.log_format);
    // OTEL_* variables (off without an OTLP endpoint).
    let traces = openim_common::otel::init("openim-policy")?;
    let shutdown = shutdown_signal();

    // Before the rules load: their counters bind to the recorder installed at that time.
    if let Some(addr) = args.metrics_listen {
        let handle = openim_policy::exporter::install_recorder()
            .context("cannot install the metrics recorder")?;
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for metrics"))?;
        tracing::info!(addr = %listener.local_addr()?, "metrics at /metrics");
        // Ends with the process.
        tokio::spawn(openim_policy::exporter::serve_metrics(
            listener,
            handle,
            std::future::pending(),
        ));
    }

    let policy = match (&args.rules, args.wait_for_rules) {
        (Some(path), true) => Policy::load_or_wait(path),
        (rules, _) => Policy::load(rules.as_deref())?,
    }
    .with_reload_interval(args.reload_interval)
    .with_stop(Stop {
        drain_delay: args.drain_delay,
        timeout: args.shutdown_timeout,
    })
    .with_reflection(args.reflection)
    .with_limits(
        args.max_concurrent_streams,
        usize::try_from(args.max_message.0).unwrap_or(usize::MAX),
    );
    let policy = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            let files = openim_common::tls::ServerFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: args.tls_client_ca.clone(),
            };
            let config = files
                .watch(openim_policy::tls::ALPN, args.reload_interval)
                .await
                .map_err(UsageError)?;
            policy.with_tls(config)
        }
        _ => policy,
    };
    if args.rules.is_none() {
        // Without rules there is nothing to reload, but SIGHUP must not end the process.
        let mut hangups = openim_common::Hangups::listen();
        tokio::spawn(async move {
            loop {
                hangups.next().await;
                tracing::info!("SIGHUP: no rules file, nothing to reload");
            }
        });
    }
    let listener = Listener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    openim_policy::serve(listener, policy, shutdown).await?;
    if let Some(traces) = traces {
        // The spans still buffered; the SDK blocks while it flushes: off the runtime's threads.
        let _ = tokio::task::spawn_blocking(move || traces.shutdown(Duration::from_secs(5))).await;
    }
    Ok(())
}
