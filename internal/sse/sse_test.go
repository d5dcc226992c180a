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

// Frames read earlier stay intact: the reader reuses its buffer, not the
// frames it returned.
func TestReaderFramesOutliveTheNext(t *testing.T) {
	long := strings.Repeat("y", 40<<10) // longer than the read buffer
	in := "event: a\ndata: one\n\ndata: 1\ndata:\ndata: 3\n\nevent: a\ndata: " + long + "\n\ndata:\n\n"
	r := NewReader(strings.NewReader(in))
	var frames []Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	want := []struct{ event, data, raw string }{
		{"a", "one", "event: a\ndata: one\n\n"},
		{"", "1\n\n3", "data: 1\ndata:\ndata: 3\n\n"},
		{"a", long, "event: a\ndata: " + long + "\n\n"},
		{"", "", "data:\n\n"},
	}
	if len(frames) != len(want) {
		t.Fatalf("got %d frames, want %d", len(frames), len(want))
	}
	for i, w := range want {
		f := frames[i]
		if f.Event != w.event || string(f.Data) != w.data || string(f.Raw) != w.raw {
			t.Errorf("frame %d: event %q data %.20q raw %.40q", i, f.Event, f.Data, f.Raw)
		}
	}
	if frames[3].Data != nil {
		t.Errorf("an empty data line gives nil data, got %q", frames[3].Data)
	}
}

func BenchmarkReader(b *testing.B) {
	frame := "data: " + `{"id":"chatcmpl-1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":" word"},"finish_reason":null}]}` + "\n\n"
	in := strings.Repeat(frame, 70)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		r := NewReader(strings.NewReader(in))
		for {
			if _, err := r.Next(); err != nil {
				break
			}
		}
	}
}
