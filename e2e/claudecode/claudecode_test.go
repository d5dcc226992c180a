// Package claudecode_test drives the real Claude Code CLI (`claude -p`)
// through an in-process tidegate in front of fake Anthropic-, OpenAI- and
// Ollama-format upstreams, and checks both ends: what Claude Code sent the
// gateway and what each upstream received.
//
// What Claude Code 2.1.x sends (observed with 2.1.197, -p mode, the
// environment of clientEnv), asserted in checkClientRequest where it is
// stable:
//
//   - HEAD / on the base URL first (a reachability probe; the gateway's 404
//     does), then one POST /v1/messages?beta=true per model turn. No side
//     request to a small model in -p mode.
//   - Headers: x-api-key (the ANTHROPIC_API_KEY value; Authorization:
//     Bearer with ANTHROPIC_AUTH_TOKEN instead), anthropic-version:
//     2023-06-01, anthropic-beta with claude-code-20250219 first (2.1.197
//     adds interleaved-thinking, context-management, prompt-caching-scope,
//     mid-conversation-system, effort and thinking-token-count),
//     User-Agent claude-cli/<v>, x-app: cli, x-claude-code-session-id and
//     x-stainless-* headers.
//   - Body (~76 KB): stream: true, max_tokens 32000, 24 tools (Agent, Bash,
//     Edit, Read, Write, WebFetch, …) whose input_schema carries $schema
//     draft 2020-12, system as text blocks with cache_control (the first
//     block is the "x-anthropic-billing-header: cc_version=…" attribution
//     line, stable within a session), cache_control on the last user
//     block, a role "system" message in the middle of messages (agent and
//     skill lists), metadata.user_id (a JSON string with device_id and
//     session_id), thinking {"type":"adaptive"}, output_config
//     {"effort":"high"} and context_management — for any model name,
//     including the non-Claude public names gpt and llama.
//   - Tool loop: the next turn replays the assistant's tool_use blocks
//     (and thinking blocks that came with an empty signature) and sends
//     one user message of tool_results — for parallel calls in the order
//     the tools finished, not the order of the calls.
//   - Read of a large file (~50 KB here) first asks
//     POST /v1/messages/count_tokens?beta=true (beta token-counting-2024-11-01,
//     body {model, messages:[{user: the file's text}]}) and fails the tool
//     above 25000 tokens.
package claudecode_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// upstreamKind is one fake upstream and the public model that routes to it.
type upstreamKind struct {
	name      string // testupstream dialect
	model     string // public model Claude Code asks for
	upstream  string // the model the gateway must send upstream
	reasons   bool   // the model table says the upstream model reasons
	maxOutput int    // the upstream model's output limit (0: unknown)
}

// kinds are the default public models of testgateway.DefaultConfig.
var kinds = []upstreamKind{
	{"anthropic", "claude", "claude-sonnet-4-5", true, 64000},
	{"openai", "gpt", "gpt-4o-mini", false, 16384},
	{"ollama", "llama", "llama3.2", false, 0},
}

// reasoningKinds are models that reason, through the wildcard routes;
// qwen3 is declared in reasoningModelInfo since the embedded table does not
// know Ollama models.
var reasoningKinds = []upstreamKind{
	{"anthropic", "claude", "claude-sonnet-4-5", true, 64000},
	{"openai", "openai/o4-mini", "o4-mini", true, 100000},
	{"ollama", "ollama/qwen3", "qwen3", true, 32768},
}

const reasoningModelInfo = `
model_info:
  qwen3: {context_window: 40960, max_output: 32768, reasoning: true}
`

func (k upstreamKind) fake(g *testgateway.Gateway) *testupstream.Server {
	switch k.name {
	case "anthropic":
		return g.Anthropic
	case "openai":
		return g.OpenAI
	}
	return g.Ollama
}

const answer = "tidegate-e2e-ok"

