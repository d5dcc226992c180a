package sdk_test

import (
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// The Responses API (/v1/responses) through the gateway, with the official
// SDK's Responses client, translated to every upstream dialect.

func responsesWeatherTool() responses.ToolUnionParam {
	return responses.ToolUnionParam{OfFunction: &responses.FunctionToolParam{
		Name:        "get_weather",
		Description: openai.String("Weather for a city"),
		Strict:      openai.Bool(false),
		Parameters: map[string]any{"type": "object",
			"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}},
	}}
}

func TestResponsesNonStream(t *testing.T) {
	for _, rt := range upstreamRoutes {
		t.Run(rt.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			rt.fake(g).Set(testupstream.Reply{Text: "Hello from the upstream.", Usage: testupstream.Usage{Input: 12, Output: 5}})
			resp, err := oaiClient(g).Responses.New(t.Context(), responses.ResponseNewParams{
				Model:           rt.model,
				Instructions:    openai.String("Be brief."),
				Input:           responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi there")},
				MaxOutputTokens: openai.Int(200),
			})
			if err != nil {
				t.Fatalf("responses: %v", err)
			}
			assertEq(t, "output text", resp.OutputText(), "Hello from the upstream.")
			assertEq(t, "status", string(resp.Status), "completed")
			assertEq(t, "object", string(resp.Object), "response")
			if !strings.HasPrefix(resp.ID, "resp_") {
				t.Errorf("id %q, want resp_…", resp.ID)
			}
			assertEq(t, "input tokens", resp.Usage.InputTokens, int64(12))
			assertEq(t, "output tokens", resp.Usage.OutputTokens, int64(5))
			assertEq(t, "total tokens", resp.Usage.TotalTokens, int64(17))
			if len(resp.Output) != 1 || resp.Output[0].Type != "message" || resp.Output[0].Role != "assistant" {
				t.Errorf("output %+v, want one assistant message", resp.Output)
			}
			body := onlyRequest(t, rt.fake(g)).Body
			switch rt.model {
			case modelClaude:
				assertJSONPath(t, body, "system", `"Be brief."`)
				assertJSONPath(t, body, "messages", `[{"role":"user","content":[{"type":"text","text":"Hi there"}]}]`)
				assertJSONPath(t, body, "max_tokens", `200`)
			case modelGPT:
				assertJSONPath(t, body, "messages", `[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi there"}]`)
			}
		})
	}
}

// streamTypes collects a Responses stream's events and checks what every
// consumer relies on: sequence numbers from 0 without gaps, and a final
// response.completed.
func streamEvents(t *testing.T, s interface {
	Next() bool
	Current() responses.ResponseStreamEventUnion
	Err() error
}) []responses.ResponseStreamEventUnion {
	t.Helper()
	var evs []responses.ResponseStreamEventUnion
	for s.Next() {
		ev := s.Current()
		if ev.SequenceNumber != int64(len(evs)) {
			t.Errorf("event %d (%s) has sequence_number %d", len(evs), ev.Type, ev.SequenceNumber)
		}
		evs = append(evs, ev)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return evs
}

func types(evs []responses.ResponseStreamEventUnion) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Type
	}
	return out
}

func TestResponsesStream(t *testing.T) {
	for _, rt := range upstreamRoutes {
		t.Run(rt.model, func(t *testing.T) {
			t.Parallel()
			g := start(t)
			rt.fake(g).Set(testupstream.Reply{Text: "Streaming hello from the upstream.", Usage: testupstream.Usage{Input: 9, Output: 6}})
			s := oaiClient(g).Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
				Model: rt.model,
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
			})
			evs := streamEvents(t, s)
			got := types(evs)
			var deltas strings.Builder
			var middle []string
			for _, ev := range evs {
				if ev.Type == "response.output_text.delta" {
					deltas.WriteString(ev.Delta)
				} else {
					middle = append(middle, ev.Type)
				}
			}
			want := []string{"response.created", "response.in_progress", "response.output_item.added",
				"response.content_part.added", "response.output_text.done", "response.content_part.done",
				"response.output_item.done", "response.completed"}
			if strings.Join(middle, " ") != strings.Join(want, " ") {
				t.Errorf("events %v\nwant (besides deltas) %v", got, want)
			}
			assertEq(t, "deltas", deltas.String(), "Streaming hello from the upstream.")
			last := evs[len(evs)-1]
			assertEq(t, "completed text", last.Response.OutputText(), "Streaming hello from the upstream.")
			assertEq(t, "completed status", string(last.Response.Status), "completed")
			assertEq(t, "usage input", last.Response.Usage.InputTokens, int64(9))
			assertEq(t, "usage output", last.Response.Usage.OutputTokens, int64(6))
			done := evs[len(evs)-2]
			assertEq(t, "item done text", done.Item.Content[0].Text, "Streaming hello from the upstream.")
			assertEq(t, "item done status", done.Item.Status, "completed")
			assertEq(t, "created id = completed id", evs[0].Response.ID, last.Response.ID)
		})
	}
}

