package mcp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestOriginAllowed(t *testing.T) {
	for _, c := range []struct {
		origin  string
		allowed []string
		ok      bool
	}{
		{"http://localhost", nil, true},
		{"http://localhost:5173", nil, true},
		{"https://127.0.0.1:8443", nil, true},
		{"http://[::1]:3000", nil, true},
		{"http://localhost.evil.example", nil, false},
		{"https://evil.example", nil, false},
		{"null", nil, false},
		{"file://localhost", nil, false},
		{"https://app.example.com", []string{"https://app.example.com"}, true},
		{"https://APP.example.com", []string{"https://app.example.com/"}, true},
		{"http://localhost:5173", []string{"https://app.example.com"}, false},
		{"https://anything.example", []string{"*"}, true},
	} {
		if got := originAllowed(c.origin, c.allowed); got != c.ok {
			t.Errorf("originAllowed(%q, %v) = %v", c.origin, c.allowed, got)
		}
	}
}

func TestReadUpTo(t *testing.T) {
	body, truncated, err := readUpTo(strings.NewReader("hello"), 5)
	if err != nil || truncated || string(body) != "hello" {
		t.Fatalf("%q %v %v", body, truncated, err)
	}
	body, truncated, _ = readUpTo(strings.NewReader("hello!"), 5)
	if !truncated || string(body) != "hello" {
		t.Fatalf("%q %v", body, truncated)
	}
	// A character cut in two is dropped whole.
	for _, limit := range []int{6, 7} {
		body, truncated, _ = readUpTo(strings.NewReader("abcé…"), limit)
		if !truncated || string(body) != "abcé" {
			t.Fatalf("limit %d: %q %v", limit, body, truncated)
		}
	}
}

func TestArguments(t *testing.T) {
	for _, raw := range []string{"", "null", " {} "} {
		if args, err := arguments([]byte(raw)); err != nil || len(args) != 0 {
			t.Errorf("%q: %v %v", raw, args, err)
		}
	}
	if _, err := arguments([]byte(`[1]`)); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Errorf("array arguments: %v", err)
	}
	if args, err := arguments([]byte(`{"id":7}`)); err != nil || args["id"] != json.Number("7") {
		t.Errorf("%v %v", args, err)
	}
	if args, err := arguments([]byte(`{"id":9007199254740993}`)); err != nil || args["id"] != json.Number("9007199254740993") {
		t.Errorf("a big integer lost digits: %v %v", args, err)
	}
}

// arguments decodes what encoding/json with UseNumber decodes.
func FuzzArguments(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"b":[1,2.5e3,-0,{"c":null}],"d":"\u00e9\ud83d\ude00","e":true,"f":false}`,
		`{"a":1,"a":2}`, `{"s":"\ud800"}`, "{\"s\":\"\xff\"}", `{"a":{}}`, `[1]`, `{"a":}`, `{} x`, `{"\u0000":"\/"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := arguments(raw)
		var want map[string]any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		werr := dec.Decode(&want)
		if werr == nil && dec.More() {
			werr = errors.New("trailing data")
		}
		if werr == nil {
			_, werr = dec.Token()
			if werr == io.EOF {
				werr = nil
			} else if werr == nil {
				werr = errors.New("trailing data")
			}
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
			return // no arguments: an empty object, which encoding/json would not say
		}
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, encoding/json %v", raw, err, werr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %#v\nwant %#v", raw, got, want)
		}
	})
}

// peekBody reads a body of its declared length and puts it back; a body
// shorter than declared is not the gateway's to answer, and is put back
// as it came.
func TestPeekBody(t *testing.T) {
	req := func(body string, length int64) *http.Request {
		r := httptest.NewRequest("POST", "/mcp/t", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.ContentLength = length
		return r
	}
	r := req(`{"a":1}`, 7)
	if body, ok := peekBody(r, 1<<20); !ok || string(body) != `{"a":1}` {
		t.Errorf("whole body: %q %v", body, ok)
	}
	if again, _ := io.ReadAll(r.Body); string(again) != `{"a":1}` {
		t.Errorf("put back: %q", again)
	}
	r = req(`{"a"`, 100)
	if _, ok := peekBody(r, 1<<20); ok {
		t.Error("a body shorter than its Content-Length was taken")
	}
	if again, _ := io.ReadAll(r.Body); string(again) != `{"a"` {
		t.Errorf("put back: %q", again)
	}
	if _, ok := peekBody(req(`{}`, 2), 1); ok {
		t.Error("a body over the limit was taken")
	}
}
