//! TLS configurations built from PEM files, and rebuilt when the files change: certificates
//! rotate (cert-manager, a Kubernetes Secret update) without a restart. Both binaries use it:
//! the shim for its listener and its client to the policy, the policy for its server.
//!
//! rustls with the `ring` provider only, named explicitly rather than taken from a process-wide
//! default, so that another crate enabling a second provider cannot change (or break) the
//! choice.
//!
//! A rotation is noticed by polling the files' metadata (modification time, size, inode), which
//! follows the symlinks Kubernetes swaps atomically on a Secret update. A file caught half
//! written fails to parse: the running configuration stays, with a warning, until the next look.

use std::{
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Weak},
    time::{Duration, SystemTime},
};

use arc_swap::ArcSwap;
use rustls::{
    ClientConfig, RootCertStore, ServerConfig,
    crypto::CryptoProvider,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _},
    server::WebPkiClientVerifier,
};

/// Why TLS material cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the kind needed.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// rustls refuses the material (a key that does not match its certificate, ...).
    #[error("{0}")]
    Rustls(String),
}

/// The crypto provider of every configuration: `ring`.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM file (a chain: leaf first).
pub fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: path.to_owned(),
            what: "no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
        });
    }
    Ok(certs)
}

/// The private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| TlsError::Pem {
        path: path.to_owned(),
        what: format!("no usable private key ({e})"),
    })
}

/// A trust store of the certificates of a PEM file (CA certificates).
pub fn roots(path: &Path, pem: &[u8]) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in certificates(path, pem)? {
        store.add(cert).map_err(|e| TlsError::Pem {
            path: path.to_owned(),
            what: format!("not a usable CA certificate ({e})"),
        })?;
    }
    Ok(store)
}

/// The PEM files of a server: its certificate chain and key, and optionally the CAs whose
/// client certificates it requires (mutual TLS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key.
    pub key: PathBuf,
    /// CAs of the clients: set, every client must present a certificate they signed.
    pub client_ca: Option<PathBuf>,
}

impl ServerFiles {
    fn paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.cert.clone(), self.key.clone()];
        paths.extend(self.client_ca.clone());
        paths
    }

    /// The server configuration of the files' contents (in [`Self::paths`] order), offering
    /// `alpn` protocols.
    fn build(&self, pems: &[Vec<u8>], alpn: &[&[u8]]) -> Result<ServerConfig, TlsError> {
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = match (&self.client_ca, pems.get(2)) {
            (Some(path), Some(pem)) => {
                let verifier = WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots(path, pem)?),
                    provider,
                )
                .build()
                .map_err(|e| TlsError::Rustls(format!("{}: {e}", path.display())))?;
                builder.with_client_cert_verifier(verifier)
            }
            _ => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(
                certificates(&self.cert, &pems[0])?,
                private_key(&self.key, &pems[1])?,
            )
            .map_err(|e| {
                TlsError::Rustls(format!(
                    "{} and {}: {e}",
                    self.cert.display(),
                    self.key.display()
                ))
            })?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// The server configuration, rebuilt when the files change (looked at every `interval`).
    pub async fn watch(
        self,
        alpn: &'static [&'static [u8]],
        interval: Duration,
    ) -> Result<Reloading<ServerConfig>, TlsError> {
        let paths = self.paths();
        Reloading::start(paths, interval, move |pems| self.build(pems, alpn)).await
    }
}

/// The PEM files of a client: the CAs it trusts, and optionally its own certificate and key
/// (mutual TLS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientFiles {
    /// CAs whose server certificates are trusted (no system store: a private CA is the norm
    /// between a shim and its policy).
    pub ca: PathBuf,
    /// Client certificate chain and key, presented when the server asks.
    pub identity: Option<(PathBuf, PathBuf)>,
}

impl ClientFiles {
    fn paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.ca.clone()];
        if let Some((cert, key)) = &self.identity {
            paths.extend([cert.clone(), key.clone()]);
        }
        paths
    }

    fn build(&self, pems: &[Vec<u8>], alpn: &[&[u8]]) -> Result<ClientConfig, TlsError> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_root_certificates(roots(&self.ca, &pems[0])?);
        let mut config = match &self.identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(certificates(cert, &pems[1])?, private_key(key, &pems[2])?)
                .map_err(|e| {
                    TlsError::Rustls(format!("{} and {}: {e}", cert.display(), key.display()))
                })?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// The client configuration, rebuilt when the files change (looked at every `interval`).
    pub async fn watch(
        self,
        alpn: &'static [&'static [u8]],
        interval: Duration,
    ) -> Result<Reloading<ClientConfig>, TlsError> {
        let paths = self.paths();
        Reloading::start(paths, interval, move |pems| self.build(pems, alpn)).await
    }
}

/// What identifies a file's version without reading it.
type Stamp = Option<(SystemTime, u64, u64)>;

async fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt as _;
    let meta = tokio::fs::metadata(path).await.ok()?;
    Some((meta.modified().ok()?, meta.len(), meta.ino()))
}

async fn read_all(paths: &[PathBuf]) -> Result<Vec<Vec<u8>>, TlsError> {
    let mut pems = Vec::with_capacity(paths.len());
    for path in paths {
        let pem = tokio::fs::read(path)
            .await
            .map_err(|source| TlsError::Read {
                path: path.clone(),
                source,
            })?;
        pems.push(pem);
    }
    Ok(pems)
}

/// A configuration built from files, rebuilt by a background task when they change; the task
/// ends when the last handle is dropped. Connections take [`Reloading::current`] when they
/// start: those open keep the configuration they began with.
pub struct Reloading<T> {
    current: Arc<ArcSwap<T>>,
    task: tokio::task::JoinHandle<()>,
}

impl<T> fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloading").finish_non_exhaustive()
    }
}

impl<T> Drop for Reloading<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Reads `paths` and builds the first configuration (an error stops the start); then looks
    /// at the files every `interval`. Must be called inside the Tokio runtime.
    pub async fn start(
        paths: Vec<PathBuf>,
        interval: Duration,
        build: impl Fn(&[Vec<u8>]) -> Result<T, TlsError> + Send + Sync + 'static,
    ) -> Result<Self, TlsError> {
        let mut stamps = Vec::with_capacity(paths.len());
        for path in &paths {
            stamps.push(stamp(path).await);
        }
        let first = build(&read_all(&paths).await?)?;
        let current = Arc::new(ArcSwap::from_pointee(first));
        let weak = Arc::downgrade(&current);
        let task = tokio::spawn(follow(paths, stamps, interval, build, weak));
        Ok(Self { current, task })
    }

    /// The configuration now.
    pub fn current(&self) -> Arc<T> {
        self.current.load_full()
    }
}

async fn follow<T>(
    paths: Vec<PathBuf>,
    mut stamps: Vec<Stamp>,
    interval: Duration,
    build: impl Fn(&[Vec<u8>]) -> Result<T, TlsError>,
    current: Weak<ArcSwap<T>>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let mut now = Vec::with_capacity(paths.len());
        for path in &paths {
            now.push(stamp(path).await);
        }
        if now == stamps {
            continue;
        }
        let Some(current) = current.upgrade() else {
            return;
        };
        match read_all(&paths).await.and_then(|pems| build(&pems)) {
            Ok(config) => {
                current.store(Arc::new(config));
                stamps = now;
                tracing::info!(files = ?paths, "TLS files changed: reloaded");
            }
            // Not remembered as seen: tried again at the next look (a rotation in progress).
            Err(e) => {
                tracing::warn!(error = %e, "TLS files changed but cannot be used: the running ones stay")
            }
        }
    }
}