// TestClaudeCodeText runs one plain prompt per upstream kind: Claude Code
// must print the fake upstream's scripted text, and the upstream must have
// received a faithful request in its own dialect.
func TestClaudeCodeText(t *testing.T) {
	bin := claudeBinary(t)
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			g := testgateway.Start(t, "")
			up := k.fake(g)
			up.Set(testupstream.Reply{Text: answer, Usage: testupstream.Usage{Input: 321, Output: 17}})
			rec := newRecorder(t, g.URL)
			t.Cleanup(func() {
				if t.Failed() {
					logExchanges(t, rec)
				}
			})
			const prompt = "Reply with the single word ok."
			res := runClaude(t, bin, rec.URL, k.model, t.TempDir(), prompt)

			if !strings.Contains(res.Result, answer) {
				t.Errorf("result = %q, want the upstream's text %q", res.Result, answer)
			}
			// Usage travels back through the translation into Claude Code's
			// accounting.
			if res.Usage.InputTokens != 321 || res.Usage.OutputTokens != 17 {
				t.Errorf("usage = %d in / %d out, want 321 / 17 from the upstream", res.Usage.InputTokens, res.Usage.OutputTokens)
			}

			sent := rec.messages()
			if len(sent) == 0 {
				t.Fatal("Claude Code sent no POST /v1/messages to the gateway")
			}
			for _, e := range sent {
				checkClientRequest(t, e, k.model)
				if e.Status != http.StatusOK {
					t.Errorf("gateway answered %d to POST /v1/messages: %s", e.Status, e.ErrorBody)
				}
			}
			got := chatRequests(up)
			if len(got) != len(sent) {
				t.Fatalf("%s upstream received %d chat requests, Claude Code sent %d", k.name, len(got), len(sent))
			}
			for _, other := range kinds {
				if other.name != k.name && len(chatRequests(other.fake(g))) > 0 {
					t.Errorf("%s upstream received requests meant for %s", other.name, k.name)
				}
			}
			for i := range got {
				checkUpstreamRequest(t, k, sent[i], got[i])
				if !strings.Contains(allText(got[i].JSON()["messages"]), prompt) {
					t.Errorf("the prompt %q did not reach the %s upstream", prompt, k.name)
				}
			}
		})
	}
}

// TestClaudeCodeToolLoop has each upstream answer the first turn with a
// call of Claude Code's Read tool on a file in the working directory, and
// the next turn with text. Claude Code must run the tool, send its result
// back, and print the final text; the upstream must see its own tool call
// and the file's content as a tool result in its own dialect.
func TestClaudeCodeToolLoop(t *testing.T) {
	bin := claudeBinary(t)
	ids := map[string]string{"anthropic": "toolu_e2e_read_1", "openai": "call_e2e_read_1", "ollama": ""} // Ollama has no call ids
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			runToolLoop(t, bin, k, loop{calls: []wantCall{{id: ids[k.name], file: "notes.txt", marker: "tidegate-file-marker-7f3a"}}})
		})
	}
}

// TestClaudeCodeReasoningToolLoop is the tool loop as agents run it with
// models that reason: the upstream thinks, says a word and makes two
// parallel Read calls (argument fragments interleaved on OpenAI), then
// thinks again and answers. Reasoning must reach Claude Code as thinking,
// and Claude Code's effort must reach the upstream as its reasoning
// setting.
//
// The first file is large (~50 KB). Claude Code's Read checks the token
// count of such a file with POST /v1/messages/count_tokens before
// returning it, so this also runs count_tokens through each upstream kind;
// and since the small file's Read needs no round trip, it finishes first,
// and Claude Code (which sends the results of parallel tools in completion
// order) returns the two tool_results in the opposite order of the calls.
func TestClaudeCodeReasoningToolLoop(t *testing.T) {
	bin := claudeBinary(t)
	for _, k := range reasoningKinds {
		t.Run(k.name, func(t *testing.T) {
			id := func(s string) string {
				if k.name == "ollama" {
					return ""
				}
				return s
			}
			runToolLoop(t, bin, k, loop{
				extraYAML: reasoningModelInfo,
				thinking:  "I should read both files first.",
				bigFirst:  true,
				calls: []wantCall{
					{id: id("call_e2e_a"), file: "a.txt", marker: "tidegate-marker-aaa"},
					{id: id("call_e2e_b"), file: "b.txt", marker: "tidegate-marker-bbb"},
				},
			})
		})
	}
}

// loop describes one tool-loop run.
type loop struct {
	extraYAML string     // appended to the gateway config
	calls     []wantCall // the Read calls of the first turn
	thinking  string     // reasoning of the first turn ("" for none)
	bigFirst  bool       // pad the first file so Claude Code counts its tokens
}

