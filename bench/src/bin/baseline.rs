//! `baseline`: the upper bound of the benchmark. A bare axum server that answers every POST with
//! OpenIM's static continue reply, doing no decoding and no policy call. Whatever the shim costs
//! is measured against this.
//!
//! Run: `baseline --listen 127.0.0.1:18000`

use axum::{
    Router,
    http::{HeaderValue, header::CONTENT_TYPE},
    response::IntoResponse,
};
use clap::Parser;
use tokio::net::TcpListener;

/// Command line.
#[derive(Debug, Parser)]
#[command(about = "Bare axum server answering OpenIM's static continue reply.")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18000")]
    listen: std::net::SocketAddr,
}

async fn continue_reply() -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        openim_shim::openim::CONTINUE,
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let shutdown = openim_common::shutdown_signal();
    let listener = TcpListener::bind(args.listen).await?;
    eprintln!("baseline ready addr={}", listener.local_addr()?);
    axum::serve(listener, Router::new().fallback(continue_reply))
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
