//! The rescue: the one place where a callback without a policy decision is answered, logged and
//! counted, whatever the [`Cause`] (policy down, slow or failing, a body that cannot be read or
//! decoded, a bug in the shim). With the router's single reply point, it carries the shim's
//! promise to OpenIM: HTTP 200 and a valid reply in OpenIM's format, always, since OpenIM fails
//! the user's operation on any reply it cannot decode.
//!
//! Before-callbacks get their `onError`: continue (`fail_open`, with the callback's own continue
//! reply, e.g. SetGroupInfo's echo) or refuse (`fail_closed`, with the configured code and
//! message and the cause as `errDlt`). After-callbacks are acknowledged anyway (OpenIM ignores
//! the reply) and reported `malformed`: the event cannot be delivered.

use std::fmt::Display;

use crate::{
    App,
    callbacks::Verdict,
    commands::Kind,
    config::OnError,
    dispatch::Call,
    openim,
    outcome::{Cause, Outcome},
};

/// Answers `call`, which got no decision because of `cause` (`error` says more, for the log).
/// `proceed` is the callback's continue reply (the plain continue when the body could not be
/// decoded).
pub(crate) fn rescue(
    app: &App,
    call: &mut Call,
    cause: Cause,
    error: &dyn Display,
    proceed: Verdict,
) -> Verdict {
    call.cause = Some(cause);
    // The command and operation ID are in the request's span, so not repeated in each line.
    let callback = app.callback(call.command);
    if call.command.kind == Kind::After {
        if cause == Cause::Shed {
            tracing::warn!(%error, "after-event shed: acknowledged to OpenIM, dropped");
            return proceed.because(Outcome::Dropped);
        }
        tracing::warn!(%cause, %error,
            "after-event not delivered: acknowledged to OpenIM, counted as malformed");
        return proceed.because(Outcome::Malformed);
    }
    callback.metrics().failure(cause).increment(1);
    match &callback.settings().on_error {
        OnError::Continue => {
            tracing::warn!(%cause, %error,
                "no policy decision: continuing (onError: continue)");
            proceed.because(Outcome::FailOpen)
        }
        OnError::Refuse { err_code, err_msg } => {
            tracing::warn!(%cause, %error,
                "no policy decision: refusing (onError: refuse)");
            Verdict {
                outcome: Outcome::FailClosed,
                body: openim::refuse(*err_code, err_msg, cause.as_str()),
            }
        }
    }
}
