package app

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/store"
	"github.com/tidegate/tidegate/internal/testpg"
	"github.com/tidegate/tidegate/internal/testupstream"
)

const (
	keyA     = "sk-upstream-key-aaaaaaaa"
	keyB     = "sk-upstream-key-bbbbbbbb"
	opsKey   = "ops-admin-key-0123456789"
	viewKey  = "view-admin-key-0123456789"
	liveYAML = `
providers:
  oai: {type: openai, base_url: "{{openai}}/v1", api_key: "{{key}}"}
  ant: {type: anthropic, base_url: "{{anthropic}}", api_key: "sk-ant-upstream-0000"}
models:
  gpt: {provider: {{provider}}, model: {{model}}}
`
	adminYAML = `
store: "{{store}}"
admin_keys:
  - {name: ops, key: ` + opsKey + `, scope: admin}
  - {name: viewer, key: ` + viewKey + `, scope: read}
`
)

// live is a gateway started from a config file, in front of fake
// OpenAI and Anthropic upstreams.
type live struct {
	t        *testing.T
	path     string
	oai, ant *testupstream.Server
	app      *App
	url      string
	events   chan ReloadEvent
	store    string
}

// cfgText renders the config with the upstream key, the provider of
// "gpt" and extra YAML appended.
func (l *live) cfgText(key, provider, extra string) string {
	model := "gpt-4o-mini"
	if provider == "ant" {
		model = "claude-sonnet-4-5"
	}
	s := strings.NewReplacer("{{openai}}", l.oai.URL, "{{anthropic}}", l.ant.URL, "{{key}}", key,
		"{{provider}}", provider, "{{model}}", model).Replace(liveYAML)
	if l.store != "" {
		s += strings.ReplaceAll(adminYAML, "{{store}}", l.store)
	}
	return s + extra
}

func (l *live) write(text string) {
	l.t.Helper()
	tmp := l.path + ".tmp"
	if err := os.WriteFile(tmp, []byte(text), 0o600); err != nil {
		l.t.Fatal(err)
	}
	if err := os.Rename(tmp, l.path); err != nil { // atomic, as editors and ConfigMaps do
		l.t.Fatal(err)
	}
}

func newLive(t *testing.T, storeURL string) *live {
	t.Helper()
	l := &live{t: t, oai: testupstream.New("openai"), ant: testupstream.New("anthropic"), store: storeURL,
		path: filepath.Join(t.TempDir(), "tidegate.yaml"), events: make(chan ReloadEvent, 1000)}
	t.Cleanup(l.oai.Close)
	t.Cleanup(l.ant.Close)
	l.write(l.cfgText(keyA, "oai", ""))
	return l
}

// start runs an App on the file (several may share one store: replicas).
func (l *live) start(opts ...Option) *App {
	l.t.Helper()
	a, _ := l.run(true, opts...)
	return a
}

// run is start, and serves the App at the URL it returns; without
// background work the App never applies other replicas' versions.
func (l *live) run(background bool, opts ...Option) (*App, string) {
	l.t.Helper()
	src := Source{Path: l.path, Getenv: func(string) string { return "" }}
	cfg, err := config.LoadWith(l.path, src.Getenv, nil)
	if err != nil {
		l.t.Fatal(err)
	}
	opts = append([]Option{WithSource(src), WithReloadHook(func(e ReloadEvent) { l.events <- e })}, opts...)
	a, err := New(context.Background(), cfg, "test", slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if background {
			a.RunBackground(ctx)
		}
	}()
	srv := httptest.NewServer(a.Handler())
	l.t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		a.Close()
	})
	if l.app == nil {
		l.app, l.url = a, srv.URL
	}
	return a, srv.URL
}

// chat sends one chat completion for model to the gateway at url and
// returns the status and body.
func chat(t testing.TB, url, model string, stream bool) (int, string) {
	t.Helper()
	body := `{"model":"` + model + `","messages":[{"role":"user","content":"hi"}]` + map[bool]string{true: `,"stream":true}`, false: `}`}[stream]
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Errorf("chat: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("chat body: %v", err)
	}
	return resp.StatusCode, string(b)
}

func lastKey(s *testupstream.Server) string {
	return strings.TrimPrefix(s.Last().Header.Get("Authorization"), "Bearer ")
}

