//! `openim-shim` binary: reads the command line, the config file and the environment overrides
//! (exiting with status 2 if they are unusable), sets up logging, opens the after-event spool,
//! binds, serves until SIGINT or SIGTERM (then stops as the `shutdown` settings say; a second
//! signal exits at once); reloads the callbacks' settings on SIGHUP. See `openim-shim --help`.
//! `openim-shim replay ...` is a tool instead: captured callbacks sent to a policy, a diff
//! report, an exit status for CI (`openim-shim replay --help`).

use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use openim_common::{Hangups, shutdown_signal, telemetry};
use openim_shim::{
    config::{Args, ConfigError, Tool},
    replay::{self, EXIT_CANNOT_RUN, EXIT_GATE, ReplayArgs},
};
use tokio::net::TcpListener;

/// Exit status for an unusable configuration (as clap's for an invalid flag).
const EXIT_USAGE: u8 = 2;
/// Exit status after a second stop signal (128 + SIGINT, as shells report it).
const EXIT_FORCED: i32 = 130;

/// mimalloc instead of glibc's malloc, which took ~8% of the shim's CPU under load (many small,
/// short-lived allocations per callback). A/B on bench (b): shim CPU per callback 54.5 → 49.9 µs. Built without transparent
/// huge pages (`no_thp`, workspace Cargo.toml): with them its arenas doubled the peak RSS
/// (22 MB → 45 MB), which is why an earlier attempt was dropped; without them 24 MB.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match openim_common::runtime() {
        Ok(runtime) => openim_common::block_on(&runtime, async_main()),
        Err(e) => {
            eprintln!("openim-shim: cannot start the Tokio runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn async_main() -> ExitCode {
    let args = Args::parse();
    if let Some(Tool::Replay(replay)) = &args.command {
        return replay_main(replay).await;
    }
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain on one line, no backtrace: a bad setting is the user's to fix.
            let usage = e.chain().any(|c| {
                c.is::<ConfigError>()
                    || c.downcast_ref::<openim_shim::StartError>()
                        .is_some_and(openim_shim::StartError::is_config)
            });
            if usage {
                eprintln!("openim-shim: invalid configuration: {e:#}");
            } else {
                eprintln!("openim-shim: {e:#}");
            }
            ExitCode::from(if usage { EXIT_USAGE } else { 1 })
        }
    }
}

/// `openim-shim replay`: the table (or the JSON with `--report -`) on standard output, the
/// gate's verdict on standard error.
async fn replay_main(args: &ReplayArgs) -> ExitCode {
    // Warnings only: the policy client logs endpoints it cannot reach.
    telemetry::init_with_default(telemetry::LogFormat::Text, "warn");
    let finished = match replay::run(args).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("openim-shim replay: {e:#}");
            return ExitCode::from(EXIT_CANNOT_RUN);
        }
    };
    let json = finished.report.to_json(&finished.gate);
    let json = serde_json::to_string_pretty(&json).unwrap_or_default();
    match args.report.as_deref() {
        Some(p) if p.as_os_str() == "-" => println!("{json}"),
        Some(p) => {
            print!("{}", finished.report.table());
            let (path, text) = (p.to_owned(), format!("{json}\n"));
            let written = tokio::task::spawn_blocking(move || std::fs::write(path, text)).await;
            if let Err(e) = written.map_err(std::io::Error::other).and_then(|w| w) {
                eprintln!("openim-shim replay: cannot write {}: {e}", p.display());
                return ExitCode::from(EXIT_CANNOT_RUN);
            }
        }
        None => print!("{}", finished.report.table()),
    }
    let failures = finished.failures();
    if failures.is_empty() {
        eprintln!("openim-shim replay: passed");
        return ExitCode::SUCCESS;
    }
    for f in &failures {
        eprintln!("openim-shim replay: FAILED: {f}");
    }
    ExitCode::from(EXIT_GATE)
}

