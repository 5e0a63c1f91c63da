package openimgo

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openimsdk/open-im-server/v3/pkg/common/config"
	"github.com/openimsdk/open-im-server/v3/pkg/common/webhook"
	"github.com/openimsdk/tools/errs"
	"github.com/openimsdk/tools/log"
	"github.com/openimsdk/tools/mcontext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "openim-policy/examples/policy-go/gen/openim/policy/v1"
)

// How each case runs: OpenIM's request object is built as OpenIM builds it, OpenIM's own
// webhook function (copied from v3.8.3, see openim_*_test.go) posts it through OpenIM's webhook
// client to the real shim, the shim asks the scripted policy, and OpenIM's apply statements
// run on the shim's reply. The test then compares OpenIM's request object with what the policy
// asked for.

func TestMain(m *testing.M) {
	flag.Parse()
	// The cases wait on the network, not the CPU (the slow-policy ones wait out the shim's
	// deadline): run more of them at once than the default GOMAXPROCS, unless -parallel is given.
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "8")
	}
	// OpenIM's logger writes every webhook call to stdout at debug level by default; keep
	// warnings only, and no log files.
	if err := log.InitLoggerFromConfig("openim-go", "openim-go", "", "", log.LevelWarn, true, false, "", 1, 24, "v3.8.3", false); err != nil {
		fmt.Fprintln(os.Stderr, "init OpenIM logger:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// beforeConfig is OpenIM's webhooks.yml entry of every before-callback in these tests: enabled,
// with the timeout of OpenIM's sample config (seconds; OpenIM waits this long for the shim).
var beforeConfig = &config.BeforeConfig{Enable: true, Timeout: 5}

// traceEnv, when set, logs every case's HTTP exchange, policy calls and shim log lines.
const traceEnv = "OPENIM_GO_TRACE"

const (
	// refuseCode, refuseMsg and refuseDetail are the scripted policy's refusal.
	refuseCode   = 5201
	refuseMsg    = "refused by the openim-go test policy"
	refuseDetail = "openim-go test detail"
)

// target is one shim as OpenIM sees it: a webhook client posting to it through the recorder.
type target struct {
	name   string
	shim   *shimProcess
	rec    *recorder
	client *webhook.Client
}

func newTarget(t *testing.T, bin, name, policyAddr string) *target {
	shim := startShim(t, bin, name, policyAddr)
	rec := startRecorder(t, shim.addr)
	// OpenIM's config/webhooks.yml `url`: a base URL, OpenIM appends "/{command}".
	return &target{name: name, shim: shim, rec: rec, client: webhook.NewWebhookClient(rec.server.URL + "/callbackExample")}
}

// harness is what every case uses: the policy, a shim asking it, and a shim whose policy is down.
type harness struct {
	policy *scriptedPolicy
	up     *target
	down   *target
}

// callback describes one OpenIM before-callback with one kind of request.
type callback[S any] struct {
	// name: OpenIM's function without the "webhook" prefix, e.g. "BeforeSetGroupInfo".
	name string
	// variant: what the request is, e.g. "plain rename".
	variant string
	// build returns OpenIM's request object(s) as OpenIM builds them before the call.
	build func() S
	// clone returns a deep copy of s.
	clone func(s S) S
	// call runs OpenIM's webhook function on s.
	call func(ctx context.Context, c *webhook.Client, s S) error
	// changes are the fields OpenIM applies from the reply, one policy change each.
	changes []change[S]
	// untouched, when set, names what must not change when the policy changes nothing (continue,
	// slow, down) beyond the whole-request comparison, as a headline for the failure message.
	untouched func(s S) string
}

// change is one policy change and its effect on OpenIM's request.
type change[S any] struct {
	name string
	// policy sets the change in the policy's response.
	policy func(req, resp proto.Message) error
	// want applies to a copy of the original request what OpenIM should end up with; nil means
	// OpenIM's request must stay unchanged (the shim must not forward this change: OpenIM's
	// apply code would crash on it).
	want func(s S)
}

// runner is a callback of any request type.
type runner interface {
	title() string
	run(t *testing.T, h *harness)
}

func (cb callback[S]) title() string {
	if cb.variant == "" {
		return cb.name
	}
	return cb.name + "/" + cb.variant
}

// cmpOpts compares OpenIM's request objects: protobuf messages by content (an empty repeated
// field equals an absent one, as in protobuf), everything else field by field (there a nil and
// an empty Go slice differ).
var cmpOpts = []cmp.Option{protocmp.Transform()}

// outcome is one run of OpenIM's webhook function.
type outcome[S any] struct {
	op       string
	original S
	got      S
	err      error
}

// exercise scripts the policy (unless sc is nil), runs OpenIM's webhook function against tg and
// returns what OpenIM ended up with.
func (cb callback[S]) exercise(t *testing.T, h *harness, tg *target, sc *script) outcome[S] {
	t.Helper()
	op := t.Name()
	if sc != nil {
		h.policy.expect(op, *sc)
	}
	s := cb.build()
	o := outcome[S]{op: op, original: cb.clone(s), got: s}
	ctx := mcontext.NewCtx(op)
	o.err = openimCall(func() error { return cb.call(ctx, tg.client, s) })
	if os.Getenv(traceEnv) != "" {
		t.Logf("OpenIM's %s returned %v\n%s", cb.name, o.err, h.explain(tg, op))
	}
	return o
}

// panicError is a panic in OpenIM's code, which in OpenIM fails the RPC (or crashes the process).
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string {
	return fmt.Sprintf("OpenIM's code panicked: %v\n%s", p.value, p.stack)
}

// openimCall runs f, turning a panic into a *panicError.
func openimCall(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: string(debug.Stack())}
		}
	}()
	return f()
}

