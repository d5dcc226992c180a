package tokens

import (
	"testing"

	"github.com/tidegate/tidegate/internal/llm"
)

func TestCounts(t *testing.T) {
	c := New()
	n, err := c.Text("hello world")
	if err != nil || n != 2 {
		t.Fatalf("hello world: %d %v", n, err)
	}
	req := &llm.Request{Messages: []llm.Message{
		{Role: llm.RoleSystem, Content: []llm.Part{llm.TextPart("Be brief.")}},
		{Role: llm.RoleUser, Content: []llm.Part{llm.TextPart("hello world"), {Type: llm.PartImage, Image: &llm.Image{URL: "http://x"}}}},
	}, Tools: []llm.Tool{{Name: "get_weather", Parameters: []byte(`{"type":"object"}`)}}}
	total, err := c.Request(req)
	if err != nil {
		t.Fatal(err)
	}
	// 3 reply + 2×3 framing + "Be brief." + "hello world" + image + tool name and schema
	if total < 3+6+2+2+perImage+2 || total > 3+6+2+2+perImage+20 {
		t.Fatalf("total %d out of range", total)
	}
}