// TestResponsesToolRoundTrip: the model calls a function; the client runs
// it and sends the call and its output back by call_id; the upstream sees
// a proper tool turn, in stream and non-stream mode.
func TestResponsesToolRoundTrip(t *testing.T) {
	for _, rt := range []route{routeGPT, routeClaude} {
		for _, stream := range []bool{false, true} {
			name := rt.model + "/nonstream"
			if stream {
				name = rt.model + "/stream"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				g := start(t)
				fake := rt.fake(g)
				fake.Script(
					testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "call_w1", Name: "get_weather", Args: `{"city":"Paris"}`}}},
					testupstream.Reply{Text: "It is sunny in Paris."},
				)
				c := oaiClient(g)
				params := responses.ResponseNewParams{
					Model: rt.model,
					Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
						responses.ResponseInputItemParamOfMessage("Weather in Paris?", responses.EasyInputMessageRoleUser),
					}},
					Tools: []responses.ToolUnionParam{responsesWeatherTool()},
				}
				var first *responses.Response
				if stream {
					evs := streamEvents(t, c.Responses.NewStreaming(t.Context(), params))
					var args strings.Builder
					var doneArgs, doneName string
					for _, ev := range evs {
						switch ev.Type {
						case "response.function_call_arguments.delta":
							args.WriteString(ev.Delta)
						case "response.function_call_arguments.done":
							doneArgs, doneName = ev.Arguments, gjson.Get(ev.RawJSON(), "name").Str
						case "response.output_item.done":
							assertEq(t, "item done type", ev.Item.Type, "function_call")
							assertEq(t, "item done call_id", ev.Item.CallID, "call_w1")
							assertEq(t, "item done arguments", ev.Item.Arguments.OfString, `{"city":"Paris"}`)
						}
					}
					assertEq(t, "argument deltas", args.String(), `{"city":"Paris"}`)
					assertEq(t, "arguments done", doneArgs, `{"city":"Paris"}`)
					assertEq(t, "arguments done name", doneName, "get_weather")
					r := evs[len(evs)-1].Response
					first = &r
				} else {
					var err error
					if first, err = c.Responses.New(t.Context(), params); err != nil {
						t.Fatalf("first turn: %v", err)
					}
				}
				if len(first.Output) != 1 {
					t.Fatalf("output %+v, want one function call", first.Output)
				}
				call := first.Output[0].AsFunctionCall()
				assertEq(t, "type", call.Type, "function_call")
				assertEq(t, "name", call.Name, "get_weather")
				assertEq(t, "call_id", call.CallID, "call_w1")
				assertEq(t, "arguments", call.Arguments, `{"city":"Paris"}`)

				out := responses.ResponseInputItemParamOfFunctionCallOutput(`{"sky":"sunny"}`)
				out.OfFunctionCallOutput.CallID = openai.String(call.CallID)
				fc := call.ToParam()
				params.Input.OfInputItemList = append(params.Input.OfInputItemList,
					responses.ResponseInputItemUnionParam{OfFunctionCall: &fc}, out)
				second, err := c.Responses.New(t.Context(), params)
				if err != nil {
					t.Fatalf("second turn: %v", err)
				}
				assertEq(t, "answer", second.OutputText(), "It is sunny in Paris.")
				reqs := requests(fake)
				if len(reqs) != 2 {
					t.Fatalf("upstream got %d requests", len(reqs))
				}
				body := reqs[1].Body
				switch rt.model {
				case modelGPT:
					assertJSONPath(t, body, "messages", `[{"role":"user","content":"Weather in Paris?"},
						{"role":"assistant","content":null,"tool_calls":[{"id":"call_w1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
						{"role":"tool","tool_call_id":"call_w1","content":"{\"sky\":\"sunny\"}"}]`)
					assertJSONPath(t, body, "tools.0.function.name", `"get_weather"`)
				case modelClaude:
					assertJSONPath(t, body, "messages", `[{"role":"user","content":[{"type":"text","text":"Weather in Paris?"}]},
						{"role":"assistant","content":[{"type":"tool_use","id":"call_w1","name":"get_weather","input":{"city":"Paris"}}]},
						{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_w1","content":"{\"sky\":\"sunny\"}"}]}]`)
				}
			})
		}
	}
}

