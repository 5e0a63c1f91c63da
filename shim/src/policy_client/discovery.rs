//! Policy targets and where their endpoints are: a target is a URL (`http://host:port`, or
//! `https://host:port` for TLS) or a
//! Unix socket (`unix:/path`). An IP address or a socket is one endpoint. A host name is looked
//! up in DNS, every address a separate endpoint (a Kubernetes headless Service answers one
//! address per ready pod), and looked up again periodically and whenever an endpoint loses its
//! connection, so that pods added later get traffic and removed ones stop getting it.

use std::{
    collections::BTreeMap,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use hickory_resolver::{
    TokioResolver,
    config::{ConnectionConfig, NameServerConfig, ResolverConfig},
    net::runtime::TokioRuntimeProvider,
};
use http::uri::Authority;
use tokio::sync::{Notify, watch};

use super::endpoint::Address;

/// The port of a target URL without one: the policy's default.
const DEFAULT_PORT: u16 = 50051;

/// A target that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// Not a URL the shim can connect to.
    #[error("invalid policy target {target:?}: {reason}")]
    Invalid {
        /// The target as written.
        target: String,
        /// Why.
        reason: String,
    },
    /// The system's DNS configuration cannot be read.
    #[error("cannot read the DNS configuration: {0}")]
    Dns(String),
    /// The TLS settings cannot be used (an unreadable file, a bad name).
    #[error("TLS to the policy: {0}")]
    Tls(String),
}

/// Where the endpoints of one target are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// One address, known.
    Fixed(Address, Authority),
    /// The addresses of a host name, and the port.
    Dns {
        host: String,
        port: u16,
        authority: Authority,
    },
}

impl Target {
    /// Whether `target` asks for TLS (`https://`).
    pub(crate) fn is_tls(target: &str) -> bool {
        target.starts_with("https://")
    }

    /// Parses `http://host[:port]`, `https://host[:port]` or `unix:/path`.
    pub(crate) fn parse(target: &str) -> Result<Self, TargetError> {
        let invalid = |reason: &str| TargetError::Invalid {
            target: target.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(path) = target.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(invalid("empty socket path"));
            }
            let authority = Authority::from_static("policy.local");
            return Ok(Self::Fixed(Address::Unix(PathBuf::from(path)), authority));
        }
        let uri: http::Uri = target
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => {
                return Err(invalid(
                    "use http://host:port, https://host:port or unix:/path/to.sock",
                ));
            }
        }
        if uri.path() != "/" && !uri.path().is_empty() {
            return Err(invalid("a target has no path"));
        }
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        let port = uri.port_u16().unwrap_or(DEFAULT_PORT);
        let authority: Authority = format!("{}:{port}", uri.authority().map_or(host, |a| a.host()))
            .parse()
            .map_err(|e: http::uri::InvalidUri| invalid(&e.to_string()))?;
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        Ok(match bare.parse::<IpAddr>() {
            Ok(ip) => Self::Fixed(Address::Tcp(SocketAddr::new(ip, port)), authority),
            Err(_) => Self::Dns {
                host: host.to_owned(),
                port,
                authority,
            },
        })
    }
}

/// How targets are looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoverySettings {
    /// How often host names are looked up again.
    pub interval: Duration,
    /// The DNS server to ask; `None`: the system's (`/etc/resolv.conf`).
    pub dns_server: Option<SocketAddr>,
}

impl Default for DiscoverySettings {
    fn default() -> Self {
        Self {
            // The TTL Kubernetes' DNS gives Service records.
            interval: Duration::from_secs(5),
            dns_server: None,
        }
    }
}

/// The endpoints of a set of targets, as they change.
pub(crate) type Endpoints = watch::Receiver<Arc<BTreeMap<Address, Authority>>>;

