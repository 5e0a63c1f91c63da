//! A gRPC server in this process that can be killed like a crashed process: every open
//! connection breaks at once (in-flight calls fail, nothing is drained) and the port is free
//! again when [`Killable::kill`] returns, so a new server can start on the same address (a
//! "restart"). Stopping a tonic server's task alone would leave its connections serving.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinHandle,
};
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// A running killable server.
#[derive(Debug)]
pub struct Killable {
    /// Where it listens.
    pub addr: SocketAddr,
    kill: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Killable {
    /// Serves `router` on `addr` (a fresh loopback port if `None`).
    pub async fn spawn(router: tonic::transport::server::Router, addr: Option<SocketAddr>) -> Self {
        let addr = addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        let addr = listener.local_addr().expect("local addr");
        let (kill, killed) = watch::channel(false);
        let incoming = TcpListenerStream::new(listener)
            .map(move |conn| conn.map(|stream| KillableStream::new(stream, killed.clone())));
        let task = tokio::spawn(async move {
            let _ = router.serve_with_incoming(incoming).await;
        });
        Self { addr, kill, task }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Breaks every connection and closes the listener; returns once the port is free.
    pub async fn kill(self) {
        let _ = self.kill.send(true);
        self.task.abort();
        let _ = self.task.await;
    }
}

/// A connection that fails every read and write once the server is killed.
struct KillableStream {
    inner: TcpStream,
    killed: Pin<Box<dyn Future<Output = ()> + Send>>,
    dead: bool,
}

impl KillableStream {
    fn new(inner: TcpStream, mut killed: watch::Receiver<bool>) -> Self {
        Self {
            inner,
            killed: Box::pin(async move {
                let _ = killed.wait_for(|k| *k).await;
            }),
            dead: false,
        }
    }

    /// Whether the server was killed; registers the task for wake-up on the kill otherwise.
    fn is_dead(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.dead && self.killed.as_mut().poll(cx).is_ready() {
            self.dead = true;
        }
        self.dead
    }
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "test server killed")
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.is_dead(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.is_dead(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.is_dead(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Connected for KillableStream {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.inner.connect_info()
    }
}