// codexRequest is shaped like what Codex CLI sends: developer message,
// input_text parts with ids, strict:false functions, a namespace tool,
// web_search, store:false, include, prompt_cache_key, no max_output_tokens.
const codexRequest = `{
 "model": "claude", "instructions": "You are Codex.", "stream": false,
 "input": [
  {"type":"message","role":"developer","content":[{"type":"input_text","text":"Sandbox: read-only."}]},
  {"type":"message","id":"msg_1","role":"user","content":[{"type":"input_text","text":"List the files."}]}
 ],
 "tools": [
  {"type":"function","name":"shell","description":"Run a command","strict":false,
   "parameters":{"type":"object","properties":{"command":{"type":"array","items":{"type":"string"}}},"required":["command"]}},
  {"type":"namespace","name":"mcp__fs","description":"File tools","tools":[
   {"type":"function","name":"read","description":"Read a file","strict":false,"parameters":{"type":"object","properties":{"path":{"type":"string"}}}}]},
  {"type":"web_search","external_web_access":false}
 ],
 "tool_choice":"auto", "parallel_tool_calls": false,
 "reasoning": {"effort":"medium","summary":"auto"},
 "store": false, "include": ["reasoning.encrypted_content"], "prompt_cache_key": "thread-1"
}`

func postResponses(t *testing.T, g *testgateway.Gateway, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.URL+"/v1/responses", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+callerKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestResponsesCodexShape: namespace functions are flattened for the
// upstream and their calls mapped back; web_search is dropped.
func TestResponsesCodexShape(t *testing.T) {
	g := start(t)
	g.Anthropic.Set(testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "toolu_1", Name: "mcp__fs__read", Args: `{"path":"README.md"}`}}})
	status, body := postResponses(t, g, codexRequest)
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	up := onlyRequest(t, g.Anthropic).Body
	var names []string
	for _, tool := range gjson.GetBytes(up, "tools").Array() {
		names = append(names, tool.Get("name").Str)
	}
	assertEq(t, "upstream tools", strings.Join(names, ","), "shell,mcp__fs__read")
	assertJSONPath(t, up, "system", `[{"type":"text","text":"You are Codex."},{"type":"text","text":"Sandbox: read-only."}]`)
	assertJSONPath(t, up, "messages", `[{"role":"user","content":[{"type":"text","text":"List the files."}]}]`)
	call := gjson.GetBytes(body, "output.0")
	assertEq(t, "type", call.Get("type").Str, "function_call")
	assertEq(t, "name", call.Get("name").Str, "read")
	assertEq(t, "namespace", call.Get("namespace").Str, "mcp__fs")
	assertEq(t, "call_id", call.Get("call_id").Str, "toolu_1")
	assertEq(t, "store echoed", gjson.GetBytes(body, "store").Raw, "false")

	// The call replayed with its namespace reaches the upstream flattened.
	next := strings.Replace(codexRequest, `"text":"List the files."}]}`, `"text":"List the files."}]},
	  {"type":"function_call","call_id":"toolu_1","name":"read","namespace":"mcp__fs","arguments":"{\"path\":\"README.md\"}"},
	  {"type":"function_call_output","call_id":"toolu_1","output":"# tidegate"}`, 1)
	g.Anthropic.Set(testupstream.Reply{Text: "It is the README."})
	if status, body = postResponses(t, g, next); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, body)
	}
	up = requests(g.Anthropic)[1].Body
	assertJSONPath(t, up, "messages.1.content.0.name", `"mcp__fs__read"`)
	assertJSONPath(t, up, "messages.2.content.0.tool_use_id", `"toolu_1"`)
}

