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
// normalised to "\n" line endings, for byte passthrough.
type Frame struct {
	Event string
	Data  []byte
	ID    string
	Raw   []byte
}

// Reader parses frames from a stream.
type Reader struct {
	r *bufio.Reader
}

// NewReader reads frames from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 32<<10)}
}

// Next returns the next frame that carries data or an event name. Comment
// lines (": keep-alive") and empty frames are skipped. It returns io.EOF
// at a clean end and io.ErrUnexpectedEOF if the stream ends mid-frame.
// The returned slices stay valid until the next call only if the caller
// does not retain them; they are freshly allocated per frame.
func (r *Reader) Next() (Frame, error) {
	var f Frame
	var raw bytes.Buffer
	var data []byte
	hasData := false
	for {
		line, err := r.readLine()
		if err != nil {
			if err == io.EOF && (hasData || f.Event != "") {
				return Frame{}, io.ErrUnexpectedEOF
			}
			return Frame{}, err
		}
		if len(line) == 0 { // end of frame
			if !hasData && f.Event == "" {
				raw.Reset()
				continue
			}
			raw.WriteByte('\n')
			f.Data = data
			f.Raw = raw.Bytes()
			return f, nil
		}
		if raw.Len()+len(line) > MaxFrame {
			return Frame{}, ErrFrameTooLarge
		}
		if line[0] == ':' { // comment
			continue
		}
		raw.Write(line)
		raw.WriteByte('\n')
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		case "event":
			f.Event = string(value)
		case "id":
			f.ID = string(value)
		}
	}
}

// readLine returns one line without its terminator (\n, \r\n or \r is
// accepted as \n-terminated input from real servers uses \n or \r\n).
func (r *Reader) readLine() ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.r.ReadSlice('\n')
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			if len(line) > MaxFrame {
				return nil, ErrFrameTooLarge
			}
			continue
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
