// Package binary_test builds the real tidegate binary once and drives it
// as a user would: version, zero-config serve, config files, lint, and
// graceful shutdown on SIGTERM.
package binary_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	binPath    string // the built tidegate
	skipReason string // set when the go tool is missing
	buildErr   error  // set when the build failed
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	goTool, err := exec.LookPath("go")
	if err != nil {
		if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
			goTool, err = p, nil
		}
	}
	dir, derr := os.MkdirTemp("", "tidegate-e2e-bin-")
	if derr != nil {
		fmt.Fprintln(os.Stderr, "tempdir:", derr)
		return 1
	}
	defer os.RemoveAll(dir)
	if err != nil {
		skipReason = "the go tool is not available to build the tidegate binary: " + err.Error()
	} else {
		binPath = filepath.Join(dir, "tidegate")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", binPath, "github.com/tidegate/tidegate/cmd/tidegate")
		out, berr := cmd.CombinedOutput()
		cancel()
		if berr != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", berr, out)
		}
	}
	return m.Run()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// needBinary skips without a go tool and fails if the build failed.
func needBinary(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// baseEnv is a minimal, deterministic environment: no provider keys, no
// config, Ollama pointed at a closed port.
func baseEnv(t *testing.T) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"OLLAMA_HOST=" + closedAddr(t),
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running tidegate.
type proc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	done   chan struct{}
	err    error // Wait's result, once done is closed
	url    string
	exited time.Time
}

// start runs the binary with args and env; it is killed when the test ends
// if it is still running.
func start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binPath, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", args, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.exited = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("tidegate %v output:\n%s", args, p.out.String())
		}
	})
	return p
}

// wait waits up to d for the process to exit; false if it is still running.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *proc) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// serve starts `tidegate serve` and waits until /health answers at addr.
func serve(t *testing.T, env []string, addr string, args ...string) *proc {
	t.Helper()
	p := start(t, env, append([]string{"serve"}, args...)...)
	p.url = "http://" + addr
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := hc.Get(p.url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("tidegate serve exited (%v) before serving:\n%s", p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tidegate serve did not answer /health at %s within 15s:\n%s", addr, p.out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// runCmd runs the binary to completion (bounded) and returns its combined
// output and exit code.
func runCmd(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	p := start(t, env, args...)
	if !p.wait(15 * time.Second) {
		t.Fatalf("tidegate %v did not exit within 15s:\n%s", args, p.out.String())
	}
	return p.out.String(), p.exitCode()
}

var httpClient = &http.Client{Timeout: 15 * time.Second}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) String() string { return fmt.Sprintf("HTTP %d %s", r.Status, r.Body) }

func do(t *testing.T, method, url, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return response{resp.StatusCode, resp.Header, data}
}

func decode(t *testing.T, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("not JSON (%v): %s", err, r)
	}
}

func chatBody(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"stream":%t,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
}

func messagesBody(model string, stream bool) string {
	return fmt.Sprintf(`{"model":%q,"max_tokens":64,"stream":%t,"messages":[{"role":"user","content":"hello there"}]}`, model, stream)
}

// openAIText returns the assistant text of a chat completion.
func openAIText(t *testing.T, r response) string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("chat completion: %s", r)
	}
	var v struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	decode(t, r, &v)
	if len(v.Choices) != 1 {
		t.Fatalf("want one choice: %s", r)
	}
	return v.Choices[0].Message.Content
}

// anthropicText returns the text of a Messages answer.
func anthropicText(t *testing.T, r response) string {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("message: %s", r)
	}
	var v struct {
		Type    string `json:"type"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
	}
	decode(t, r, &v)
	if v.Type != "message" || len(v.Content) == 0 {
		t.Fatalf("not a message: %s", r)
	}
	var out string
	for _, c := range v.Content {
		if c.Type == "text" {
			out += c.Text
		}
	}
	return out
}

// sseFrame is one server-sent event.
type sseFrame struct{ Event, Data string }

// frameReader reads SSE frames one at a time.
type frameReader struct{ br *bufio.Reader }

func (f *frameReader) next() (sseFrame, error) {
	var fr sseFrame
	var data []string
	have := false
	for {
		line, err := f.br.ReadString('\n')
		if err != nil {
			return fr, err
		}
		line = strings.TrimRight(line, "\r\n")
		switch {
		case line == "":
			if have {
				fr.Data = strings.Join(data, "\n")
				return fr, nil
			}
		case strings.HasPrefix(line, "event:"):
			fr.Event, have = strings.TrimSpace(line[len("event:"):]), true
		case strings.HasPrefix(line, "data:"):
			data, have = append(data, strings.TrimPrefix(line[len("data:"):], " ")), true
		}
	}
}

// openStream starts a streaming POST and returns the response and a frame
// reader over its body.
func openStream(t *testing.T, url, body string) (*http.Response, *frameReader) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return resp, &frameReader{br: bufio.NewReader(resp.Body)}
}

// readAllFrames reads frames until the body ends, bounded by d.
func readAllFrames(t *testing.T, resp *http.Response, fr *frameReader, d time.Duration) ([]sseFrame, error) {
	t.Helper()
	timer := time.AfterFunc(d, func() { resp.Body.Close() })
	defer timer.Stop()
	var frames []sseFrame
	for {
		f, err := fr.next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return frames, err
		}
		frames = append(frames, f)
	}
}

// refused reports whether a new connection to addr is refused.
func refused(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
