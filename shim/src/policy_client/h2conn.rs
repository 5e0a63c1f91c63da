//! HTTP/2 to a policy endpoint straight on the `h2` crate: the connection's handshake and its
//! task (with keepalive pings), one call's stream, and a reply's body as an `http_body::Body`.
//!
//! Why not hyper's HTTP/2 client (used until the performance work of issue 19): hyper passes
//! each request from the caller to the connection task over a channel, then spawns two tasks
//! per call (one to pipe the body into the stream, one to map the response back to the caller
//! through a one-shot channel): three task hops and two spawns per callback, and ~3 KB per call
//! in flight. Here the caller opens the stream itself and queues the HEADERS and the whole DATA
//! at once (h2 buffers them until flow control lets them go), and h2 wakes the caller when the
//! reply arrives. The settings are hyper's defaults, so the policy sees the same connection.

use std::{
    io,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use h2::client::{Connection, SendRequest};
use http_body::Frame;
use tokio::io::{AsyncRead, AsyncWrite};

/// The handle calls open their streams with (cloned per call: each clone waits for its own
/// stream slot).
pub(crate) type Conn = SendRequest<Bytes>;

/// hyper's defaults for an HTTP/2 client (`hyper::proto::h2::client`): receive windows of
/// 2 MiB per stream and 5 MiB per connection, headers up to 16 KiB, 1 MiB of send buffer.
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONN_WINDOW: u32 = 5 * 1024 * 1024;
const MAX_HEADER_LIST: u32 = 16 * 1024;
const MAX_SEND_BUFFER: usize = 1024 * 1024;

/// The HTTP/2 handshake on `io`; returns the handle and the connection's future, which must be
/// polled (spawned) for anything to move. The future pings the peer every `keepalive` and ends
/// the connection when a ping gets no answer within half of that (a peer that is gone without a
/// word); it ends by itself once every handle and stream is dropped.
pub(crate) async fn handshake<T>(
    io: T,
    keepalive: Duration,
) -> io::Result<(Conn, impl Future<Output = ()> + Send + 'static)>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (conn, connection) = h2::client::Builder::new()
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONN_WINDOW)
        .max_header_list_size(MAX_HEADER_LIST)
        .max_send_buffer_size(MAX_SEND_BUFFER)
        .enable_push(false)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(io::Error::other)?;
    Ok((conn, drive(connection, keepalive)))
}

/// Runs the connection until it ends or a keepalive ping goes unanswered.
async fn drive<T>(mut connection: Connection<T, Bytes>, keepalive: Duration)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let Some(mut pings) = connection.ping_pong() else {
        let _ = connection.await;
        return;
    };
    let alive = async move {
        loop {
            tokio::time::sleep(keepalive).await;
            match tokio::time::timeout(keepalive / 2, pings.ping(h2::Ping::opaque())).await {
                Ok(Ok(_pong)) => {}
                // No pong in time, or the connection is already gone.
                _ => return,
            }
        }
    };
    tokio::select! {
        ended = connection => {
            if let Err(e) = ended {
                tracing::debug!(error = %e, "policy connection ended");
            }
        }
        // Dropping the connection fails the calls in flight on it: they count as never seen.
        () = alive => tracing::debug!("policy connection: a keepalive ping went unanswered"),
    }
}

/// Sends one call (`request`'s headers, then `body` as its only DATA) and waits for the reply's
/// headers. Dropping the future before that resets the stream (CANCEL).
pub(crate) async fn send(
    conn: &Conn,
    request: http::Request<()>,
    body: Bytes,
) -> Result<http::Response<Reply>, h2::Error> {
    // Waits while the connection has no stream slot (the policy's SETTINGS_MAX_CONCURRENT_STREAMS).
    let mut sender = conn.clone().ready().await?;
    let (response, mut stream) = sender.send_request(request, body.is_empty())?;
    if !body.is_empty() {
        // Queued with the HEADERS: both leave in the connection's next write.
        stream.send_data(body, true)?;
    }
    let response = response.await?;
    Ok(response.map(Reply::new))
}

/// A reply's body: its DATA frames (their flow-control capacity given back as they are read),
/// then its trailers.
#[derive(Debug)]
pub(crate) struct Reply {
    body: h2::RecvStream,
    /// The DATA frames are over; the trailers are next.
    data_done: bool,
    /// The trailers were returned (or there were none).
    done: bool,
}

impl Reply {
    fn new(body: h2::RecvStream) -> Self {
        Self {
            body,
            data_done: false,
            done: false,
        }
    }
}

impl http_body::Body for Reply {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if !this.data_done {
            match ready!(this.body.poll_data(cx)) {
                Some(Ok(data)) => {
                    // Lets the policy send more (a reply larger than the window).
                    let _ = this.body.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => this.data_done = true,
            }
        }
        let trailers = ready!(this.body.poll_trailers(cx));
        this.done = true;
        Poll::Ready(match trailers {
            Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::Notify;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_ends_when_its_peer_stops_answering_pings() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let freeze = Arc::new(Notify::new());
        let frozen = freeze.clone();
        tokio::spawn(async move {
            let mut conn = h2::server::handshake(server)
                .await
                .expect("server handshake");
            // Polling the connection answers the pings.
            tokio::select! {
                () = async { while let Some(Ok(_)) = conn.accept().await {} } => {}
                () = frozen.notified() => {}
            }
            // Frozen: the socket stays open, nothing is read or answered (a peer gone silent).
            std::future::pending::<()>().await;
            drop(conn);
        });
        let keepalive = Duration::from_secs(10);
        let (conn, connection) = handshake(client, keepalive).await.expect("handshake");
        let mut connection = tokio::spawn(connection);
        // A peer that answers keeps the connection, ping after ping.
        tokio::time::sleep(keepalive * 4).await;
        assert!(!connection.is_finished(), "ended while the peer answered");
        freeze.notify_one();
        // The next ping (within `keepalive`) goes unanswered for `keepalive / 2`.
        tokio::time::timeout(keepalive * 2, &mut connection)
            .await
            .expect("connection still up after its peer went silent")
            .expect("connection task");
        let request = http::Request::post("http://policy/p")
            .body(())
            .expect("request");
        assert!(
            send(&conn, request, Bytes::from_static(b"x"))
                .await
                .is_err()
        );
    }
}
