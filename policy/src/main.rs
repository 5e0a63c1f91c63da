//! `openim-policy` binary: parses the command line, loads the rules, serves gRPC until SIGINT or
//! SIGTERM. See `openim-policy --help`.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context as _;
use clap::Parser;
use openim_common::{shutdown_signal, telemetry};
use openim_policy::Policy;
use tokio::net::TcpListener;

/// Command line of `openim-policy`.
#[derive(Debug, Parser)]
#[command(
    name = "openim-policy",
    version,
    about = "Default gRPC policy service for OpenIM callbacks (contract openim.policy.v1)."
)]
struct Args {
    /// Address to serve gRPC on.
    #[arg(long, env = "OPENIM_POLICY_LISTEN", default_value = "0.0.0.0:50051")]
    listen: SocketAddr,

    /// Rules file (YAML). Without one, every callback continues.
    #[arg(long, env = "OPENIM_POLICY_RULES")]
    rules: Option<PathBuf>,

    /// Log format (the level is set with `RUST_LOG`, default `info`).
    #[arg(long, env = "OPENIM_POLICY_LOG_FORMAT", value_enum,
          default_value_t = telemetry::LogFormat::Text)]
    log_format: telemetry::LogFormat,
}

/// mimalloc instead of the system allocator: the request path makes many small, short-lived
/// allocations, where glibc's malloc cost about 7% of the shim's CPU under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    telemetry::init(args.log_format);
    let shutdown = shutdown_signal();
    let policy = Policy::load(args.rules.as_deref())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, rules = ?args.rules, "openim-policy ready");
    openim_policy::serve(listener, policy, shutdown).await?;
    Ok(())
}
