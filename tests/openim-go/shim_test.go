package openimgo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The real openim-shim binary as a child process, and a recording proxy in front of it.

const (
	// shimBinEnv names the binary under test; default defaultShimBin, relative to this module.
	shimBinEnv     = "OPENIM_SHIM_BIN"
	defaultShimBin = "../../target/debug/openim-shim"
	// shimBeforeTimeout is the shim's deadline for the policy's before-callback answers.
	shimBeforeTimeout = 300 * time.Millisecond
	// readyTimeout bounds the shim's start.
	readyTimeout = 30 * time.Second
)

// beforeKeys are the webhooks.yml keys of every before-callback OpenIM v3.8.3 has; the shim's
// config enables each explicitly.
var beforeKeys = []string{
	"beforeSendSingleMsg", "beforeSendGroupMsg", "beforeMsgModify",
	"beforeOfflinePush", "beforeOnlinePush", "beforeGroupOnlinePush",
	"beforeUserRegister", "beforeUpdateUserInfo", "beforeUpdateUserInfoEx",
	"beforeAddFriend", "beforeAddFriendAgree", "beforeImportFriends", "beforeSetFriendRemark", "beforeAddBlack",
	"beforeCreateGroup", "beforeMemberJoinGroup", "beforeSetGroupMemberInfo", "beforeApplyJoinGroup",
	"beforeInviteUserToGroup", "beforeSetGroupInfo", "beforeSetGroupInfoEx",
}

// shimBinary is the path of the binary under test; the test fails when it is missing.
func shimBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv(shimBinEnv)
	if bin == "" {
		bin = defaultShimBin
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	if st, err := os.Stat(abs); err != nil || st.IsDir() {
		t.Fatalf("openim-shim binary not found at %s (set %s, or build it with `cargo build -p openim-shim`; "+
			"scripts/test runs `cargo test` first, which builds it)", abs, shimBinEnv)
	}
	return abs
}

// shimProcess is one running shim.
type shimProcess struct {
	name string
	addr string
	cmd  *exec.Cmd

	mu   sync.Mutex
	logs []string
	done chan struct{}
}

// startShim starts the binary on a loopback port, asking the policy at policyAddr, with every
// before-callback enabled, a short deadline and onError continue; it is killed when the test
// ends.
func startShim(t *testing.T, bin, name, policyAddr string) *shimProcess {
	t.Helper()
	dir := t.TempDir()
	config := "# openim-go test: every before-callback enabled, short deadline, fail open.\n" +
		"default:\n  onError: continue\n" +
		fmt.Sprintf("before:\n  timeout: %dms\n", shimBeforeTimeout.Milliseconds()) +
		"spool:\n  dir: " + filepath.Join(dir, "spool") + "\n"
	for _, k := range beforeKeys {
		config += k + ":\n  enable: true\n"
	}
	configPath := filepath.Join(dir, "shim.yaml")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--listen", "127.0.0.1:0",
		"--policy", "http://"+policyAddr,
		"--config", configPath,
		"--timeout", shimBeforeTimeout.String(),
		"--on-error", "continue",
		"--spool-dir", filepath.Join(dir, "spool"),
	)
	// The shim reads OPENIM_SHIM_* variables over its flags and file: none of the caller's.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENIM_SHIM_") && !strings.HasPrefix(kv, "RUST_LOG=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "RUST_LOG=info")
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	s := &shimProcess{name: name, cmd: cmd, done: make(chan struct{})}
	ready := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.logs = append(s.logs, line)
			s.mu.Unlock()
			if strings.Contains(line, "openim-shim ready") {
				select {
				case ready <- line:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		<-s.done
		if t.Failed() {
			// Each case's failure shows the lines of its own operation; here the rest (start-up,
			// errors outside any callback, a crash).
			var other []string
			for _, l := range s.logLines() {
				if !strings.Contains(l, "operation_id=") {
					other = append(other, l)
				}
			}
			t.Logf("log of the %s shim, lines outside the cases' operations (last 50):\n%s", name, strings.Join(tail(other, 50), "\n"))
		}
	})
	select {
	case line := <-ready:
		addr := ""
		if _, rest, ok := strings.Cut(line, "addr="); ok {
			addr = strings.Fields(rest)[0]
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			t.Fatalf("no address in the shim's ready line %q", line)
		}
		s.addr = addr
	case <-s.done:
		t.Fatalf("openim-shim (%s) exited before it was ready; its log:\n%s", name, strings.Join(s.logLines(), "\n"))
	case <-time.After(readyTimeout):
		t.Fatalf("openim-shim (%s) not ready after %s; its log:\n%s", name, readyTimeout, strings.Join(s.logLines(), "\n"))
	}
	return s
}

func (s *shimProcess) logLines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logs...)
}

// logsOf returns the shim's log lines that mention op.
func (s *shimProcess) logsOf(op string) []string {
	var out []string
	for _, l := range s.logLines() {
		if strings.Contains(l, op) {
			out = append(out, l)
		}
	}
	return out
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// exchange is one HTTP round trip between OpenIM's webhook client and the shim.
type exchange struct {
	path     string
	request  string
	status   int
	response string
}

// recorder is a transparent HTTP proxy between OpenIM's webhook client and a shim that keeps
// each exchange by OpenIM's `operationID` header, for failure messages.
type recorder struct {
	target string
	server *httptest.Server

	mu        sync.Mutex
	exchanges map[string][]exchange
}

func startRecorder(t *testing.T, target string) *recorder {
	t.Helper()
	r := &recorder{target: target, exchanges: map[string][]exchange{}}
	client := &http.Client{Transport: &http.Transport{}}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, err := http.NewRequestWithContext(req.Context(), req.Method, "http://"+r.target+req.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = req.Header.Clone()
		resp, err := client.Do(out)
		if err != nil {
			r.record(req, exchange{path: req.URL.Path, request: string(body), status: 0, response: "proxy error: " + err.Error()})
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		r.record(req, exchange{path: req.URL.Path, request: string(body), status: resp.StatusCode, response: string(rb)})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(rb)
	}))
	t.Cleanup(r.server.Close)
	return r
}

func (r *recorder) record(req *http.Request, e exchange) {
	op := req.Header.Get("operationID")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges[op] = append(r.exchanges[op], e)
}

// of returns the exchanges of operation op, formatted.
func (r *recorder) of(op string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, e := range r.exchanges[op] {
		fmt.Fprintf(&b, "  OpenIM posted %s\n    %s\n  shim replied (HTTP %d)\n    %s\n", e.path, strings.TrimSpace(e.request), e.status, strings.TrimSpace(e.response))
	}
	if b.Len() == 0 {
		return "  (no HTTP exchange recorded)\n"
	}
	return b.String()
}

// closedAddr is a loopback address nothing listens on: a policy that is down.
func closedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}
