package dashboard_test

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tidegate/tidegate/internal/testgateway"
)

const adminKey = "tg-admin-dashboard-test-0123456789"

// keysGateway starts a gateway with virtual keys, a SQLite store of its own
// and an admin key, in front of the fake upstreams.
func keysGateway(t *testing.T) *testgateway.Gateway {
	t.Helper()
	db := filepath.Join(t.TempDir(), "tidegate.db")
	return testgateway.Start(t, testgateway.DefaultConfig+`
auth: keys
store: "sqlite://`+db+`"
admin_keys: [{name: dashboard-test, key: `+adminKey+`, scope: admin}]
`)
}

// send makes a request with a bearer key and decodes a JSON answer.
func send(t *testing.T, method, url, key string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(data) > 0 && json.Unmarshal(data, &out) != nil {
		t.Fatalf("%s %s: not JSON: %s", method, url, data)
	}
	return res.StatusCode, out, res.Header
}

func mustID(t *testing.T, status int, obj map[string]any, field string) string {
	t.Helper()
	if status != 201 {
		t.Fatalf("create: %d %v", status, obj)
	}
	return obj[field].(string)
}

func TestMe(t *testing.T) {
	g := keysGateway(t)
	admin := func(method, path string, body any) (int, map[string]any) {
		s, o, _ := send(t, method, g.URL+path, adminKey, body)
		return s, o
	}
	s, tm := admin("POST", "/admin/teams", map[string]any{"name": "research", "models": []string{"gpt", "claude", "echo"}, "budget_usd": 50, "budget_period": "monthly"})
	team := mustID(t, s, tm, "id")
	s, u := admin("POST", "/admin/users", map[string]any{"name": "ada", "team_id": team, "rpm": 100})
	user := mustID(t, s, u, "id")
	s, k := admin("POST", "/admin/keys", map[string]any{"name": "ada-laptop", "user_id": user, "models": []string{"gpt", "echo", "llama"},
		"rpm": 5, "tpm": 100000, "budget_usd": 2, "budget_period": "daily"})
	keyID, secret := mustID(t, s, k, "id"), k["key"].(string)
	s, other := admin("POST", "/admin/keys", map[string]any{"name": "someone-else-secret-name", "user_id": user})
	otherID, otherSecret := mustID(t, s, other, "id"), other["key"].(string)

	// The other key sends a request too: it must not show in ada-laptop's account.
	for _, sk := range []string{otherSecret, secret} {
		c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(sk), option.WithMaxRetries(0))
		if _, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		}); err != nil {
			t.Fatalf("chat: %v", err)
		}
	}

	// The usage log is written within a second or so.
	var me map[string]any
	deadline := time.Now().Add(5 * time.Second)
	for {
		var status int
		status, me, _ = send(t, "GET", g.URL+"/dashboard/api/me", secret, nil)
		if status != 200 {
			t.Fatalf("me: %d %v", status, me)
		}
		if len(me["recent"].([]any)) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	raw, _ := json.Marshal(me)
	for _, leak := range []string{otherID, "someone-else-secret-name", secret, otherSecret, adminKey} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the account shows %q: %s", leak, raw)
		}
	}
	key := me["key"].(map[string]any)
	if key["id"] != keyID || key["name"] != "ada-laptop" || !strings.HasPrefix(secret, key["prefix"].(string)) {
		t.Errorf("key %v", key)
	}
	if l := key["limits"].(map[string]any); l["rpm"] != 5.0 || l["tpm"] != 100000.0 || l["budget_usd"] != 2.0 || l["budget_period"] != "daily" {
		t.Errorf("key limits %v", l)
	}
	if u := me["user"].(map[string]any); u["name"] != "ada" || u["limits"].(map[string]any)["rpm"] != 100.0 {
		t.Errorf("user %v", u)
	}
	if tm := me["team"].(map[string]any); tm["name"] != "research" {
		t.Errorf("team %v", tm)
	}
	// Allowed: the gateway's models that the key's and the team's lists
	// both admit (the user has no list).
	if got := strings.Join(toStrings(me["models"]), ","); got != "echo,gpt" {
		t.Errorf("models %q, want echo,gpt", got)
	}

	recent := me["recent"].([]any)
	if len(recent) != 1 {
		t.Fatalf("recent %v", recent)
	}
	rec := recent[0].(map[string]any)
	cost := rec["cost_usd"].(float64)
	if rec["key_id"] != keyID || rec["model"] != "gpt" || rec["status"] != 200.0 || cost <= 0 {
		t.Errorf("recent %v", rec)
	}
	budgets := me["budgets"].([]any)
	if len(budgets) != 2 {
		t.Fatalf("budgets %v", budgets)
	}
	kb, tb := budgets[0].(map[string]any), budgets[1].(map[string]any)
	if kb["scope"] != "key" || kb["period"] != "daily" || kb["budget_usd"] != 2.0 || math.Abs(kb["spent_usd"].(float64)-cost) > 1e-12 ||
		math.Abs(kb["remaining_usd"].(float64)-(2-cost)) > 1e-12 || kb["period_end"] == nil {
		t.Errorf("key budget %v (cost %v)", kb, cost)
	}
	// The team's budget counts both keys' requests: it bounds this key too.
	if tb["scope"] != "team" || tb["name"] != "research" || tb["period"] != "monthly" || tb["spent_usd"].(float64) <= cost {
		t.Errorf("team budget %v", tb)
	}
	usage := me["usage"].(map[string]any)
	if tot := usage["totals"].(map[string]any); tot["requests"] != 1.0 || math.Abs(tot["cost_usd"].(float64)-cost) > 1e-12 {
		t.Errorf("usage totals %v", tot)
	}
	if len(usage["data"].([]any)) < 30 || usage["bucket"] != "day" {
		t.Errorf("usage buckets: %d %v", len(usage["data"].([]any)), usage["bucket"])
	}

	// Refusals, in the OpenAI error shape.
	for _, c := range []struct {
		key, method string
		status      int
		msg         string
	}{
		{"", "GET", 401, "missing API key"},
		{adminKey, "GET", 401, "invalid API key"}, // admin keys are not virtual keys
		{"sk-tg-not-a-key", "GET", 401, "invalid API key"},
		{secret, "POST", 405, "not allowed"},
	} {
		status, body, hdr := send(t, c.method, g.URL+"/dashboard/api/me", c.key, nil)
		e, _ := body["error"].(map[string]any)
		if status != c.status || e == nil || !strings.Contains(e["message"].(string), c.msg) || hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s with %q: %d %v", c.method, c.key, status, body)
		}
	}
	if s, _ := admin("POST", "/admin/keys/"+keyID+"/revoke", map[string]any{}); s != 200 {
		t.Fatalf("revoke: %d", s)
	}
	if status, body, _ := send(t, "GET", g.URL+"/dashboard/api/me", secret, nil); status != 401 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "revoked") {
		t.Errorf("revoked: %d %v", status, body)
	}
}

