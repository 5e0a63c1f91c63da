//! gRPC on one HTTP/2 stream, as much of it as the shim needs: a unary call's request (framed
//! message, metadata, deadline) and the reading of its reply (HTTP status, message, trailers),
//! and the messages of a `grpc.health.v1` watch. Pure code around `http` types: the connection
//! that carries them lives in `endpoint.rs`.
//!
//! Why not tonic's client: tonic's `Channel` puts a buffer task between the caller and the
//! connection (one more task wake per call), and it gives no way to tell a call the policy never
//! saw (retried elsewhere) from one it may have decided (never retried). The wire format is
//! small and stable: <https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md>.

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Uri, header};
use http_body_util::BodyExt as _;
use tonic::{Code, Status};

/// Length of the prefix of every gRPC message: a compression flag and a big-endian length.
const PREFIX: usize = 5;

/// A message framed for the wire: the prefix (not compressed) and the encoded message.
pub(crate) fn frame(message: &impl prost::Message) -> Bytes {
    let len = message.encoded_len();
    let mut buf = BytesMut::with_capacity(PREFIX + len);
    put_prefix(&mut buf, len);
    // Cannot fail: the buffer has room for the whole message.
    let _ = message.encode(&mut buf);
    buf.freeze()
}

/// A message already encoded in `parts` (concatenated), framed for the wire.
pub(crate) fn frame_encoded(parts: &[&[u8]]) -> Bytes {
    let len = parts.iter().map(|p| p.len()).sum();
    let mut buf = BytesMut::with_capacity(PREFIX + len);
    put_prefix(&mut buf, len);
    for part in parts {
        buf.put_slice(part);
    }
    buf.freeze()
}

fn put_prefix(buf: &mut BytesMut, len: usize) {
    buf.put_u8(0);
    buf.put_u32(u32::try_from(len).unwrap_or(u32::MAX));
}

/// A unary call's HTTP/2 request headers: `POST <authority><path>` with gRPC's headers, the
/// deadline as `grpc-timeout`, and `metadata` (name, value) pairs whose values are valid header
/// values (the others are skipped: a non-ASCII operation ID is still in the request's context).
/// The framed message goes as its body (`h2conn::send`).
pub(crate) fn request<'a>(
    scheme: &'static str,
    authority: &http::uri::Authority,
    path: &'static str,
    timeout: Option<Duration>,
    metadata: impl IntoIterator<Item = (&'static str, &'a str)>,
) -> Request<()> {
    let uri = Uri::builder()
        .scheme(scheme)
        .authority(authority.clone())
        .path_and_query(path)
        .build()
        .unwrap_or_default();
    let mut request = Request::new(());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    headers.insert(header::TE, HeaderValue::from_static("trailers"));
    if let Some(timeout) = timeout {
        headers.insert("grpc-timeout", grpc_timeout(timeout));
    }
    for (name, value) in metadata {
        // gRPC's ASCII metadata: printable ASCII only (HTTP would also take other bytes).
        if value.bytes().all(|b| (0x20..0x7f).contains(&b))
            && let Ok(value) = HeaderValue::from_str(value)
        {
            headers.insert(name, value);
        }
    }
    request
}

/// `grpc-timeout`: at most 8 digits, so milliseconds up to ~27 h, which is beyond every deadline
/// the shim uses (15 s at most for before-callbacks).
fn grpc_timeout(timeout: Duration) -> HeaderValue {
    let ms = timeout.as_millis().clamp(1, 99_999_999);
    HeaderValue::from_str(&format!("{ms}m")).unwrap_or(HeaderValue::from_static("1S"))
}