// explain is the context of a failure: the HTTP exchange, what the policy saw, the shim's log.
func (h *harness) explain(tg *target, op string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "operation %q through the %s shim:\n%s", op, tg.name, tg.rec.of(op))
	if tg == h.up {
		calls := h.policy.callsOf(op)
		fmt.Fprintf(&b, "  the policy was called %d time(s)\n", len(calls))
		for _, c := range calls {
			fmt.Fprintf(&b, "    %s %v\n", c.method, c.request)
		}
	}
	if lines := tg.shim.logsOf(op); len(lines) > 0 {
		fmt.Fprintf(&b, "  shim log:\n    %s\n", strings.Join(tail(lines, 20), "\n    "))
	}
	return b.String()
}

// expectCalled fails unless the policy got exactly one call for the case.
func (h *harness) expectCalled(t *testing.T, op string) {
	t.Helper()
	if n := len(h.policy.callsOf(op)); n != 1 {
		t.Errorf("the policy was called %d times for this operation, want 1\n%s", n, h.explain(h.up, op))
	}
}

// expectApplied fails unless OpenIM's call succeeded and left exactly want.
func (cb callback[S]) expectApplied(t *testing.T, h *harness, tg *target, o outcome[S], want S, what string) {
	t.Helper()
	if o.err != nil {
		t.Errorf("%s: OpenIM's %s returned an error: %v\n%s", what, cb.name, o.err, h.explain(tg, o.op))
		return
	}
	if diff := cmp.Diff(want, o.got, cmpOpts...); diff != "" {
		t.Errorf("%s: OpenIM's request after applying the shim's reply differs (-want +got):\n%s\n  as JSON, before: %s\n           want: %s\n            got: %s\n%s",
			what, diff, asJSON(o.original), asJSON(want), asJSON(o.got), h.explain(tg, o.op))
	}
}

// asJSON shows an OpenIM request object as OpenIM's encoding/json writes it (its wrapper values
// as bare values or null).
func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	return string(b)
}

// expectUntouched is expectApplied with the original request, plus the callback's headline.
func (cb callback[S]) expectUntouched(t *testing.T, h *harness, tg *target, o outcome[S], what string) {
	t.Helper()
	if cb.untouched != nil && o.err == nil {
		if problem := cb.untouched(o.got); problem != "" {
			t.Errorf("%s: %s", what, problem)
		}
	}
	cb.expectApplied(t, h, tg, o, o.original, what)
}