// wantCall is one Read call the fake upstream makes and what the file
// holds.
type wantCall struct {
	id     string // the upstream's call id ("" for Ollama, which has none)
	file   string // relative to the working directory; made absolute by runToolLoop
	marker string // the file's first line
}

// fakeTokenCount is what the fake Anthropic upstream answers to
// count_tokens (below Read's 25000-token limit for one file).
const fakeTokenCount = 12345

// runToolLoop scripts k's upstream to call Read on each file, then to
// answer with text, runs Claude Code and checks the loop at both ends.
func runToolLoop(t *testing.T, bin string, k upstreamKind, lp loop) {
	t.Helper()
	const final = "tidegate-e2e-tool-ok"
	dir := t.TempDir()
	calls := slices.Clone(lp.calls)
	var tcs []testupstream.ToolCall
	for i := range calls {
		calls[i].file = filepath.Join(dir, calls[i].file)
		content := calls[i].marker + "\n"
		if i == 0 && lp.bigFirst {
			content += strings.Repeat("a line of filler text that makes this file large enough for a token check\n", 650)
		}
		if err := os.WriteFile(calls[i].file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		args, _ := json.Marshal(map[string]string{"file_path": calls[i].file})
		tcs = append(tcs, testupstream.ToolCall{ID: calls[i].id, Name: "Read", Args: string(args)})
	}
	first := testupstream.Reply{ToolCalls: tcs, InterleaveTools: len(tcs) > 1, TokenCount: fakeTokenCount}
	second := testupstream.Reply{Text: final, TokenCount: fakeTokenCount}
	if lp.thinking != "" {
		first.Thinking, first.Text = lp.thinking, "Reading them."
		second.Thinking = "Both files are read."
	}
	g, fakes := startSequenced(t, map[string][]testupstream.Reply{k.name: {first, second}}, lp.extraYAML)
	up := fakes[k.name]
	rec := newRecorder(t, g.URL)
	t.Cleanup(func() {
		if t.Failed() {
			logExchanges(t, rec)
		}
	})
	res := runClaude(t, bin, rec.URL, k.model, dir, "What do the text files here say?", "--allowedTools", "Read")

	if !strings.Contains(res.Result, final) {
		t.Errorf("result = %q, want the upstream's final text %q", res.Result, final)
	}
	if res.NumTurns < 2 {
		t.Errorf("num_turns = %d, want at least 2 (tool call, then text)", res.NumTurns)
	}
	if len(res.PermissionDenials) > 0 {
		t.Errorf("permission denials: %v", res.PermissionDenials)
	}

	sent := rec.messages()
	if len(sent) < 2 {
		t.Fatalf("Claude Code sent %d POST /v1/messages, want 2 (the tool loop did not continue)", len(sent))
	}
	for _, e := range sent {
		checkClientRequest(t, e, k.model)
		if e.Status != http.StatusOK {
			t.Errorf("gateway answered %d to POST /v1/messages: %s", e.Status, e.ErrorBody)
		}
	}
	// Claude Code's second turn carries the tool_use blocks the gateway
	// streamed to it and the matching tool_results.
	turn2 := sent[1].JSON()
	checkClientToolTurn(t, turn2, calls)
	if lp.thinking != "" && k.name != "anthropic" {
		// Translated reasoning reaches Claude Code as a thinking block
		// (which it sends back with an empty signature). On the
		// same-dialect path the fake's thinking block (signature "sig-1")
		// is relayed as is; Claude Code 2.1.197 does not send that one
		// back, so there is nothing to check there.
		if !strings.Contains(compact(turn2["messages"]), lp.thinking) {
			t.Errorf("the upstream's reasoning %q did not reach Claude Code as thinking", lp.thinking)
		}
	}
	if lp.bigFirst {
		checkCountTokens(t, k, rec, up)
	}

	got := chatRequests(up)
	if len(got) != len(sent) {
		t.Fatalf("%s upstream received %d chat requests, Claude Code sent %d", k.name, len(got), len(sent))
	}
	for i := range got {
		checkUpstreamRequest(t, k, sent[i], got[i])
	}
	checkUpstreamToolTurn(t, k.name, got[1].JSON(), calls)
}

// checkCountTokens checks the count_tokens calls Claude Code's Read made
// for the large file: answered 200 with the upstream's count (Anthropic)
// or a local one (the others, which have no such endpoint).
func checkCountTokens(t *testing.T, k upstreamKind, rec *recorder, up *testupstream.Server) {
	t.Helper()
	var counts []exchange
	for _, e := range rec.all() {
		if e.Method == http.MethodPost && e.Path == "/v1/messages/count_tokens" {
			counts = append(counts, e)
		}
	}
	if len(counts) == 0 {
		t.Errorf("Claude Code made no count_tokens call for the large file (did Read change?)")
		return
	}
	wantSource := "local"
	if k.name == "anthropic" {
		wantSource = "upstream"
	}
	for _, e := range counts {
		if q, _ := url.ParseQuery(e.Query); q.Get("beta") != "true" {
			t.Errorf("client count_tokens query = %q, want beta=true", e.Query)
		}
		if e.JSON()["model"] != k.model {
			t.Errorf("client count_tokens model = %v, want %q", e.JSON()["model"], k.model)
		}
		if e.Status != http.StatusOK {
			t.Errorf("gateway answered %d to count_tokens: %s", e.Status, e.ErrorBody)
			continue
		}
		if src := e.RespHeader.Get("x-tidegate-token-count"); src != wantSource {
			t.Errorf("x-tidegate-token-count = %q, want %q", src, wantSource)
		}
		n, _ := e.RespJSON["input_tokens"].(float64)
		if k.name == "anthropic" && n != fakeTokenCount {
			t.Errorf("count_tokens answered %v, want the upstream's %d", e.RespJSON["input_tokens"], fakeTokenCount)
		}
		if n <= 0 {
			t.Errorf("count_tokens answered %v, want a positive count", e.RespJSON["input_tokens"])
		}
		t.Logf("count_tokens: %d bytes → %v tokens (%s)", len(e.Body), n, e.RespHeader.Get("x-tidegate-token-count"))
	}
	if k.name != "anthropic" {
		return
	}
	var seen int
	for _, r := range up.Requests() {
		if r.Path != "/v1/messages/count_tokens" {
			continue
		}
		seen++
		if r.Header.Get("x-api-key") != testgateway.AnthropicKey || r.Header.Get("anthropic-version") != "2023-06-01" {
			t.Errorf("upstream count_tokens headers: x-api-key %q, anthropic-version %q", r.Header.Get("x-api-key"), r.Header.Get("anthropic-version"))
		}
		if r.JSON()["model"] != k.upstream {
			t.Errorf("upstream count_tokens model = %v, want %q", r.JSON()["model"], k.upstream)
		}
	}
	if seen != len(counts) {
		t.Errorf("Anthropic upstream received %d count_tokens calls, Claude Code sent %d", seen, len(counts))
	}
}

// checkClientRequest asserts what Claude Code itself sent (see the package
// comment); these are facts about the client, so a failure here means
// Claude Code changed, not the gateway.
func checkClientRequest(t *testing.T, e exchange, model string) {
	t.Helper()
	if q, _ := url.ParseQuery(e.Query); q.Get("beta") != "true" {
		t.Errorf("client query = %q, want beta=true", e.Query)
	}
	h := e.Header
	if h.Get("x-api-key") != clientKey {
		t.Errorf("client x-api-key = %q, want %q", h.Get("x-api-key"), clientKey)
	}
	if h.Get("anthropic-version") != "2023-06-01" {
		t.Errorf("client anthropic-version = %q", h.Get("anthropic-version"))
	}
	if !slices.Contains(betas(h), "claude-code-20250219") {
		t.Errorf("client anthropic-beta = %q, want claude-code-20250219 among them", h.Values("anthropic-beta"))
	}
	if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "claude-cli/") {
		t.Errorf("client User-Agent = %q, want claude-cli/…", ua)
	}
	b := e.JSON()
	if b["model"] != model {
		t.Errorf("client model = %v, want %q", b["model"], model)
	}
	if b["stream"] != true {
		t.Errorf("client stream = %v, want true", b["stream"])
	}
	names := toolNames(b["tools"])
	if len(names) < 10 || !slices.Contains(names, "Read") || !slices.Contains(names, "Bash") {
		t.Errorf("client tools = %v, want many, among them Read and Bash", names)
	}
	if sys, ok := b["system"].([]any); !ok || !strings.Contains(string(e.Body), `"cache_control"`) || len(sys) == 0 {
		t.Errorf("client system = %T, want text blocks with cache_control", b["system"])
	}
	if md, _ := b["metadata"].(map[string]any); md == nil || md["user_id"] == "" || md["user_id"] == nil {
		t.Errorf("client metadata = %v, want a user_id", b["metadata"])
	}
	t.Logf("client: POST %s?%s %d bytes, %d tools, max_tokens=%v, thinking=%s, output_config=%s, context_management=%v, anthropic-beta=%s",
		e.Path, e.Query, len(e.Body), len(names), b["max_tokens"], compact(b["thinking"]), compact(b["output_config"]),
		b["context_management"] != nil, strings.Join(betas(h), ","))
}

