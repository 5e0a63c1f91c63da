// Command go-decoder reads OpenIM webhook replies and reports what OpenIM's Go server makes of
// them: it decodes each reply with encoding/json into mirrors of OpenIM's reply structs
// (pkg/callbackstruct, read from open-im-server 7848d7c7, see PROTOCOL.md §2 and §6) and applies
// each server version's Parse() rule.
//
// Input: one JSON object per line, {"struct": "<reply struct name>", "body": "<reply body>"}.
// Output: one JSON object per line, the verdict for the matching input line.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// CommonCallbackResp is embedded in every reply struct.
type CommonCallbackResp struct {
	ActionCode int32  `json:"actionCode"`
	ErrCode    int32  `json:"errCode"`
	ErrMsg     string `json:"errMsg"`
	ErrDlt     string `json:"errDlt"`
	NextCode   int32  `json:"nextCode"`
}

func (c CommonCallbackResp) common() CommonCallbackResp { return c }

// OfflinePushInfo mirrors sdkws.OfflinePushInfo's JSON form.
type OfflinePushInfo struct {
	Title         string `json:"title"`
	Desc          string `json:"desc"`
	Ex            string `json:"ex"`
	IOSPushSound  string `json:"iOSPushSound"`
	IOSBadgeCount bool   `json:"iOSBadgeCount"`
	SignalInfo    string `json:"signalInfo"`
}

// CallbackMsgModifyCommandResp is the msg-modify reply.
type CallbackMsgModifyCommandResp struct {
	CommonCallbackResp
	Content          *string          `json:"content"`
	RecvID           *string          `json:"recvID"`
	GroupID          *string          `json:"groupID"`
	ClientMsgID      *string          `json:"clientMsgID"`
	ServerMsgID      *string          `json:"serverMsgID"`
	SenderPlatformID *int32           `json:"senderPlatformID"`
	SenderNickname   *string          `json:"senderNickname"`
	SenderFaceURL    *string          `json:"senderFaceURL"`
	SessionType      *int32           `json:"sessionType"`
	MsgFrom          *int32           `json:"msgFrom"`
	ContentType      *int32           `json:"contentType"`
	Status           *int32           `json:"status"`
	Options          *map[string]bool `json:"options"`
	OfflinePushInfo  *OfflinePushInfo `json:"offlinePushInfo"`
	AtUserIDList     *[]string        `json:"atUserIDList"`
	MsgDataList      *[]byte          `json:"msgDataList"`
	AttachedInfo     *string          `json:"attachedInfo"`
	Ex               *string          `json:"ex"`
}

// CallbackBeforePushResp is the reply of the push callbacks.
type CallbackBeforePushResp struct {
	CommonCallbackResp
	UserIDList      []string         `json:"userIDList"`
	OfflinePushInfo *OfflinePushInfo `json:"offlinePushInfo"`
}

type reply interface{ common() CommonCallbackResp }

// newReply returns a zero value of the named reply struct.
func newReply(name string) (reply, error) {
	switch name {
	case "CommonCallbackResp":
		return &CommonCallbackResp{}, nil
	case "CallbackMsgModifyCommandResp":
		return &CallbackMsgModifyCommandResp{}, nil
	case "CallbackBeforePushResp":
		return &CallbackBeforePushResp{}, nil
	}
	return nil, fmt.Errorf("unknown reply struct %q", name)
}

type input struct {
	Struct string `json:"struct"`
	Body   string `json:"body"`
}

// verdict is what each server version does with the reply.
type verdict struct {
	// Decoded: json.Unmarshal succeeded (else every version fails the operation).
	Decoded bool   `json:"decoded"`
	Error   string `json:"error,omitempty"`
	// Refused per version (PROTOCOL.md §2.2).
	RefusedV37 bool  `json:"refusedV37"`
	RefusedV35 bool  `json:"refusedV35"`
	RefusedV30 bool  `json:"refusedV30"`
	ErrCode    int32 `json:"errCode"`
	// Problems that would break OpenIM even though decoding worked.
	Hazards []string `json:"hazards"`
	// The decoded reply, re-encoded, to read the applied fields.
	Reply json.RawMessage `json:"reply,omitempty"`
}

func check(in input) verdict {
	r, err := newReply(in.Struct)
	if err != nil {
		return verdict{Error: err.Error(), Hazards: []string{}}
	}
	if err := json.Unmarshal([]byte(in.Body), r); err != nil {
		return verdict{Error: err.Error(), Hazards: []string{}}
	}
	c := r.common()
	v := verdict{
		Decoded: true,
		// v3.7.0 ... main: pkg/callbackstruct CommonCallbackResp.Parse.
		RefusedV37: c.ActionCode == 0 && c.NextCode == 1,
		// v3.4.2 / v3.5.x.
		RefusedV35: c.ActionCode != 0 || c.NextCode == 1,
		// v3.0 ... v3.4.0: no nextCode.
		RefusedV30: c.ActionCode != 0 || c.ErrCode != 0,
		ErrCode:    c.ErrCode,
		Hazards:    []string{},
	}
	if m, ok := r.(*CallbackMsgModifyCommandResp); ok {
		if m.OfflinePushInfo != nil {
			// Copied into the message's push info: nil-pointer panic when it has none.
			v.Hazards = append(v.Hazards, "offlinePushInfo")
		}
		if m.Content != nil {
			var obj map[string]any
			if json.Unmarshal([]byte(*m.Content), &obj) != nil {
				// main: "content must be a JSON object" -> ArgsError, the send fails.
				v.Hazards = append(v.Hazards, "content")
			}
		}
	}
	if v.RefusedV37 && c.ErrCode <= 0 {
		// The RPC layer loses a code <= 0: the client does not get the refusal's error.
		v.Hazards = append(v.Hazards, "errCode")
	}
	v.Reply, _ = json.Marshal(r)
	return v
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var in input
		if err := json.Unmarshal([]byte(line), &in); err != nil {
			fmt.Fprintln(os.Stderr, "bad input line:", err)
			os.Exit(2)
		}
		if err := enc.Encode(check(in)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
