package bedrock

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"

	"github.com/tidegate/tidegate/internal/llm"
)

// DecodeResponse decodes a whole Converse answer; an invalid body is a
// KindUpstream error. Converse has no response ID, so one is made.
func DecodeResponse(body []byte) (*llm.Response, error) {
	var r response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, &llm.Error{Kind: llm.KindUpstream, Message: "upstream sent an invalid Converse response", Err: err}
	}
	out := &llm.Response{ID: messageID(), StopReason: stopReason(r.StopReason), Usage: r.Usage.canonical()}
	if m := r.Output.Message; m != nil {
		for _, b := range m.Content {
			switch {
			case b.Text != "":
				out.Content = append(out.Content, llm.TextPart(b.Text))
			case b.ToolUse != nil:
				id := b.ToolUse.ToolUseID
				if id == "" {
					id = "tooluse_" + messageID()[8:]
				}
				out.Content = append(out.Content, llm.Part{Type: llm.PartToolCall,
					ToolCall: &llm.ToolCall{ID: id, Name: b.ToolUse.Name, Arguments: toolArgs(b.ToolUse.Input)}})
			case b.ReasoningContent != nil:
				rc := b.ReasoningContent
				if rt := rc.ReasoningText; rt != nil && (rt.Text != "" || rt.Signature != "") {
					out.Content = append(out.Content, llm.Part{Type: llm.PartThinking, Text: rt.Text, Signature: rt.Signature})
				} else if rc.RedactedContent != "" {
					out.Content = append(out.Content, llm.Part{Type: llm.PartRedactedThinking, Data: rc.RedactedContent})
				}
			}
		}
	}
	return out, nil
}

func messageID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "bedrock-" + hex.EncodeToString(b[:])
}