// checkUpstreamRequest asserts that one request the gateway forwarded is
// the client's request in the upstream's dialect, with the gateway's key.
func checkUpstreamRequest(t *testing.T, k upstreamKind, client exchange, up testupstream.Recorded) {
	t.Helper()
	for name, vs := range up.Header {
		for _, v := range vs {
			if strings.Contains(v, clientKey) {
				t.Errorf("the client's key leaked upstream in %s: %q", name, v)
			}
		}
	}
	if strings.Contains(string(up.Body), clientKey) {
		t.Errorf("the client's key leaked into the upstream body")
	}
	cb, ub := client.JSON(), up.JSON()
	if ub == nil {
		t.Fatalf("%s upstream body is not a JSON object: %.200s", k.name, up.Body)
	}
	if ub["model"] != k.upstream {
		t.Errorf("upstream model = %v, want %q", ub["model"], k.upstream)
	}
	if ub["stream"] != true {
		t.Errorf("upstream stream = %v, want true", ub["stream"])
	}
	t.Logf("upstream %s: %s %s?%s %d bytes", k.name, up.Method, up.Path, up.Query, len(up.Body))

	switch k.name {
	case "anthropic":
		// Same dialect: the body is forwarded as is except for the model,
		// so Claude Code's thinking, output_config, context_management,
		// cache_control and metadata all arrive untouched.
		if up.Path != "/v1/messages" {
			t.Errorf("upstream path = %q, want /v1/messages", up.Path)
		}
		if v := up.Header.Get("anthropic-version"); v != "2023-06-01" {
			t.Errorf("upstream anthropic-version = %q, want the pinned 2023-06-01", v)
		}
		if v := up.Header.Get("x-api-key"); v != testgateway.AnthropicKey {
			t.Errorf("upstream x-api-key = %q, want the gateway's key", v)
		}
		if v := up.Header.Get("Authorization"); v != "" {
			t.Errorf("upstream Authorization = %q, want none", v)
		}
		if got, want := betas(up.Header), betas(client.Header); !reflect.DeepEqual(got, want) {
			t.Errorf("upstream anthropic-beta = %v, want the client's %v", got, want)
		}
		delete(cb, "model")
		delete(ub, "model")
		for key, want := range cb {
			if !reflect.DeepEqual(ub[key], want) {
				t.Errorf("upstream body field %q differs from the client's: got %.300s, want %.300s", key, compact(ub[key]), compact(want))
			}
		}
		for key := range ub {
			if _, ok := cb[key]; !ok {
				t.Errorf("upstream body has field %q the client did not send", key)
			}
		}

	case "openai":
		if up.Path != "/v1/chat/completions" {
			t.Errorf("upstream path = %q, want /v1/chat/completions", up.Path)
		}
		if v := up.Header.Get("Authorization"); v != "Bearer "+testgateway.OpenAIKey {
			t.Errorf("upstream Authorization = %q, want the gateway's key", v)
		}
		if v := up.Header.Get("x-api-key"); v != "" {
			t.Errorf("upstream x-api-key = %q, want none", v)
		}
		checkTranslatedCommon(t, k, cb, ub)
		// Claude Code always asks for thinking with an effort. Only a model
		// that reasons (model table) gets it, as reasoning_effort; the
		// output limit is clamped to the model's (gpt-4o-mini: 16384).
		mt, _ := ub["max_tokens"].(float64)
		if mct, ok := ub["max_completion_tokens"].(float64); ok {
			mt = mct
		}
		if mt <= 0 || mt > float64(k.maxOutput) {
			t.Errorf("upstream max tokens = %v, want 1…%d (%s's limit)", mt, k.maxOutput, k.upstream)
		}
		if k.reasons {
			if effort, _ := ub["reasoning_effort"].(string); effort == "" {
				t.Errorf("upstream reasoning_effort = %v, want Claude Code's effort for a reasoning model", ub["reasoning_effort"])
			}
			break
		}
		for _, key := range []string{"reasoning_effort", "thinking", "reasoning"} {
			if _, ok := ub[key]; ok {
				t.Errorf("upstream body has %q for a model that does not reason: %s", key, compact(ub[key]))
			}
		}

	case "ollama":
		if up.Path != "/api/chat" {
			t.Errorf("upstream path = %q, want /api/chat", up.Path)
		}
		if v := up.Header.Get("Authorization") + up.Header.Get("x-api-key"); v != "" {
			t.Errorf("upstream carries a key %q; the Ollama provider has none", v)
		}
		checkTranslatedCommon(t, k, cb, ub)
		if k.reasons {
			if th, ok := ub["think"]; !ok || th == false {
				t.Errorf("upstream think = %v, want Claude Code's thinking request for a model that reasons", compact(th))
			}
			break
		}
		// Claude Code asks for thinking ({"type":"adaptive"} with effort
		// high) whatever the model. llama3.2 cannot think, and a real
		// Ollama answers 400 `"llama3.2" does not support thinking` to any
		// truthy "think" for such a model (server/routes.go, ChatHandler),
		// so the gateway must drop it as it does for OpenAI models that do
		// not reason (catalog: "send reasoning settings only to models that
		// accept them").
		if th, ok := ub["think"]; ok && th != false {
			t.Errorf("GATEWAY BUG: upstream /api/chat for %s carries \"think\": %s; a real Ollama rejects it with 400 "+
				"(%q does not support thinking), so Claude Code cannot use a non-thinking Ollama model through the gateway",
				k.upstream, compact(th), k.upstream)
		}
	}
}

