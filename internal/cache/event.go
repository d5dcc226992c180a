package cache

import "github.com/tidegate/tidegate/internal/llm"

// Event is a canonical stream event as stored: only what an encoder needs
// to replay it (no upstream bytes).
type Event struct {
	Type      llm.EventType `json:"t"`
	Index     int           `json:"i,omitempty"`
	ID        string        `json:"id,omitempty"`
	Model     string        `json:"m,omitempty"`
	Part      *Part         `json:"p,omitempty"`
	Text      string        `json:"x,omitempty"`
	Signature string        `json:"sig,omitempty"`
	Stop      string        `json:"stop,omitempty"`
	StopSeq   string        `json:"seq,omitempty"`
	Usage     *llm.Usage    `json:"u,omitempty"`
}

// Part is a block's opening part.
type Part struct {
	Type      llm.PartType  `json:"t"`
	Text      string        `json:"x,omitempty"`
	Signature string        `json:"sig,omitempty"`
	Data      string        `json:"d,omitempty"`
	ToolCall  *llm.ToolCall `json:"tc,omitempty"`
}

// FromEvent keeps what a replay needs of ev; false for events without
// canonical meaning (upstream bytes only) and whole responses.
func FromEvent(ev llm.Event) (Event, bool) {
	if ev.Type == 0 || ev.Type == llm.EventResponse {
		return Event{}, false
	}
	e := Event{Type: ev.Type, Index: ev.Index, ID: ev.ID, Model: ev.Model, Text: ev.Text, Signature: ev.Signature,
		Stop: string(ev.StopReason), StopSeq: ev.StopSequence, Usage: ev.Usage}
	if p := ev.Part; p != nil {
		e.Part = &Part{Type: p.Type, Text: p.Text, Signature: p.Signature, Data: p.Data, ToolCall: p.ToolCall}
	}
	return e, true
}

// Event returns the canonical event.
func (e Event) Event() llm.Event {
	ev := llm.Event{Type: e.Type, Index: e.Index, ID: e.ID, Model: e.Model, Text: e.Text, Signature: e.Signature,
		StopReason: llm.StopReason(e.Stop), StopSequence: e.StopSeq, Usage: e.Usage}
	if p := e.Part; p != nil {
		ev.Part = &llm.Part{Type: p.Type, Text: p.Text, Signature: p.Signature, Data: p.Data, ToolCall: p.ToolCall}
	}
	return ev
}
