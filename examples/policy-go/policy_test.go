package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	policyv1 "openim-policy/examples/policy-go/gen/openim/policy/v1"
)

func testPolicy(t *testing.T) *Policy {
	t.Helper()
	p, err := NewPolicy(Config{RefuseWord: "scam", MaskWord: "spam.example", PushTitle: "New"},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func text(content string) *policyv1.Message {
	return &policyv1.Message{ContentType: policyv1.ContentType_CONTENT_TYPE_TEXT, Content: content}
}

func TestMaskKeepsOtherKeysAndMasksEveryCase(t *testing.T) {
	resp, err := testPolicy(t).BeforeMsgModify(context.Background(), &policyv1.BeforeMsgModifyRequest{
		Message: text(`{"content":"a <Spam.Example> and spam.example","x":12345678901234567890}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"content":"a <************> and ************","x":12345678901234567890}`
	if resp.GetContent() != want {
		t.Errorf("content = %s, want %s", resp.GetContent(), want)
	}
}

func TestOnlyTextMessagesAreRefused(t *testing.T) {
	p := testPolicy(t)
	if p.refusal(text(`{"content":"a SCAM"}`)) == nil {
		t.Error("a text with the word is not refused")
	}
	pic := text(`{"content":"scam"}`)
	pic.ContentType = policyv1.ContentType_CONTENT_TYPE_PICTURE
	if p.refusal(pic) != nil {
		t.Error("a picture is refused")
	}
}

func TestRedeliveriesAreCountedOnce(t *testing.T) {
	c := NewEventCounter(2)
	for _, k := range []string{"a", "b", "a", "", ""} {
		c.Add(k)
	}
	if n, dup := c.Add("c"); n != 5 || dup {
		t.Errorf("count %d dup %v, want 5 false", n, dup)
	}
	// "a" fell out of the window of 2 keys: it counts again.
	if n, dup := c.Add("a"); n != 6 || dup {
		t.Errorf("count %d dup %v, want 6 false", n, dup)
	}
}