/// Reads a unary reply: the message (when `keep` is true; else it is read and dropped, for
/// callers that only need the status), or the error status. `limit` bounds the message kept.
pub(crate) async fn read_reply<B>(
    response: http::Response<B>,
    keep: bool,
    limit: usize,
) -> Result<Option<Bytes>, Status>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let (parts, mut body) = response.into_parts();
    if parts.status != http::StatusCode::OK {
        return Err(Status::new(
            http_status_code(parts.status),
            format!("policy answered HTTP {}", parts.status),
        ));
    }
    // "Trailers-only": the status is in the headers, and there is no message.
    if let Some(status) = status_of(&parts.headers) {
        return status.map(|()| None);
    }
    let mut message = BytesMut::new();
    let mut oversized = false;
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Status::unavailable(format!("reply cut short: {e}")))?;
        match frame.into_data() {
            Ok(data) => {
                if keep && !oversized {
                    if message.len() + data.len() > limit + PREFIX {
                        oversized = true;
                        message.clear();
                    } else {
                        message.extend_from_slice(&data);
                    }
                }
            }
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    match trailers.as_ref().and_then(status_of) {
        Some(Ok(())) => {}
        Some(Err(status)) => return Err(status),
        None => return Err(Status::unknown("policy reply without grpc-status")),
    }
    if !keep {
        return Ok(None);
    }
    if oversized {
        return Err(Status::resource_exhausted(format!(
            "policy reply larger than {limit} bytes"
        )));
    }
    unframe(message.freeze()).map(Some)
}

/// The one message of a unary reply.
fn unframe(mut buf: Bytes) -> Result<Bytes, Status> {
    if buf.len() < PREFIX {
        return Err(Status::internal("policy reply without a message"));
    }
    let compressed = buf.get_u8();
    let len = buf.get_u32() as usize;
    if compressed != 0 {
        return Err(Status::internal(
            "compressed policy reply (none was asked for)",
        ));
    }
    if buf.len() != len {
        return Err(Status::internal(format!(
            "policy reply of {} bytes for a message of {len}",
            buf.len()
        )));
    }
    Ok(buf)
}

