//! The admin HTTP port (127.0.0.1:9722 by default): `/metrics` in Prometheus's
//! text format, `/healthz` (the process answers), `/readyz` (it should get
//! traffic: configuration loaded, listeners bound, every pool with a live
//! server, not shutting down — else 503 with the reason), and `/`, a status
//! page whose script shows live figures from `/metrics` (`admin/status.rs`).
//!
//! HTTP/1.1 through hyper's server connection, with no framework: four fixed
//! routes do not need a router. [`Admin::respond`] is a pure function of the
//! method and path, so the routes are tested without sockets.

mod status;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::proxy::Status;

/// Where the admin port listens unless told otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:9722";

/// Admin connections served at once; more wait to be accepted.
const MAX_CONNECTIONS: usize = 64;

/// How long a client may take to send its request head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Prometheus's text exposition format.
const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the admin port serves.
#[derive(Debug)]
pub struct Admin {
    /// `up`, `proxy` or `engine`.
    role: &'static str,
    /// The recorder's handle; None when no recorder is installed.
    metrics: Option<PrometheusHandle>,
    /// The proxy's state (None for an engine alone, which is ready once bound).
    proxy: Option<Arc<Status>>,
    started: Instant,
}

impl Admin {
    /// The admin state of a process playing `role`.
    pub fn new(
        role: &'static str,
        metrics: Option<PrometheusHandle>,
        proxy: Option<Arc<Status>>,
    ) -> Admin {
        Admin {
            role,
            metrics,
            proxy,
            started: Instant::now(),
        }
    }

    /// Ok when the process should get traffic, else why not.
    ///
    /// # Errors
    /// The reason, as `/readyz` reports it.
    pub fn readiness(&self) -> Result<(), String> {
        self.proxy
            .as_ref()
            .map_or(Ok(()), |status| status.readiness())
    }

    /// The response to `method` on `path` (a query string is ignored).
    pub fn respond(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match path.split('?').next().unwrap_or_default() {
            "/metrics" => self.metrics(),
            "/healthz" => text(StatusCode::OK, "ok\n"),
            "/readyz" => match self.readiness() {
                Ok(()) => text(StatusCode::OK, "ready\n"),
                Err(reason) => text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!("not ready: {reason}\n"),
                ),
            },
            "/" => html(self.status_page()),
            _ => text(
                StatusCode::NOT_FOUND,
                "not found: try /metrics, /healthz, /readyz or /\n",
            ),
        }
    }

    fn metrics(&self) -> Response<Full<Bytes>> {
        let Some(handle) = &self.metrics else {
            return text(
                StatusCode::SERVICE_UNAVAILABLE,
                "no metrics recorder is installed in this process\n",
            );
        };
        handle.run_upkeep();
        let mut response = Response::new(Full::new(Bytes::from(handle.render())));
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_CONTENT_TYPE));
        response
    }

    fn status_page(&self) -> String {
        let ready = match self.readiness() {
            Ok(()) => "ready".to_string(),
            Err(reason) => format!("not ready: {reason}"),
        };
        let pools = self.proxy.as_ref().map(|s| s.pools()).unwrap_or_default();
        status::render(self.role, self.started.elapsed(), &ready, &pools)
    }
}

fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::copy_from_slice(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn html(body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// Serves `admin` on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, admin: Arc<Admin>, shutdown: impl Future) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut shutdown => return,
        };
        let socket = match accepted {
            Ok((socket, _)) => socket,
            Err(err) => {
                tracing::warn!(cause = %err, "admin port: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let admin = Arc::clone(&admin);
        tokio::spawn(async move {
            serve_connection(socket, admin).await;
            drop(permit);
        });
    }
}

async fn serve_connection(socket: tokio::net::TcpStream, admin: Arc<Admin>) {
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let response = admin.respond(request.method(), request.uri().path());
        async move { Ok::<_, std::convert::Infallible>(response) }
    });
    let served = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(socket), service)
        .await;
    if let Err(err) = served {
        tracing::debug!(cause = %err, "admin connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body(response: Response<Full<Bytes>>) -> String {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn proxy_admin(status: Arc<Status>) -> Admin {
        Admin::new("proxy", None, Some(status))
    }

    #[tokio::test]
    async fn healthz_always_answers() {
        let admin = proxy_admin(Arc::new(Status::default()));
        let response = admin.respond(&Method::GET, "/healthz");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(response).await, "ok\n");
    }

    #[tokio::test]
    async fn readyz_says_why_not_before_listeners_are_bound() {
        let admin = proxy_admin(Arc::new(Status::default()));
        let response = admin.respond(&Method::GET, "/readyz?verbose");
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(body(response).await.contains("listeners not bound"));
    }

    #[tokio::test]
    async fn an_engine_alone_is_ready() {
        let admin = Admin::new("engine", None, None);
        assert_eq!(
            admin.respond(&Method::GET, "/readyz").status(),
            StatusCode::OK
        );
        let metrics = admin.respond(&Method::GET, "/metrics");
        assert_eq!(metrics.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test]
    async fn other_methods_and_paths_are_refused() {
        let admin = Admin::new("engine", None, None);
        let post = admin.respond(&Method::POST, "/metrics");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        let missing = admin.respond(&Method::GET, "/../etc/passwd");
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn status_page_says_role_and_readiness() {
        let admin = Admin::new("engine", None, None);
        let response = admin.respond(&Method::GET, "/");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        let page = body(response).await;
        assert!(page.contains("role: engine"), "{page}");
        assert!(page.contains("ready"), "{page}");
    }
}