// checkTranslatedCommon checks what every translated (non-Anthropic)
// request must carry: all of Claude Code's tools as functions, its system
// prompt (top-level blocks and mid-conversation system messages) as
// system messages, and no Anthropic-only fields.
func checkTranslatedCommon(t *testing.T, k upstreamKind, cb, ub map[string]any) {
	t.Helper()
	want := toolNames(cb["tools"])
	got := toolNames(ub["tools"])
	slices.Sort(want)
	slices.Sort(got)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("upstream tools = %v, want the client's %v", got, want)
	}
	for _, tl := range asSlice(ub["tools"]) {
		tm, _ := tl.(map[string]any)
		fn, _ := tm["function"].(map[string]any)
		params, _ := fn["parameters"].(map[string]any)
		if tm["type"] != "function" || params["type"] != "object" {
			t.Errorf("upstream tool %v is not a function with an object schema: %.200s", fn["name"], compact(tl))
		}
	}

	msgs := asSlice(ub["messages"])
	var system []string
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		if mm["role"] == "system" {
			system = append(system, allText(mm["content"]))
		}
	}
	if len(msgs) == 0 || msgs[0].(map[string]any)["role"] != "system" {
		t.Errorf("upstream messages do not start with a system message")
	}
	allSystem := strings.Join(system, "\n")
	for _, blk := range asSlice(cb["system"]) {
		txt, _ := blk.(map[string]any)["text"].(string)
		if txt = strings.TrimSpace(txt); txt != "" && !strings.Contains(allSystem, txt) {
			t.Errorf("a system block of the client is missing from the upstream system messages: %.120q", txt)
		}
	}
	for _, m := range asSlice(cb["messages"]) {
		mm, _ := m.(map[string]any)
		if mm["role"] != "system" {
			continue
		}
		if txt := strings.TrimSpace(allText(mm["content"])); !strings.Contains(allSystem, txt) {
			t.Errorf("a mid-conversation system message of the client is missing upstream: %.120q", txt)
		}
	}
	for _, key := range []string{"cache_control", "context_management", "output_config"} {
		if strings.Contains(compact(ub), `"`+key+`"`) {
			t.Errorf("Anthropic-only field %q leaked into the %s request", key, k.name)
		}
	}
}

