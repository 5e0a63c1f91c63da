//! An HTTP client that sends callbacks the way OpenIM's Go client does (docs/openim-protocol.md §1.2):
//! HTTP/1.1, Go's title-cased header names (`Operationid`), `Content-Type: application/json;
//! charset=utf-8`, the body as given (OpenIM v3.7+ ends it with a newline).

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A reply as received.
#[derive(Debug)]
pub struct HttpReply {
    /// HTTP status.
    pub status: StatusCode,
    /// `Content-Type` header.
    pub content_type: Option<String>,
    /// Raw body.
    pub body: Bytes,
}

impl HttpReply {
    /// The body as JSON; panics with the body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "reply is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// POSTs `body` to `http://{addr}{path_and_query}` like OpenIM, with `Operationid: {op}` when
/// `operation_id` is given.
pub async fn post(
    addr: SocketAddr,
    path_and_query: &str,
    body: &[u8],
    operation_id: Option<&str>,
) -> HttpReply {
    send(Method::POST, addr, path_and_query, body, operation_id).await
}

/// Sends a request like OpenIM would, with any method.
pub async fn send(
    method: Method,
    addr: SocketAddr,
    path_and_query: &str,
    body: &[u8],
    operation_id: Option<&str>,
) -> HttpReply {
    let stream = TcpStream::connect(addr).await.expect("connect to shim");
    let mut req = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", addr.to_string())
        .header("user-agent", "Go-http-client/1.1")
        .header("content-type", "application/json; charset=utf-8")
        .header("accept-encoding", "gzip");
    if let Some(op) = operation_id {
        req = req.header("operationid", op);
    }
    let req = req
        .body(Full::new(Bytes::copy_from_slice(body)))
        .expect("request");
    exchange(stream, req).await
}

/// Sends `req` on `io` (a TCP or TLS stream), as OpenIM's Go client writes it, and reads the
/// reply.
pub async fn exchange<IO>(io: IO, req: Request<Full<Bytes>>) -> HttpReply
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        // Go writes canonical (title-case) header names: `Operationid`, `Content-Type`.
        .title_case_headers(true)
        .handshake(TokioIo::new(io))
        .await
        .expect("HTTP handshake");
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.expect("send request");
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("read reply body")
        .to_bytes();
    HttpReply {
        status,
        content_type,
        body,
    }
}
