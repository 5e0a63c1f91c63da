// Command peer is an OpenIM callback receiver on Go's net/http doing the benchmark's word
// filtering (see ../README.md).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	ahocorasick "github.com/petar-dambovaliev/aho-corasick"
)

type reply struct {
	ActionCode      int32            `json:"actionCode"`
	ErrCode         int32            `json:"errCode"`
	ErrMsg          string           `json:"errMsg"`
	ErrDlt          string           `json:"errDlt"`
	NextCode        int32            `json:"nextCode"`
	Content         *string          `json:"content,omitempty"`
	OfflinePushInfo *offlinePushInfo `json:"offlinePushInfo,omitempty"`
}

type offlinePushInfo struct {
	Title         string `json:"title"`
	Desc          string `json:"desc"`
	Ex            string `json:"ex"`
	IOSPushSound  string `json:"iOSPushSound"`
	IOSBadgeCount bool   `json:"iOSBadgeCount"`
	SignalInfo    string `json:"signalInfo"`
}

type request struct {
	ContentType   int32  `json:"contentType"`
	Content       string `json:"content"`
	Desc          string `json:"desc"`
	Ex            string `json:"ex"`
	IOSPushSound  string `json:"iOSPushSound"`
	IOSBadgeCount bool   `json:"iOSBadgeCount"`
	SignalInfo    string `json:"signalInfo"`
}

var refuse = reply{ErrCode: 5001, ErrMsg: "message rejected by content policy", ErrDlt: "matched rule: abuse", NextCode: 1}

func automaton(path string) ahocorasick.AhoCorasick {
	f, err := os.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	var words []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w := strings.ToLower(strings.TrimSpace(sc.Text())); w != "" {
			words = append(words, w)
		}
	}
	b := ahocorasick.NewAhoCorasickBuilder(ahocorasick.Opts{
		AsciiCaseInsensitive: true,
		MatchKind:            ahocorasick.LeftMostLongestMatch,
		DFA:                  true,
	})
	return b.Build(words)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:18003", "address to listen on")
	flag.Parse()
	refuseAC := automaton(os.Getenv("REFUSE_WORDS"))
	maskAC := automaton(os.Getenv("MASK_WORDS"))
	var afterEvents atomic.Int64

	textOf := func(r *request) (map[string]any, string, bool) {
		if r.ContentType != 101 {
			return nil, "", false
		}
		var content map[string]any
		if json.Unmarshal([]byte(r.Content), &content) != nil {
			return nil, "", false
		}
		text, ok := content["content"].(string)
		return content, text, ok
	}

	decide := func(command string, r *request) reply {
		switch command {
		case "callbackBeforeSendSingleMsgCommand", "callbackBeforeSendGroupMsgCommand":
			if _, text, ok := textOf(r); ok && len(refuseAC.FindAll(text)) > 0 {
				return refuse
			}
		case "callbackBeforeMsgModifyCommand":
			content, text, ok := textOf(r)
			if !ok {
				return reply{}
			}
			if len(refuseAC.FindAll(text)) > 0 {
				return refuse
			}
			matches := maskAC.FindAll(text)
			if len(matches) == 0 {
				return reply{}
			}
			var b strings.Builder
			last := 0
			for _, m := range matches {
				b.WriteString(text[last:m.Start()])
				b.WriteString(strings.Repeat("*", utf8.RuneCountInString(text[m.Start():m.End()])))
				last = m.End()
			}
			b.WriteString(text[last:])
			content["content"] = b.String()
			out, _ := json.Marshal(content)
			s := string(out)
			return reply{Content: &s}
		case "callbackBeforeOfflinePushCommand":
			return reply{OfflinePushInfo: &offlinePushInfo{Title: "New message", Desc: r.Desc, Ex: r.Ex,
				IOSPushSound: r.IOSPushSound, IOSBadgeCount: r.IOSBadgeCount, SignalInfo: r.SignalInfo}}
		case "callbackAfterSendSingleMsgCommand", "callbackAfterSendGroupMsgCommand":
			afterEvents.Add(1)
		}
		return reply{}
	}

	http.HandleFunc("/", func(w http.ResponseWriter, req *http.Request) {
		var r request
		out := reply{}
		if err := json.NewDecoder(req.Body).Decode(&r); err == nil {
			parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
			out = decide(parts[len(parts)-1], &r)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	log.Printf("go peer ready addr=%s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