// TestResponsesPreviousResponseID: with a store, a response can be
// continued by id; unknown ids are 404; store:false keeps nothing.
func TestResponsesPreviousResponseID(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g := testgateway.Start(t, testgateway.DefaultConfig+"\nstore: sqlite://"+db+"\n")
	c := oaiClient(g)
	g.OpenAI.Script(testupstream.Reply{Text: "My name is Tide."}, testupstream.Reply{Text: "You asked my name."})
	first, err := c.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is your name?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What did I ask?")},
	})
	evs := streamEvents(t, s)
	second := evs[len(evs)-1].Response
	assertEq(t, "answer", second.OutputText(), "You asked my name.")
	assertEq(t, "previous_response_id echoed", second.PreviousResponseID, first.ID)
	assertJSONPath(t, requests(g.OpenAI)[1].Body, "messages", `[{"role":"user","content":"What is your name?"},
		{"role":"assistant","content":"My name is Tide."},{"role":"user","content":"What did I ask?"}]`)

	// The streamed answer was stored too: a third turn sees all of it.
	g.OpenAI.Set(testupstream.Reply{Text: "ok"})
	if _, err := c.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String(second.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Thanks")},
	}); err != nil {
		t.Fatal(err)
	}
	assertEq(t, "third turn messages", len(gjson.GetBytes(requests(g.OpenAI)[2].Body, "messages").Array()), 5)

	_, err = c.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String("resp_unknown"),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Param != "previous_response_id" || apiErr.Code != "previous_response_not_found" {
		t.Errorf("unknown id: %v, want 404 previous_response_not_found", err)
	}

	unstored, err := c.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, Store: openai.Bool(false),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Forget this")},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String(unstored.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("store:false response continued: %v, want 404", err)
	}
}

// Without a store, previous_response_id is a clear 400.
func TestResponsesPreviousResponseIDWithoutStore(t *testing.T) {
	g := start(t)
	_, err := oaiClient(g).Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String("resp_x"),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, "`store:`") {
		t.Errorf("got %v, want a 400 that says a store is needed", err)
	}
	assertEq(t, "upstream requests", len(requests(g.OpenAI)), 0)
}

// TestResponsesMalformed: bad input gets OpenAI's error shape with the
// offending param, and never reaches an upstream.
func TestResponsesMalformed(t *testing.T) {
	g := start(t)
	cases := []struct{ body, param, code string }{
		{`{"model":"gpt"}`, "input", "missing_required_parameter"},
		{`{"model":"gpt","input":42}`, "input", "invalid_type"},
		{`{"input":"hi"}`, "model", ""},
		{`{"model":"gpt","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":7}]}]}`, "input[0].content[0].text", "invalid_type"},
		{`{"model":"gpt","input":[{"type":"function_call_output","output":"x"}]}`, "input[0].call_id", "missing_required_parameter"},
		{`{"model":"gpt","input":[{"role":"wizard","content":"hi"}]}`, "input[0].role", "invalid_value"},
		{`{"model":"gpt","input":"hi","tools":[{"type":"function"}]}`, "tools[0].name", "missing_required_parameter"},
		{`{"model":"gpt","input":"hi","max_output_tokens":"many"}`, "max_output_tokens", "invalid_type"},
		{`{"model":"gpt","input":"hi","text":{"format":{"type":"json_schema","name":"x"}}}`, "text.format.schema", "missing_required_parameter"},
		{`{"model":"gpt","input":[{"type":"item_reference","id":"msg_1"}]}`, "input[0].type", "unsupported_value"},
	}
	for _, tc := range cases {
		status, body := postResponses(t, g, tc.body)
		if status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (%s)", tc.body, status, body)
			continue
		}
		e := gjson.GetBytes(body, "error")
		if e.Get("type").Str != "invalid_request_error" || e.Get("param").Str != tc.param || e.Get("message").Str == "" ||
			(tc.code != "" && e.Get("code").Str != tc.code) {
			t.Errorf("%s: error %s, want param %q code %q", tc.body, body, tc.param, tc.code)
		}
	}
	status, body := postResponses(t, g, `{"model":"gpt","input":`)
	if status != http.StatusBadRequest || !gjson.GetBytes(body, "error.message").Exists() {
		t.Errorf("broken JSON: %d %s", status, body)
	}
	assertEq(t, "upstream requests", len(requests(g.OpenAI)), 0)
}

