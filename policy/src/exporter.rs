//! Prometheus metrics over HTTP: `GET /metrics` on its own port (`--metrics-listen`), in the
//! text exposition format. The recorder is process-wide (the `metrics` facade): install it
//! once, before serving, so that the counters created when rules load are recorded.

use std::future::Future;

use axum::{Router, http::header, response::IntoResponse, routing::get};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use tokio::net::TcpListener;

/// Installs the Prometheus recorder for this process and describes the policy's metrics.
/// Fails if a recorder is already installed.
pub fn install_recorder() -> Result<PrometheusHandle, metrics::SetRecorderError<PrometheusRecorder>>
{
    let recorder = PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    crate::stats::describe();
    Ok(handle)
}

/// Serves `GET /metrics` from `handle` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                handle.run_upkeep();
                (
                    [(
                        header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
                    .into_response()
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
