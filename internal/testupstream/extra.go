package testupstream

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"
)

// SpeechChunks is what the fake's /v1/audio/speech streams: this many
// chunks of "audio-chunk-N;" as audio/mpeg, flushed one by one.
const SpeechChunks = 5

// openAIExtra answers the OpenAI endpoints that tidegate relays without
// modelling them (images, moderations, files, audio). It reports whether
// the path was one of them.
func openAIExtra(w http.ResponseWriter, r *http.Request, body []byte, model string, req map[string]any) bool {
	p := strings.TrimPrefix(r.URL.Path, "/v1")
	switch {
	case r.Method == http.MethodPost && p == "/images/generations":
		prompt, _ := req["prompt"].(string)
		writeJSON(w, map[string]any{"created": 1700000000, "data": []any{map[string]any{
			"b64_json": "aW1hZ2U=", "revised_prompt": prompt + " (model " + model + ")"}},
			"usage": map[string]any{"input_tokens": 10, "output_tokens": 100, "total_tokens": 110}})
	case r.Method == http.MethodPost && p == "/moderations":
		writeJSON(w, map[string]any{"id": "modr-1", "model": model, "results": []any{map[string]any{
			"flagged": false, "categories": map[string]any{}, "category_scores": map[string]any{}}}})
	case r.Method == http.MethodPost && p == "/files":
		mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "multipart/form-data" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"message":"expected multipart/form-data","type":"invalid_request_error","param":null,"code":null}}`)
			return true
		}
		mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
		out := map[string]any{"id": "file-abc123", "object": "file", "created_at": 1700000000, "status": "processed"}
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			data, _ := io.ReadAll(part)
			switch part.FormName() {
			case "purpose":
				out["purpose"] = string(data)
			case "file":
				out["filename"], out["bytes"] = part.FileName(), len(data)
			}
		}
		writeJSON(w, out)
	case r.Method == http.MethodGet && p == "/files":
		writeJSON(w, map[string]any{"object": "list", "data": []any{map[string]any{"id": "file-abc123", "object": "file",
			"bytes": 3, "created_at": 1700000000, "filename": "a.jsonl", "purpose": "batch", "status": "processed"}}, "has_more": false})
	case r.Method == http.MethodPost && p == "/audio/speech":
		w.Header().Set("Content-Type", "audio/mpeg")
		w.WriteHeader(http.StatusOK)
		f, _ := w.(http.Flusher)
		for i := range SpeechChunks {
			fmt.Fprintf(w, "audio-chunk-%d;", i)
			if f != nil {
				f.Flush()
			}
			time.Sleep(5 * time.Millisecond)
		}
	default:
		return false
	}
	return true
}