// keyedGateway starts a gateway with auth: keys and a SQLite store, and
// returns it with a function that makes a virtual key.
func keyedGateway(t *testing.T) (*testgateway.Gateway, func(name string) string) {
	t.Helper()
	const adminKey = "sk-admin-responses-test-0123456789"
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g := testgateway.Start(t, testgateway.DefaultConfig+"auth: keys\nstore: sqlite://"+db+
		"\nadmin_keys: [{name: t, key: \""+adminKey+"\", scope: admin}]\n")
	return g, func(name string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.URL+"/admin/keys", strings.NewReader(`{"name":"`+name+`"}`))
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create key: %d %s", resp.StatusCode, b)
		}
		return gjson.GetBytes(b, "key").Str
	}
}

// TestResponsesStoredPerKey: with virtual keys, a stored response is
// continued only with the key that created it; another key gets a 404,
// and requests without a key are refused before anything is read.
func TestResponsesStoredPerKey(t *testing.T) {
	g, newKey := keyedGateway(t)
	alice, bob := newKey("alice"), newKey("bob")
	first, err := oaiClient(g, option.WithAPIKey(alice)).Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("secret plan")},
	})
	if err != nil {
		t.Fatal(err)
	}
	next := responses.ResponseNewParams{Model: modelGPT, PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("and then?")}}
	_, err = oaiClient(g, option.WithAPIKey(bob)).Responses.New(t.Context(), next)
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
		t.Errorf("another key continued the response: %v, want 404", err)
	}
	_, err = oaiClient(g, option.WithAPIKey("sk-tg-not-a-key")).Responses.New(t.Context(), next)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown key: %v, want 401", err)
	}
	if _, err := oaiClient(g, option.WithAPIKey(alice)).Responses.New(t.Context(), next); err != nil {
		t.Errorf("the owner could not continue: %v", err)
	}
	assertEq(t, "upstream requests", len(requests(g.OpenAI)), 2)
}

