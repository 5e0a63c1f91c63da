//! Serving one decoded callback: the generic steps around the pure conversions of
//! `crate::callbacks`. Before-callbacks: per-callback settings (disabled? UNIMPLEMENTED
//! remembered?) → decode → call the policy with the callback's deadline → encode, or apply its
//! `onError`. After-callbacks: decode → encode once with an idempotency key → hand to the spool's
//! intake queue.

use std::{future::Future, pin::Pin};

use bytes::Bytes;
use metrics::counter;
use policy_proto::v1 as pb;
use prost::Message as _;

use crate::{
    App,
    after::{AfterEvent, idempotency_key},
    callbacks::{After, Before, Encoder, PolicyRequest, Verdict},
    commands::Command,
    config::OnError,
    openim,
    policy_client::{CallError, CallMeta, context_fragment},
};

/// A boxed future borrowing the app state.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// Serves a before-callback (a monomorphised [`before`]).
pub(crate) type BeforeFn = for<'a> fn(&'a App, Call) -> BoxFuture<'a, Served>;
/// Serves an after-callback (a monomorphised [`after`]); returns the outcome label.
pub(crate) type AfterFn = fn(&App, Call) -> &'static str;

/// A before-callback's reply and its outcome label for metrics: `continue`, `refuse`, `modify`
/// (the policy decided), `fail_open`, `fail_closed` (`onError` applied), `unimplemented`,
/// `disabled` (the policy was not asked).
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) verdict: Verdict,
    pub(crate) outcome: &'static str,
}

impl Served {
    fn decided(verdict: Verdict) -> Self {
        let outcome = verdict.outcome.as_str();
        Self { verdict, outcome }
    }

    /// A continue reply that the policy did not decide, with its outcome label.
    pub(crate) fn with(verdict: Verdict, outcome: &'static str) -> Self {
        Self { verdict, outcome }
    }

    /// The reply to an after-callback (always continue) with its outcome label.
    pub(crate) fn after(outcome: &'static str) -> Self {
        Self::with(Verdict::proceed(), outcome)
    }
}

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
}

impl Call {
    /// Completes the request's context: the header's operation ID wins over the body's (they
    /// are equal when both are present), and the command is the name OpenIM used.
    fn fill_context<R: PolicyRequest>(&mut self, request: &mut R) {
        let ctx = request.context_mut();
        if self.operation_id.is_empty() {
            self.operation_id.clone_from(&ctx.operation_id);
        } else if ctx.operation_id != self.operation_id {
            ctx.operation_id.clone_from(&self.operation_id);
        }
        self.wire_name.clone_into(&mut ctx.command);
        tracing::Span::current().record("operation_id", self.operation_id.as_str());
    }
}

/// Serves before-callback `C`: see the module docs.
pub(crate) fn before<C: Before>(app: &App, call: Call) -> BoxFuture<'_, Served> {
    Box::pin(run_before::<C>(app, call))
}