func TestReloadRejectsInvalidAndRotatesKeys(t *testing.T) {
	l := newLive(t, "")
	l.start()
	if st, body := chat(t, l.url, "gpt", false); st != 200 || lastKey(l.oai) != keyA {
		t.Fatalf("before: %d %s key %q", st, body, lastKey(l.oai))
	}
	for name, bad := range map[string]string{
		"unknown field":    l.cfgText(keyB, "oai", "nonsense: 1\n"),
		"unknown provider": l.cfgText(keyB, "nope", ""),
		"bad condition":    l.cfgText(keyB, "oai", "targets:\n  t: {provider: oai, model: x}\npolicies:\n  - {when: \"request.nope(\", target: t}\n"),
		"not yaml":         "providers: [",
	} {
		l.write(bad)
		if err := l.app.Reload(context.Background()); err == nil {
			t.Fatalf("%s: reload accepted", name)
		}
		if st, body := chat(t, l.url, "gpt", false); st != 200 || lastKey(l.oai) != keyA {
			t.Fatalf("%s: old config must keep serving: %d %s key %q", name, st, body, lastKey(l.oai))
		}
	}
	if applied, rejected := l.app.Reloads(); applied != 0 || rejected != 4 {
		t.Fatalf("reloads = %d applied, %d rejected", applied, rejected)
	}
	// A valid file rotates the provider key without a restart.
	l.write(l.cfgText(keyB, "oai", ""))
	if err := l.app.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := chat(t, l.url, "gpt", false); st != 200 || lastKey(l.oai) != keyB {
		t.Fatalf("after rotation: %d key %q", st, lastKey(l.oai))
	}
	if applied, _ := l.app.Reloads(); applied != 1 {
		t.Fatalf("applied = %d", applied)
	}
}

