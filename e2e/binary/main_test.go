// Package binary_test builds the real tidegate binary once and drives it
// as a user would: version, zero-config serve, config files, lint, and
// graceful shutdown on SIGTERM.
package binary_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/sse"
	"github.com/tidegate/tidegate/internal/testbinary"
)

var bin testbinary.Binary // the built tidegate

func TestMain(m *testing.M) {
	os.Exit(testbinary.Main(m, "tidegate-e2e-bin-", &bin))
}

// start runs the binary with args and env; it is killed when the test ends
// if it is still running.
func start(t *testing.T, env []string, args ...string) *testbinary.Process {
	t.Helper()
	return bin.Start(t, fmt.Sprintf("tidegate %v", args), "", env, args...)
}

// serve starts `tidegate serve` and waits until /health answers at addr.
func serve(t *testing.T, env []string, addr string, args ...string) *testbinary.Process {
	t.Helper()
	p := start(t, env, append([]string{"serve"}, args...)...)
	if !p.WaitHealthy(t, addr, 15*time.Second) {
		t.Fatalf("tidegate serve exited (%v) before serving:\n%s", p.Err(), p.Output())
	}
	return p
}

// runCmd runs the binary to completion (bounded) and returns its combined
// output and exit code.
func runCmd(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	p := start(t, env, args...)
	if !p.Wait(15 * time.Second) {
		t.Fatalf("tidegate %v did not exit within 15s:\n%s", args, p.Output())
	}
	return p.Output(), p.ExitCode()
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
	var h http.Header
	if body != "" {
		h = http.Header{"Content-Type": {"application/json"}}
	}
	return doWith(t, method, url, h, body)
}

// doWith is do with request headers of the caller's.
func doWith(t *testing.T, method, url string, h http.Header, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
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
// frameReader reads SSE frames one at a time with the gateway's own parser.
type frameReader struct{ r *sse.Reader }

func (f *frameReader) next() (sseFrame, error) {
	fr, err := f.r.Next()
	return sseFrame{Event: fr.Event, Data: string(fr.Data)}, err
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
	return resp, &frameReader{r: sse.NewReader(resp.Body)}
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
