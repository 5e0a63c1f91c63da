//! `openim-shim` binary: reads the command line, the config file and the environment overrides
//! (exiting with status 2 if they are unusable), sets up logging, opens the after-event spool,
//! binds, serves until SIGINT or SIGTERM. See `openim-shim --help`.

use anyhow::Context as _;
use clap::Parser as _;
use openim_common::{shutdown_signal, telemetry};
use openim_shim::config::Args;
use tokio::net::TcpListener;

/// Exit status for an unusable configuration (as clap's for an invalid flag).
const EXIT_USAGE: i32 = 2;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let loaded = match args.load(std::env::vars_os()) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("openim-shim: invalid configuration: {e}");
            std::process::exit(EXIT_USAGE);
        }
    };
    telemetry::init(loaded.log_format);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let shutdown = shutdown_signal();
    let mut settings = loaded.settings;

    // Try-out mode: the default policy in this process, on a loopback port.
    let policy = if args.with_policy {
        let policy = InProcessPolicy::start(args.rules.as_deref()).await?;
        settings.policy.targets = vec![policy.url.clone()];
        Some(policy)
    } else {
        None
    };

    let shim = openim_shim::Shim::start(settings.clone())
        .await
        .context("cannot start")?;
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
    shim.serve(listener, shutdown).await?;
    // After the shim, which delivers its last after-events to it.
    if let Some(policy) = policy {
        policy.stop().await?;
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