func TestFileWatch(t *testing.T) {
	l := newLive(t, "")
	l.start(withFilePoll(20 * time.Millisecond))
	l.write(l.cfgText(keyA, "ant", ""))
	select {
	case e := <-l.events:
		if e.Err != nil || e.Origin != "file" {
			t.Fatalf("event %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the file change was not picked up")
	}
	if st, body := chat(t, l.url, "gpt", false); st != 200 || l.ant.Posts() != 1 {
		t.Fatalf("after the watch: %d %s (anthropic posts %d)", st, body, l.ant.Posts())
	}
}

// A stream that started on one config finishes on it, although the
// config that replaced it meanwhile no longer has its model.
func TestInFlightStreamKeepsItsConfig(t *testing.T) {
	l := newLive(t, "")
	l.start()
	l.oai.Set(testupstream.Reply{Text: "one two three four five six", EventDelay: 40 * time.Millisecond})
	resp, err := http.Post(l.url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"gpt","stream":true,"messages":[{"role":"user","content":"hi"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil { // the stream has begun
		t.Fatal(err)
	}
	l.write(strings.Replace(l.cfgText(keyA, "oai", ""), "gpt:", "other:", 1))
	if err := l.app.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st, _ := chat(t, l.url, "gpt", false); st != 404 {
		t.Fatalf("new requests must see the new config: %d", st)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(rest), "six") || !strings.Contains(string(rest), "[DONE]") {
		t.Fatalf("the old stream did not finish: %s", rest)
	}
}

// sdkChat sends one chat completion with the OpenAI SDK and returns the
// answer's text.
func sdkChat(c openai.Client, model string, stream bool) (string, error) {
	params := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	if !stream {
		res, err := c.Chat.Completions.New(context.Background(), params)
		if err != nil {
			return "", err
		}
		return res.Choices[0].Message.Content, nil
	}
	s := c.Chat.Completions.NewStreaming(context.Background(), params)
	defer s.Close()
	var text strings.Builder
	for s.Next() {
		for _, ch := range s.Current().Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	return text.String(), s.Err()
}

// Requests flow without a single failure while the config flips every
// 100 ms between two providers and two keys.
func TestReloadUnderLoad(t *testing.T) {
	l := newLive(t, "")
	l.start()
	texts := []string{l.cfgText(keyA, "oai", ""), l.cfgText(keyB, "ant", "")}
	client := openai.NewClient(option.WithBaseURL(l.url+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	for w := range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if text, err := sdkChat(client, "gpt", w%2 == 0); err == nil && strings.Contains(text, "Hello") {
					ok.Add(1)
				} else {
					failed.Add(1)
					t.Errorf("request failed: %q %v", text, err)
				}
			}
		})
	}
	flips := 0
	for i := range 20 {
		time.Sleep(100 * time.Millisecond)
		if _, err := l.app.commit(context.Background(), texts[(i+1)%2], "file", "file", store.AnyVersion); err != nil {
			t.Fatal(err)
		}
		flips++
	}
	close(stop)
	wg.Wait()
	t.Logf("%d requests, %d failed, %d config flips", ok.Load(), failed.Load(), flips)
	if failed.Load() != 0 || ok.Load() < 40 || l.oai.Posts() == 0 || l.ant.Posts() == 0 {
		t.Fatalf("ok %d failed %d (openai %d, anthropic %d)", ok.Load(), failed.Load(), l.oai.Posts(), l.ant.Posts())
	}
}

// adminCall calls the admin API with key and decodes the JSON answer.
func adminCall(t *testing.T, url, method, path, key, contentType, body string) (int, map[string]any) {
	t.Helper()
	st, _, out := adminDo(t, url, method, path, key, nil, contentType, body)
	return st, out
}

// adminDo is adminCall with request headers, returning the answer's too.
func adminDo(t *testing.T, url, method, path, key string, header http.Header, contentType, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, out
}

// ifMatch is an If-Match header naming version v.
func ifMatch(v string) http.Header { return http.Header{"If-Match": {v}} }

// Edits made from a version that is no longer the newest are refused with
// nothing stored: 412 for If-Match, 409 for the body's "version".
func TestAdminConfigPreconditions(t *testing.T) {
	l := newLive(t, "sqlite://"+filepath.Join(t.TempDir(), "tg.db"))
	l.start()
	st, h, cur := adminDo(t, l.url, "GET", "/admin/config", opsKey, nil, "", "")
	if st != 200 || h.Get("ETag") != `"1"` {
		t.Fatalf("GET: %d ETag %q", st, h.Get("ETag"))
	}
	text := cur["yaml"].(string)

	st, h, v := adminDo(t, l.url, "PUT", "/admin/config", opsKey, ifMatch(`"1"`), "application/yaml", text+"aliases:\n  fast: gpt\n")
	if st != 200 || v["version"] != 2.0 || h.Get("ETag") != `"2"` {
		t.Fatalf("PUT if-match 1: %d %v ETag %q", st, v, h.Get("ETag"))
	}
	// A second editor who also started from version 1 loses nothing and
	// changes nothing: 412, told the newest version.
	st, h, e := adminDo(t, l.url, "PUT", "/admin/config", opsKey, ifMatch(`"1"`), "application/yaml", text+"aliases:\n  slow: gpt\n")
	errObj, _ := e["error"].(map[string]any)
	if st != 412 || errObj["code"] != "config_version_conflict" || h.Get("ETag") != `"2"` ||
		!strings.Contains(errObj["message"].(string), "made from version 1, but the newest is version 2") {
		t.Fatalf("stale If-Match: %d %v ETag %q", st, e, h.Get("ETag"))
	}
	if st, _ := chat(t, l.url, "fast", false); st != 200 {
		t.Fatalf("the first edit must be serving: %d", st)
	}
	if st, _ := chat(t, l.url, "slow", false); st != 404 {
		t.Fatalf("the refused edit must not be serving: %d", st)
	}
	// The same through the body's version (a GET answer, edited): 409.
	view, _ := json.Marshal(map[string]any{"version": 1, "yaml": text})
	if st, e := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/json", string(view)); st != 409 || e["error"].(map[string]any)["code"] != "config_version_conflict" {
		t.Fatalf("stale body version: %d %v", st, e)
	}
	// The whole GET answer of the newest version, edited, goes through.
	_, cur = adminCall(t, l.url, "GET", "/admin/config", opsKey, "", "")
	cur["yaml"] = cur["yaml"].(string) + "  slow: gpt\n"
	view, _ = json.Marshal(cur)
	if st, v := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/json", string(view)); st != 200 || v["version"] != 3.0 {
		t.Fatalf("PUT of the edited view: %d %v", st, v)
	}
	if st, _ := chat(t, l.url, "slow", false); st != 200 {
		t.Fatalf("after the edited view: %d", st)
	}
	// Rollback takes If-Match too.
	if st, _, _ := adminDo(t, l.url, "POST", "/admin/config/rollback/1", opsKey, ifMatch(`"2"`), "", ""); st != 412 {
		t.Fatalf("stale rollback: %d", st)
	}
	if st, h, v := adminDo(t, l.url, "POST", "/admin/config/rollback/1", opsKey, ifMatch(`W/"3"`), "", ""); st != 200 || v["version"] != 4.0 || h.Get("ETag") != `"4"` {
		t.Fatalf("rollback if-match 3: %d %v", st, v)
	}
	// Resending the running config from the newest version is a no-op;
	// from an older one, a conflict.
	_, cur = adminCall(t, l.url, "GET", "/admin/config", opsKey, "", "")
	if st, _, v := adminDo(t, l.url, "PUT", "/admin/config", opsKey, ifMatch(`"4"`), "application/yaml", cur["yaml"].(string)); st != 200 || v["version"] != 4.0 {
		t.Fatalf("unchanged PUT: %d %v", st, v)
	}
	if st, _, _ := adminDo(t, l.url, "PUT", "/admin/config", opsKey, ifMatch(`"3"`), "application/yaml", cur["yaml"].(string)); st != 412 {
		t.Fatalf("unchanged PUT from an old version: %d", st)
	}
	// Malformed preconditions are 400s.
	if st, _, _ := adminDo(t, l.url, "PUT", "/admin/config", opsKey, ifMatch("4"), "application/yaml", cur["yaml"].(string)); st != 400 {
		t.Fatalf("unquoted If-Match: %d", st)
	}
	view, _ = json.Marshal(map[string]any{"version": 3, "yaml": cur["yaml"]})
	if st, _, e := adminDo(t, l.url, "PUT", "/admin/config", opsKey, ifMatch(`"4"`), "application/json", string(view)); st != 400 || e["error"].(map[string]any)["param"] != "version" {
		t.Fatalf("body and If-Match disagree: %d %v", st, e)
	}
	if st, h := adminCall(t, l.url, "GET", "/admin/config/history", opsKey, "", ""); st != 200 || len(h["data"].([]any)) != 4 {
		t.Fatalf("history: %d %v", st, h)
	}
}

func TestAdminConfigAPI(t *testing.T) {
	l := newLive(t, "sqlite://"+filepath.Join(t.TempDir(), "tg.db"))
	l.start()
	st, cur := adminCall(t, l.url, "GET", "/admin/config", viewKey, "", "")
	if st != 200 || cur["version"] != 1.0 || cur["author"] != "file" || cur["created_at"] == nil {
		t.Fatalf("GET: %d %v", st, cur)
	}
	text := cur["yaml"].(string)
	if strings.Contains(text, keyA) || strings.Contains(text, opsKey) || !strings.Contains(text, config.Mask) {
		t.Fatalf("secrets not masked:\n%s", text)
	}
	prov := cur["config"].(map[string]any)["providers"].(map[string]any)["oai"].(map[string]any)
	if prov["api_key"] != config.Mask || prov["base_url"] != l.oai.URL+"/v1" {
		t.Fatalf("config: %v", prov)
	}

	// PUT the masked YAML back with an alias: the secrets are kept.
	st, v2 := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/yaml", text+"aliases:\n  fast: gpt\n")
	if st != 200 || v2["version"] != 2.0 || v2["author"] != "ops" || v2["source"] != "api" {
		t.Fatalf("PUT: %d %v", st, v2)
	}
	if st, _ := chat(t, l.url, "fast", false); st != 200 || lastKey(l.oai) != keyA {
		t.Fatalf("alias after PUT: %d key %q", st, lastKey(l.oai))
	}
	// Invalid: 400 with the field path, nothing stored, old config serving.
	st, e := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/yaml", text+"models:\n  x: {provider: nope, model: y}\n")
	if msg, _ := e["error"].(map[string]any)["message"].(string); st != 400 || !strings.Contains(msg, "models") {
		t.Fatalf("invalid PUT: %d %v", st, e)
	}
	st, _ = adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/yaml", "providers:\n  oai: {type: openai, api_key: "+config.Mask+"1}\n")
	if st != 400 {
		t.Fatalf("a mangled mask must be refused: %d", st)
	}
	// Read-only keys cannot change it.
	if st, _ := adminCall(t, l.url, "PUT", "/admin/config", viewKey, "application/yaml", text); st != 403 {
		t.Fatalf("read scope PUT: %d", st)
	}
	// JSON: {"yaml": …} as GET returns it, rotating the key.
	rotated := strings.Replace(l.cfgText(keyB, "oai", ""), "gpt:", "gpt2:", 1)
	js, _ := json.Marshal(map[string]string{"yaml": rotated})
	st, v3 := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/json", string(js))
	if st != 200 || v3["version"] != 3.0 {
		t.Fatalf("PUT json: %d %v", st, v3)
	}
	if st, _ := chat(t, l.url, "gpt2", false); st != 200 || lastKey(l.oai) != keyB {
		t.Fatalf("after JSON PUT: %d key %q", st, lastKey(l.oai))
	}
	// JSON: the config itself as an object.
	obj, _ := json.Marshal(map[string]any{
		"store":      l.store,
		"admin_keys": []map[string]string{{"name": "ops", "key": opsKey, "scope": "admin"}},
		"providers":  map[string]any{"echo": map[string]any{"type": "echo"}},
		"models":     map[string]any{"e": map[string]any{"provider": "echo", "model": "echo"}},
	})
	if st, v := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/json", string(obj)); st != 200 || v["version"] != 4.0 {
		t.Fatalf("PUT object: %d %v", st, v)
	}
	if st, _ := chat(t, l.url, "e", false); st != 200 {
		t.Fatalf("echo after object PUT: %d", st)
	}

	// Version 4 has only the ops admin key: the viewer's is gone at once.
	if st, _ := adminCall(t, l.url, "GET", "/admin/config", viewKey, "", ""); st != 401 {
		t.Fatalf("removed admin key: %d", st)
	}
	st, h := adminCall(t, l.url, "GET", "/admin/config/history?limit=10", opsKey, "", "")
	data, _ := h["data"].([]any)
	if st != 200 || len(data) != 4 {
		t.Fatalf("history: %d %v", st, h)
	}
	first, last := data[0].(map[string]any), data[3].(map[string]any)
	if first["version"] != 4.0 || first["author"] != "ops" || last["version"] != 1.0 || last["author"] != "file" {
		t.Fatalf("history order/authors: %v", data)
	}
	d2 := data[2].(map[string]any)["diff"].(string)
	if !strings.Contains(d2, "+aliases:") || !strings.Contains(d2, "--- v1") || !strings.Contains(d2, "+++ v2") {
		t.Fatalf("diff v1→v2:\n%s", d2)
	}
	for _, e := range data {
		if d := e.(map[string]any)["diff"].(string); strings.Contains(d, keyA) || strings.Contains(d, keyB) || strings.Contains(d, opsKey) {
			t.Fatalf("a diff leaks a secret:\n%s", d)
		}
	}
	if st, h := adminCall(t, l.url, "GET", "/admin/config/history?limit=1&before=2", opsKey, "", ""); st != 200 || len(h["data"].([]any)) != 1 {
		t.Fatalf("history page: %d %v", st, h)
	}

	// Roll back to version 2: the alias and key A are back.
	st, v5 := adminCall(t, l.url, "POST", "/admin/config/rollback/2", opsKey, "", "")
	if st != 200 || v5["version"] != 5.0 || v5["source"] != "rollback" {
		t.Fatalf("rollback: %d %v", st, v5)
	}
	if st, _ := chat(t, l.url, "fast", false); st != 200 || lastKey(l.oai) != keyA {
		t.Fatalf("after rollback: %d key %q", st, lastKey(l.oai))
	}
	if st, _ := chat(t, l.url, "e", false); st != 404 {
		t.Fatalf("rolled-back model still served: %d", st)
	}
	if st, _ := adminCall(t, l.url, "POST", "/admin/config/rollback/99", opsKey, "", ""); st != 404 {
		t.Fatalf("rollback to a missing version: %d", st)
	}
	if st, _ := adminCall(t, l.url, "POST", "/admin/config/rollback/x", opsKey, "", ""); st != 400 {
		t.Fatalf("rollback to a bad version: %d", st)
	}
}

