package guard_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/testbinary"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// TestBinaryGuardAndCache runs the real binary with virtual keys, a
// guardrail profile attached through a key's metadata and a cached model:
// redaction and refusal in both dialects, a second identical request
// answered from the cache and logged as a cache hit that costs nothing.
func TestBinaryGuardAndCache(t *testing.T) {
	bin.Need(t)
	oai, ant := testupstream.New("openai"), testupstream.New("anthropic")
	t.Cleanup(oai.Close)
	t.Cleanup(ant.Close)
	oai.Set(testupstream.Reply{Text: "Hi [EMAIL_1]", Usage: testupstream.Usage{Input: 10, Output: 5}})
	ant.Set(testupstream.Reply{Text: "Hi [EMAIL_1]", Usage: testupstream.Usage{Input: 10, Output: 5}})
	dir := t.TempDir()
	adminKey := "admin-key-0123456789abcdef"
	var p *testbinary.Process
	var addr string
	for attempt := 0; attempt < 3 && p == nil; attempt++ {
		addr = testbinary.FreeAddr(t)
		cfg := `
listen: ` + addr + `
auth: keys
store: sqlite://` + filepath.Join(dir, "tg.db") + `
providers:
  oai: {type: openai, base_url: "` + oai.URL + `/v1", api_key: sk-upstream-openai-key-123456}
  ant: {type: anthropic, base_url: "` + ant.URL + `", api_key: sk-ant-upstream-key-123456}
model_info:
  gpt-4o-mini: {input_price: 1, output_price: 1}
  claude-sonnet-4-5: {input_price: 1, output_price: 1}
guardrails:
  mask: {restore: true}
cache: {ttl: 1m}
models:
  gpt:    {provider: oai, model: gpt-4o-mini, cache: {}}
  claude: {provider: ant, model: claude-sonnet-4-5, cache: {}}
`
		path := filepath.Join(dir, "tidegate.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		proc := bin.Start(t, "tidegate", dir, testbinary.Env(t, "TIDEGATE_ADMIN_KEY="+adminKey), "serve", "--config", path)
		if proc.WaitHealthy(t, addr, 20*time.Second) {
			p = proc
		} else if !strings.Contains(proc.Output(), "address already in use") {
			t.Fatalf("serve exited: %v\n%s", proc.Err(), proc.Output())
		}
	}
	if p == nil {
		t.Fatal("no free port")
	}
	base := "http://" + addr
	r := postH(t, base+"/admin/keys", `{"name":"guarded","metadata":{"guardrails":"mask"}}`, map[string]string{"Authorization": "Bearer " + adminKey})
	if r.Status != http.StatusCreated {
		t.Fatal(r)
	}
	key := gjson.GetBytes(r.Body, "key").String()
	keyID := gjson.GetBytes(r.Body, "id").String()
	auth := map[string]string{"Authorization": "Bearer " + key, "anthropic-version": "2023-06-01"}

	for _, tc := range []struct{ path, model string }{{"/v1/chat/completions", "gpt"}, {"/v1/messages", "claude"}} {
		body := `{"model":"` + tc.model + `","max_tokens":20,"messages":[{"role":"user","content":"I am ann@example.com"}]}`
		for i, want := range []string{"miss", "hit"} {
			r := postH(t, base+tc.path, body, auth)
			got := gjson.GetBytes(r.Body, "choices.0.message.content").String() + gjson.GetBytes(r.Body, "content.0.text").String()
			if r.Status != 200 || got != "Hi ann@example.com" || r.Header.Get("x-tidegate-cache") != want {
				t.Fatalf("%s #%d: %q cache %q: %s", tc.path, i, got, r.Header.Get("x-tidegate-cache"), r)
			}
		}
		blocked := postH(t, base+tc.path, strings.Replace(body, "ann@example.com", "ghp_0123456789abcdefghijABCDEFGHIJ012345", 1), auth)
		if blocked.Status != 400 || !strings.Contains(gjson.GetBytes(blocked.Body, "error.message").String(), "blocked by guardrail mask: it contains a secret (github_token)") {
			t.Fatalf("%s secret: %s", tc.path, blocked)
		}
	}
	if up := string(oai.Last().Body) + string(ant.Last().Body); strings.Contains(up, "ann@example.com") || !strings.Contains(up, "[EMAIL_1]") {
		t.Fatalf("upstreams got %s", up)
	}
	if oai.Posts() != 1 || ant.Posts() != 1 {
		t.Fatalf("upstream calls: openai %d, anthropic %d (want 1 each)", oai.Posts(), ant.Posts())
	}

	// The usage log: per dialect one charged request, one free cache hit,
	// one refusal.
	var logs []struct {
		CacheHit bool    `json:"cache_hit"`
		Refused  bool    `json:"refused"`
		CostUSD  float64 `json:"cost_usd"`
		Status   int     `json:"status"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := postGet(t, base+"/admin/logs?key_id="+keyID, adminKey)
		logs = logs[:0]
		_ = json.Unmarshal([]byte(gjson.GetBytes(r.Body, "data").Raw), &logs)
		if len(logs) >= 6 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var hits, charged, refused int
	for _, l := range logs {
		switch {
		case l.CacheHit:
			hits++
			if l.CostUSD != 0 || l.Refused {
				t.Errorf("a cache hit cost %v (refused %v)", l.CostUSD, l.Refused)
			}
		case l.Refused:
			refused++
		case l.CostUSD > 0:
			charged++
		}
	}
	if hits != 2 || charged != 2 || refused != 2 {
		t.Fatalf("usage log: %d hits, %d charged, %d refused: %+v", hits, charged, refused, logs)
	}
	if strings.Contains(p.Output(), "ann@example.com") || strings.Contains(p.Output(), "ghp_0123") {
		t.Fatalf("the gateway logged removed text:\n%s", p.Output())
	}
}

func postGet(t *testing.T, url, adminKey string) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, data}
}
