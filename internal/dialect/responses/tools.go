package responses

import (
	"encoding/json"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/dialect/oaierr"
	"github.com/tidegate/tidegate/internal/dialect/openai"
	"github.com/tidegate/tidegate/internal/llm"
)

// ToolName is the Responses form of a canonical tool name.
type ToolName struct {
	Namespace string // "" for a top-level tool
	Name      string
	// Custom: a custom (freeform) tool, whose canonical arguments are
	// {"input": "<the freeform text>"}.
	Custom bool
}

// Tools maps the canonical names of a request's namespaced and custom
// tools to their Responses form; plain top-level functions are not in it.
type Tools map[string]ToolName

// flatName is the canonical name of function name in namespace ns. The
// way back goes through Tools, never by splitting.
func flatName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "__" + name
}

// customParams is the argument schema of a custom tool's function.
const customParams = `{"type":"object","properties":{"input":{"type":"string","description":"The tool's freeform input."}},"required":["input"],"additionalProperties":false}`

// ToolsOf reads the mapping from a request body (nil when every tool is a
// plain function). Encoders use it to name the calls they render.
func ToolsOf(body []byte) Tools {
	var out Tools
	add := func(flat string, n ToolName) {
		if out == nil {
			out = Tools{}
		}
		out[flat] = n
	}
	gjson.GetBytes(body, "tools").ForEach(func(_, t gjson.Result) bool {
		switch t.Get("type").Str {
		case "custom":
			add(t.Get("name").Str, ToolName{Name: t.Get("name").Str, Custom: true})
		case "namespace":
			ns := t.Get("name").Str
			t.Get("tools").ForEach(func(_, f gjson.Result) bool {
				name := f.Get("name").Str
				add(flatName(ns, name), ToolName{Namespace: ns, Name: name, Custom: f.Get("type").Str == "custom"})
				return true
			})
		}
		return true
	})
	return out
}

// hostedTool reports the tool types OpenAI runs itself. A translated
// model cannot, so they are dropped from requests, and the replayed
// items of their calls are skipped (hostedItem).
func hostedTool(typ string) bool {
	switch typ {
	case "web_search", "web_search_preview", "web_search_2025_08_26", "web_search_preview_2025_03_11",
		"file_search", "computer_use_preview", "computer_use", "code_interpreter", "image_generation",
		"mcp", "local_shell", "shell", "apply_patch", "tool_search":
		return true
	}
	return false
}

// hostedItem reports the replayed items of hosted tools; see hostedTool.
func hostedItem(typ string) bool {
	switch typ {
	case "web_search_call", "file_search_call", "computer_call", "computer_call_output",
		"code_interpreter_call", "image_generation_call", "local_shell_call", "local_shell_call_output",
		"mcp_call", "mcp_list_tools", "mcp_approval_request", "mcp_approval_response", "shell_call",
		"shell_call_output", "apply_patch_call", "apply_patch_call_output", "compaction",
		"tool_search_call", "tool_search_output":
		return true
	}
	return false
}

func decodeTools(v gjson.Result) ([]llm.Tool, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case !v.IsArray():
		return nil, oaierr.Type("tools", "an array", v)
	}
	var tools []llm.Tool
	var err *llm.Error
	i := 0
	v.ForEach(func(_, t gjson.Result) bool {
		tools, err = decodeTool(t, "", tools)
		err = within(within(err, oaierr.At(i)), "tools")
		i++
		return err == nil
	})
	return tools, err
}

// decodeTool appends the canonical tools of t (one, none for a hosted
// tool, or a namespace's functions) to tools.
func decodeTool(t gjson.Result, ns string, tools []llm.Tool) ([]llm.Tool, *llm.Error) {
	if !t.IsObject() {
		return tools, oaierr.Type("", "an object", t)
	}
	typ, err := requireString("type", t.Get("type"))
	if err != nil {
		return tools, err
	}
	switch {
	case typ == "function" || typ == "custom":
		tool := llm.Tool{}
		if tool.Name, err = requireString("name", t.Get("name")); err != nil {
			return tools, err
		}
		tool.Name = flatName(ns, tool.Name)
		if tool.Description, _, err = oaierr.String("description", t.Get("description")); err != nil {
			return tools, err
		}
		if typ == "custom" {
			tool.Parameters = json.RawMessage(customParams)
			return append(tools, tool), nil
		}
		switch p := t.Get("parameters"); {
		case p.IsObject():
			tool.Parameters = json.RawMessage(p.Raw)
		case p.Exists() && p.Type != gjson.Null:
			return tools, oaierr.Type("parameters", "an object", p)
		}
		if tool.Strict, err = getBool("strict", t.Get("strict")); err != nil {
			return tools, err
		}
		return append(tools, tool), nil
	case typ == "namespace" && ns == "":
		name, err := requireString("name", t.Get("name"))
		if err != nil {
			return tools, err
		}
		nested := t.Get("tools")
		if !nested.IsArray() {
			return tools, oaierr.Type("tools", "an array", nested)
		}
		i := 0
		nested.ForEach(func(_, f gjson.Result) bool {
			tools, err = decodeTool(f, name, tools)
			err = within(within(err, oaierr.At(i)), "tools")
			i++
			return err == nil
		})
		return tools, err
	case hostedTool(typ) && ns == "":
		return tools, nil // dropped: see hostedTool
	}
	return tools, oaierr.Unsupported("type", "Tool type '"+typ+"' is not supported by this gateway.")
}

func decodeToolChoice(v gjson.Result) (*llm.ToolChoice, *llm.Error) {
	switch {
	case v.Type == gjson.Null:
		return nil, nil
	case v.Type == gjson.String:
		return openai.ToolChoiceMode(v.Str)
	case !v.IsObject():
		return nil, oaierr.Type("tool_choice", "one of a string or object", v)
	}
	typ, err := requireString("tool_choice.type", v.Get("type"))
	if err != nil {
		return nil, err
	}
	switch typ {
	case "function", "custom":
		name, err := requireString("tool_choice.name", v.Get("name"))
		if err != nil {
			return nil, err
		}
		ns, _, err := oaierr.String("tool_choice.namespace", v.Get("namespace"))
		if err != nil {
			return nil, err
		}
		return &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: flatName(ns, name)}, nil
	case "allowed_tools":
		// The subset cannot be expressed canonically; its mode can.
		if v.Get("mode").Str == "required" {
			return &llm.ToolChoice{Mode: llm.ToolChoiceRequired}, nil
		}
		return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil
	}
	if hostedTool(typ) {
		return &llm.ToolChoice{Mode: llm.ToolChoiceAuto}, nil // its tool was dropped
	}
	return nil, oaierr.Unsupported("tool_choice.type", "tool_choice of type '"+typ+"' is not supported by this gateway.")
}
