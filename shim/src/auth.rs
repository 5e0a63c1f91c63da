//! Caller authentication: who may post callbacks. OpenIM open source signs nothing, so the checks
//! are those its side can carry: a secret prefix in its `url` (`/s/<secret>/...`), a header
//! token (added by a proxy in front), the source address (with `X-Forwarded-For` believed only
//! from trusted proxies). Every check that is set must pass; a refused caller never reaches the
//! policy, and is counted by reason. Secrets are compared in constant time and never logged.

use std::net::SocketAddr;

use axum::http::{StatusCode, request::Parts};
use subtle::ConstantTimeEq as _;

use crate::{config::AuthSettings, server::caller};

/// Why a caller is refused: the `reason` label of `openim_shim_refused_callers_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// No or wrong path secret.
    PathSecret,
    /// No or wrong token.
    Token,
    /// Its address is not allowed (or not known, or its forwarded chain does not parse).
    Address,
}

impl Refused {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::PathSecret => "path_secret",
            Self::Token => "token",
            Self::Address => "address",
        }
    }

    /// 401 for a credential, 403 for an address (no credential would help).
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Self::PathSecret | Self::Token => StatusCode::UNAUTHORIZED,
            Self::Address => StatusCode::FORBIDDEN,
        }
    }
}

/// Whether the caller of `parts` passes `auth`; `peer` is the socket's peer (none in in-memory
/// requests, refused by an allow-list).
pub(crate) fn check(
    auth: &AuthSettings,
    parts: &Parts,
    peer: Option<SocketAddr>,
) -> Result<(), Refused> {
    if !auth.allow.is_empty() {
        let forwarded = parts
            .headers
            .get("x-forwarded-for")
            .map(|v| v.to_str().unwrap_or("?"));
        let ip = peer
            .and_then(|p| caller(p, forwarded, &auth.trusted_proxies))
            .ok_or(Refused::Address)?;
        if !auth.allow.iter().any(|n| n.contains(&ip)) {
            return Err(Refused::Address);
        }
    }
    if let Some(secret) = &auth.path_secret {
        // `/s/<secret>/<command>` (OpenIM v3.4.2+), or `/s/<secret>?command=` (v3.0-v3.4.0).
        let given = parts
            .uri
            .path()
            .strip_prefix("/s/")
            .map(|rest| rest.split('/').next().unwrap_or_default())
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(secret.0.as_bytes())) {
            return Err(Refused::PathSecret);
        }
    }
    if let Some(token) = &auth.token {
        let value = parts
            .headers
            .get(auth.token_header.as_str())
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        let given = if auth.token_header == "authorization" {
            bearer(value).unwrap_or_default()
        } else {
            value
        };
        if !bool::from(given.ct_eq(token.0.as_bytes())) {
            return Err(Refused::Token);
        }
    }
    Ok(())
}

/// `path` without its `/s/<secret>` prefix, for routing and logs (which must not show the
/// secret).
pub(crate) fn strip_secret(path: &str) -> &str {
    match path.strip_prefix("/s/") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path,
    }
}

/// The credentials of `Bearer <token>` (the scheme is case-insensitive).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, token) = value.split_at_checked(7)?;
    scheme.eq_ignore_ascii_case(b"bearer ").then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn parts(path: &str, headers: &[(&str, &str)]) -> Parts {
        let mut b = axum::http::Request::builder().uri(path);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    #[test]
    fn each_check_refuses_what_it_should_and_only_that() {
        let secret = "0123456789abcdef";
        let auth = AuthSettings {
            path_secret: Some(Secret(secret.into())),
            token: Some(Secret("tok-0123456789abcdef".into())),
            allow: vec!["10.0.0.0/8".parse().unwrap()],
            ..AuthSettings::default()
        };
        let peer = Some("10.1.2.3:5555".parse().unwrap());
        let bearer = ("authorization", "Bearer tok-0123456789abcdef");
        let good = format!("/s/{secret}/callbackExample/callbackBeforeSendSingleMsgCommand");
        assert_eq!(check(&auth, &parts(&good, &[bearer]), peer), Ok(()));
        // OpenIM v3.0-v3.4.0: `{url}?command=X`.
        let old = format!("/s/{secret}?command=callbackBeforeSendSingleMsgCommand");
        assert_eq!(check(&auth, &parts(&old, &[bearer]), peer), Ok(()));
        assert_eq!(
            strip_secret(&good),
            "/callbackExample/callbackBeforeSendSingleMsgCommand"
        );
        assert_eq!(strip_secret(&format!("/s/{secret}")), "/");
        assert_eq!(strip_secret("/openim/x"), "/openim/x");
        let lower = ("authorization", "bearer tok-0123456789abcdef");
        assert_eq!(check(&auth, &parts(&good, &[lower]), peer), Ok(()));
        for (path, headers, peer, want) in [
            (
                "/callbackBeforeSendSingleMsgCommand",
                vec![bearer],
                peer,
                Refused::PathSecret,
            ),
            (
                "/s/0123456789abcdeF/x",
                vec![bearer],
                peer,
                Refused::PathSecret,
            ),
            (
                "/s//0123456789abcdef",
                vec![bearer],
                peer,
                Refused::PathSecret,
            ),
            (
                "/x/s/0123456789abcdef/x",
                vec![bearer],
                peer,
                Refused::PathSecret,
            ),
            (&good, vec![], peer, Refused::Token),
            (
                &good,
                vec![("authorization", "tok-0123456789abcdef")],
                peer,
                Refused::Token,
            ),
            (
                &good,
                vec![("authorization", "Bearer tok-0123456789abcde")],
                peer,
                Refused::Token,
            ),
            (
                &good,
                vec![bearer],
                Some("11.0.0.1:1".parse().unwrap()),
                Refused::Address,
            ),
            (&good, vec![bearer], None, Refused::Address),
        ] {
            assert_eq!(
                check(&auth, &parts(path, &headers), peer),
                Err(want),
                "{path} {headers:?}"
            );
        }
        // A named header carries the token alone.
        let auth = AuthSettings {
            token: Some(Secret("tok-0123456789abcdef".into())),
            token_header: "x-shim-token".into(),
            ..AuthSettings::default()
        };
        let named = ("X-Shim-Token", "tok-0123456789abcdef");
        assert_eq!(check(&auth, &parts("/cb", &[named]), None), Ok(()));
        assert_eq!(
            check(&auth, &parts("/cb", &[bearer]), None),
            Err(Refused::Token)
        );
        // Nothing set: everyone passes.
        assert_eq!(
            check(&AuthSettings::default(), &parts("/cb", &[]), None),
            Ok(())
        );
    }
}