// checkClientToolTurn checks Claude Code's second request: an assistant
// message with a tool_use of Read per call (with the upstream's id where
// it has one), then a user message with a tool_result per tool_use, each
// holding its file's content.
func checkClientToolTurn(t *testing.T, body map[string]any, calls []wantCall) {
	t.Helper()
	uses := map[string]string{}    // tool_use id → file_path
	results := map[string]string{} // tool_use_id → content text
	var order []string
	for _, m := range asSlice(body["messages"]) {
		mm, _ := m.(map[string]any)
		for _, blk := range asSlice(mm["content"]) {
			b, _ := blk.(map[string]any)
			id, _ := b["id"].(string)
			switch {
			case mm["role"] == "assistant" && b["type"] == "tool_use":
				in, _ := b["input"].(map[string]any)
				if b["name"] != "Read" {
					t.Errorf("client tool_use = %s, want Read", compact(b))
				}
				path, _ := in["file_path"].(string)
				uses[id] = path
				order = append(order, id)
			case mm["role"] == "user" && b["type"] == "tool_result":
				useID, _ := b["tool_use_id"].(string)
				results[useID] = allText(b["content"])
			}
		}
	}
	if len(order) != len(calls) {
		t.Fatalf("Claude Code's second request has %d tool_use blocks, want %d: %.2000s", len(order), len(calls), compact(body["messages"]))
	}
	for i, c := range calls {
		id := order[i]
		if id == "" || (c.id != "" && id != c.id) {
			t.Errorf("client tool_use #%d id = %q, want %q (the upstream's; any non-empty id for Ollama)", i, id, c.id)
		}
		if uses[id] != c.file {
			t.Errorf("client tool_use %s reads %q, want %q", id, uses[id], c.file)
		}
		if r, ok := results[id]; !ok || !strings.Contains(r, c.marker) {
			t.Errorf("client tool_result for %s = %.200q (present %v), want the file's content %q", id, r, ok, c.marker)
		}
	}
}

