//! Serving one routed callback: the generic steps around the pure conversions of
//! `crate::callbacks`. Before-callbacks: per-callback settings (disabled? UNIMPLEMENTED
//! remembered?) → decode → call the policy with the callback's deadline → encode. After-callbacks:
//! decode → encode once with an idempotency key → hand to the spool's intake queue. Every path
//! without a decision goes through [`rescue`](crate::rescue), the one place that answers
//! failures.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::FutureExt as _;
use policy_proto::v1 as pb;
use prost::Message as _;

use crate::{
    App,
    after::{AfterEvent, idempotency_key},
    callbacks::{After, Before, DecodeError, Encoder, PolicyRequest, Verdict},
    commands::{Command, Run},
    outcome::{Cause, Outcome},
    policy_client::{CallError, CallMeta, PolicyClient, context_fragment},
    rescue::rescue,
    traces::TraceParent,
};

/// A boxed future borrowing the app state and the call.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// Serves a before-callback (a monomorphised [`before`]).
pub(crate) type BeforeFn = for<'a> fn(&'a App, &'a mut Call) -> BoxFuture<'a, Verdict>;
/// Serves an after-callback (a monomorphised [`after`]).
pub(crate) type AfterFn = fn(&App, &mut Call) -> Verdict;
/// Asks a policy about a before-callback's body (a monomorphised [`ask`]): shadow and replay.
pub(crate) type AskFn =
    for<'a> fn(&'a PolicyClient, Ask<'a>) -> BoxFuture<'a, Result<Verdict, AskError>>;

/// One callback request, routed.
#[derive(Debug)]
pub(crate) struct Call {
    /// The table row.
    pub(crate) command: &'static Command,
    /// The name OpenIM used (the row's name or one of its aliases).
    pub(crate) wire_name: &'static str,
    /// OpenIM's operation ID from the header; empty if none (the body's is used then).
    pub(crate) operation_id: String,
    /// The raw JSON body.
    pub(crate) body: Bytes,
    /// Why the reply was made without a policy decision, if it was (set by the rescue).
    pub(crate) cause: Option<Cause>,
    /// How long the policy took to answer, when it was asked (before-callbacks).
    pub(crate) policy_latency: Option<Duration>,
    /// The trace the callback belongs to (see `crate::traces`).
    pub(crate) trace: TraceParent,
}

impl Call {
    /// A call of `command` (named `wire_name` by OpenIM) with `body`, not served yet.
    pub(crate) fn new(
        command: &'static Command,
        wire_name: &'static str,
        operation_id: String,
        body: Bytes,
    ) -> Self {
        Self {
            command,
            wire_name,
            operation_id,
            body,
            cause: None,
            policy_latency: None,
            trace: TraceParent::None,
        }
    }

    /// Completes the request's context: the header's operation ID wins over the body's (they
    /// are equal when both are present), and the command is the name OpenIM used.
    fn fill_context<R: PolicyRequest>(&mut self, request: &mut R) {
        if self.operation_id.is_empty() {
            self.operation_id
                .clone_from(&request.context_mut().operation_id);
        }
        fill_context(request, &self.operation_id, self.wire_name);
        tracing::Span::current().record("operation_id", self.operation_id.as_str());
    }
}

/// Sets the request's context: `operation_id` (the header's) if any, else the body's stays;
/// the command is the name OpenIM used.
fn fill_context<R: PolicyRequest>(request: &mut R, operation_id: &str, wire_name: &str) {
    let ctx = request.context_mut();
    if !operation_id.is_empty() && ctx.operation_id != operation_id {
        operation_id.clone_into(&mut ctx.operation_id);
    }
    wire_name.clone_into(&mut ctx.command);
}

/// What asking a policy about a before-callback needs besides the policy: the body as OpenIM
/// sent it, and what the serving shim would have known about it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ask<'a> {
    /// OpenIM's JSON body.
    pub(crate) body: &'a [u8],
    /// The command as OpenIM sent it.
    pub(crate) wire_name: &'a str,
    /// OpenIM's operation ID from the header (empty: the body's is used).
    pub(crate) operation_id: &'a str,
    /// Deadline of the call.
    pub(crate) timeout: Duration,
    /// errCode of a refusal without one.
    pub(crate) refuse_err_code: i32,
}

