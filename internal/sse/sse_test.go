package sse

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReaderFrames(t *testing.T) {
	in := ": keep-alive\n\nevent: message_start\ndata: {\"a\":1}\n\ndata: line1\r\ndata: line2\r\n\r\nid: 7\ndata: [DONE]\n\n"
	r := NewReader(strings.NewReader(in))
	f, err := r.Next()
	if err != nil || f.Event != "message_start" || string(f.Data) != `{"a":1}` {
		t.Fatalf("frame 1: %+v %v", f, err)
	}
	if string(f.Raw) != "event: message_start\ndata: {\"a\":1}\n\n" {
		t.Fatalf("raw 1: %q", f.Raw)
	}
	f, err = r.Next()
	if err != nil || string(f.Data) != "line1\nline2" {
		t.Fatalf("frame 2: %+v %v", f, err)
	}
	f, err = r.Next()
	if err != nil || f.ID != "7" || string(f.Data) != "[DONE]" {
		t.Fatalf("frame 3: %+v %v", f, err)
	}
	if _, err = r.Next(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestReaderCutMidFrame(t *testing.T) {
	for _, in := range []string{"data: {\"a\":", "data: x\n", "event: e\n"} {
		r := NewReader(strings.NewReader(in))
		if _, err := r.Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%q: want ErrUnexpectedEOF, got %v", in, err)
		}
	}
}

func TestReaderFrameTooLarge(t *testing.T) {
	big := "data: " + strings.Repeat("x", MaxFrame+10) + "\n\n"
	if _, err := NewReader(strings.NewReader(big)).Next(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("want ErrFrameTooLarge, got %v", err)
	}
}

func TestAppendFrame(t *testing.T) {
	got := string(AppendFrame(nil, "ping", []byte(`{"type":"ping"}`)))
	if got != "event: ping\ndata: {\"type\":\"ping\"}\n\n" {
		t.Fatalf("got %q", got)
	}
	if got := string(AppendFrame(nil, "", []byte("[DONE]"))); got != "data: [DONE]\n\n" {
		t.Fatalf("got %q", got)
	}
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("event: a\ndata: b\n\n"))
	f.Add([]byte("data: [DONE]\n\n: c\n\n"))
	f.Add([]byte("data:\r\n\r\ndata"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(strings.NewReader(string(in)))
		for i := 0; i < 1000; i++ {
			f, err := r.Next()
			if err != nil {
				return
			}
			if len(f.Raw) == 0 {
				t.Fatal("frame without raw bytes")
			}
		}
	})
}
