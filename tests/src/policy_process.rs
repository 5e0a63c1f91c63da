//! Starts the real `openim-policy` binary (next to the shim's) as a child process and waits
//! until it says it serves; its log is drained in the background so that it never blocks on a
//! full pipe.

use std::{ffi::OsStr, path::PathBuf, process::Stdio, time::Duration};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

/// `openim-policy`, built next to `openim-shim`.
pub fn binary() -> PathBuf {
    crate::shim_process::binary()
        .with_file_name(format!("openim-policy{}", std::env::consts::EXE_SUFFIX))
}

/// Starts `openim-policy args...` (killed when the child is dropped) and returns it with its
/// "openim-policy ready" log line, which names the address it listens on (`addr=`). Panics if
/// it does not get ready within 30 s.
pub async fn start<I, S>(args: I) -> (Child, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    start_with_env(args, &[]).await
}

/// As [`start`], with extra environment variables.
pub async fn start_with_env<I, S>(args: I, env: &[(&str, &str)]) -> (Child, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut child = Command::new(binary())
        .args(args)
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn,openim_policy=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start openim-policy");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("openim-policy ready") {
                return Some(line);
            }
        }
        None
    })
    .await;
    let line = ready
        .ok()
        .flatten()
        .expect("openim-policy did not get ready");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, line)
}