async fn run_before<C: Before>(app: &App, mut call: Call) -> Served {
    let callback = app.callback(call.command);
    // Decoded first even when the policy will not be asked: a callback's continue reply may
    // depend on its request (SetGroupInfo echoes it, or OpenIM blanks the group's name).
    let decoded = C::decode(&call.body);
    let proceed = |decoded: &Result<(C::Request, C::Keep), _>| match decoded {
        Ok((_, keep)) => C::proceed(keep),
        Err(_) => Verdict::proceed(),
    };
    if !callback.settings.enable {
        return Served::with(proceed(&decoded), "disabled");
    }
    if callback.unimplemented_remembered(app.now_ms()) {
        return Served::with(proceed(&decoded), "unimplemented");
    }
    let (mut request, keep) = match decoded {
        Ok(decoded) => decoded,
        // Nothing to echo from a body that cannot be read: the plain continue.
        Err(e) => {
            return on_error(app, &call, "malformed", &e)
                .unwrap_or_else(|| Served::with(Verdict::proceed(), "fail_open"));
        }
    };
    call.fill_context(&mut request);
    let meta = CallMeta {
        operation_id: &call.operation_id,
        command: call.wire_name,
        timeout: callback.settings.timeout,
        idempotency_key: None,
        delivery_attempt: None,
    };
    match app
        .policy
        .unary::<C::Request, C::Response>(C::RPC, request, meta)
        .await
    {
        Ok(response) => {
            let mut enc = Encoder::new(app.settings.refuse_err_code);
            let verdict = C::encode(response, keep, &mut enc);
            for field in enc.rejected() {
                tracing::warn!(
                    command = call.command.name,
                    operation_id = %call.operation_id,
                    field,
                    "policy change rejected: it would break OpenIM; the rest of the reply applies"
                );
                counter!("openim_shim_rejected_changes_total",
                    "command" => call.command.name, "field" => *field)
                .increment(1);
            }
            Served::decided(verdict)
        }
        Err(CallError::Unimplemented) => {
            let ttl = callback.settings.unimplemented_ttl;
            if callback.remember_unimplemented(app.now_ms(), ttl) {
                tracing::info!(
                    command = call.command.name,
                    rpc = C::RPC,
                    ?ttl,
                    "the policy does not implement this callback: continuing without asking"
                );
            }
            Served::with(C::proceed(&keep), "unimplemented")
        }
        Err(e) => on_error(app, &call, e.label(), &e)
            .unwrap_or_else(|| Served::with(C::proceed(&keep), "fail_open")),
    }
}

/// Applies the callback's `onError` when the policy could not decide, gave no answer, or the
/// body could not be read. Never silent: logged with the operation ID and cause, and counted.
/// Returns the refusal, or `None` when `onError` is continue: the caller then answers with the
/// callback's own continue reply, labelled `fail_open`.
pub(crate) fn on_error(
    app: &App,
    call: &Call,
    cause: &'static str,
    err: &dyn std::fmt::Display,
) -> Option<Served> {
    let command = call.command.name;
    counter!("openim_shim_policy_failures_total", "command" => command, "cause" => cause)
        .increment(1);
    match &app.callback(call.command).settings.on_error {
        OnError::Continue => {
            tracing::warn!(command, operation_id = %call.operation_id, cause, error = %err,
                "no policy decision: continuing (onError: continue)");
            None
        }
        OnError::Refuse { err_code, err_msg } => {
            tracing::warn!(command, operation_id = %call.operation_id, cause, error = %err,
                "no policy decision: refusing (onError: refuse)");
            Some(Served {
                verdict: Verdict {
                    outcome: crate::callbacks::Outcome::Refuse,
                    body: openim::refuse(*err_code, err_msg, cause),
                },
                outcome: "fail_closed",
            })
        }
    }
}

/// Serves after-callback `C`: see the module docs. OpenIM's reply is always "continue", sent
/// by the caller without waiting for anything here. Returns the outcome label: `accepted`,
/// `dropped` (intake queue full), `disabled`, `malformed`.
pub(crate) fn after<C: After>(app: &App, mut call: Call) -> &'static str {
    let command = call.command.name;
    if !app.callback(call.command).settings.enable {
        counter!("openim_shim_after_events_total", "command" => command, "result" => "disabled")
            .increment(1);
        return "disabled";
    }
    let mut request = match C::decode(&call.body) {
        Ok(r) => r,
        Err(e) => {
            // OpenIM ignores after-replies, so there is nothing to refuse; the event cannot be
            // delivered, so it is reported.
            tracing::warn!(command, operation_id = %call.operation_id, error = %e,
                "malformed after-event body: not delivered");
            counter!("openim_shim_after_events_total", "command" => command, "result" => "malformed")
                .increment(1);
            return "malformed";
        }
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
        operation_id: call.operation_id,
        idempotency_key: context.idempotency_key,
        payload: Bytes::from(payload),
    };
    if app.after.push(event) {
        "accepted"
    } else {
        "dropped"
    }
}
