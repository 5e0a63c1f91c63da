package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"unicode/utf8"

	policyv1 "openim-policy/examples/policy-go/gen/openim/policy/v1"
)

// Refusal returned to the sender of a message containing the refused word.
const (
	refuseCode = 5001
	refuseMsg  = "message rejected by content policy"
)

// Config is what the policy decides with.
type Config struct {
	RefuseWord string // refuse messages containing it (any letter case)
	MaskWord   string // mask it in msg-modify (any letter case)
	PushTitle  string // title of every offline push
}

// Policy implements the RPCs of the scenario. Embedding the Unimplemented servers makes every
// other RPC of MessageService and PushService answer UNIMPLEMENTED ("continue").
type Policy struct {
	policyv1.UnimplementedMessageServiceServer
	policyv1.UnimplementedPushServiceServer

	refuse    *regexp.Regexp
	mask      *regexp.Regexp
	pushTitle string
	events    *EventCounter
	log       *slog.Logger
}

// NewPolicy checks cfg and builds the policy.
func NewPolicy(cfg Config, log *slog.Logger) (*Policy, error) {
	if cfg.RefuseWord == "" || cfg.MaskWord == "" {
		return nil, errors.New("the refused and the masked word must not be empty")
	}
	return &Policy{
		refuse:    wordPattern(cfg.RefuseWord),
		mask:      wordPattern(cfg.MaskWord),
		pushTitle: cfg.PushTitle,
		events:    NewEventCounter(10_000),
		log:       log,
	}, nil
}

// wordPattern matches word literally, in any letter case.
func wordPattern(word string) *regexp.Regexp {
	return regexp.MustCompile("(?i)" + regexp.QuoteMeta(word))
}

// textOf returns the user-written text of a text message: its content is the JSON
// {"content":"..."}. Other content types have no text here.
func textOf(m *policyv1.Message) (string, bool) {
	if m.GetContentType() != policyv1.ContentType_CONTENT_TYPE_TEXT {
		return "", false
	}
	var elem struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal([]byte(m.GetContent()), &elem); err != nil || elem.Content == nil {
		return "", false
	}
	return *elem.Content, true
}

// refusal refuses m if its text contains the refused word, else returns nil (continue).
func (p *Policy) refusal(m *policyv1.Message) *policyv1.Refusal {
	text, ok := textOf(m)
	if !ok || !p.refuse.MatchString(text) {
		return nil
	}
	return &policyv1.Refusal{ErrCode: refuseCode, ErrMsg: refuseMsg, ErrDlt: "matched the refused word"}
}

// BeforeSendSingleMsg refuses single-chat messages containing the refused word.
func (p *Policy) BeforeSendSingleMsg(ctx context.Context, req *policyv1.BeforeSendSingleMsgRequest) (*policyv1.BeforeSendSingleMsgResponse, error) {
	refuse := p.refusal(req.GetMessage())
	if refuse != nil {
		p.log.Info("refused", "rpc", "BeforeSendSingleMsg", "operation_id", req.GetContext().GetOperationId())
	}
	return &policyv1.BeforeSendSingleMsgResponse{Refuse: refuse}, nil
}

// BeforeSendGroupMsg refuses group messages containing the refused word.
func (p *Policy) BeforeSendGroupMsg(ctx context.Context, req *policyv1.BeforeSendGroupMsgRequest) (*policyv1.BeforeSendGroupMsgResponse, error) {
	refuse := p.refusal(req.GetMessage())
	if refuse != nil {
		p.log.Info("refused", "rpc", "BeforeSendGroupMsg", "operation_id", req.GetContext().GetOperationId())
	}
	return &policyv1.BeforeSendGroupMsgResponse{Refuse: refuse}, nil
}

// BeforeMsgModify masks the masked word in text messages. The new content must stay a JSON
// object of the same shape: only its "content" key is rewritten, the other keys are kept.
func (p *Policy) BeforeMsgModify(ctx context.Context, req *policyv1.BeforeMsgModifyRequest) (*policyv1.BeforeMsgModifyResponse, error) {
	m := req.GetMessage()
	text, ok := textOf(m)
	if !ok || !p.mask.MatchString(text) {
		return &policyv1.BeforeMsgModifyResponse{}, nil // continue, unchanged
	}
	masked := p.mask.ReplaceAllStringFunc(text, func(s string) string {
		return strings.Repeat("*", utf8.RuneCountInString(s))
	})
	content, err := replaceText(m.GetContent(), masked)
	if err != nil {
		return nil, err // an error status: the shim applies its failure mode
	}
	p.log.Info("masked", "rpc", "BeforeMsgModify", "operation_id", req.GetContext().GetOperationId())
	return &policyv1.BeforeMsgModifyResponse{Content: &content}, nil
}

// replaceText returns the content JSON object with its "content" key set to text.
func replaceText(content, text string) (string, error) {
	// The other keys stay as they were typed (numbers too: no float64 round trip).
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(content), &obj); err != nil {
		return "", err
	}
	quoted, err := marshal(text)
	if err != nil {
		return "", err
	}
	obj["content"] = quoted
	out, err := marshal(obj)
	return string(out), err
}

// marshal is json.Marshal without HTML escaping: <, > and & stay as the user typed them.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// BeforeOfflinePush rewrites the push title. The reply replaces ALL push texts, so it starts
// from the request's.
func (p *Policy) BeforeOfflinePush(ctx context.Context, req *policyv1.BeforeOfflinePushRequest) (*policyv1.BeforeOfflinePushResponse, error) {
	info := &policyv1.OfflinePushInfo{}
	if orig := req.GetPush().GetOfflinePushInfo(); orig != nil {
		info.Desc = orig.GetDesc()
		info.Ex = orig.GetEx()
		info.IosPushSound = orig.GetIosPushSound()
		info.IosBadgeCount = orig.GetIosBadgeCount()
		info.SignalInfo = orig.GetSignalInfo()
	}
	info.Title = p.pushTitle
	return &policyv1.BeforeOfflinePushResponse{OfflinePushInfo: info}, nil
}

// AfterSendSingleMsg counts the event.
func (p *Policy) AfterSendSingleMsg(ctx context.Context, req *policyv1.AfterSendSingleMsgRequest) (*policyv1.AfterSendSingleMsgResponse, error) {
	p.count("AfterSendSingleMsg", req.GetContext())
	return &policyv1.AfterSendSingleMsgResponse{}, nil
}

// AfterSendGroupMsg counts the event.
func (p *Policy) AfterSendGroupMsg(ctx context.Context, req *policyv1.AfterSendGroupMsgRequest) (*policyv1.AfterSendGroupMsgResponse, error) {
	p.count("AfterSendGroupMsg", req.GetContext())
	return &policyv1.AfterSendGroupMsgResponse{}, nil
}

// count counts an after-event once: delivery is at least once, so a repeated idempotency key
// is a duplicate.
func (p *Policy) count(rpc string, c *policyv1.CallbackContext) {
	n, dup := p.events.Add(c.GetIdempotencyKey())
	p.log.Info("after-event", "rpc", rpc, "operation_id", c.GetOperationId(),
		"idempotency_key", c.GetIdempotencyKey(), "attempt", c.GetDeliveryAttempt(),
		"duplicate", dup, "count", n)
}
