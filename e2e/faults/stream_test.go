package faults_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// cleanEnd reports whether a stream ended the way a successful one does.
func cleanEnd(d dialect, s streamResult) bool {
	if len(s.Frames) == 0 {
		return false
	}
	last := s.Frames[len(s.Frames)-1]
	if d.name == "openai" {
		return last.Data == "[DONE]"
	}
	return last.Event == "message_stop"
}

// TestStreamCleanBaseline shows what a healthy stream looks like on every
// route, so the failures below are told apart from it.
func TestStreamCleanBaseline(t *testing.T) {
	g := testgateway.Start(t, "")
	for _, rt := range routes {
		t.Run(rt.String(), func(t *testing.T) {
			rt.up(g).Set(testupstream.Reply{Text: "one two three four"})
			s := stream(t, g.URL+rt.d.path, rt.d.body(rt.model, true))
			if s.Status != 200 || s.ReadErr != nil || !cleanEnd(rt.d, s) {
				t.Fatalf("a healthy stream did not end cleanly:\n%s", s.dump())
			}
		})
	}
}

// TestStreamIdleTimeout: an upstream that goes silent after its first
// events is cut after idle_timeout, the caller gets an explicit timeout
// error event, and the upstream request is cancelled.
func TestStreamIdleTimeout(t *testing.T) {
	g := testgateway.Start(t, timeoutsConfig)
	for _, rt := range routes {
		t.Run(rt.String(), func(t *testing.T) {
			up := rt.up(g)
			before := up.Cancelled()
			up.Set(testupstream.Reply{Text: "one two three four", Hang: true})
			s := stream(t, g.URL+rt.d.path, rt.d.body(rt.model, true))
			if s.Duration > 3*time.Second {
				t.Errorf("stream ended after %s; idle_timeout is 300ms", s.Duration)
			}
			typ, msg := streamError(t, rt.d, s)
			if typ != "timeout_error" {
				t.Errorf("error type %q, want timeout_error (message %q)", typ, msg)
			}
			wantContains(t, "message", msg, "silent")
			if !waitFor(5*time.Second, func() bool { return up.Cancelled() > before }) {
				t.Errorf("the silent upstream request was not cancelled")
			}
		})
	}
}

// TestStreamCutAfterFirstByte: an upstream that drops the connection
// mid-stream gives an explicit error event, never a clean-looking end.
func TestStreamCutAfterFirstByte(t *testing.T) {
	g := testgateway.Start(t, withoutBreakers(""))
	for _, cut := range []int{2, 3, 5} {
		for _, rt := range routes {
			t.Run(fmt.Sprintf("%s/cut=%d", rt, cut), func(t *testing.T) {
				rt.up(g).Set(testupstream.Reply{Text: "one two three four five six seven eight", CutAfter: cut})
				s := stream(t, g.URL+rt.d.path, rt.d.body(rt.model, true))
				typ, msg := streamError(t, rt.d, s)
				want := "server_error"
				if rt.d.name == "anthropic" {
					want = "api_error"
				}
				if typ != want {
					t.Errorf("error type %q, want %q (message %q)", typ, want, msg)
				}
				wantContains(t, "message", msg, "upstream")
			})
		}
	}
}

// rawUpstream is a hand-written upstream for faults testupstream cannot
// script: it serves both /v1/chat/completions and /v1/messages with the
// current handler.
type rawUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	handler  func(w http.ResponseWriter, r *http.Request, anthropic bool)
	requests int
}

func newRawUpstream(t *testing.T) *rawUpstream {
	u := &rawUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		u.mu.Lock()
		h := u.handler
		u.requests++
		u.mu.Unlock()
		h(w, r, strings.HasSuffix(r.URL.Path, "/messages"))
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *rawUpstream) set(h func(w http.ResponseWriter, r *http.Request, anthropic bool)) {
	u.mu.Lock()
	u.handler = h
	u.mu.Unlock()
}