// TestResponsesGetDeleteInputItems: the SDK's Responses.Get,
// InputItems.List and Delete on stored turns, for the key that made them
// only.
func TestResponsesGetDeleteInputItems(t *testing.T) {
	g, newKey := keyedGateway(t)
	alice := oaiClient(g, option.WithAPIKey(newKey("alice")))
	bob := oaiClient(g, option.WithAPIKey(newKey("bob")))
	g.OpenAI.Script(testupstream.Reply{Text: "My name is Tide."}, testupstream.Reply{Text: "You asked my name."})
	first, err := alice.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("What is your name?")},
	})
	if err != nil {
		t.Fatal(err)
	}
	evs := streamEvents(t, alice.Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("What did I ask?", responses.EasyInputMessageRoleUser)}},
	}))
	second := evs[len(evs)-1].Response

	// Get returns each Response as it was returned, streamed or not.
	for _, want := range []*responses.Response{first, &second} {
		got, err := alice.Responses.Get(t.Context(), want.ID, responses.ResponseGetParams{})
		if err != nil {
			t.Fatalf("get %s: %v", want.ID, err)
		}
		assertJSONEq(t, "retrieved "+want.ID, got.RawJSON(), want.RawJSON())
	}

	// The input items of the second turn: the whole conversation before
	// its output, newest first by default.
	page, err := alice.Responses.InputItems.List(t.Context(), second.ID, responses.InputItemListParams{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range page.Data {
		msg := it.AsMessage()
		got = append(got, it.Type+"/"+string(msg.Role)+"/"+msg.Content[0].Text)
	}
	assertEq(t, "input items", strings.Join(got, " | "),
		"message/user/What did I ask? | message/assistant/My name is Tide. | message/user/What is your name?")
	assertEq(t, "assistant item id", page.Data[1].ID, first.Output[0].ID)
	assertEq(t, "has_more", page.HasMore, false)
	// Paging one at a time, oldest first, visits the same items.
	pager := alice.Responses.InputItems.ListAutoPaging(t.Context(), second.ID,
		responses.InputItemListParams{Limit: openai.Int(1), Order: responses.InputItemListParamsOrderAsc})
	var ids []string
	for pager.Next() {
		ids = append(ids, pager.Current().ID)
	}
	if err := pager.Err(); err != nil {
		t.Fatal(err)
	}
	assertEq(t, "paged ids", strings.Join(ids, ","), page.Data[2].ID+","+page.Data[1].ID+","+page.Data[0].ID)

	// Another key sees nothing, and deletes nothing.
	var apiErr *openai.Error
	notFound := func(what string, err error) {
		t.Helper()
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %v, want 404", what, err)
		}
	}
	_, err = bob.Responses.Get(t.Context(), first.ID, responses.ResponseGetParams{})
	notFound("another key's get", err)
	_, err = bob.Responses.InputItems.List(t.Context(), second.ID, responses.InputItemListParams{})
	notFound("another key's input items", err)
	notFound("another key's delete", bob.Responses.Delete(t.Context(), first.ID))
	_, err = oaiClient(g, option.WithAPIKey("sk-tg-not-a-key")).Responses.Get(t.Context(), first.ID, responses.ResponseGetParams{})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown key: %v, want 401", err)
	}

	// The owner deletes the first turn: it is gone, and so is the
	// conversation that continued it.
	if err := alice.Responses.Delete(t.Context(), first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = alice.Responses.Get(t.Context(), first.ID, responses.ResponseGetParams{})
	notFound("get after delete", err)
	notFound("second delete", alice.Responses.Delete(t.Context(), first.ID))
	_, err = alice.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Still there?")},
	})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "previous_response_not_found" {
		t.Errorf("continuing a deleted response: %v, want 404 previous_response_not_found", err)
	}
	if _, err := alice.Responses.Get(t.Context(), second.ID, responses.ResponseGetParams{}); err != nil {
		t.Errorf("the later turn itself is still readable: %v", err)
	}
	assertEq(t, "upstream requests", len(requests(g.OpenAI)), 2)
}

