package binary_test

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

func shutdownConfig(addr, upstream, timeout string) string {
	return fmt.Sprintf(`
listen: %s
server: {shutdown_timeout: %s}
providers:
  oai: {type: openai, base_url: "%s/v1", api_key: "sk-e2e-shutdown-123456"}
models:
  slow: {provider: oai, model: gpt-4o-mini}
`, addr, timeout, upstream)
}

// TestGracefulShutdown: SIGTERM during a stream stops new connections at
// once, lets the stream finish completely, then exits 0.
func TestGracefulShutdown(t *testing.T) {
	bin.Need(t)
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	const text = "one two three four five six seven eight nine ten"
	up.Set(testupstream.Reply{Text: text, EventDelay: 100 * time.Millisecond})
	addr := testbinary.FreeAddr(t)
	p := serve(t, testbinary.Env(t), addr, "--config", writeFile(t, "tidegate.yaml", shutdownConfig(addr, up.URL, "10s")))

	resp, fr := openStream(t, p.URL+"/v1/chat/completions", `{"model":"slow","stream":true,"messages":[{"role":"user","content":"count"}]}`)
	first, err := fr.next()
	if err != nil {
		t.Fatalf("first event: %v", err)
	}
	signalled := time.Now()
	p.Signal(t, syscall.SIGTERM)

	// New connections are refused while the stream still runs.
	refusedAt := time.Duration(-1)
	for time.Since(signalled) < 2*time.Second {
		if refused(addr) {
			refusedAt = time.Since(signalled)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if refusedAt < 0 {
		t.Errorf("new connections were still accepted 2s after SIGTERM")
	}

	rest, err := readAllFrames(t, resp, fr, 10*time.Second)
	streamEnd := time.Since(signalled)
	frames := append([]sseFrame{first}, rest...)
	var got strings.Builder
	for _, f := range frames {
		if i := strings.Index(f.Data, `"content":"`); i >= 0 {
			s := f.Data[i+len(`"content":"`):]
			got.WriteString(s[:strings.IndexByte(s, '"')])
		}
	}
	if err != nil || len(frames) == 0 || frames[len(frames)-1].Data != "[DONE]" {
		t.Errorf("the in-flight stream did not complete after SIGTERM (read error %v, %d frames, last %+v)", err, len(frames), frames[len(frames)-1])
	}
	if got.String() != text {
		t.Errorf("stream text %q, want %q", got.String(), text)
	}
	if refusedAt >= 0 && refusedAt > streamEnd {
		t.Errorf("connections were refused only after the stream ended (%s > %s)", refusedAt, streamEnd)
	}

	if !p.Wait(10 * time.Second) {
		t.Fatalf("still running 10s (the shutdown timeout) after SIGTERM")
	}
	if code := p.ExitCode(); code != 0 {
		t.Errorf("exit code %d after a graceful shutdown, want 0", code)
	}
	t.Logf("refused new connections %s after SIGTERM; stream ended after %s; exited after %s",
		refusedAt.Round(time.Millisecond), streamEnd.Round(time.Millisecond), p.Exited().Sub(signalled).Round(time.Millisecond))
}

// TestShutdownTimeout: a stream that never ends does not hold the process
// beyond shutdown_timeout, and the upstream request is abandoned.
func TestShutdownTimeout(t *testing.T) {
	bin.Need(t)
	up := testupstream.New("openai")
	t.Cleanup(up.Close)
	up.Set(testupstream.Reply{Text: "one two three", Hang: true})
	addr := testbinary.FreeAddr(t)
	p := serve(t, testbinary.Env(t), addr, "--config", writeFile(t, "tidegate.yaml", shutdownConfig(addr, up.URL, "1s")))

	resp, fr := openStream(t, p.URL+"/v1/chat/completions", `{"model":"slow","stream":true,"messages":[{"role":"user","content":"hang"}]}`)
	if _, err := fr.next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	signalled := time.Now()
	p.Signal(t, syscall.SIGTERM)
	if !p.Wait(5 * time.Second) {
		t.Fatalf("still running 5s after SIGTERM with shutdown_timeout 1s")
	}
	took := p.Exited().Sub(signalled)
	t.Logf("exited %s after SIGTERM with code %d", took.Round(time.Millisecond), p.ExitCode())
	if took < 800*time.Millisecond {
		t.Errorf("exited after %s: the 1s grace for the running stream was not given", took)
	}
	if took > 2500*time.Millisecond {
		t.Errorf("exited after %s, want about 1s (shutdown_timeout)", took)
	}
	// The caller's stream is over, and the upstream request was dropped.
	frames, _ := readAllFrames(t, resp, fr, 3*time.Second)
	for _, f := range frames {
		if f.Data == "[DONE]" {
			t.Errorf("a stream cut by the shutdown ended with [DONE]")
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for up.Cancelled() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if up.Cancelled() == 0 {
		t.Errorf("the upstream request was not cancelled after the process exited")
	}
}