func (cb callback[S]) run(t *testing.T, h *harness) {
	t.Run("continue", func(t *testing.T) {
		t.Parallel()
		o := cb.exercise(t, h, h.up, &script{kind: answerContinue})
		cb.expectUntouched(t, h, h.up, o, "the policy continued (empty response)")
		h.expectCalled(t, o.op)
	})
	for _, ch := range cb.changes {
		t.Run("change "+ch.name, func(t *testing.T) {
			t.Parallel()
			o := cb.exercise(t, h, h.up, &script{kind: answerChange, change: ch.policy})
			if ch.want == nil {
				cb.expectApplied(t, h, h.up, o, o.original, "the policy set "+ch.name+", which OpenIM cannot apply to this request (the shim must drop it)")
			} else {
				want := cb.clone(o.original)
				ch.want(want)
				cb.expectApplied(t, h, h.up, o, want, "the policy changed "+ch.name+" only")
			}
			h.expectCalled(t, o.op)
		})
	}
	t.Run("refuse", func(t *testing.T) {
		t.Parallel()
		o := cb.exercise(t, h, h.up, &script{kind: answerRefuse, refusal: &pb.Refusal{ErrCode: refuseCode, ErrMsg: refuseMsg, ErrDlt: refuseDetail}})
		var ce errs.CodeError
		switch {
		case o.err == nil:
			t.Errorf("the policy refused (code %d), but OpenIM's %s returned no error\n%s", refuseCode, cb.name, h.explain(h.up, o.op))
		case !errors.As(o.err, &ce):
			t.Errorf("the policy refused, OpenIM's %s returned %T %v, want an errs.CodeError\n%s", cb.name, o.err, o.err, h.explain(h.up, o.op))
		case ce.Code() != refuseCode || ce.Msg() != refuseMsg:
			t.Errorf("the policy refused with code %d %q; OpenIM's error has code %d %q (detail %q)\n%s",
				refuseCode, refuseMsg, ce.Code(), ce.Msg(), ce.Detail(), h.explain(h.up, o.op))
		}
		if diff := cmp.Diff(o.original, o.got, cmpOpts...); diff != "" {
			t.Errorf("a refusal changed OpenIM's request (-want +got):\n%s\n%s", diff, h.explain(h.up, o.op))
		}
		h.expectCalled(t, o.op)
	})
	t.Run("policy slow", func(t *testing.T) {
		t.Parallel()
		o := cb.exercise(t, h, h.up, &script{kind: answerSleep})
		cb.expectUntouched(t, h, h.up, o, fmt.Sprintf("the policy did not answer within the shim's %s (onError: continue)", shimBeforeTimeout))
		h.expectCalled(t, o.op)
	})
	t.Run("policy down", func(t *testing.T) {
		t.Parallel()
		o := cb.exercise(t, h, h.down, nil)
		cb.expectUntouched(t, h, h.down, o, "the policy is down (onError: continue)")
	})
}

// TestOpenIMv383 drives the real shim with OpenIM v3.8.3's webhook client and apply code, for
// every before-callback of OpenIM v3.8.3.
func TestOpenIMv383(t *testing.T) {
	bin := shimBinary(t)
	h := &harness{policy: startPolicy(t)}
	h.up = newTarget(t, bin, "policy-up", h.policy.addr)
	h.down = newTarget(t, bin, "policy-down", closedAddr(t))
	for _, cb := range callbacks() {
		t.Run(cb.title(), func(t *testing.T) {
			t.Parallel()
			cb.run(t, h)
		})
	}
}

// ---- small helpers for the cases ----

func ptr[T any](v T) *T { return &v }

func cloneProto[T proto.Message](m T) T { return proto.Clone(m).(T) }

// cloneStrings copies a slice, keeping nil nil.
func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}
