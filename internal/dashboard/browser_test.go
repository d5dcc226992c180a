package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/tidegate/tidegate/internal/testupstream"
)

// chromium is Debian's browser (.ci/run installs it).
const chromium = "/usr/bin/chromium"

// browser starts a headless Chromium with a fresh profile and a laptop-sized
// window, and collects what the pages write to the console.
func browser(t *testing.T) (context.Context, *consoleLog) {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Skipf("skipping the browser test: %s not found (apt-get install chromium)", chromium)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 850),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1366, 850)); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	log := &consoleLog{}
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			log.add(m)
		}
	}()
	return bctx, log
}

type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func (l *consoleLog) add(m chromedp.ConsoleMessage) {
	l.mu.Lock()
	l.msgs = append(l.msgs, m)
	l.mu.Unlock()
}

// check fails the test on an uncaught exception or a CSP violation, and
// logs everything else the console saw.
func (l *consoleLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		text := m.String()
		if m.IsException() || strings.Contains(text, "Content Security Policy") || strings.Contains(text, "Refused to") {
			t.Errorf("browser console: %s", text)
		} else {
			t.Logf("browser console (%s): %s", m.Type, text)
		}
	}
}

// shots saves screenshots to $TIDEGATE_SCREENSHOTS, else to the test's
// artifact directory (kept with go test -artifacts).
type shots struct {
	t   *testing.T
	ctx context.Context
	dir string
}

func (s *shots) take(name string) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(s.dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot: %s", p)
}

// do runs steps, failing the test with what was being done and a
// screenshot of the page at that moment.
func (s *shots) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		s.take("failed")
		s.t.Fatalf("%s: %v", what, err)
	}
}

