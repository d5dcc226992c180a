package ollama

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"

	"github.com/tidegate/tidegate/internal/llm"
)

// MaxLineSize is the longest NDJSON line the stream decoder accepts.
const MaxLineSize = 16 << 20

type blockKind uint8

const (
	blockNone blockKind = iota
	blockText
	blockThinking
)

// StreamDecoder turns an /api/chat NDJSON stream into canonical events.
// Thinking and text stream live as blocks; each tool call (Ollama sends
// them whole) becomes a block with a single arguments delta. It is pulled
// by Next and never starts goroutines.
type StreamDecoder struct {
	body      io.ReadCloser
	sc        *bufio.Scanner
	closeOnce sync.Once
	closeErr  error

	queue []llm.Event
	qpos  int
	err   error // terminal: io.EOF after a proper end, or an *llm.Error

	id        string
	ids       ids
	started   bool
	open      blockKind
	index     int // index of the next block
	toolCalls bool
}

// NewStreamDecoder returns a stream reading NDJSON from body. Close closes
// body.
func NewStreamDecoder(body io.ReadCloser) llm.Stream {
	sc := bufio.NewScanner(body)
	// Room for a line of MaxLineSize plus its "\r\n".
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineSize+2)
	return &StreamDecoder{body: body, sc: sc, id: messageID(), ids: newIDs()}
}

// Next returns the next event, io.EOF after the final done line, or an
// *llm.Error if the upstream failed or the stream was cut.
func (d *StreamDecoder) Next() (llm.Event, error) {
	for {
		if d.qpos < len(d.queue) {
			ev := d.queue[d.qpos]
			d.queue[d.qpos] = llm.Event{}
			d.qpos++
			return ev, nil
		}
		d.queue, d.qpos = d.queue[:0], 0
		if d.err != nil {
			return llm.Event{}, d.err
		}
		d.readLine()
	}
}

// Close closes the body; safe to call more than once.
func (d *StreamDecoder) Close() error {
	d.closeOnce.Do(func() { d.closeErr = d.body.Close() })
	return d.closeErr
}

// readLine consumes one line, queueing its events or setting d.err.
func (d *StreamDecoder) readLine() {
	if !d.sc.Scan() {
		err := d.sc.Err()
		switch {
		case err == nil:
			d.err = upstreamError("upstream stream ended before completion", nil)
		case errors.Is(err, bufio.ErrTooLong):
			d.err = upstreamError("upstream stream line exceeds 16 MiB", err)
		default:
			d.err = upstreamError("reading the upstream stream failed", err)
		}
		return
	}
	line := bytes.TrimSpace(d.sc.Bytes())
	if len(line) == 0 {
		return
	}
	var r chatResponse
	if err := json.Unmarshal(line, &r); err != nil {
		d.err = upstreamError("upstream returned invalid JSON", err)
		return
	}
	if e := inlineError(r.Error); e != nil {
		d.err = e
		return
	}
	if !d.started {
		d.started = true
		d.queue = append(d.queue, llm.Event{Type: llm.EventStart, ID: d.id, Model: r.Model})
	}
	if r.Message.Thinking != "" {
		d.delta(blockThinking, llm.PartThinking, r.Message.Thinking)
	}
	if r.Message.Content != "" {
		d.delta(blockText, llm.PartText, r.Message.Content)
	}
	for _, tc := range r.Message.ToolCalls {
		d.closeBlock()
		d.toolCalls = true
		i := d.index
		d.index++
		d.queue = append(d.queue,
			llm.Event{Type: llm.EventBlockStart, Index: i, Part: &llm.Part{Type: llm.PartToolCall,
				ToolCall: &llm.ToolCall{ID: d.ids.toolCallID(tc.ID), Name: tc.Function.Name}}},
			llm.Event{Type: llm.EventDelta, Index: i, Text: decodeArguments(tc.Function.Arguments)},
			llm.Event{Type: llm.EventBlockStop, Index: i},
		)
	}
	if r.Done {
		d.closeBlock()
		d.queue = append(d.queue, llm.Event{
			Type:       llm.EventFinish,
			StopReason: stopReason(r.DoneReason, d.toolCalls),
			Usage:      &llm.Usage{InputTokens: r.PromptEvalCount, OutputTokens: r.EvalCount},
		})
		d.err = io.EOF
	}
}

// delta appends text to a block of kind k, opening it (and closing any
// other open block) first.
func (d *StreamDecoder) delta(k blockKind, t llm.PartType, text string) {
	if d.open != k {
		d.closeBlock()
		d.open = k
		d.queue = append(d.queue, llm.Event{Type: llm.EventBlockStart, Index: d.index, Part: &llm.Part{Type: t}})
	}
	d.queue = append(d.queue, llm.Event{Type: llm.EventDelta, Index: d.index, Text: text})
}

func (d *StreamDecoder) closeBlock() {
	if d.open == blockNone {
		return
	}
	d.queue = append(d.queue, llm.Event{Type: llm.EventBlockStop, Index: d.index})
	d.open = blockNone
	d.index++
}