// With responses.store: false a gateway with a store keeps no
// conversation content, and previous_response_id is a 400.
func TestResponsesStoreOff(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g := testgateway.Start(t, testgateway.DefaultConfig+"store: sqlite://"+db+"\nresponses: {store: false}\n")
	c := oaiClient(g)
	first, err := c.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("private")},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Responses.New(t.Context(), responses.ResponseNewParams{
		Model: modelGPT, PreviousResponseID: openai.String(first.ID),
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || !strings.Contains(apiErr.Message, "responses.store") {
		t.Errorf("got %v, want a 400 naming responses.store", err)
	}
}

// relayConfig has a provider that serves /v1/responses itself.
const relayConfig = `
providers:
  oair: {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `", responses_api: true}
  oai:  {type: openai, base_url: "{{openai}}/v1", api_key: "` + testgateway.OpenAIKey + `"}
models:
  codex: {provider: oair, model: gpt-5-codex}
  chat:  {provider: oai, model: gpt-4o-mini}
`

// TestResponsesRelay: with responses_api, a Responses request reaches the
// upstream's /v1/responses with only the model changed (hosted tools
// included), and its answer and stream come back byte for byte.
func TestResponsesRelay(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g := testgateway.Start(t, relayConfig+"store: sqlite://"+db+"\n")
	g.OpenAI.Script(
		testupstream.Reply{Text: "Relayed hello.", Usage: testupstream.Usage{Input: 20, Output: 3}},
		testupstream.Reply{ToolCalls: []testupstream.ToolCall{{ID: "call_r1", Name: "get_weather", Args: `{"city":"Oslo"}`}}},
	)
	var capture bodyCapture
	c := oaiClient(g, capture.openai())
	params := responses.ResponseNewParams{
		Model: "codex", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
		Tools: []responses.ToolUnionParam{responsesWeatherTool(), {OfWebSearch: &responses.WebSearchToolParam{Type: responses.WebSearchToolTypeWebSearch}}},
	}
	first, err := c.Responses.New(t.Context(), params)
	if err != nil {
		t.Fatal(err)
	}
	assertEq(t, "id (the upstream's)", first.ID, "resp_fake")
	assertEq(t, "text", first.OutputText(), "Relayed hello.")
	rec := requests(g.OpenAI)[0]
	assertEq(t, "upstream path", rec.Path, "/v1/responses")
	assertUpstreamKey(t, rec)
	want := strings.Replace(string(capture.last(t)), `"model":"codex"`, `"model":"gpt-5-codex"`, 1)
	assertEq(t, "upstream body (the caller's, model changed)", string(rec.Body), want)
	// The gateway kept the upstream's Response as relayed.
	kept, err := c.Responses.Get(t.Context(), first.ID, responses.ResponseGetParams{})
	if err != nil {
		t.Fatal(err)
	}
	assertEq(t, "retrieved relayed response", kept.RawJSON(), first.RawJSON())

	// A stream continuing it: the stored turn is sent as input (the
	// upstream never stored it), and every upstream event is relayed.
	params.PreviousResponseID = openai.String(first.ID)
	params.Input = responses.ResponseNewParamsInputUnion{OfString: openai.String("Weather in Oslo?")}
	evs := streamEvents(t, c.Responses.NewStreaming(t.Context(), params))
	var got []string
	var args strings.Builder
	for _, ev := range evs {
		if ev.Type == "response.function_call_arguments.delta" {
			args.WriteString(ev.Delta)
			continue
		}
		got = append(got, ev.Type)
	}
	wantTypes := "response.created response.in_progress response.output_item.added " +
		"response.function_call_arguments.done response.output_item.done response.completed"
	assertEq(t, "relayed events (besides deltas)", strings.Join(got, " "), wantTypes)
	assertEq(t, "relayed argument deltas", args.String(), `{"city":"Oslo"}`)
	last := evs[len(evs)-1].Response
	assertEq(t, "call", last.Output[0].AsFunctionCall().Arguments, `{"city":"Oslo"}`)
	assertEq(t, "usage", last.Usage.TotalTokens, int64(17))
	up := requests(g.OpenAI)[1].Body
	if gjson.GetBytes(up, "previous_response_id").Exists() {
		t.Errorf("previous_response_id reached the upstream: %s", up)
	}
	assertJSONPath(t, up, "input", `[{"role":"user","content":"Hi"},
		{"type":"message","id":"msg_fake","status":"completed","role":"assistant","content":[{"type":"output_text","text":"Relayed hello.","annotations":[]}]},
		{"role":"user","content":"Weather in Oslo?"}]`)
	assertJSONPath(t, up, "tools.1.type", `"web_search"`)

	// The same gateway still translates for a chat-only provider.
	g.OpenAI.Set(testupstream.Reply{Text: "Translated."})
	r, err := c.Responses.New(t.Context(), responses.ResponseNewParams{Model: "chat", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")}})
	if err != nil || r.OutputText() != "Translated." {
		t.Fatalf("translated: %v %+v", err, r)
	}
	assertEq(t, "translated path", requests(g.OpenAI)[2].Path, "/v1/chat/completions")
}

// A failed upstream stream is relayed as error + response.failed,
// numbered after the upstream's own events.
func TestResponsesRelayCut(t *testing.T) {
	g := testgateway.Start(t, relayConfig)
	g.OpenAI.Set(testupstream.Reply{Text: "one two three four", CutAfter: 4})
	s := oaiClient(g).Responses.NewStreaming(t.Context(), responses.ResponseNewParams{
		Model: "codex", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hi")},
	})
	evs := streamEvents(t, s)
	last := evs[len(evs)-1]
	if last.Type != "response.failed" || evs[len(evs)-2].Type != "error" || last.Response.ID != "resp_fake" {
		t.Errorf("last events %s %s (%s)", evs[len(evs)-2].Type, last.Type, last.Response.ID)
	}
}
