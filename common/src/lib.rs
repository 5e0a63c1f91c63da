//! Process plumbing shared by the `openim-shim` and `openim-policy` binaries: logging setup,
//! the shutdown signal, and duration parsing for flags and config files.

pub mod telemetry;

use std::time::Duration;

/// A future that completes on SIGINT (Ctrl-C) or SIGTERM (what orchestrators send), and logs
/// which one. The handlers are installed when this is called, not when the future is first
/// polled, so a signal sent right after the process says it is ready is not missed. Must be
/// called inside the Tokio runtime.
pub fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            // A handler that cannot be installed never fires; the other one still works.
            let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            let signal = tokio::select! {
                () = wait(interrupt) => "SIGINT",
                () = wait(terminate) => "SIGTERM",
            };
            tracing::info!(signal, "shutting down");
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!(signal = "Ctrl-C", "shutting down");
    }
}

/// Parses a duration written `500ms`, `2s`, `1m`, or a plain number of seconds (OpenIM writes
/// its webhook timeouts in seconds). Zero is refused: every duration here is a deadline or an
/// interval.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, "s"), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 1s or 500ms"))?;
    let d = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        other => return Err(format!("unknown unit {other:?} in {s:?}: use ms, s or m")),
    };
    if d.is_zero() {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_ms_s_and_m() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration(" 1m "), Ok(Duration::from_secs(60)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("").is_err());
    }
}
