//! The callback listener's connection loop, in place of `axum::serve`, for what that does not
//! bound: hyper's header read timeout (it needs a timer, which `axum::serve` does not set), an
//! idle timeout on the socket, a cap on open connections, TLS with certificates reloaded on
//! change, and the caller's address for the allow-list.
//!
//! Every connection task lives in a `JoinSet` owned by the loop's future: when the shim's stop
//! gives up on the connections (its deadline), dropping that future closes every one of them,
//! slow clients included.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use metrics::counter;
use openim_common::tls::Reloading;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::TcpListener,
    sync::Semaphore,
    task::JoinSet,
    time::{Instant, Sleep},
};
use tower::ServiceExt as _;

use crate::config::LimitSettings;

/// ALPN of the callback listener: OpenIM speaks HTTP/1.1.
pub(crate) const ALPN: &[&[u8]] = &[b"http/1.1"];

/// Serves `router` on `listener` until `stop` completes; then stops accepting and waits for the
/// connections to finish their requests (idle ones close at once). The caller bounds that wait.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<Reloading<rustls::ServerConfig>>>,
    limits: LimitSettings,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut connections = JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    let mut full_logged = false;
    loop {
        while connections.try_join_next().is_some() {}
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if !full_logged {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: new connections wait (limits.maxConnections)"
                    );
                    full_logged = true;
                }
                counter!("openim_shim_connections_limited_total").increment(1);
                tokio::select! {
                    permit = slots.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
                    () = &mut stop => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        full_logged = false;
        let watcher = graceful.watcher();
        let (router, tls) = (router.clone(), tls.clone());
        connections.spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let io = IdleTimeout::new(stream, limits.idle_timeout);
            // The caller's address, for the allow-list (`auth.allow`).
            let service = router.map_request(move |mut request: http::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
            let service = TowerToHyperService::new(service);
            let mut http = http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(true)
                // No read while a request is in flight: by default hyper reads the socket to
                // spot a client that hangs up mid-request, and as the request's body still
                // holds the first read buffer, that read takes a second one (8 KiB per callback
                // in flight) and costs a `recvfrom` per callback. A hang-up is then seen when
                // the answer is written; the callback finishes first (its deadline bounds it),
                // which an after-event needs anyway to be spooled.
                .half_close(true);
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(io), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
                    let handshake = acceptor.accept(io);
                    match tokio::time::timeout(limits.header_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            let conn = http.serve_connection(TokioIo::new(stream), service);
                            let _ = watcher.watch(conn).await;
                        }
                        Ok(Err(e)) => {
                            counter!("openim_shim_tls_handshake_failures_total").increment(1);
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            counter!("openim_shim_tls_handshake_failures_total").increment(1);
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    // Connections whose TLS handshake was still running are not watched: close them.
    connections.shutdown().await;
    Ok(())
}

/// A socket that fails with `TimedOut` when no byte has moved either way for `timeout` while
/// it is being read: a stalled handshake, body or reader cannot hold the connection.
struct IdleTimeout<T> {
    inner: T,
    timeout: Duration,
    sleep: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    fn new(inner: T, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn moved(&mut self) {
        self.sleep.as_mut().reset(Instant::now() + self.timeout);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.sleep.as_mut().poll(cx).is_ready()
    }
}

fn idle() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "connection idle (limits.idleTimeout)",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                self.moved();
                Poll::Ready(r)
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match Pin::new(&mut self.inner).poll_write(cx, buf) {
            Poll::Ready(r) => {
                self.moved();
                Poll::Ready(r)
            }
            // A reader that stopped reading our reply.
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(idle())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The caller's address as the allow-list sees it: the peer, or, when the peer is a trusted
/// proxy, the address its `X-Forwarded-For` chain names (right to left, skipping the trusted
/// proxies; a chain of trusted proxies only names its leftmost). `None`: a chain that does not
/// parse, which is refused.
pub(crate) fn caller(
    peer: SocketAddr,
    forwarded_for: Option<&str>,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let peer = peer.ip().to_canonical();
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|n| n.contains(ip));
    let Some(chain) = forwarded_for.filter(|_| is_trusted(&peer)) else {
        return Some(peer);
    };
    let mut last = peer;
    for hop in chain.rsplit(',') {
        let ip: std::net::IpAddr = hop.trim().parse().ok()?;
        let ip = ip.to_canonical();
        if !is_trusted(&ip) {
            return Some(ip);
        }
        last = ip;
    }
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_peer_unless_a_trusted_proxy_says_otherwise() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.5.0/24".parse().unwrap()];
        let peer = |s: &str| SocketAddr::new(s.parse().unwrap(), 1);
        let ip = |s: &str| Some(s.parse::<std::net::IpAddr>().unwrap());
        // An untrusted peer's header is ignored: anyone can write it.
        assert_eq!(
            caller(peer("1.2.3.4"), Some("10.1.1.1"), &trusted),
            ip("1.2.3.4")
        );
        assert_eq!(caller(peer("10.0.5.1"), None, &trusted), ip("10.0.5.1"));
        // Right to left, skipping trusted proxies; what the client wrote itself is left of it.
        let chain = Some("6.6.6.6, 10.1.1.1, 10.0.5.9");
        assert_eq!(caller(peer("10.0.5.1"), chain, &trusted), ip("10.1.1.1"));
        assert_eq!(
            caller(peer("10.0.5.1"), Some("10.0.5.7"), &trusted),
            ip("10.0.5.7")
        );
        assert_eq!(caller(peer("10.0.5.1"), Some("junk"), &trusted), None);
        // IPv4 peers on a dual-stack socket.
        assert_eq!(caller(peer("::ffff:1.2.3.4"), None, &[]), ip("1.2.3.4"));
    }
}
