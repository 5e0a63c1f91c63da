//! Where the policy listens: a TCP address, or a Unix domain socket (`unix:/path/policy.sock`)
//! for a policy next to the shim (a sidecar), which spares both the TCP stack on every call.

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    str::FromStr,
};

use tokio::net::{TcpListener, UnixListener};

/// A `--listen` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenAddr {
    /// `host:port`.
    Tcp(SocketAddr),
    /// `unix:/path/to.sock`.
    Unix(PathBuf),
}

impl FromStr for ListenAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("unix: needs a socket path, e.g. unix:/run/openim/policy.sock".into());
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        s.parse()
            .map(Self::Tcp)
            .map_err(|e| format!("{s:?} is neither host:port nor unix:PATH ({e})"))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "{addr}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// A bound listener.
#[derive(Debug)]
pub enum Listener {
    /// TCP.
    Tcp(TcpListener),
    /// A Unix domain socket, and the guard that removes its file.
    Unix(UnixListener, SocketFile),
}

/// Removes a Unix socket's file when dropped, so a stopped policy leaves nothing behind.
#[derive(Debug)]
pub struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl From<TcpListener> for Listener {
    fn from(l: TcpListener) -> Self {
        Self::Tcp(l)
    }
}

impl Listener {
    /// Binds `addr`. A socket file left by a policy that did not stop cleanly is replaced; any
    /// other file at that path is an error.
    pub async fn bind(addr: &ListenAddr) -> std::io::Result<Self> {
        match addr {
            ListenAddr::Tcp(a) => Ok(Self::Tcp(TcpListener::bind(a).await?)),
            ListenAddr::Unix(path) => {
                remove_stale_socket(path)?;
                Ok(Self::Unix(
                    UnixListener::bind(path)?,
                    SocketFile(path.clone()),
                ))
            }
        }
    }

    /// Where it listens, for logs.
    pub fn local_addr(&self) -> std::io::Result<ListenAddr> {
        match self {
            Self::Tcp(l) => l.local_addr().map(ListenAddr::Tcp),
            Self::Unix(_, file) => Ok(ListenAddr::Unix(file.0.clone())),
        }
    }
}

fn remove_stale_socket(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_parse_as_tcp_or_unix() {
        assert_eq!(
            "127.0.0.1:50051".parse(),
            Ok(ListenAddr::Tcp("127.0.0.1:50051".parse().unwrap()))
        );
        assert_eq!(
            "unix:/run/p.sock".parse(),
            Ok(ListenAddr::Unix("/run/p.sock".into()))
        );
        assert!("unix:".parse::<ListenAddr>().is_err());
        assert!("localhost".parse::<ListenAddr>().is_err());
        assert_eq!(
            ListenAddr::Unix("/a.sock".into()).to_string(),
            "unix:/a.sock"
        );
    }

    #[tokio::test]
    async fn a_stale_socket_is_replaced_and_removed_on_drop_but_other_files_are_kept() {
        let dir = std::env::temp_dir().join(format!("openim-listen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.sock");
        let addr = ListenAddr::Unix(path.clone());
        // A socket file from a policy that was killed.
        std::mem::forget(UnixListener::bind(&path).unwrap());
        let listener = Listener::bind(&addr).await.unwrap();
        assert!(path.exists());
        drop(listener);
        assert!(!path.exists());
        std::fs::write(&path, "not a socket").unwrap();
        assert!(Listener::bind(&addr).await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