func (u *rawUpstream) gateway(t *testing.T) *testgateway.Gateway {
	return testgateway.Start(t, withoutBreakers(`
providers:
  oai: {type: openai, base_url: "`+u.URL+`/v1", api_key: "`+testgateway.OpenAIKey+`"}
  ant: {type: anthropic, base_url: "`+u.URL+`", api_key: "`+testgateway.AnthropicKey+`"}
models:
  gpt:    {provider: oai, model: gpt-4o-mini}
  claude: {provider: ant, model: claude-sonnet-4-5}
`))
}

// hijackClose drops the connection without ending the response.
func hijackClose(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// TestStreamCutBeforeFirstEvent: an upstream that answers 200 and then
// fails before any event is a real HTTP error (502), not a 200 stream.
func TestStreamCutBeforeFirstEvent(t *testing.T) {
	u := newRawUpstream(t)
	g := u.gateway(t)
	modes := map[string]func(w http.ResponseWriter, r *http.Request, anthropic bool){
		"dropped after headers": func(w http.ResponseWriter, r *http.Request, _ bool) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			hijackClose(w)
		},
		"empty body": func(w http.ResponseWriter, r *http.Request, _ bool) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
		},
		"only a comment then dropped": func(w http.ResponseWriter, r *http.Request, _ bool) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, ": keep-alive\n\n")
			w.(http.Flusher).Flush()
			hijackClose(w)
		},
	}
	for name, h := range modes {
		u.set(h)
		for _, rt := range routes {
			t.Run(name+"/"+rt.String(), func(t *testing.T) {
				s := stream(t, g.URL+rt.d.path, rt.d.body(rt.model, true))
				if s.Status == http.StatusOK {
					t.Fatalf("a stream that failed before its first event was answered 200:\n%s", s.dump())
				}
				e := wantError(t, rt.d, response{Status: s.Status, Header: s.Header, Body: s.Body}, http.StatusBadGateway)
				wantType(t, rt.d, e, "server_error", "api_error")
			})
		}
	}
}

// TestStreamErrorEventKeyMasked: an upstream's in-stream error event that
// echoes the provider key reaches the caller without the key: as an error
// event after the first byte, as an HTTP error before it.
func TestStreamErrorEventKeyMasked(t *testing.T) {
	u := newRawUpstream(t)
	g := u.gateway(t)
	const (
		antStart = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n" +
			"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
			"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
		antError = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"internal failure for key " + testgateway.AnthropicKey + "\"}}\n\n"
		oaiStart = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n" +
			"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
		oaiError = "data: {\"error\":{\"message\":\"internal failure for key " + testgateway.OpenAIKey + "\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n"
	)
	for _, first := range []bool{false, true} {
		mode := "after the first byte"
		if first {
			mode = "as the first event"
		}
		u.set(func(w http.ResponseWriter, r *http.Request, anthropic bool) {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			switch {
			case anthropic && first:
				_, _ = io.WriteString(w, antError)
			case anthropic:
				_, _ = io.WriteString(w, antStart+antError)
			case first:
				_, _ = io.WriteString(w, oaiError)
			default:
				_, _ = io.WriteString(w, oaiStart+oaiError)
			}
		})
		for _, rt := range routes {
			t.Run(mode+"/"+rt.String(), func(t *testing.T) {
				s := stream(t, g.URL+rt.d.path, rt.d.body(rt.model, true))
				var msg string
				if first {
					e := wantError(t, rt.d, response{Status: s.Status, Header: s.Header, Body: s.Body}, http.StatusBadGateway)
					msg = e.Message
				} else {
					_, msg = streamError(t, rt.d, s)
				}
				wantContains(t, "message", msg, "internal failure for key")
				var all strings.Builder
				for _, f := range s.Frames {
					all.WriteString(f.Event + "\n" + f.Data + "\n\n")
				}
				all.Write(s.Body)
				dump := all.String()
				for _, key := range []string{testgateway.OpenAIKey, testgateway.AnthropicKey} {
					if strings.Contains(dump, key) {
						t.Errorf("the provider key %q leaked to the caller:\n%s", key, dump)
					}
				}
			})
		}
	}
}