/// Splits whole messages off the front of `buf` (a server stream's data so far).
pub(crate) fn next_message(buf: &mut BytesMut) -> Option<Bytes> {
    if buf.len() < PREFIX {
        return None;
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf.len() < PREFIX + len {
        return None;
    }
    let mut message = buf.split_to(PREFIX + len);
    message.advance(PREFIX);
    Some(message.freeze())
}

/// The status in `headers` (trailers, or the headers of a trailers-only reply), if any.
pub(crate) fn status_of(headers: &HeaderMap) -> Option<Result<(), Status>> {
    let code = headers.get("grpc-status")?;
    let code = code
        .to_str()
        .ok()
        .and_then(|c| c.parse::<i32>().ok())
        .map_or(Code::Unknown, Code::from);
    if code == Code::Ok {
        return Some(Ok(()));
    }
    let message = headers
        .get("grpc-message")
        .map(|m| percent_decode(m.as_bytes()))
        .unwrap_or_default();
    Some(Err(Status::new(code, message)))
}

/// `grpc-message` is percent-encoded UTF-8.
fn percent_decode(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits: at most 255.
                out.push(u8::try_from(high << 4 | low).unwrap_or(b'?'));
                i += 3;
            }
            (b, ..) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The gRPC code of a reply whose HTTP status is not 200 (gRPC's HTTP-to-gRPC mapping).
fn http_status_code(status: http::StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::StreamBody;
    use policy_proto::v1 as pb;
    use prost::Message as _;

    use super::*;

    type Frames = StreamBody<
        futures_util::stream::Iter<
            std::vec::IntoIter<Result<http_body::Frame<Bytes>, std::convert::Infallible>>,
        >,
    >;

    fn reply(
        headers: &[(&'static str, &str)],
        data: &[Bytes],
        trailers: &[(&'static str, &str)],
    ) -> http::Response<Frames> {
        let mut frames: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = data
            .iter()
            .cloned()
            .map(|d| Ok(http_body::Frame::data(d)))
            .collect();
        if !trailers.is_empty() {
            let mut map = HeaderMap::new();
            for (k, v) in trailers {
                map.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            frames.push(Ok(http_body::Frame::trailers(map)));
        }
        let mut response = http::Response::new(StreamBody::new(futures_util::stream::iter(frames)));
        for (k, v) in headers {
            response
                .headers_mut()
                .insert(*k, HeaderValue::from_str(v).unwrap());
        }
        response
    }

    #[tokio::test]
    async fn a_reply_s_message_is_read_across_data_frames() {
        let message = pb::BeforeSendSingleMsgResponse {
            refuse: Some(pb::Refusal {
                err_code: 5001,
                ..Default::default()
            }),
        };
        let framed = frame(&message);
        let (a, b) = framed.split_at(3);
        let r = reply(
            &[],
            &[Bytes::copy_from_slice(a), Bytes::copy_from_slice(b)],
            &[("grpc-status", "0")],
        );
        let got = read_reply(r, true, 1 << 20).await.unwrap().unwrap();
        assert_eq!(
            pb::BeforeSendSingleMsgResponse::decode(got).unwrap(),
            message
        );
    }

    #[tokio::test]
    async fn statuses_come_from_trailers_or_a_trailers_only_reply() {
        let r = reply(
            &[],
            &[],
            &[
                ("grpc-status", "14"),
                ("grpc-message", "not%20ready%20%E2%9C%93"),
            ],
        );
        let e = read_reply(r, true, 1 << 20).await.unwrap_err();
        assert_eq!((e.code(), e.message()), (Code::Unavailable, "not ready ✓"));
        let r = reply(&[("grpc-status", "12")], &[], &[]);
        assert_eq!(
            read_reply(r, true, 1 << 20).await.unwrap_err().code(),
            Code::Unimplemented
        );
        let r = reply(
            &[],
            &[frame(&pb::BeforeSendSingleMsgResponse::default())],
            &[],
        );
        assert_eq!(
            read_reply(r, true, 1 << 20).await.unwrap_err().code(),
            Code::Unknown
        );
    }

    /// An after-event's reply is not kept: an oversized one with status OK is a delivery.
    #[tokio::test]
    async fn an_oversized_reply_fails_only_a_call_that_keeps_it() {
        let big = frame_encoded(&[&[7u8; 100]]);
        let r = reply(&[], std::slice::from_ref(&big), &[("grpc-status", "0")]);
        assert_eq!(
            read_reply(r, true, 50).await.unwrap_err().code(),
            Code::ResourceExhausted
        );
        let r = reply(&[], &[big], &[("grpc-status", "0")]);
        assert_eq!(read_reply(r, false, 50).await.unwrap(), None);
    }

    #[test]
    fn a_request_carries_the_deadline_and_valid_metadata_only() {
        let authority = "policy.local:50051".parse().unwrap();
        let r = request(
            "http",
            &authority,
            "/openim.policy.v1.MessageService/BeforeSendSingleMsg",
            Some(Duration::from_millis(1500)),
            [("operationid", "op-1"), ("openim-command", "caf\u{e9}")],
        );
        assert_eq!(
            r.uri().to_string(),
            "http://policy.local:50051/openim.policy.v1.MessageService/BeforeSendSingleMsg"
        );
        assert_eq!(r.headers()["grpc-timeout"], "1500m");
        assert_eq!(r.headers()["operationid"], "op-1");
        assert!(r.headers().get("openim-command").is_none());
        assert_eq!(r.headers()["content-type"], "application/grpc");
    }

    #[test]
    fn stream_messages_are_split_when_whole() {
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&frame_encoded(&[b"ab"]));
        buf.extend_from_slice(&frame_encoded(&[b"cde"])[..4]);
        assert_eq!(next_message(&mut buf).as_deref(), Some(&b"ab"[..]));
        assert_eq!(next_message(&mut buf), None);
    }
}
