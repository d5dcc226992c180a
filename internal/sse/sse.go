// Package sse reads and writes Server-Sent Events frames, the framing that
// both the OpenAI and the Anthropic streaming APIs use.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxFrame bounds one event's size, so a hostile or broken upstream cannot
// make the gateway buffer without limit.
const MaxFrame = 16 << 20

// ErrFrameTooLarge is returned when an event exceeds MaxFrame.
var ErrFrameTooLarge = errors.New("sse: event larger than 16 MiB")

// Frame is one event. Data joins multi-line data fields with "\n". Raw is
// the frame exactly as received, including its terminating blank line,
// normalised to "\n" line endings, for byte passthrough. Raw is freshly
// allocated per frame; Data may share its memory.
type Frame struct {
	Event string
	Data  []byte
	ID    string
	Raw   []byte
}

// Reader parses frames from a stream.
type Reader struct {
	r       *bufio.Reader
	scratch []byte // the frame being read; reused so a frame costs one allocation
	event   string // the last event name, reused when the next one is the same
}

// NewReader reads frames from r. The read buffer is sized for a typical
// frame (under 1 KB): it is allocated per stream, and a longer line is
// gathered across reads.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 4<<10)}
}

// maxScratch bounds the frame buffer kept between frames.
const maxScratch = 64 << 10

// Next returns the next frame that carries data or an event name. Comment
// lines (": keep-alive") and empty frames are skipped. It returns io.EOF
// at a clean end and io.ErrUnexpectedEOF if the stream ends mid-frame.
func (r *Reader) Next() (Frame, error) {
	var f Frame
	raw := r.scratch[:0]
	var joined []byte        // data of a frame with several data lines
	dataFrom, dataTo := 0, 0 // a single data line's value, within raw
	dataLines := 0
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && (dataLines > 0 || f.Event != "") {
				return Frame{}, io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		if len(line) == 0 { // end of frame
			if dataLines == 0 && f.Event == "" {
				raw = raw[:0]
				continue
			}
			raw = append(raw, '\n')
			f.Raw = bytes.Clone(raw)
			if cap(raw) <= maxScratch {
				r.scratch = raw
			}
			switch {
			case dataLines > 1:
				f.Data = joined
			case dataTo > dataFrom:
				f.Data = f.Raw[dataFrom:dataTo:dataTo]
			}
			return f, nil
		}
		if len(raw)+len(line) > MaxFrame {
			return Frame{}, ErrFrameTooLarge
		}
		if line[0] == ':' { // comment
			continue
		}
		lineAt := len(raw)
		raw = append(raw, line...)
		raw = append(raw, '\n')
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			valueAt := lineAt + len(line) - len(value)
			switch dataLines {
			case 0:
				dataFrom, dataTo = valueAt, valueAt+len(value)
			case 1:
				joined = append(append(append(joined, raw[dataFrom:dataTo]...), '\n'), value...)
			default:
				joined = append(append(joined, '\n'), value...)
			}
			dataLines++
		case "event":
			if string(value) != r.event {
				r.event = string(value)
			}
			f.Event = r.event
		case "id":
			f.ID = string(value)
		}
	}
}

// readLine returns one line without its terminator (\n, \r\n or \r is
// accepted as \n-terminated input from real servers uses \n or \r\n). The
// line is only valid until the next read.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull { // longer than the buffer: gather it
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(long) > MaxFrame {
				return nil, ErrFrameTooLarge
			}
			line, err = r.r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			// A last line without a newline: treat the stream as cut.
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// AppendFrame appends an SSE frame with an optional event name to dst.
// data must not contain newlines (compact JSON never does).
func AppendFrame(dst []byte, event string, data []byte) []byte {
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// Comment returns an SSE comment frame, used as a keep-alive.
func Comment(text string) []byte { return []byte(fmt.Sprintf(": %s\n\n", text)) }