// A dry run checks an edit as PUT would and shows its diff, storing and
// serving nothing; each stored version can be read back whole.
func TestAdminConfigDryRunAndVersions(t *testing.T) {
	l := newLive(t, "sqlite://"+filepath.Join(t.TempDir(), "tg.db"))
	l.start()
	_, cur := adminCall(t, l.url, "GET", "/admin/config", opsKey, "", "")
	text := cur["yaml"].(string)
	edited := text + "aliases:\n  fast: gpt\n"

	st, c := adminCall(t, l.url, "PUT", "/admin/config?dry_run=true", opsKey, "application/yaml", edited)
	d, _ := c["diff"].(string)
	if st != 200 || c["valid"] != true || c["changed"] != true || c["from_version"] != 1.0 ||
		!strings.Contains(d, "--- v1") || !strings.Contains(d, "+++ proposed") || !strings.Contains(d, "+aliases:") || c["warnings"] == nil {
		t.Fatalf("dry run: %d %v", st, c)
	}
	if strings.Contains(d, keyA) || strings.Contains(d, opsKey) {
		t.Fatalf("the diff leaks a secret:\n%s", d)
	}
	if st, _ := chat(t, l.url, "fast", false); st != 404 {
		t.Fatalf("a dry run must not be served: %d", st)
	}
	if st, c := adminCall(t, l.url, "PUT", "/admin/config?dry_run=1", opsKey, "application/yaml", text); st != 200 || c["changed"] != false || c["diff"] != "" {
		t.Fatalf("dry run of the running config: %d %v", st, c)
	}
	if st, e := adminCall(t, l.url, "PUT", "/admin/config?dry_run=true", opsKey, "application/yaml", text+"models:\n  x: {provider: nope, model: y}\n"); st != 400 || e["error"].(map[string]any)["code"] != "invalid_config" {
		t.Fatalf("dry run of an invalid config: %d %v", st, e)
	}
	if st, _, _ := adminDo(t, l.url, "PUT", "/admin/config?dry_run=true", opsKey, ifMatch(`"7"`), "application/yaml", edited); st != 412 {
		t.Fatalf("dry run from a version that is not the newest: %d", st)
	}
	if st, e := adminCall(t, l.url, "PUT", "/admin/config?dry_run=perhaps", opsKey, "application/yaml", edited); st != 400 || e["error"].(map[string]any)["param"] != "dry_run" {
		t.Fatalf("dry_run=perhaps: %d %v", st, e)
	}
	if st, h := adminCall(t, l.url, "GET", "/admin/config/history", opsKey, "", ""); st != 200 || len(h["data"].([]any)) != 1 {
		t.Fatalf("a dry run stored a version: %d %v", st, h)
	}

	// Version 1, read back after version 2 replaced it.
	if st, _ := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/yaml", edited); st != 200 {
		t.Fatalf("PUT: %d", st)
	}
	st, v1 := adminCall(t, l.url, "GET", "/admin/config/history/1", viewKey, "", "")
	if st != 200 || v1["version"] != 1.0 || v1["yaml"] != text || v1["author"] != "file" || v1["config"] == nil {
		t.Fatalf("version 1: %d %v", st, v1)
	}
	if st, _ := adminCall(t, l.url, "GET", "/admin/config/history/99", opsKey, "", ""); st != 404 {
		t.Fatalf("missing version: %d", st)
	}
	if st, _ := adminCall(t, l.url, "GET", "/admin/config/history/x", opsKey, "", ""); st != 400 {
		t.Fatalf("bad version: %d", st)
	}
}

