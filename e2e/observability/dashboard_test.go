package observability_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// dashboardPath is the shipped Grafana dashboard.
const dashboardPath = "../../deploy/grafana/tidegate.json"

var (
	metricRef = regexp.MustCompile(`\btidegate_[a-zA-Z0-9_]+`)
	byClause  = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
)

// checkDashboard parses the dashboard and checks that every metric an
// expr (or a template query) names is in the scrape s, and that every
// label it groups by is one of that metric's labels.
func checkDashboard(t *testing.T, s scrape) {
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var dash map[string]any
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("%s is not JSON: %v", dashboardPath, err)
	}
	var exprs []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if str, ok := c.(string); ok && (k == "expr" || k == "definition") {
					exprs = append(exprs, str)
				}
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(dash)
	if len(exprs) < 20 {
		t.Fatalf("only %d queries in the dashboard", len(exprs))
	}
	for _, expr := range exprs {
		names := metricRef.FindAllString(expr, -1)
		if len(names) == 0 {
			t.Errorf("query names no tidegate metric: %s", expr)
			continue
		}
		have := map[string]bool{"le": true}
		for _, name := range names {
			fam := family(s, name)
			if fam == "" {
				t.Errorf("query uses %s, which the gateway does not export: %s", name, expr)
				continue
			}
			for _, m := range s[fam].Metric {
				for _, l := range m.Label {
					have[l.GetName()] = true
				}
			}
		}
		for _, g := range byClause.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !have[l] {
					t.Errorf("query groups by %q, which its metrics do not have: %s", l, expr)
				}
			}
		}
	}
}

// family is the metric family a series name belongs to (histograms
// expose name_bucket, name_count and name_sum); "" when none.
func family(s scrape, name string) string {
	if _, ok := s[name]; ok {
		return name
	}
	for _, suffix := range []string{"_bucket", "_count", "_sum"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f, ok := s[base]; ok && f.GetType().String() == "HISTOGRAM" {
				return base
			}
		}
	}
	return ""
}
