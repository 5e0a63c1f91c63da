//! Helpers for the end-to-end tests: start the real policy and shim on loopback port 0, post
//! OpenIM's byte-exact requests the way OpenIM's Go client does, and read the replies the way
//! OpenIM does (in Rust per docs/openim-protocol.md §2.2, and with a Go program mirroring OpenIM's structs).
//!
//! Each `tests/*.rs` file is one theme; they all use this crate.
//!
//! Also here: message contents generated to tell JSON readers apart ([`content_cases`]) and Go's
//! reading of them ([`go_textread`]);
//! the conformance kit for policy authors ([`conformance`], binary `conformance`),
//! policies in other languages run as child processes ([`child_policy`]), and the generator of
//! `docs/reference.md` ([`reference`]).

pub mod certs;
pub mod child_policy;
pub mod conformance;
pub mod content_cases;
pub mod dns;
pub mod events;
pub mod go_decoder;
pub mod go_textread;
pub mod killable;
pub mod openim_http;
pub mod otlp_collector;
pub mod policy_process;
pub mod raw_policy;
pub mod redis_server;
pub mod reference;
pub mod reply;
pub mod shim_process;
pub mod test_policy;

use std::{future::Future, net::SocketAddr, path::PathBuf};

use openim_policy::Policy;
use openim_shim::config::{Layer, Origin, Settings};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tokio_stream::wrappers::TcpListenerStream;

/// The address in a binary's "ready" log line (`addr=127.0.0.1:40123`). Panics without one.
pub fn listen_addr(line: &str) -> SocketAddr {
    line.split("addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
}

/// Path of a file under `tests/fixtures/`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// The bytes of `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Builds the Go program in `tests/<name>` into `target/<name>/<name>` and returns its path.
/// Panics if Go is missing (the README lists it) or the build fails.
pub fn go_build(name: &str) -> PathBuf {
    go_build_at(&format!("tests/{name}"), name)
}

/// Builds the Go program in `dir` (relative to the repository root) into
/// `target/<name>/<name>` and returns its path. Panics if Go is missing or the build fails.
pub fn go_build_at(dir: &str, name: &str) -> PathBuf {
    let out = repo_path("target").join(name).join(name);
    let status = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(repo_path(dir))
        .status()
        .unwrap_or_else(|e| panic!("cannot run `go` (install Go to run these tests): {e}"));
    assert!(status.success(), "go build of {dir} failed");
    out
}

/// Path relative to the repository root.
pub fn repo_path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(rel)
}

/// A server running in this process: its address, and how to stop it.
#[derive(Debug)]
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Starts `serve` on a fresh loopback port; `serve` gets the bound listener and a shutdown
    /// future.
    pub async fn start<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(TcpListener, oneshot::Receiver<()>) -> Fut,
        Fut: Future<Output = std::io::Result<()>> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(serve(listener, stopped));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Asks for a graceful shutdown and waits for it; panics if the server failed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("server failed: {e}"),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }

    /// Stops it at once, as a crash would: no graceful shutdown.
    pub fn kill(self) {
        self.task.abort();
    }
}

/// Starts the default policy service with `policy`.
pub async fn spawn_policy(policy: Policy) -> Running {
    Running::start(|listener, stop| {
        openim_policy::serve(listener, policy, async {
            let _ = stop.await;
        })
    })
    .await
}

/// Starts the default policy with the rules in `yaml`.
pub async fn spawn_policy_with_rules(yaml: &str) -> Running {
    let rules = openim_policy::rules::RulesFile::parse(yaml).expect("test rules parse");
    let engine = openim_policy::RuleEngine::from_rules(rules).expect("test rules are valid");
    spawn_policy(Policy::new(engine)).await
}

/// Starts an arbitrary gRPC server (a test's own policy).
pub async fn spawn_grpc(router: tonic::transport::server::Router) -> Running {
    Running::start(|listener, stop| async move {
        router
            .serve_with_incoming_shutdown(TcpListenerStream::new(listener), async {
                let _ = stop.await;
            })
            .await
            .map_err(std::io::Error::other)
    })
    .await
}

/// Shim settings for a policy at `policy_url`, with short deadlines for tests.
pub fn shim_settings(policy_url: &str) -> Settings {
    Settings {
        policy: openim_shim::policy_client::ClientSettings::to(policy_url),
        ..Settings::default()
    }
}

/// Shim settings for a policy at `policy_url` with the config file `yaml` applied (as the
/// `--config` file would be, without environment overrides).
pub fn shim_settings_yaml(policy_url: &str, yaml: &str) -> Settings {
    let file = Layer::from_yaml(yaml, &Origin::File("test.yaml".into(), None));
    let file = file.expect("test config is valid");
    Settings::resolve(&[file], &shim_settings(policy_url)).expect("test config is valid")
}

/// Starts the shim.
pub async fn spawn_shim(settings: Settings) -> Running {
    Running::start(|listener, stop| {
        openim_shim::serve(listener, settings, async {
            let _ = stop.await;
        })
    })
    .await
}

/// POSTs fixture `<command>.json` to `/openim/<command>` like OpenIM, with `Operationid: {op}`,
/// and checks the HTTP framing of the reply (200, OpenIM's JSON content type).
pub async fn post_fixture(addr: SocketAddr, command: &str, op: &str) -> openim_http::HttpReply {
    let body = fixture(&format!("{command}.json"));
    let reply = openim_http::post(addr, &format!("/openim/{command}"), &body, Some(op)).await;
    assert_eq!(reply.status, 200, "{command}: {}", reply.text());
    assert_eq!(
        reply.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    reply
}

/// A loopback address nothing listens on (bound, then released).
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("local addr")
}