func TestNotMountedWithoutStore(t *testing.T) {
	g := testgateway.Start(t, "") // zero governance: no store, no admin API
	for _, p := range []string{"/dashboard/", "/dashboard/app.js", "/dashboard/api/me"} {
		res, err := http.Get(g.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, res.StatusCode)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// With auth: none keys are not checked, so no key has an account.
func TestMeWithoutKeyAuth(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tidegate.db")
	g := testgateway.Start(t, testgateway.DefaultConfig+`
auth: none
store: "sqlite://`+db+`"
admin_keys: [{name: dashboard-test, key: `+adminKey+`, scope: admin}]
`)
	s, k, _ := send(t, "POST", g.URL+"/admin/keys", adminKey, map[string]any{"name": "unused"})
	secret := k["key"].(string)
	if s != 201 {
		t.Fatalf("create: %d %v", s, k)
	}
	status, body, hdr := send(t, "GET", g.URL+"/dashboard/api/me", secret, nil)
	if status != 401 || !strings.Contains(body["error"].(map[string]any)["message"].(string), "auth: none") || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("auth: none: %d %v", status, body)
	}
	// The dashboard itself is served: admins still use it.
	if res, err := http.Get(g.URL + "/dashboard/"); err != nil || res.StatusCode != 200 {
		t.Fatalf("dashboard: %v %v", res, err)
	} else {
		res.Body.Close()
	}
}

// With auth: none for the models but an API that requires keys, keys have
// accounts: they are checked by the API's gate.
func TestMeWithKeysForAPIsOnly(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tidegate.db")
	spec := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      operationId: getA\n      responses: {'200': {description: ok}}\n"
	g := testgateway.StartFiles(t, testgateway.DefaultConfig+`
auth: none
store: "sqlite://`+db+`"
admin_keys: [{name: dashboard-test, key: `+adminKey+`, scope: admin}]
apis:
  tools: {spec: spec.yaml, upstream: "http://127.0.0.1:9", auth: keys}
`, map[string]string{"spec.yaml": spec})
	s, k, _ := send(t, "POST", g.URL+"/admin/keys", adminKey, map[string]any{"name": "agent", "models": []string{"api:tools/*", "echo"}})
	if s != 201 {
		t.Fatalf("create: %d %v", s, k)
	}
	status, body, _ := send(t, "GET", g.URL+"/dashboard/api/me", k["key"].(string), nil)
	if status != 200 || body["key"].(map[string]any)["name"] != "agent" || strings.Join(toStrings(body["models"]), ",") != "echo" {
		t.Errorf("account: %d %v", status, body)
	}
}