// An edit sent to a replica that still runs an older version gets its
// masked secrets from the version it was made from, not the running one.
func TestPutOnAStaleReplica(t *testing.T) {
	l := newLive(t, "sqlite://"+filepath.Join(t.TempDir(), "tg.db"))
	l.start()
	stale, staleURL := l.run(false) // never applies the other replica's versions
	// Version 2, made on the first replica, rotates the upstream key.
	if st, v := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/yaml", l.cfgText(keyB, "oai", "")); st != 200 || v["version"] != 2.0 {
		t.Fatalf("PUT v2: %d %v", st, v)
	}
	_, cur := adminCall(t, l.url, "GET", "/admin/config", opsKey, "", "")
	if stale.ConfigVersion() != 1 {
		t.Fatalf("the stale replica runs version %d", stale.ConfigVersion())
	}
	// Version 2's masked text, edited, sent to the replica still on 1.
	edited := cur["yaml"].(string) + "aliases:\n  fast: gpt\n"
	st, _, v := adminDo(t, staleURL, "PUT", "/admin/config", opsKey, ifMatch(`"2"`), "application/yaml", edited)
	if st != 200 || v["version"] != 3.0 {
		t.Fatalf("PUT v3 on the stale replica: %d %v", st, v)
	}
	if st, _ := chat(t, staleURL, "fast", false); st != 200 || lastKey(l.oai) != keyB {
		t.Fatalf("version 3 must keep version 2's key: %d key %q", st, lastKey(l.oai))
	}
	// From a version that does not exist: a conflict naming the newest.
	if st, _, e := adminDo(t, staleURL, "PUT", "/admin/config", opsKey, ifMatch(`"9"`), "application/yaml", edited); st != 412 ||
		!strings.Contains(e["error"].(map[string]any)["message"].(string), "the newest is version 3") {
		t.Fatalf("PUT from version 9: %d %v", st, e)
	}
}

