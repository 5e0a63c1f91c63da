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
    // `set_buckets` only fails on an empty list. Without buckets the histograms would be
    // summaries, which cannot be aggregated across replicas.
    let recorder = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)
        .unwrap_or_else(|_| PrometheusBuilder::new())
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder)?;
    crate::stats::describe();
    // Histogram samples wait in a buffer until folded into buckets: fold them every few
    // seconds, so that memory stays bounded when nobody scrapes. A thread, not a task: it must
    // outlive any one runtime.
    let upkeep = handle.clone();
    let spawned = std::thread::Builder::new()
        .name("metrics-upkeep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(std::time::Duration::from_secs(5));
                upkeep.run_upkeep();
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
    }
    Ok(handle)
}

/// Latency buckets of `openim_policy_decision_duration_seconds`, in seconds: a decision takes
/// tens of microseconds, a slow one (a huge message) milliseconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0,
];

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
