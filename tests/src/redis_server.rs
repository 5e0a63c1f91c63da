//! A real `redis-server` as a child process for the tests: on a free loopback port, its data in
//! a temporary directory, no RDB snapshots (`--save ""`), AOF on when asked; stopped with
//! SIGTERM (Redis writes and fsyncs its AOF, a clean restart) or SIGKILL, restarted on the same
//! port and directory, and killed when dropped. `scripts/test` installs it (Debian's
//! `redis-server` package) when it is missing.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::{Child, Command};

/// A running (or stopped) Redis.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
    aof: bool,
}

/// Whether `redis-server` can be run here.
pub fn available() -> bool {
    std::process::Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl RedisServer {
    /// Starts one; `aof`: append-only file on (`appendfsync everysec`, Redis' default).
    pub async fn start(aof: bool) -> Self {
        assert!(
            available(),
            "redis-server is missing: `apt-get install -y redis-server` (scripts/test does it)"
        );
        let addr = crate::closed_port().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut redis = Self {
            child: None,
            addr,
            dir,
            aof,
        };
        redis.run().await;
        redis
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    /// Its data directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    async fn run(&mut self) {
        let port = self.addr.port().to_string();
        let dir: PathBuf = self.dir.path().to_owned();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port, "--save", ""])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .arg("--dir")
            .arg(&dir)
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        // Ready when it answers PING (it loads its AOF first).
        for _ in 0..200 {
            if self.ping().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server on {} did not answer within 5 s", self.addr);
    }

    /// Whether it answers `PING`.
    pub async fn ping(&self) -> bool {
        matches!(self.command(&["PING"]).await.as_deref(), Some("PONG"))
    }

    /// Runs `redis-cli` with `args` against it; its output, if it ran.
    pub async fn command(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.addr.port().to_string()])
            .args(args)
            .output()
            .await
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// Stops it: SIGTERM (Redis flushes and fsyncs its AOF) or SIGKILL (a crash).
    pub async fn stop(&mut self, kill: bool) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if kill {
            let _ = child.kill().await;
        } else {
            let pid = child.id().expect("running").to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status().await;
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
        let _ = child.kill().await;
    }

    /// Starts it again on the same port and directory (it reloads its AOF).
    pub async fn restart(&mut self) {
        self.stop(false).await;
        self.run().await;
    }

    /// Starts it again after [`RedisServer::stop`].
    pub async fn resume(&mut self) {
        self.run().await;
    }
}