async fn run(args: &Args) -> anyhow::Result<()> {
    // Before anything else: from now on SIGHUP reloads instead of ending the process.
    let mut hangups = Hangups::listen();
    let loaded = args.load(std::env::vars_os())?;
    telemetry::init(loaded.log_format);
    // OTEL_* variables (off without an OTLP endpoint); spans still buffered go out at the end.
    let traces = openim_common::otel::init("openim-shim")?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    if !loaded.listen.ip().is_loopback() && !loaded.settings.auth.any() {
        tracing::warn!(
            listen = %loaded.listen,
            "no caller authentication (auth.pathSecret, auth.token, auth.allow): anyone who can \
             reach this port can post forged callbacks; see the README's Security section"
        );
    }
    let first = shutdown_signal();
    let shutdown = async move {
        first.await;
        // A second signal: an impatient operator, or a script that sends two. Exit now.
        let second = shutdown_signal();
        tokio::spawn(async move {
            second.await;
            tracing::warn!("second stop signal: exiting at once (queued after-events are lost)");
            std::process::exit(EXIT_FORCED);
        });
    };
    let mut settings = loaded.settings;

    // Try-out mode: the default policy in this process, on a loopback port.
    let policy = if args.with_policy {
        let policy = InProcessPolicy::start(args.rules.as_deref()).await?;
        settings.policy.targets = vec![policy.url.clone()];
        Some(policy)
    } else {
        None
    };

    let mut shim = openim_shim::Shim::start(settings.clone())
        .await
        .context("cannot start")?;
    if let Some(admin) = loaded.admin_listen {
        let listener = TcpListener::bind(admin)
            .await
            .with_context(|| format!("cannot listen on {admin} (admin.listen)"))?;
        tracing::info!(addr = %listener.local_addr()?, "operators' endpoints (admin.listen)");
        shim = shim.with_admin(listener);
    }
    let listener = TcpListener::bind(loaded.listen)
        .await
        .with_context(|| format!("cannot listen on {}", loaded.listen))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        policy = ?settings.policy.targets,
        timeout = ?settings.timeout,
        on_error = ?settings.on_error,
        spool = %settings
            .spool
            .dir
            .as_deref()
            .map_or_else(|| "memory (spool.enabled: false)".into(), |d| d.display().to_string()),
        spool_backend = if settings.spool.redis.is_some() { "redis" } else { "local" },
        "openim-shim ready"
    );
    let reloader = shim.reloader();
    let policy_targets = settings.policy.targets.clone();
    let reload_args = std::sync::Arc::new(args.clone());
    tokio::spawn(async move {
        loop {
            hangups.next().await;
            match reload_args.load(std::env::vars_os()) {
                Ok(mut loaded) => {
                    if reload_args.with_policy {
                        loaded.settings.policy.targets.clone_from(&policy_targets);
                    }
                    let needs_restart = reloader.apply(&loaded.settings);
                    tracing::info!(
                        "SIGHUP: configuration reloaded: the callbacks' settings apply now"
                    );
                    if !needs_restart.is_empty() {
                        tracing::warn!(
                            ?needs_restart,
                            "SIGHUP: these settings changed but need a restart"
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "SIGHUP: configuration not reloaded, the running one stays")
                }
            }
        }
    });
    shim.serve(listener, shutdown).await?;
    // After the shim, which delivers its last after-events to it.
    if let Some(policy) = policy {
        policy.stop().await?;
    }
    if let Some(traces) = traces {
        flush_traces(traces).await;
    }
    Ok(())
}

/// The default policy running in this process (`--with-policy`).
struct InProcessPolicy {
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl InProcessPolicy {
    #[cfg(feature = "all-in-one")]
    async fn start(rules: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let policy = openim_policy::Policy::load(rules)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, rules = ?rules, "default policy running in this process (--with-policy)");
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(openim_policy::serve(listener, policy, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            url: format!("http://{addr}"),
            stop,
            task,
        })
    }

    #[cfg(not(feature = "all-in-one"))]
    async fn start(_rules: Option<&std::path::Path>) -> anyhow::Result<Self> {
        anyhow::bail!(
            "--with-policy needs the default policy built in: \
             cargo run --release -p openim-shim --features all-in-one -- --with-policy"
        )
    }

    /// Stops it the way `openim-policy` stops on SIGTERM: in-flight calls finish, the audit log
    /// is flushed.
    async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await.context("the in-process policy failed")??;
        Ok(())
    }
}

/// Exports the spans still buffered, off the runtime's threads (the SDK blocks while it flushes),
/// for at most 5 s.
async fn flush_traces(traces: openim_common::otel::Traces) {
    let _ = tokio::task::spawn_blocking(move || traces.shutdown(std::time::Duration::from_secs(5)))
        .await;
}
