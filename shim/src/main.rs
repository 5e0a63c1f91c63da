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
    let _policy = if args.with_policy {
        let (url, task) = in_process_policy(args.rules.as_deref()).await?;
        settings.policy_url = url;
        Some(task)
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
        policy = %settings.policy_url,
        timeout = ?settings.timeout,
        on_error = ?settings.on_error,
        spool = %settings
            .spool
            .dir
            .as_deref()
            .map_or_else(|| "memory (spool.enabled: false)".into(), |d| d.display().to_string()),
        "openim-shim ready"
    );
    shim.serve(listener, shutdown).await?;
    Ok(())
}

#[cfg(feature = "all-in-one")]
async fn in_process_policy(
    rules: Option<&std::path::Path>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let policy = openim_policy::Policy::load(rules)?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, rules = ?rules, "default policy running in this process (--with-policy)");
    let task = tokio::spawn(openim_policy::serve(
        listener,
        policy,
        std::future::pending(),
    ));
    Ok((format!("http://{addr}"), task))
}

#[cfg(not(feature = "all-in-one"))]
async fn in_process_policy(
    _rules: Option<&std::path::Path>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<std::io::Result<()>>)> {
    anyhow::bail!("--with-policy needs a build with the `all-in-one` feature")
}
