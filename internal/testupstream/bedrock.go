package testupstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Credentials the fake Bedrock upstream accepts.
const (
	BedrockAccessKeyID     = "AKIDTIDEGATEFAKE0001"
	BedrockSecretAccessKey = "fake/secret/tidegate+bedrock/0123456789ab"
)

// bedrockVerify checks the SigV4 signature by signing the same request
// again with the same signer and the known secret. It returns a reason
// when the signature is wrong.
func bedrockVerify(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	if auth == "Bearer "+BedrockAccessKeyID { // Bedrock API keys
		return ""
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		return "missing SigV4 authorization"
	}
	var scope, signed string
	for _, f := range strings.Split(strings.TrimPrefix(auth, "AWS4-HMAC-SHA256 "), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			scope = v
		case "SignedHeaders":
			signed = v
		}
	}
	parts := strings.Split(scope, "/") // AKID/date/region/service/aws4_request
	if len(parts) != 5 || parts[0] != BedrockAccessKeyID || parts[3] != "bedrock" {
		return "bad credential scope " + scope
	}
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "bad X-Amz-Date"
	}
	sum := sha256.Sum256(body)
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	clone, _ := http.NewRequest(r.Method, u.String(), bytes.NewReader(body))
	clone.Host = r.Host
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: BedrockAccessKeyID, SecretAccessKey: BedrockSecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, clone, hex.EncodeToString(sum[:]), "bedrock", parts[2], when); err != nil {
		return err.Error()
	}
	if clone.Header.Get("Authorization") != auth {
		return "The request signature we calculated does not match the signature you provided."
	}
	return ""
}

func bedrockUsage(u Usage) map[string]any {
	return map[string]any{"inputTokens": u.Input, "outputTokens": u.Output, "totalTokens": u.Input + u.Output + u.CacheRead + u.CacheWrite,
		"cacheReadInputTokens": u.CacheRead, "cacheWriteInputTokens": u.CacheWrite}
}

func bedrockStop(rep Reply) string { return anthropicStop(rep) }

func bedrockMessage(rep Reply) map[string]any {
	var content []any
	if rep.Thinking != "" {
		content = append(content, map[string]any{"reasoningContent": map[string]any{"reasoningText": map[string]any{"text": rep.Thinking, "signature": "sig-1"}}})
	}
	if rep.Text != "" {
		content = append(content, map[string]any{"text": rep.Text})
	}
	for _, tc := range rep.ToolCalls {
		var input any
		_ = json.Unmarshal([]byte(tc.Args), &input)
		content = append(content, map[string]any{"toolUse": map[string]any{"toolUseId": tc.ID, "name": tc.Name, "input": input}})
	}
	return map[string]any{"output": map[string]any{"message": map[string]any{"role": "assistant", "content": content}},
		"stopReason": bedrockStop(rep), "usage": bedrockUsage(usageOr(rep.Usage)), "metrics": map[string]any{"latencyMs": 12}}
}

// bedrockFrame encodes one event-stream message.
func bedrockFrame(eventType string, payload any) string {
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("event"))
	msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload, _ = json.Marshal(payload)
	var buf bytes.Buffer
	_ = eventstream.NewEncoder().Encode(&buf, msg)
	return buf.String()
}

// BedrockException encodes an in-stream exception message.
func BedrockException(name, message string) string {
	var msg eventstream.Message
	msg.Headers.Set(":message-type", eventstream.StringValue("exception"))
	msg.Headers.Set(":exception-type", eventstream.StringValue(name))
	msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	msg.Payload, _ = json.Marshal(map[string]string{"message": message})
	var buf bytes.Buffer
	_ = eventstream.NewEncoder().Encode(&buf, msg)
	return buf.String()
}

func (s *Server) bedrockStream(w http.ResponseWriter, r *http.Request, rep Reply) {
	e := s.startStream(w, r, rep, "application/vnd.amazon.eventstream")
	if !e.write(bedrockFrame("messageStart", map[string]any{"role": "assistant"})) {
		return
	}
	idx := 0
	delta := func(d map[string]any) bool {
		return e.write(bedrockFrame("contentBlockDelta", map[string]any{"contentBlockIndex": idx, "delta": d}))
	}
	stop := func() bool {
		ok := e.write(bedrockFrame("contentBlockStop", map[string]any{"contentBlockIndex": idx}))
		idx++
		return ok
	}
	if rep.Thinking != "" {
		for _, t := range words(rep.Thinking) {
			if !delta(map[string]any{"reasoningContent": map[string]any{"text": t}}) {
				return
			}
		}
		if !delta(map[string]any{"reasoningContent": map[string]any{"signature": "sig-1"}}) || !stop() {
			return
		}
	}
	if rep.Text != "" {
		for _, t := range words(rep.Text) {
			if !delta(map[string]any{"text": t}) {
				return
			}
		}
		if !stop() {
			return
		}
	}
	for _, tc := range rep.ToolCalls {
		if !e.write(bedrockFrame("contentBlockStart", map[string]any{"contentBlockIndex": idx,
			"start": map[string]any{"toolUse": map[string]any{"toolUseId": tc.ID, "name": tc.Name}}})) {
			return
		}
		for _, a := range fragments(tc.Args, 7) {
			if !delta(map[string]any{"toolUse": map[string]any{"input": a}}) {
				return
			}
		}
		if !stop() {
			return
		}
	}
	if !e.write(bedrockFrame("messageStop", map[string]any{"stopReason": bedrockStop(rep)})) {
		return
	}
	e.write(bedrockFrame("metadata", map[string]any{"usage": bedrockUsage(usageOr(rep.Usage)), "metrics": map[string]any{"latencyMs": 12}}))
}

// serveBedrock answers /model/{id}/converse and /converse-stream after
// checking the signature; false when the path is not one of them.
func (s *Server) serveBedrock(w http.ResponseWriter, r *http.Request, rep Reply, body []byte) bool {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/model/")
	if !ok {
		return false
	}
	id, op, ok := strings.Cut(rest, "/")
	if !ok {
		return false
	}
	if _, err := url.PathUnescape(id); err != nil {
		return false
	}
	if reason := bedrockVerify(r, body); reason != "" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-ErrorType", "InvalidSignatureException")
		w.WriteHeader(http.StatusForbidden)
		b, _ := json.Marshal(map[string]string{"message": reason})
		w.Write(b)
		return true
	}
	switch op {
	case "converse":
		writeJSON(w, bedrockMessage(rep))
	case "converse-stream":
		s.bedrockStream(w, r, rep)
	default:
		return false
	}
	return true
}
