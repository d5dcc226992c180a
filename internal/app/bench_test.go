package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidegate/tidegate/internal/cputime"
	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// BenchmarkGovernance is the in-process counterpart of the load
// benchmark's scenarios a and f: one non-stream chat request through the
// whole handler, open and with a key + rpm limit (memory counters, SQLite
// usage log). The difference between the two is governance's CPU cost; the
// fake upstream's share is the same in both.
func BenchmarkGovernance(b *testing.B) {
	up := testupstream.New("openai")
	defer up.Close()
	base := "providers:\n  up: {type: openai, base_url: " + up.URL + "/v1, api_key: bench}\nmodels:\n  m: {provider: up, model: gpt-mock}\n"
	body := `{"model":"m","messages":[{"role":"user","content":"hello there"}],"max_tokens":16}`
	run := func(b *testing.B, yaml, key string) {
		a := testgateway.App(b, yaml, nil)
		h := a.Handler()
		if key == "admin" {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/admin/keys", strings.NewReader(`{"name":"bench","rpm":100000000}`))
			req.Header.Set("Authorization", "Bearer bench-admin-key")
			h.ServeHTTP(rec, req)
			var created struct{ Key string }
			if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || rec.Code != 201 {
				b.Fatalf("create key: %d %s", rec.Code, rec.Body)
			}
			key = created.Key
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu0 := cputime.Process()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(body))
				if key != "" {
					req.Header.Set("Authorization", "Bearer "+key)
				}
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
		a.Close() // the usage log's last batch is part of the cost
		cputime.Report(b, cpu0)
	}
	b.Run("open", func(b *testing.B) { run(b, base, "") })
	// open with a usage log: what the keyed case adds beyond the log itself
	b.Run("open-logged", func(b *testing.B) {
		run(b, "store: sqlite://"+filepath.Join(b.TempDir(), "bench.db")+"\n"+base, "")
	})
	b.Run("keyed", func(b *testing.B) {
		b.Setenv("TIDEGATE_ADMIN_KEY", "bench-admin-key")
		run(b, "auth: keys\nstore: sqlite://"+filepath.Join(b.TempDir(), "bench.db")+"\n"+base, "admin")
	})
}