// waitText waits until the element sel contains want (pages re-render
// after a change, when the lists come back).
func (s *shots) waitText(sel, want string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	q, _ := json.Marshal(sel)
	w, _ := json.Marshal(want)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.querySelector(`+string(q)+`)?.textContent || "").includes(`+string(w)+`)`)); err != nil {
		s.take("failed")
		s.t.Fatalf("%s never showed %q: %v", sel, want, err)
	}
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowser drives the dashboard in Chromium against a whole gateway: log
// in with the admin key, create a key and see it listed, send a chat
// request with it and see the request in the logs, then log in as the key
// holder and see the account.
func TestBrowser(t *testing.T) {
	ctx, console := browser(t)
	defer console.check(t)
	g := keysGateway(t)
	dir := os.Getenv("TIDEGATE_SCREENSHOTS")
	if dir == "" {
		dir = t.ArtifactDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := &shots{t: t, ctx: ctx, dir: dir}
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }

	shot.do("open the login page", chromedp.Navigate(g.URL+"/dashboard/"), chromedp.WaitVisible(css("#login-key")))
	shot.take("01-login")
	shot.do("a wrong key is refused",
		chromedp.SendKeys(css("#login-key"), "not-a-key"), chromedp.Click(css("#login-submit")))
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("login-error").textContent.includes("not valid")`)); err != nil {
		t.Fatalf("login error not shown: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("login-key").value = ""`)); err != nil {
		t.Fatal(err)
	}
	shot.do("log in as admin",
		chromedp.SendKeys(css("#login-key"), adminKey), chromedp.Click(css("#login-submit")),
		chromedp.WaitVisible(css("#kpis")), chromedp.WaitVisible(css("#chart-requests svg")))
	if stored, err := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("tidegate.key") + "|" + document.cookie`)); err != nil || stored != adminKey+"|" {
		t.Fatalf("session: %q %v (want the key in sessionStorage and no cookie)", stored, err)
	}
	shot.take("02-overview")

	// Create a key with a limit; its secret is shown once.
	shot.do("open the new key dialog",
		chromedp.Click(css("#nav-keys")), chromedp.WaitVisible(css("#new-key")), chromedp.Click(css("#new-key")),
		chromedp.WaitVisible(css("#create-key #f-name")))
	shot.do("fill in the key",
		chromedp.SendKeys(css("#create-key #f-name"), "browser-key"),
		chromedp.SendKeys(css("#create-key #f-models"), "gpt, echo, claude"),
		chromedp.SendKeys(css("#create-key #f-rpm"), "30"),
		chromedp.SendKeys(css("#create-key #f-budget_usd"), "5"))
	shot.take("03-create-key")
	shot.do("create the key", chromedp.Click(css("#create-key-submit")), chromedp.WaitVisible(css("#new-secret")))
	secret := strings.TrimSpace(text(t, ctx, "#new-secret"))
	if !strings.HasPrefix(secret, "sk-tg-") {
		t.Fatalf("secret %q", secret)
	}
	row := text(t, ctx, "#keys-table tbody")
	for _, want := range []string{"browser-key", "active", "gpt, echo, claude", "30 rpm", "$5.00 total"} {
		if !strings.Contains(row, want) {
			t.Errorf("keys table lacks %q:\n%s", want, row)
		}
	}
	shot.take("04-keys")

	// One chat request with the new key, through the OpenAI SDK.
	c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	if _, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
		Model: "gpt", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello from the browser test")},
	}); err != nil {
		t.Fatalf("chat: %v", err)
	}

	// It shows in the request logs (the usage log is written within ~1 s).
	shot.do("open the logs", chromedp.Click(css("#nav-logs")), chromedp.WaitVisible(css("#logs-table")))
	for deadline := time.Now().Add(10 * time.Second); ; {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := chromedp.Run(pctx, chromedp.Poll[bool](`(document.querySelector("#logs-table tbody")?.textContent || "").includes("browser-key")`))
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			shot.take("failed")
			t.Fatalf("the request never appeared in the logs")
		}
		shot.do("refresh the logs", chromedp.Click(css("#logs-refresh")))
	}
	logRow := text(t, ctx, "#logs-table tbody tr:first-child")
	for _, want := range []string{"200", "browser-key", "gpt", "oai · gpt-4o-mini"} {
		if !strings.Contains(logRow, want) {
			t.Errorf("log row lacks %q: %s", want, logRow)
		}
	}
	shot.take("05-logs")
	shot.do("open the request's detail", chromedp.Click(css("#logs-table tbody tr:first-child")), chromedp.WaitVisible(css("#log-detail dl")))
	if d := text(t, ctx, "#log-detail dl"); !strings.Contains(d, "gpt-4o-mini") || !strings.Contains(d, "req_") {
		t.Errorf("detail: %s", d)
	}
	shot.take("06-log-detail")
	shot.do("close the detail", chromedp.Click(css("#log-detail-submit")), chromedp.WaitNotPresent(css("#log-detail")))

	// The Anthropic upstream fails: five failures in a row open its
	// circuit breaker, which the providers page shows.
	g.Anthropic.Set(testupstream.Reply{Status: 500})
	for range 5 {
		if _, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("fail")},
		}); err == nil {
			t.Fatal("a failing upstream answered")
		}
	}

	// Wait until the usage log has them (it is written within ~1 s).
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, st, _ := send(t, "GET", g.URL+"/admin/stats", adminKey, nil)
		if tot, _ := st["totals"].(map[string]any); tot != nil && tot["errors"] == 5.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failures never reached the usage log: %v", st["totals"])
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The other pages render.
	for _, p := range []struct{ nav, ready, shot string }{
		{"#nav-overview", "#chart-latency svg", "07-overview-after"},
		{"#nav-usage", "#usage-table", "08-usage"},
		{"#nav-users", "#users-table", "09-users"},
		{"#nav-teams", "#teams-table", "10-teams"},
		{"#nav-providers", "#targets-table", "11-providers"},
		{"#nav-config", "h1", "12-config"},
	} {
		shot.do("open "+p.nav, chromedp.Click(css(p.nav)), chromedp.WaitVisible(css(p.ready)))
		shot.take(p.shot)
	}
	if u := text(t, ctx, "#page"); !strings.Contains(u, "Configuration") {
		t.Errorf("config page: %s", u)
	}

	// Two configuration changes through the admin API, then the first
	// one's diff and a rollback to it from the configuration page.
	for _, alias := range []string{"first-alias", "second-alias"} {
		_, cur, _ := send(t, "GET", g.URL+"/admin/config", adminKey, nil)
		yaml := cur["yaml"].(string)
		if !strings.Contains(yaml, "aliases:") {
			yaml += "aliases: {}\n"
		}
		yaml = strings.Replace(yaml, "aliases: {}", "aliases:", 1)
		yaml = strings.Replace(yaml, "aliases:", "aliases:\n  "+alias+": gpt", 1)
		if st, v, _ := send(t, "PUT", g.URL+"/admin/config", adminKey, map[string]any{"yaml": yaml, "version": cur["version"]}); st != 200 {
			t.Fatalf("PUT %s: %d %v", alias, st, v)
		}
	}
	_, cur, _ := send(t, "GET", g.URL+"/admin/config", adminKey, nil)
	running := int(cur["version"].(float64))
	first := running - 1
	shot.do("reopen the configuration", chromedp.Click(css("#nav-overview")), chromedp.WaitVisible(css("#kpis")),
		chromedp.Click(css("#nav-config")), chromedp.WaitVisible(css("#config-history")))
	shot.waitText("#config-history tbody", "running")
	shot.do("show the first change's diff", chromedp.Click(css(fmt.Sprintf("#config-history tbody tr:nth-child(2) button"))), chromedp.WaitVisible(css("#config-diff pre")))
	if d := text(t, ctx, "#config-diff pre"); !strings.Contains(d, "+  first-alias: gpt") || strings.Contains(d, adminKey) {
		t.Errorf("diff of version %d: %s", first, d)
	}
	shot.take("12b-config-diff")
	shot.do("close the diff", chromedp.Click(css("#config-diff-submit")), chromedp.WaitNotPresent(css("#config-diff")))
	shot.do("roll back to it", chromedp.Click(css(fmt.Sprintf("#rollback-%d", first))), chromedp.WaitVisible(css("#config-rollback-submit")),
		chromedp.Click(css("#config-rollback-submit")))
	shot.waitText("#config-history tbody", "rollback")
	shot.take("12c-config-rolled-back")
	if _, now, _ := send(t, "GET", g.URL+"/admin/config", adminKey, nil); now["version"] != float64(running+1) || now["source"] != "rollback" ||
		strings.Contains(now["yaml"].(string), "second-alias") || !strings.Contains(now["yaml"].(string), "first-alias") {
		t.Errorf("after the rollback: %v", now)
	}

	// A team and a user in it, through the forms.
	shot.do("create a team",
		chromedp.Click(css("#nav-teams")), chromedp.WaitVisible(css("#new-team")), chromedp.Click(css("#new-team")),
		chromedp.WaitVisible(css("#create-team #f-name")),
		chromedp.SendKeys(css("#create-team #f-name"), "platform"),
		chromedp.SendKeys(css("#create-team #f-budget_usd"), "100"),
		chromedp.SetValue(css("#create-team #f-budget_period"), "monthly"),
		chromedp.Click(css("#create-team-submit")), chromedp.WaitNotPresent(css("#create-team")))
	shot.waitText("#teams-table tbody", "platform")
	if row := text(t, ctx, "#teams-table tbody"); !strings.Contains(row, "platform") || !strings.Contains(row, "$100.00 monthly") {
		t.Errorf("teams table: %s", row)
	}
	shot.do("create a user in it",
		chromedp.Click(css("#nav-users")), chromedp.WaitVisible(css("#new-user")), chromedp.Click(css("#new-user")),
		chromedp.WaitVisible(css("#create-user #f-name")),
		chromedp.SendKeys(css("#create-user #f-name"), "ada"),
		chromedp.SendKeys(css("#create-user #f-rpm"), "-1"), // refused by the API, shown in the form
		chromedp.Click(css("#create-user-submit")), chromedp.WaitVisible(css("#create-user .form-error:not(:empty)")))
	if e := text(t, ctx, "#create-user .form-error"); !strings.Contains(e, "rpm") {
		t.Errorf("form error: %q", e)
	}
	teamID, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#create-user #f-team_id option")].find((o) => o.textContent === "platform").value`))
	if err != nil {
		t.Fatal(err)
	}
	shot.do("fix the form",
		chromedp.SetValue(css("#create-user #f-rpm"), "100"), chromedp.SetValue(css("#create-user #f-team_id"), teamID),
		chromedp.Click(css("#create-user-submit")), chromedp.WaitNotPresent(css("#create-user")))
	shot.waitText("#users-table tbody", "ada")
	if row := text(t, ctx, "#users-table tbody"); !strings.Contains(row, "ada") || !strings.Contains(row, "platform") || !strings.Contains(row, "100 rpm") {
		t.Errorf("users table: %s", row)
	}
	shot.take("15-users")
	shot.do("overview", chromedp.Click(css("#nav-overview")), chromedp.WaitVisible(css("#kpis")))
	if k := text(t, ctx, "#kpis"); !strings.Contains(k, "Requests\n6") || !strings.Contains(k, "Errors\n5") || !strings.Contains(k, "83.3% of requests") {
		t.Errorf("overview tiles: %q", k)
	}
	shot.do("providers", chromedp.Click(css("#nav-providers")), chromedp.WaitVisible(css("#targets-table")))
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#targets-table tbody tr")]
		.filter((r) => r.cells[0].textContent === "ant/claude-sonnet-4-5")
		.flatMap((r) => [...r.cells].map((c) => c.textContent))`))
	if err != nil || len(cells) < 6 || cells[1] != "open" || cells[2] != "no" || cells[3] != "5" || !strings.Contains(cells[5], "500") {
		t.Errorf("the failing target's row: %q %v", cells, err)
	}
	if page := text(t, ctx, "#page"); !strings.Contains(page, "degraded") || !strings.Contains(page, "No target can serve: claude") {
		t.Errorf("providers page: %s", page)
	}
	shot.do("usage by model", chromedp.Click(css("#nav-usage")), chromedp.WaitVisible(css("#usage-table")))
	if u := text(t, ctx, "#usage-table tbody"); !strings.Contains(u, "browser-key") {
		t.Errorf("usage table lacks the key: %s", u)
	}

	// The key holder's own view.
	shot.do("log out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login-key")))
	shot.do("log in with the virtual key",
		chromedp.SendKeys(css("#login-key"), secret), chromedp.Click(css("#login-submit")), chromedp.WaitVisible(css("#account-models")))
	if m := text(t, ctx, "#account-models"); !strings.Contains(m, "gpt") || !strings.Contains(m, "echo") || !strings.Contains(m, "claude") || strings.Contains(m, "llama") {
		t.Errorf("allowed models: %s", m)
	}
	if b := text(t, ctx, "#account-budgets"); !strings.Contains(b, "of $5.00 (total)") {
		t.Errorf("budgets: %s", b)
	}
	if r := text(t, ctx, "#recent-table tbody"); !strings.Contains(r, "gpt") || !strings.Contains(r, "200") {
		t.Errorf("recent: %s", r)
	}
	if nav := text(t, ctx, "nav"); strings.Contains(nav, "Keys") {
		t.Errorf("a key holder sees admin pages: %s", nav)
	}
	shot.take("13-account")

	// Back as admin: rotate the key (the old secret stops at once), then
	// revoke it; the gateway refuses both secrets.
	shot.do("log out", chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login-key")))
	shot.do("log in as admin again",
		chromedp.SendKeys(css("#login-key"), adminKey), chromedp.Click(css("#login-submit")), chromedp.WaitVisible(css("#kpis")))
	shot.do("rotate the key",
		chromedp.Click(css("#nav-keys")), chromedp.WaitVisible(css("#keys-table")),
		chromedp.Click(css("#keys-table tbody tr:first-child button:nth-child(2)")), chromedp.WaitVisible(css("#rotate-key")),
		chromedp.Click(css("#rotate-key-submit")), chromedp.WaitVisible(css("#new-secret")))
	rotated := strings.TrimSpace(text(t, ctx, "#new-secret"))
	if !strings.HasPrefix(rotated, "sk-tg-") || rotated == secret {
		t.Fatalf("rotated secret %q", rotated)
	}
	chat := func(key string) error {
		c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
		_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{
			Model: "echo", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("after rotation")},
		})
		return err
	}
	if err := chat(secret); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("old secret after rotation: %v", err)
	}
	if err := chat(rotated); err != nil {
		t.Errorf("new secret: %v", err)
	}
	shot.do("revoke the key",
		chromedp.Click(css("#keys-table tbody tr:first-child button:nth-child(3)")), chromedp.WaitVisible(css("#revoke-key")),
		chromedp.Click(css("#revoke-key-submit")), chromedp.WaitVisible(css("#keys-table tbody tr.status-revoked")))
	if row := text(t, ctx, "#keys-table tbody tr:first-child"); !strings.Contains(row, "revoked") {
		t.Errorf("after revoke: %s", row)
	}
	if err := chat(rotated); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("revoked key: %v", err)
	}
	shot.take("14-revoked")
}