/// Starts following `targets`: the returned receiver has their endpoints (fixed ones at once,
/// host names after their first lookup), and changes when a lookup gives other addresses. A
/// lookup happens every `interval`, and also (at most once a second) when `lost` is notified.
/// Stops when `stop` changes.
pub(crate) fn follow(
    targets: Vec<Target>,
    settings: &DiscoverySettings,
    lost: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> Result<Endpoints, TargetError> {
    let fixed: BTreeMap<_, _> = targets
        .iter()
        .filter_map(|t| match t {
            Target::Fixed(address, authority) => Some((address.clone(), authority.clone())),
            Target::Dns { .. } => None,
        })
        .collect();
    let names: Vec<_> = targets
        .into_iter()
        .filter_map(|t| match t {
            Target::Dns {
                host,
                port,
                authority,
            } => Some((host, port, authority)),
            Target::Fixed(..) => None,
        })
        .collect();
    let (tx, rx) = watch::channel(Arc::new(fixed.clone()));
    if names.is_empty() {
        return Ok(rx);
    }
    let resolver = resolver(settings)?;
    let interval = settings.interval;
    tokio::spawn(async move {
        // Last good addresses per name: kept when a lookup fails, so that a DNS hiccup does not
        // empty the pool.
        let mut known: Vec<Vec<SocketAddr>> = vec![Vec::new(); names.len()];
        loop {
            for (i, (host, port, _)) in names.iter().enumerate() {
                match resolver.lookup_ip(host.as_str()).await {
                    Ok(found) => {
                        let mut addrs: Vec<_> =
                            found.iter().map(|ip| SocketAddr::new(ip, *port)).collect();
                        addrs.sort_unstable();
                        if addrs.is_empty() {
                            tracing::warn!(
                                host,
                                "policy host name has no address: keeping the last ones"
                            );
                        } else {
                            known[i] = addrs;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(host, error = %e, "cannot look up the policy host name: keeping the last addresses");
                    }
                }
            }
            let mut all = fixed.clone();
            for ((_, _, authority), addrs) in names.iter().zip(&known) {
                for a in addrs {
                    all.insert(Address::Tcp(*a), authority.clone());
                }
            }
            if **tx.borrow() != all {
                tx.send_replace(Arc::new(all));
            }
            let next = tokio::time::sleep(interval);
            tokio::select! {
                () = next => {}
                () = lost.notified() => {
                    // At most one lookup a second, however many connections fail.
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ = stop.changed() => return,
            }
        }
    });
    Ok(rx)
}

/// The DNS resolver: the system's configuration, or the server `settings` name.
fn resolver(settings: &DiscoverySettings) -> Result<TokioResolver, TargetError> {
    let mut builder = match settings.dns_server {
        Some(server) => {
            let mut ns = NameServerConfig::udp(server.ip());
            let mut udp = ConnectionConfig::udp();
            udp.port = server.port();
            ns.connections = vec![udp];
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        None => TokioResolver::builder_tokio().map_err(|e| TargetError::Dns(e.to_string()))?,
    };
    // Never cache an answer longer than the lookup interval.
    builder.options_mut().positive_max_ttl = Some(settings.interval);
    builder.options_mut().negative_max_ttl = Some(settings.interval);
    builder.build().map_err(|e| TargetError::Dns(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_into_fixed_addresses_or_names() {
        assert_eq!(
            Target::parse("http://10.0.0.5:50051").unwrap(),
            Target::Fixed(
                Address::Tcp("10.0.0.5:50051".parse().unwrap()),
                Authority::from_static("10.0.0.5:50051")
            )
        );
        assert_eq!(
            Target::parse("http://[::1]:7000").unwrap(),
            Target::Fixed(
                Address::Tcp("[::1]:7000".parse().unwrap()),
                Authority::from_static("[::1]:7000")
            )
        );
        assert_eq!(
            Target::parse("http://policy.ns.svc.cluster.local").unwrap(),
            Target::Dns {
                host: "policy.ns.svc.cluster.local".into(),
                port: 50051,
                authority: Authority::from_static("policy.ns.svc.cluster.local:50051"),
            }
        );
        assert!(matches!(
            Target::parse("unix:/run/policy.sock").unwrap(),
            Target::Fixed(Address::Unix(_), _)
        ));
        assert!(Target::parse("https://policy:443").is_ok());
        for bad in ["policy:50051", "http://policy:1/x", "unix:", "ftp://x"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }
}
