// Command go-textread reads message contents the way OpenIM's clients do, for the differential
// test of the policy's content reader (tests/tests/content_differential.rs): openim-sdk-core is
// Go on every platform and decodes a message's content with encoding/json's Unmarshal into the
// element struct of its content type (sdk_struct, msgHandleByContentType).
//
// Input: one case per line, "<kind> <base64 of the content bytes>", where kind is a content
// type (101 text, 106 at-text, 110/119/120 custom, 114 quote, 117 advanced text, 118 markdown)
// or "probe" (a struct with the fields kind, sks and content, to exercise the case folding of K
// and S). Output: one JSON object per line:
//
//	{"values": ["<text field>", ...], "error": "", "full": true}
//
// values: what Unmarshal leaves in each text field, in the order of the policy's text keys
// (content; text; data, description, extension; kind, sks, content), decoded into a struct with
// only those fields. error: "" (nil), "syntax" (*json.SyntaxError), "notAnObject" (an
// *json.UnmarshalTypeError of the whole value) or "fieldType:<field>" (of a text field).
// full: the SDK's whole element struct (its other fields too) got the same text values.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
)

// Mirrors of openim-sdk-core's sdk_struct (openimsdk/openim-sdk-core 9267a252, sdk_struct.go).

type TextElem struct {
	Content string `json:"content"`
}

type MarkdownTextElem struct {
	Content string `json:"content"`
}

type AtInfo struct {
	AtUserID      string `json:"atUserID,omitempty"`
	GroupNickname string `json:"groupNickname,omitempty"`
}

type MessageEntity struct {
	Type   string `json:"type,omitempty"`
	Offset int32  `json:"offset"`
	Length int32  `json:"length"`
	Url    string `json:"url,omitempty"`
	Ex     string `json:"ex,omitempty"`
}

// MsgStruct is the quoted message: its own content keys must never reach the outer element.
type MsgStruct struct {
	ClientMsgID    string            `json:"clientMsgID,omitempty"`
	ServerMsgID    string            `json:"serverMsgID,omitempty"`
	CreateTime     int64             `json:"createTime"`
	SendTime       int64             `json:"sendTime"`
	SessionType    int32             `json:"sessionType"`
	SendID         string            `json:"sendID,omitempty"`
	RecvID         string            `json:"recvID,omitempty"`
	ContentType    int32             `json:"contentType"`
	SenderNickname string            `json:"senderNickname,omitempty"`
	Content        string            `json:"content,omitempty"`
	Seq            int64             `json:"seq"`
	TextElem       *TextElem         `json:"textElem,omitempty"`
	AtTextElem     *AtTextElem       `json:"atTextElem,omitempty"`
	CustomElem     *CustomElem       `json:"customElem,omitempty"`
	QuoteElem      *QuoteElem        `json:"quoteElem,omitempty"`
	AdvancedText   *AdvancedTextElem `json:"advancedTextElem,omitempty"`
	MarkdownText   *MarkdownTextElem `json:"markdownTextElem,omitempty"`
}

type AtTextElem struct {
	Text         string     `json:"text,omitempty"`
	AtUserList   []string   `json:"atUserList,omitempty"`
	AtUsersInfo  []*AtInfo  `json:"atUsersInfo,omitempty"`
	QuoteMessage *MsgStruct `json:"quoteMessage,omitempty"`
	IsAtSelf     bool       `json:"isAtSelf"`
}

type CustomElem struct {
	Data        string `json:"data,omitempty"`
	Description string `json:"description,omitempty"`
	Extension   string `json:"extension,omitempty"`
}

type QuoteElem struct {
	Text              string           `json:"text,omitempty"`
	QuoteMessage      *MsgStruct       `json:"quoteMessage,omitempty"`
	MessageEntityList []*MessageEntity `json:"messageEntityList,omitempty"`
}

type AdvancedTextElem struct {
	Text              string           `json:"text,omitempty"`
	MessageEntityList []*MessageEntity `json:"messageEntityList,omitempty"`
}

// Structs with the text fields only: their error is the one the policy's reader models.

type contentOnly struct {
	Content string `json:"content"`
}

type textOnly struct {
	Text string `json:"text"`
}

type customOnly struct {
	Data        string `json:"data"`
	Description string `json:"description"`
	Extension   string `json:"extension"`
}

type probe struct {
	Kind    string `json:"kind"`
	Sks     string `json:"sks"`
	Content string `json:"content"`
}

// kinds gives, per kind, a new text-only struct, a new SDK element, and the text values of each.
type kind struct {
	only   func() any
	full   func() any
	values func(any) []string
}

func strings1(v any) []string {
	rv := reflect.ValueOf(v).Elem()
	out := make([]string, 0, rv.NumField())
	for i := 0; i < rv.NumField(); i++ {
		if rv.Field(i).Kind() == reflect.String {
			out = append(out, rv.Field(i).String())
		}
	}
	return out
}

var contentKind = kind{func() any { return &contentOnly{} }, func() any { return &TextElem{} }, strings1}

var kinds = map[string]kind{
	"101": contentKind,
	"118": {func() any { return &contentOnly{} }, func() any { return &MarkdownTextElem{} }, strings1},
	"106": {func() any { return &textOnly{} }, func() any { return &AtTextElem{} },
		func(v any) []string {
			if e, ok := v.(*AtTextElem); ok {
				return []string{e.Text}
			}
			return strings1(v)
		}},
	"114": {func() any { return &textOnly{} }, func() any { return &QuoteElem{} },
		func(v any) []string {
			if e, ok := v.(*QuoteElem); ok {
				return []string{e.Text}
			}
			return strings1(v)
		}},
	"117": {func() any { return &textOnly{} }, func() any { return &AdvancedTextElem{} },
		func(v any) []string {
			if e, ok := v.(*AdvancedTextElem); ok {
				return []string{e.Text}
			}
			return strings1(v)
		}},
	"110":   {func() any { return &customOnly{} }, func() any { return &CustomElem{} }, strings1},
	"119":   {func() any { return &customOnly{} }, func() any { return &CustomElem{} }, strings1},
	"120":   {func() any { return &customOnly{} }, func() any { return &CustomElem{} }, strings1},
	"probe": {func() any { return &probe{} }, func() any { return &probe{} }, strings1},
}

type result struct {
	Values []string `json:"values"`
	Error  string   `json:"error"`
	Full   bool     `json:"full"`
}

func class(err error) string {
	if err == nil {
		return ""
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return "syntax"
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return "notAnObject"
		}
		return "fieldType:" + te.Field
	}
	return "other:" + err.Error()
}

func read(k kind, data []byte) result {
	only := k.only()
	err := json.Unmarshal(data, only)
	full := k.full()
	_ = json.Unmarshal(data, full)
	values := k.values(only)
	return result{Values: values, Error: class(err), Full: reflect.DeepEqual(values, k.values(full))}
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, b64, ok := strings.Cut(line, " ")
		k, known := kinds[name]
		data, err := base64.StdEncoding.DecodeString(b64)
		if !ok || !known || err != nil {
			fmt.Fprintf(os.Stderr, "go-textread: bad input line %.80q\n", line)
			os.Exit(2)
		}
		if err := enc.Encode(read(k, data)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
