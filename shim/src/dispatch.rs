//! Serving one decoded callback: the generic steps around the pure conversions of
//! `crate::callbacks`. Before-callbacks: decode → call the policy → encode, or apply the failure
//! mode. After-callbacks: decode → encode once → hand to the background delivery queue.

use std::{future::Future, pin::Pin};

use bytes::Bytes;
use metrics::counter;
use prost::Message as _;

use crate::{
    App,
    after::AfterEvent,
    callbacks::{After, Before, Encoder, PolicyRequest, Verdict},
    commands::Command,
    config::OnError,
    openim,
    policy_client::{CallError, CallMeta},
};

/// A boxed future borrowing the app state.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
/// Serves a before-callback (a monomorphised [`before`]).
pub(crate) type BeforeFn = for<'a> fn(&'a App, Call) -> BoxFuture<'a, Verdict>;
/// Serves an after-callback (a monomorphised [`after`]).
pub(crate) type AfterFn = fn(&App, Call);

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
pub(crate) fn before<C: Before>(app: &App, call: Call) -> BoxFuture<'_, Verdict> {
    Box::pin(run_before::<C>(app, call))
}

async fn run_before<C: Before>(app: &App, mut call: Call) -> Verdict {
    let (mut request, keep) = match C::decode(&call.body) {
        Ok(decoded) => decoded,
        // Nothing to echo from a body that cannot be read: the plain continue.
        Err(e) => {
            return on_error(app, &call, "malformed", &e).unwrap_or_else(Verdict::proceed);
        }
    };
    call.fill_context(&mut request);
    let meta = CallMeta {
        operation_id: &call.operation_id,
        command: call.wire_name,
        timeout: app.settings.timeout,
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
            verdict
        }
        Err(CallError::Unimplemented) => C::proceed(&keep),
        Err(e) => on_error(app, &call, e.label(), &e).unwrap_or_else(|| C::proceed(&keep)),
    }
}

/// Applies the failure mode when the policy could not decide, gave no answer, or the body could
/// not be read. Never silent: logged with the operation ID and cause, and counted. Returns the
/// refusal, or `None` to continue (the caller builds the callback's continue reply).
pub(crate) fn on_error(
    app: &App,
    call: &Call,
    cause: &'static str,
    err: &dyn std::fmt::Display,
) -> Option<Verdict> {
    let command = call.command.name;
    match &app.settings.on_error {
        OnError::Continue => {
            tracing::warn!(command, operation_id = %call.operation_id, cause, error = %err,
                "no policy decision: continuing (on_error = continue)");
            counter!("openim_shim_failures_total",
                "command" => command, "cause" => cause, "mode" => "fail_open")
            .increment(1);
            None
        }
        OnError::Refuse { err_code, err_msg } => {
            tracing::warn!(command, operation_id = %call.operation_id, cause, error = %err,
                "no policy decision: refusing (on_error = refuse)");
            counter!("openim_shim_failures_total",
                "command" => command, "cause" => cause, "mode" => "fail_closed")
            .increment(1);
            Some(Verdict {
                outcome: crate::callbacks::Outcome::Refuse,
                body: openim::refuse(*err_code, err_msg, cause),
            })
        }
    }
}

/// Serves after-callback `C`: see the module docs. OpenIM's reply is always "continue", sent
/// by the caller without waiting for anything here.
pub(crate) fn after<C: After>(app: &App, mut call: Call) {
    let command = call.command.name;
    let mut request = match C::decode(&call.body) {
        Ok(r) => r,
        Err(e) => {
            // OpenIM ignores after-replies, so there is nothing to refuse; the event cannot be
            // delivered, so it is reported.
            tracing::warn!(command, operation_id = %call.operation_id, error = %e,
                "malformed after-event body: not delivered");
            counter!("openim_shim_after_events_total", "command" => command, "result" => "malformed")
                .increment(1);
            return;
        }
    };
    call.fill_context(&mut request);
    let event = AfterEvent {
        command: call.command,
        wire_name: call.wire_name,
        operation_id: call.operation_id,
        payload: Bytes::from(request.encode_to_vec()),
    };
    app.after.push(event);
}