// Precedence at start: the newest version wins — a stored API change
// beats an unchanged file, a changed file beats older stored versions.
func TestStartPrecedence(t *testing.T) {
	l := newLive(t, "sqlite://"+filepath.Join(t.TempDir(), "tg.db"))
	first := l.start()
	_, cur := adminCall(t, l.url, "GET", "/admin/config", opsKey, "", "")
	if st, v := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/yaml", cur["yaml"].(string)+"aliases:\n  fast: gpt\n"); st != 200 {
		t.Fatalf("PUT: %d %v", st, v)
	}
	first.Close() // the usage writer and store of the first "process"

	second := l.start()
	if second.ConfigVersion() != 2 || second.Config().Aliases["fast"] != "gpt" {
		t.Fatalf("restart with the file unchanged: version %d aliases %v", second.ConfigVersion(), second.Config().Aliases)
	}
	l.write(l.cfgText(keyB, "oai", ""))
	third := l.start()
	if third.ConfigVersion() != 3 || third.Config().Aliases != nil || third.Config().Providers["oai"].APIKey != keyB {
		t.Fatalf("restart with a changed file: version %d %+v", third.ConfigVersion(), third.Config().Providers)
	}
}

func TestPutUnmasksOnlyMatchingSecrets(t *testing.T) {
	masked, err := config.MaskYAML("store: postgres://u:pw@db/x\nredis: redis://h:6379\nproviders:\n  a: {type: openai, api_key: sk-1, headers: {X-K: v}}\n  b: {type: openai, api_key: \"${B_KEY}\"}\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"postgres://u:" + config.Mask + "@db/x", "redis://h:6379", "api_key: '" + config.Mask + "'", "X-K: '" + config.Mask + "'", "${B_KEY}"} {
		if !strings.Contains(masked, want) {
			t.Fatalf("masked lacks %q:\n%s", want, masked)
		}
	}
	if strings.Contains(masked, "pw") || strings.Contains(masked, "sk-1") {
		t.Fatalf("leak:\n%s", masked)
	}
	back, err := config.Unmask(masked, "store: postgres://u:pw@db/x\nproviders:\n  a: {api_key: sk-1, headers: {X-K: v}}\n")
	if err != nil || !bytes.Contains([]byte(back), []byte("u:pw@")) || !strings.Contains(back, "sk-1") {
		t.Fatalf("unmask: %v\n%s", err, back)
	}
}

