package sdk_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// The OpenAI endpoints tidegate relays without modelling them: images,
// moderations, files, audio. The official SDK is the client; the fake
// OpenAI upstream must see the gateway's key and never the caller's.

func assertUpstreamKey(t *testing.T, rec testupstream.Recorded) {
	t.Helper()
	if got := rec.Header.Get("Authorization"); got != "Bearer "+testgateway.OpenAIKey {
		t.Errorf("upstream Authorization %q, want the gateway's key", got)
	}
	for k, v := range rec.Header {
		if strings.Contains(strings.Join(v, " "), callerKey) {
			t.Errorf("the caller's key reached the upstream in %s", k)
		}
	}
}

func TestImagesGenerations(t *testing.T) {
	g := start(t)
	resp, err := oaiClient(g).Images.Generate(t.Context(), openai.ImageGenerateParams{
		Model: "openai/gpt-image-1", Prompt: "a lighthouse at dawn",
	})
	if err != nil {
		t.Fatalf("images: %v", err)
	}
	if len(resp.Data) != 1 || resp.Data[0].B64JSON != "aW1hZ2U=" {
		t.Fatalf("data %+v", resp.Data)
	}
	assertEq(t, "revised prompt (upstream model)", resp.Data[0].RevisedPrompt, "a lighthouse at dawn (model gpt-image-1)")
	assertEq(t, "usage relayed", resp.Usage.TotalTokens, int64(110))
	rec := onlyRequest(t, g.OpenAI)
	assertEq(t, "upstream path", rec.Path, "/v1/images/generations")
	assertJSONPath(t, rec.Body, "model", `"gpt-image-1"`)
	assertJSONPath(t, rec.Body, "prompt", `"a lighthouse at dawn"`)
	assertUpstreamKey(t, rec)
}

// A model whose providers have no images endpoint is a clear 400 in
// OpenAI's shape, and nothing goes upstream.
func TestImagesUnsupportedProvider(t *testing.T) {
	g := start(t)
	for _, model := range []string{modelClaude, modelEcho, modelLlama} {
		_, err := oaiClient(g).Images.Generate(t.Context(), openai.ImageGenerateParams{Model: openai.ImageModel(model), Prompt: "x"})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Param != "model" ||
			!strings.Contains(apiErr.Message, "OpenAI-type provider") {
			t.Errorf("%s: %v, want a 400 naming the model", model, err)
		}
	}
	_, err := oaiClient(g).Images.Generate(t.Context(), openai.ImageGenerateParams{Model: "no-such-model", Prompt: "x"})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("unknown model: %v, want 404", err)
	}
	if n := len(requests(g.OpenAI)) + len(requests(g.Anthropic)) + len(requests(g.Ollama)); n != 0 {
		t.Errorf("%d requests went upstream", n)
	}
}

func TestModerations(t *testing.T) {
	g := start(t)
	resp, err := oaiClient(g).Moderations.New(t.Context(), openai.ModerationNewParams{
		Model: "openai/omni-moderation-latest",
		Input: openai.ModerationNewParamsInputUnion{OfString: openai.String("hello")},
	})
	if err != nil {
		t.Fatal(err)
	}
	assertEq(t, "model", resp.Model, "omni-moderation-latest")
	assertEq(t, "results", len(resp.Results), 1)
	assertUpstreamKey(t, onlyRequest(t, g.OpenAI))
}

// Multipart uploads stream through untouched to the only OpenAI-type
// provider, or to the one the x-tidegate-provider header names.
func TestFilesMultipart(t *testing.T) {
	g := start(t)
	content := bytes.Repeat([]byte(`{"custom_id":"1"}`+"\n"), 1000)
	for _, opts := range [][]option.RequestOption{nil, {option.WithHeader("x-tidegate-provider", "oai")}} {
		f, err := oaiClient(g, opts...).Files.New(t.Context(), openai.FileNewParams{
			File: openai.File(bytes.NewReader(content), "batch.jsonl", "application/jsonl"), Purpose: openai.FilePurposeBatch,
		})
		if err != nil {
			t.Fatalf("files: %v", err)
		}
		assertEq(t, "id", f.ID, "file-abc123")
		assertEq(t, "bytes", f.Bytes, int64(len(content)))
		assertEq(t, "filename", f.Filename, "batch.jsonl")
		assertEq(t, "purpose", string(f.Purpose), "batch")
	}
	recs := requests(g.OpenAI)
	assertEq(t, "upstream requests", len(recs), 2)
	for _, rec := range recs {
		assertEq(t, "path", rec.Path, "/v1/files")
		assertUpstreamKey(t, rec)
	}
	page, err := oaiClient(g).Files.List(t.Context(), openai.FileListParams{})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("list: %v %+v", err, page)
	}

	_, err = oaiClient(g, option.WithHeader("x-tidegate-provider", "ant")).Files.List(t.Context(), openai.FileListParams{})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("anthropic provider for files: %v, want 400", err)
	}
	_, err = oaiClient(g, option.WithHeader("x-tidegate-provider", "nope")).Files.List(t.Context(), openai.FileListParams{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown provider: %v, want 400", err)
	}
}

// Audio comes back as the upstream streams it, bytes untouched.
func TestAudioSpeechStream(t *testing.T) {
	g := start(t)
	resp, err := oaiClient(g).Audio.Speech.New(t.Context(), openai.AudioSpeechNewParams{
		Model: "openai/tts-1", Input: "Hello", Voice: openai.AudioSpeechNewParamsVoiceUnion{OfString: openai.String("alloy")},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	audio, _ := io.ReadAll(resp.Body)
	var want strings.Builder
	for i := range testupstream.SpeechChunks {
		want.WriteString("audio-chunk-" + string(rune('0'+i)) + ";")
	}
	assertEq(t, "audio", string(audio), want.String())
	assertEq(t, "content type", resp.Header.Get("Content-Type"), "audio/mpeg")
	assertEq(t, "provider header", resp.Header.Get("x-tidegate-provider"), "oai")
	rec := onlyRequest(t, g.OpenAI)
	assertJSONPath(t, rec.Body, "model", `"tts-1"`)
	assertUpstreamKey(t, rec)
}

// Upstream errors are relayed with their status and OpenAI body.
func TestPassthroughUpstreamError(t *testing.T) {
	g := start(t)
	g.OpenAI.Set(testupstream.Reply{Status: http.StatusBadRequest,
		ErrorBody: `{"error":{"message":"Your prompt was rejected by the safety system.","type":"image_generation_user_error","param":null,"code":"content_policy_violation"}}`})
	_, err := oaiClient(g).Images.Generate(t.Context(), openai.ImageGenerateParams{Model: "openai/dall-e-3", Prompt: "x"})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Code != "content_policy_violation" {
		t.Fatalf("got %v, want the upstream's 400", err)
	}
	if gjson.Get(apiErr.RawJSON(), "message").Str != "Your prompt was rejected by the safety system." {
		t.Errorf("error body %s", apiErr.RawJSON())
	}
}
