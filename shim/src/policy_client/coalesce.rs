//! The policy connection's socket as h2 should see it, so that the frames of concurrent calls,
//! and the HEADERS and DATA of one call, leave in one write instead of one write each.
//!
//! Over a socket that takes vectored writes, h2 copies a DATA frame's payload into its own
//! write buffer only below 256 bytes and keeps at most one larger payload aside, flushing it
//! before it takes the next frame: every call with a body of 256 bytes or more (nearly every
//! OpenIM message) cost a `writev` of its own, however many calls were ready together, and the
//! policy a read per call. Told that the socket has no vectored writes, h2 copies payloads up to
//! 1 KiB into its buffer and writes them all at once. A write buffer under it keeps a larger
//! payload in the same write as the frames before it (h2 then writes it in two pieces); h2
//! flushes after each round of frames, so nothing waits in it.
//!
//! Measured on bench (b), shim and policy on one core, 3 alternated runs: writes to the policy
//! per callback 0.83 → 0.26 (`sendto`/`writev`), shim CPU per callback 51.0 → 45.1 µs, policy
//! 19.2 → 15.5 µs, throughput 13.5k → 14.9k req/s.
//!
//! Calls that become ready in the same pass of the scheduler share a write without more help:
//! each wakes the connection's task, which runs after them and finds all their frames queued.
//! (With hyper's HTTP/2 client, before `h2conn`, a lone call's DATA reached h2 one task hop
//! after its HEADERS, so the flush here waited for one pass of the scheduler (`yield_now`) to
//! keep them in one write. Queued together now, they need no wait, and dropping it, measured on
//! bench (c-uds) at 3,000 callbacks/s over 5 s: the shim's `epoll_wait` per callback
//! 2.37 → 1.84; CPU of the pair over 4 alternated runs 354 → 328 ticks on average, within the
//! noise.)

use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

use tokio::io::{AsyncRead, AsyncWrite, BufWriter, ReadBuf};

/// Bytes of frames gathered before one write (h2's own write buffer is as large).
const WRITE_BUFFER: usize = 16 * 1024;

/// `io` ready for h2: buffered, with its vectored writes hidden (see the module docs).
pub(super) fn coalesced<T>(io: T) -> Coalescing<T>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    Coalescing {
        inner: BufWriter::with_capacity(WRITE_BUFFER, io),
    }
}

/// A write buffer over `T` that hides its vectored writes (`is_write_vectored` keeps its
/// default, false; Tokio's `BufWriter` says true).
pub(super) struct Coalescing<T> {
    inner: BufWriter<T>,
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Coalescing<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Coalescing<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use bytes::Bytes;
    use http_body_util::{BodyExt as _, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use tokio::io::DuplexStream;

    use super::{super::h2conn, *};

    /// A socket-like stream (vectored writes) that counts the writes reaching it.
    struct Counting {
        inner: DuplexStream,
        writes: Arc<AtomicUsize>,
    }

    impl AsyncRead for Counting {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Counting {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            Pin::new(&mut self.inner).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            // Like `writev`: everything the slices hold, in one write.
            let all: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
            Pin::new(&mut self.inner).poll_write(cx, &all)
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }

    /// Sends `calls` concurrent requests with 600-byte bodies over an HTTP/2 connection (the
    /// shim's, `h2conn`) on `wrap(socket)`; returns the writes the calls took (after the
    /// handshake and one call) and checks every answer arrived.
    async fn writes_for<I, W>(calls: usize, wrap: W) -> usize
    where
        W: FnOnce(Counting) -> I,
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (client, server) = tokio::io::duplex(1 << 20);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                |req: http::Request<hyper::body::Incoming>| async move {
                    let body = req.into_body().collect().await?.to_bytes();
                    Ok::<_, hyper::Error>(http::Response::new(Full::new(body)))
                },
            );
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(server), service)
                .await;
        });
        let writes = Arc::new(AtomicUsize::new(0));
        let io = wrap(Counting {
            inner: client,
            writes: writes.clone(),
        });
        let (send, conn) = h2conn::handshake(io, std::time::Duration::from_secs(60))
            .await
            .expect("handshake");
        tokio::spawn(conn);
        let call = |send: h2conn::Conn, body: Bytes| async move {
            let req = http::Request::post("http://policy/p").body(())?;
            let resp = h2conn::send(&send, req, body.clone()).await?;
            let echoed = resp.into_body().collect().await?.to_bytes();
            assert_eq!(echoed, body);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        };
        let body = Bytes::from(vec![b'x'; 600]);
        // One call first, so that the settings exchange is over before the count starts.
        call(send.clone(), body.clone())
            .await
            .expect("warm-up call");
        // Let the connection task write whatever the warm-up left it to write.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let before = writes.load(Ordering::Relaxed);
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..calls {
            tasks.spawn(call(send.clone(), body.clone()));
        }
        while let Some(done) = tasks.join_next().await {
            done.expect("call task").expect("call");
        }
        writes.load(Ordering::Relaxed) - before
    }

    #[tokio::test(flavor = "current_thread")]
    async fn frames_of_ready_calls_share_a_write() {
        let calls = 32;
        let plain = writes_for(calls, |io| io).await;
        let buffered = writes_for(calls, coalesced).await;
        eprintln!("writes for {calls} concurrent calls: {plain} plain, {buffered} coalesced");
        // Unbuffered, h2 writes every body over 256 bytes on its own (its HEADERS share writes).
        assert!(
            plain >= calls,
            "{plain} writes for {calls} calls without coalescing"
        );
        assert!(
            buffered <= calls / 4,
            "{buffered} writes for {calls} ready calls (without coalescing: {plain})"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lone_call_takes_one_write() {
        // Its HEADERS and DATA are queued together (`h2conn::send`) and leave together.
        let buffered = writes_for(1, coalesced).await;
        assert_eq!(buffered, 1, "writes for a lone call");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_complete_on_a_multi_thread_runtime() {
        // Calls from tasks on several workers: every call gets its answer (checked inside
        // `writes_for`) in time.
        let writes =
            tokio::time::timeout(std::time::Duration::from_secs(10), writes_for(8, coalesced))
                .await
                .expect("calls stalled");
        assert!(writes >= 1);
    }
}