// Two replicas share PostgreSQL: a version PUT on one is served by the
// other within a second (LISTEN/NOTIFY).
func TestReplicasConverge(t *testing.T) {
	l := newLive(t, testpg.Schema(t))
	a := l.start()
	b := l.start()
	srvB := httptest.NewServer(b.Handler())
	defer srvB.Close()
	if a.ConfigVersion() != 1 || b.ConfigVersion() != 1 {
		t.Fatalf("versions at start: %d %d", a.ConfigVersion(), b.ConfigVersion())
	}
	time.Sleep(300 * time.Millisecond) // b's listener is up
	for i, key := range []string{keyB, keyA, keyB} {
		_, cur := adminCall(t, l.url, "GET", "/admin/config", opsKey, "", "")
		text := strings.Replace(l.cfgText(key, "oai", ""), "gpt:", fmt.Sprintf("gpt%d:", i), 1)
		start := time.Now()
		st, v := adminCall(t, l.url, "PUT", "/admin/config", opsKey, "application/yaml", text)
		if st != 200 {
			t.Fatalf("PUT: %d %v (current %v)", st, v, cur["version"])
		}
		want := int64(v["version"].(float64))
		for b.ConfigVersion() != want {
			if time.Since(start) > time.Second {
				t.Fatalf("replica b still on version %d a second after %d was made", b.ConfigVersion(), want)
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Logf("version %d reached the other replica after %v", want, time.Since(start))
		clientB := openai.NewClient(option.WithBaseURL(srvB.URL+"/v1"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
		if _, err := sdkChat(clientB, fmt.Sprintf("gpt%d", i), false); err != nil || lastKey(l.oai) != key {
			t.Fatalf("replica b after version %d: %v key %q", want, err, lastKey(l.oai))
		}
	}
	// Rollback through b reaches a too.
	start := time.Now()
	st, v := adminCall(t, srvB.URL, "POST", "/admin/config/rollback/1", opsKey, "", "")
	if st != 200 {
		t.Fatalf("rollback: %d %v", st, v)
	}
	for a.ConfigVersion() != int64(v["version"].(float64)) {
		if time.Since(start) > time.Second {
			t.Fatalf("replica a did not follow the rollback within a second")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if st, _ := chat(t, l.url, "gpt", false); st != 200 || lastKey(l.oai) != keyA {
		t.Fatalf("replica a after rollback: %d", st)
	}
}

// The response cache's store outlives reloads: an answer cached before a
// reload is served after it. Switching caching on needs a restart.
func TestCacheSurvivesReload(t *testing.T) {
	l := newLive(t, "")
	l.write(l.cfgText(keyA, "oai", "cache: {all_models: true}\n"))
	l.start()
	send := func() string {
		resp, err := http.Post(l.url+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"gpt","messages":[{"role":"user","content":"cache me"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return resp.Header.Get("x-tidegate-cache")
	}
	if got := send(); got != "miss" {
		t.Fatalf("first: %q", got)
	}
	if _, err := l.app.commit(context.Background(), l.cfgText(keyA, "oai", "cache: {all_models: true}\naliases: {fast: gpt}\n"), "file", "file", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if got := send(); got != "hit" || l.oai.Posts() != 1 {
		t.Fatalf("after reload: %q, upstream posts %d", got, l.oai.Posts())
	}

	off := newLive(t, "")
	off.start()
	if _, err := off.app.commit(context.Background(), off.cfgText(keyA, "oai", "cache: {all_models: true}\n"), "file", "file", store.AnyVersion); err == nil || !strings.Contains(err.Error(), "restart") {
		t.Fatalf("turning the cache on live: %v", err)
	}
}

// A stored version that cannot serve on this replica (here: a policy that
// does not compile, written past the API's validation) does not keep the
// gateway from starting: it serves the file.
func TestStartFallsBackToTheFile(t *testing.T) {
	l := newLive(t, "sqlite://"+filepath.Join(t.TempDir(), "tg.db"))
	first := l.start()
	bad := l.cfgText(keyB, "oai", "targets:\n  t: {provider: oai, model: x}\npolicies:\n  - {when: \"request.nope(\", target: t}\n")
	if err := first.base.store.AddConfigVersion(context.Background(), &store.ConfigVersion{Author: "x", Source: store.SourceAPI, YAML: bad}, store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	first.Close()
	second := l.start()
	if second.ConfigVersion() != 1 || second.Config().Providers["oai"].APIKey != keyA {
		t.Fatalf("version %d key %q", second.ConfigVersion(), second.Config().Providers["oai"].APIKey)
	}
}

// Reloads are counted in tidegate_config_reloads_total when metrics are on.
func TestReloadMetrics(t *testing.T) {
	l := newLive(t, "")
	const tel = "telemetry: {metrics: {enabled: true}}\n"
	l.write(l.cfgText(keyA, "oai", tel))
	l.start()
	if _, err := l.app.commit(context.Background(), l.cfgText(keyB, "oai", tel), "file", "file", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if _, err := l.app.commit(context.Background(), l.cfgText(keyB, "nope", tel), "api", "ops", store.AnyVersion); err == nil {
		t.Fatal("invalid config applied")
	}
	resp, err := http.Get(l.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`tidegate_config_reloads_total{origin="file",result="applied"} 1`,
		`tidegate_config_reloads_total{origin="api",result="rejected"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestReloadKeepsOpenBreakers: a reload that leaves a provider's settings
// alone does not close its open breaker (traffic would go back to a
// failing upstream); one that changes them (here its key) starts it fresh.
func TestReloadKeepsOpenBreakers(t *testing.T) {
	l := newLive(t, "")
	const breaker = "breaker: {failures: 1, cooldown: 10m}\n"
	l.write(l.cfgText(keyA, "oai", breaker))
	l.start()
	l.oai.Set(testupstream.Reply{Status: 500})
	if code, _ := chat(t, l.url, "gpt", false); code != 502 {
		t.Fatalf("failing upstream: %d", code)
	}
	l.oai.Set(testupstream.Reply{Text: "ok"})
	if _, err := l.app.commit(context.Background(), l.cfgText(keyA, "oai", breaker+"aliases: {fast: gpt}\n"), "file", "file", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if code, _ := chat(t, l.url, "gpt", false); code != 503 || l.oai.Posts() != 1 {
		t.Fatalf("after an unrelated change: %d, upstream posts %d (want the open breaker kept: 503, 1)", code, l.oai.Posts())
	}
	// An empty map is no map: the provider is unchanged.
	emptyMaps := strings.Replace(l.cfgText(keyA, "oai", breaker), `api_key: "`+keyA+`"`, `api_key: "`+keyA+`", headers: {}, deployments: {}`, 1)
	if _, err := l.app.commit(context.Background(), emptyMaps, "file", "file", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if code, _ := chat(t, l.url, "gpt", false); code != 503 || l.oai.Posts() != 1 {
		t.Fatalf("after spelling the provider's absent maps as {}: %d, upstream posts %d (want the open breaker kept: 503, 1)", code, l.oai.Posts())
	}
	if _, err := l.app.commit(context.Background(), l.cfgText(keyB, "oai", breaker), "file", "file", store.AnyVersion); err != nil {
		t.Fatal(err)
	}
	if code, _ := chat(t, l.url, "gpt", false); code != 200 || l.oai.Posts() != 2 {
		t.Fatalf("after the provider's key changed: %d, upstream posts %d (want a fresh breaker: 200, 2)", code, l.oai.Posts())
	}
}