// checkUpstreamToolTurn checks the upstream's second request: its own tool
// calls replayed, and each tool's output as a result in its dialect.
func checkUpstreamToolTurn(t *testing.T, kind string, body map[string]any, calls []wantCall) {
	t.Helper()
	type call struct{ id, name, file string }
	type res struct{ id, name, text string }
	var cs []call
	var rs []res
	for _, m := range asSlice(body["messages"]) {
		mm, _ := m.(map[string]any)
		if kind == "anthropic" {
			for _, blk := range asSlice(mm["content"]) {
				b, _ := blk.(map[string]any)
				switch b["type"] {
				case "tool_use":
					in, _ := b["input"].(map[string]any)
					cs = append(cs, call{str(b["id"]), str(b["name"]), str(in["file_path"])})
				case "tool_result":
					rs = append(rs, res{str(b["tool_use_id"]), "", allText(b["content"])})
				}
			}
			continue
		}
		if mm["role"] == "assistant" {
			for _, tc := range asSlice(mm["tool_calls"]) {
				tm, _ := tc.(map[string]any)
				fn, _ := tm["function"].(map[string]any)
				var args map[string]any
				switch a := fn["arguments"].(type) {
				case string: // OpenAI: JSON text
					_ = json.Unmarshal([]byte(a), &args)
				case map[string]any: // Ollama: an object
					args = a
				}
				cs = append(cs, call{str(tm["id"]), str(fn["name"]), str(args["file_path"])})
			}
		}
		if mm["role"] == "tool" {
			rs = append(rs, res{str(mm["tool_call_id"]), str(mm["tool_name"]), allText(mm["content"])})
		}
	}
	if len(cs) != len(calls) || len(rs) != len(calls) {
		t.Fatalf("%s upstream's second request has %d tool calls and %d results, want %d each: %.3000s",
			kind, len(cs), len(rs), len(calls), compact(body["messages"]))
	}
	if kind == "ollama" {
		// Ollama has no call ids: it pairs the tool messages with the
		// calls by position (and tool_name, the same "Read" for both
		// here). The tool messages must therefore come in the order of
		// the calls, whatever order the client sent its tool_results in.
		for i, want := range calls {
			c, r := cs[i], rs[i]
			if c.name != "Read" || c.file != want.file {
				t.Errorf("upstream tool call #%d = %+v, want Read of %s", i, c, want.file)
			}
			if r.name != "Read" {
				t.Errorf("upstream tool message #%d tool_name = %q, want Read", i, r.name)
			}
			if !strings.Contains(r.text, want.marker) {
				t.Errorf("GATEWAY BUG: Ollama tool message #%d holds %.60q but answers tool call #%d (Read of %s, content %q): "+
					"the gateway keeps the client's tool_result order (Claude Code sends parallel results in completion order), "+
					"and Ollama, having no call ids, pairs results with calls by position, so the model gets each file's "+
					"content attributed to the other call", i, r.text, i, filepath.Base(want.file), want.marker)
			}
		}
		return
	}
	// Anthropic and OpenAI pair calls and results by id, in any order.
	for i, want := range calls {
		c := cs[i]
		if c.name != "Read" || c.file != want.file || c.id != want.id {
			t.Errorf("upstream tool call #%d = %+v, want id %q, Read of %s", i, c, want.id, want.file)
		}
		var found bool
		for _, r := range rs {
			if r.id == want.id {
				found = true
				if !strings.Contains(r.text, want.marker) {
					t.Errorf("upstream tool result for %s = %.200q, want the file's content %q", want.id, r.text, want.marker)
				}
			}
		}
		if !found {
			t.Errorf("upstream has no tool result for %s", want.id)
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// betas splits the anthropic-beta header(s) into names.
func betas(h http.Header) []string {
	var out []string
	for _, v := range h.Values("anthropic-beta") {
		for _, b := range strings.Split(v, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}

// toolNames lists tool names in either dialect (name or function.name).
func toolNames(v any) []string {
	var out []string
	for _, tl := range asSlice(v) {
		m, _ := tl.(map[string]any)
		if fn, ok := m["function"].(map[string]any); ok {
			m = fn
		}
		if n, ok := m["name"].(string); ok {
			out = append(out, n)
		}
	}
	return out
}

// allText concatenates every string in v (content strings, text blocks,
// nested tool_result content).
func allText(v any) string {
	var sb strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			sb.WriteString(x)
			sb.WriteByte('\n')
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, key := range []string{"text", "content"} {
				if e, ok := x[key]; ok {
					walk(e)
				}
			}
		}
	}
	walk(v)
	return sb.String()
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func compact(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// TestClaudeCodeAuthToken runs Claude Code with ANTHROPIC_AUTH_TOKEN
// instead of ANTHROPIC_API_KEY (what users of gateways are told to set):
// it then sends the key as Authorization: Bearer, which the gateway must
// accept and must not forward to the Anthropic upstream.
func TestClaudeCodeAuthToken(t *testing.T) {
	bin := claudeBinary(t)
	g := testgateway.Start(t, "")
	g.Anthropic.Set(testupstream.Reply{Text: answer})
	rec := newRecorder(t, g.URL)
	t.Cleanup(func() {
		if t.Failed() {
			logExchanges(t, rec)
		}
	})
	res := runClaudeEnv(t, bin, rec.URL, "claude", t.TempDir(), "Reply with the single word ok.",
		map[string]string{"ANTHROPIC_API_KEY": "", "ANTHROPIC_AUTH_TOKEN": clientKey})
	if !strings.Contains(res.Result, answer) {
		t.Errorf("result = %q, want the upstream's text %q", res.Result, answer)
	}
	sent := rec.messages()
	if len(sent) == 0 {
		t.Fatal("Claude Code sent no POST /v1/messages to the gateway")
	}
	for _, e := range sent {
		if got := e.Header.Get("Authorization"); got != "Bearer "+clientKey {
			t.Errorf("client Authorization = %q, want Bearer %s", got, clientKey)
		}
		if got := e.Header.Get("x-api-key"); got != "" {
			t.Errorf("client x-api-key = %q, want none with ANTHROPIC_AUTH_TOKEN", got)
		}
		if e.Status != http.StatusOK {
			t.Errorf("gateway answered %d to POST /v1/messages: %s", e.Status, e.ErrorBody)
		}
	}
	got := chatRequests(g.Anthropic)
	if len(got) != len(sent) {
		t.Fatalf("Anthropic upstream received %d chat requests, Claude Code sent %d", len(got), len(sent))
	}
	for i := range got {
		checkUpstreamRequest(t, kinds[0], sent[i], got[i])
	}
}