/// Why asking gave no decision.
#[derive(Debug, thiserror::Error)]
pub(crate) enum AskError {
    /// The body is not the callback's JSON.
    #[error(transparent)]
    Malformed(#[from] DecodeError),
    /// The policy gave no decision.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Asks `policy` about before-callback `C` with the serving path's own conversion code:
/// decode, call, encode. UNIMPLEMENTED is the callback's continue, as when serving.
pub(crate) fn ask<'a, C: Before>(
    policy: &'a PolicyClient,
    ask: Ask<'a>,
) -> BoxFuture<'a, Result<Verdict, AskError>> {
    Box::pin(async move {
        let (mut request, keep) = C::decode(ask.body)?;
        fill_context(&mut request, ask.operation_id, ask.wire_name);
        // The metadata's, as when serving: the header's, else the body's.
        let operation_id = request.context_mut().operation_id.clone();
        let meta = CallMeta {
            operation_id: &operation_id,
            command: ask.wire_name,
            timeout: ask.timeout,
            // Not remembered between calls: each is asked (a replay measures every call).
            unimplemented_ttl: Duration::ZERO,
            idempotency_key: None,
            delivery_attempt: None,
            trace: &TraceParent::None,
        };
        match decide::<C>(policy, request, keep, meta, ask.refuse_err_code).await {
            Ok((verdict, _)) => Ok(verdict),
            Err((CallError::Unimplemented, keep)) => {
                Ok(C::proceed(&keep).because(Outcome::Unimplemented))
            }
            Err((e, _)) => Err(e.into()),
        }
    })
}

/// Calls the policy with a decoded request and encodes its answer: the reply, and the changes
/// the mutation guard rejected. On failure, the request's `Keep` is handed back for the
/// callback's continue reply.
async fn decide<C: Before>(
    policy: &PolicyClient,
    request: C::Request,
    keep: C::Keep,
    meta: CallMeta<'_>,
    refuse_err_code: i32,
) -> Result<(Verdict, Vec<&'static str>), (CallError, C::Keep)> {
    match policy
        .unary::<C::Request, C::Response>(C::RPC, request, meta)
        .await
    {
        Ok(response) => {
            let mut enc = Encoder::new(refuse_err_code);
            let verdict = C::encode(response, keep, &mut enc);
            Ok((verdict, enc.rejected().to_vec()))
        }
        Err(e) => Err((e, keep)),
    }
}

/// Serves `call` with its command's handler. A panic in the handler is a bug, but must not fail
/// the user's operation: it is answered like any failure, by the callback's `onError`.
pub(crate) async fn serve(app: &App, call: &mut Call) -> Verdict {
    let served = match call.command.run {
        Run::Before(serve) => AssertUnwindSafe(serve(app, call)).catch_unwind().await,
        Run::After(serve) => std::panic::catch_unwind(AssertUnwindSafe(|| serve(app, call))),
    };
    served.unwrap_or_else(|panic| {
        let detail = panic_message(&*panic);
        metrics::counter!("openim_shim_panics_total").increment(1);
        rescue(app, call, Cause::Panic, &detail, Verdict::proceed())
    })
}

/// The message of a panic payload.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "unknown panic".to_owned())
}

/// Serves before-callback `C`: see the module docs.
pub(crate) fn before<'a, C: Before>(app: &'a App, call: &'a mut Call) -> BoxFuture<'a, Verdict> {
    Box::pin(run_before::<C>(app, call))
}

async fn run_before<C: Before>(app: &App, call: &mut Call) -> Verdict {
    let callback = app.callback(call.command);
    let settings = callback.settings();
    // Decoded first even when the policy will not be asked: a callback's continue reply may
    // depend on its request (SetGroupInfo echoes it, or OpenIM blanks the group's name).
    let decoded = C::decode(&call.body);
    let proceed = |decoded: &Result<(C::Request, C::Keep), _>| match decoded {
        Ok((_, keep)) => C::proceed(keep),
        Err(_) => Verdict::proceed(),
    };
    if !settings.enable {
        return proceed(&decoded).because(Outcome::Disabled);
    }
    let (mut request, keep) = match decoded {
        Ok(decoded) => decoded,
        // Nothing to echo from a body that cannot be read: the plain continue.
        Err(e) => return rescue(app, call, Cause::Malformed, &e, Verdict::proceed()),
    };
    call.fill_context(&mut request);
    let meta = CallMeta {
        operation_id: &call.operation_id,
        command: call.wire_name,
        timeout: settings.timeout,
        unimplemented_ttl: settings.unimplemented_ttl,
        idempotency_key: None,
        delivery_attempt: None,
        trace: &call.trace,
    };
    let started = Instant::now();
    let decided = decide::<C>(
        &app.policy,
        request,
        keep,
        meta,
        app.settings.refuse_err_code,
    )
    .await;
    call.policy_latency = Some(started.elapsed());
    match decided {
        Ok((verdict, rejected)) => {
            for field in rejected {
                tracing::warn!(
                    field,
                    "policy change rejected: it would break OpenIM; the rest of the reply applies"
                );
                callback.metrics().rejected(field).increment(1);
            }
            // After the decision, off the reply's path: the shadow policy gets a copy.
            if let Some(shadow) = &app.shadow {
                shadow.offer(call, &verdict);
            }
            verdict
        }
        // Logged by the client, once per endpoint and period.
        Err((CallError::Unimplemented, keep)) => {
            let verdict = C::proceed(&keep).because(Outcome::Unimplemented);
            // "Does not care" is a decision too: a new policy may care.
            if let Some(shadow) = &app.shadow {
                shadow.offer(call, &verdict);
            }
            verdict
        }
        Err((e, keep)) => rescue(app, call, Cause::of(&e), &e, C::proceed(&keep)),
    }
}

