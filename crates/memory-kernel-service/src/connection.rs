//! Serving connections: the accept loop, per-connection HTTP/1.1 with a header read timeout,
//! the client's address on every request, a bounded shutdown drain, and the error envelope on
//! the refusals the HTTP parser answers by itself.
//!
//! - A client that does not finish a request's header section within the header read timeout
//!   (a half-sent request, or an idle keep-alive connection) is disconnected; body reads are
//!   bounded by the body extractor ([`crate::body`]).
//! - On shutdown the listener closes at once, connections finish the request they are serving
//!   and close, and whatever is still open when the drain bound passes is dropped.
//! - The parser answers a request line longer than it buffers (414), a header section too
//!   large (431) and malformed framing such as two `Content-Length` headers (400) itself,
//!   before the router sees anything, and with an empty body. [`EnvelopedRefusals`] sits
//!   between the parser and the socket and writes those three as the `service.v3` error
//!   envelope instead, so every non-2xx response carries it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tower::ServiceExt;

use crate::error::ServiceError;

/// About the largest request head (request line and headers) read before answering 431; a
/// request line over 65534 bytes is answered 414.
pub const MAX_HEAD_BYTES: usize = 96 * 1024;

/// How connections are bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time allowed for a request's header section (and for an idle keep-alive connection).
    pub header_read_timeout: Duration,
    /// Time a shutdown waits for connections in flight.
    pub shutdown_drain: Duration,
}

/// Serves `app` on `listener` until `shutdown` resolves, then drains for at most
/// `limits.shutdown_drain`.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of descriptors and the like: back off instead of spinning.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let app = app.clone();
                let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request.map(Body::new))
                });
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .max_header_size(MAX_HEAD_BYTES)
                    .writev(false);
                let io = TokioIo::new(EnvelopedRefusals::new(stream));
                let connection = graceful.watch(builder.serve_connection(io, service));
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%peer, %error, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.shutdown_drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            drain_ms = u64::try_from(limits.shutdown_drain.as_millis()).unwrap_or(u64::MAX),
            "connections still open after the shutdown drain; closing them"
        );
    }
}

/// The statuses the HTTP parser sends on its own, with an empty body.
const PARSER_REFUSALS: [StatusCode; 3] = [
    StatusCode::BAD_REQUEST,
    StatusCode::URI_TOO_LONG,
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
];

/// A socket whose writes pass through unchanged, except a response head for one of
/// [`PARSER_REFUSALS`] with `content-length: 0` — which only the parser sends, since every
/// response of the router carries a body — which is replaced by the same status with the
/// error envelope. The parser then closes the connection, as it does for these errors.
pub struct EnvelopedRefusals<S> {
    inner: S,
    /// A replacement being written, and how much of it has gone out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> EnvelopedRefusals<S> {
    /// Wraps a socket.
    pub const fn new(inner: S) -> Self {
        Self {
            inner,
            pending: None,
        }
    }
}

/// The enveloped response for a parser refusal, when `head` is one.
fn replacement(head: &[u8]) -> Option<Vec<u8>> {
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let code = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let status = PARSER_REFUSALS.into_iter().find(|s| s.as_str() == code)?;
    let empty = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("content-length") && value.trim() == "0"
        })
    });
    if !empty || head.len() != end + 4 {
        return None;
    }
    let body = envelope_bytes(status)?;
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    Some(out)
}

/// The envelope body of [`ServiceError::malformed_request`] for `status`.
fn envelope_bytes(status: StatusCode) -> Option<Vec<u8>> {
    ServiceError::malformed_request(status).envelope_json().ok()
}

impl<S: AsyncRead + Unpin> AsyncRead for EnvelopedRefusals<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EnvelopedRefusals<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.pending.is_none() {
            match replacement(buf) {
                Some(bytes) => self.pending = Some((bytes, 0)),
                None => return Pin::new(&mut self.inner).poll_write(cx, buf),
            }
        }
        let this = &mut *self;
        if let Some((bytes, written)) = this.pending.as_mut() {
            while *written < bytes.len() {
                let n = std::task::ready!(
                    Pin::new(&mut this.inner).poll_write(cx, &bytes[*written..])
                )?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *written += n;
            }
        }
        this.pending = None;
        // The parser's head is accounted as written: the replacement stood in for it.
        Poll::Ready(Ok(buf.len()))
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
    use super::replacement;

    #[test]
    fn only_empty_parser_refusals_are_replaced() {
        let refusal = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\n";
        let text = replacement(refusal)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 431 "), "{text}");
        assert!(text.contains("\"code\":\"validation_error\""), "{text}");
        assert!(text.contains("service.v3"), "{text}");
        // A router response carries its body and is left alone.
        let routed = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
        assert!(replacement(routed).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(replacement(ok).is_none());
    }
}