/// Serves after-callback `C`: see the module docs. OpenIM's reply is always "continue", sent
/// by the caller without waiting for anything here; the verdict's outcome says what became of
/// the event: accepted, dropped (intake queue full), disabled or malformed.
pub(crate) fn after<C: After>(app: &App, call: &mut Call) -> Verdict {
    if !app.callback(call.command).settings().enable {
        return Verdict::proceed().because(Outcome::Disabled);
    }
    let mut request = match C::decode(&call.body) {
        Ok(r) => r,
        Err(e) => return rescue(app, call, Cause::Malformed, &e, Verdict::proceed()),
    };
    call.fill_context(&mut request);
    let natural = C::natural_key(&request);
    let mut payload = request.encode_to_vec();
    let key = idempotency_key(
        call.command,
        natural.as_deref(),
        &payload,
        &call.operation_id,
    );
    // Into the request's context without re-encoding it: see `context_fragment`.
    let context = pb::CallbackContext {
        idempotency_key: key,
        ..Default::default()
    };
    context_fragment(&context, &mut payload);
    let event = AfterEvent {
        command: call.command,
        wire_name: call.wire_name,
        // Taken (no allocation per event) unless the capture or the span records it after the
        // reply.
        operation_id: if app.capture.is_some() || matches!(call.trace, TraceParent::Span(_)) {
            call.operation_id.clone()
        } else {
            std::mem::take(&mut call.operation_id)
        },
        idempotency_key: context.idempotency_key,
        payload: Bytes::from(payload),
        trace: call.trace.headers(),
    };
    let outcome = if app.after.push(event) {
        Outcome::Accepted
    } else {
        Outcome::Dropped
    };
    Verdict::proceed().because(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        Shim,
        commands::COMMANDS,
        config::{OnError, Settings},
    };

    fn row(name: &str, run: Run) -> &'static Command {
        let row = COMMANDS.iter().find(|c| c.name == name).unwrap();
        Box::leak(Box::new(row.served_by(run)))
    }

    fn call(command: &'static Command) -> Call {
        Call::new(command, command.name, "op-1".into(), Bytes::new())
    }

    /// A bug in a handler must not fail the user's operation, nor bypass the failure mode: the
    /// panic is answered by the callback's onError, with `panic` as the cause.
    #[tokio::test]
    async fn a_panicking_handler_is_answered_with_the_callback_s_on_error() {
        fn boom<'a>(_: &'a App, _: &'a mut Call) -> BoxFuture<'a, Verdict> {
            Box::pin(async { panic!("boom") })
        }
        fn boom_after(_: &App, _: &mut Call) -> Verdict {
            panic!("boom")
        }
        let settings = Settings {
            on_error: OnError::Refuse {
                err_code: 5900,
                err_msg: "unavailable".into(),
            },
            ..Settings::default()
        };
        let shim = Shim::start(settings).await.unwrap();

        let command = row("callbackBeforeSendSingleMsgCommand", Run::Before(boom));
        let verdict = serve(&shim.app, &mut call(command)).await;
        assert_eq!(verdict.outcome, Outcome::FailClosed);
        let json: serde_json::Value = serde_json::from_slice(&verdict.body).unwrap();
        assert_eq!(
            (json["errCode"].as_i64(), json["errDlt"].as_str()),
            (Some(5900), Some("panic"))
        );

        let command = row("callbackAfterSendSingleMsgCommand", Run::After(boom_after));
        let verdict = serve(&shim.app, &mut call(command)).await;
        assert_eq!(verdict.outcome, Outcome::Malformed);
        assert_eq!(&verdict.body[..], crate::openim::CONTINUE);
    }
}
