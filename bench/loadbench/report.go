package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// runReport prints markdown tables from a results file written by load -out.
func runReport(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: loadbench report results.jsonl")
	}
	rows, err := readResults(args[0])
	if err != nil {
		return err
	}
	all := len(rows)
	rows = leastDisturbed(rows)
	// run.sh measures the governance scenarios right after a; list by id.
	slices.SortStableFunc(rows, func(a, b result) int { return cmp.Compare(a.Scenario, b.Scenario) })
	writeReport(os.Stdout, rows)
	if all > len(rows) {
		fmt.Printf("\n%d runs; each row is the one of its scenario and target with the least other work on the target's core.\n", all)
	}
	return nil
}

func readResults(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	defer f.Close()
	var rows []result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("results line %d: %w", len(rows)+1, err)
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return rows, nil
}

// leastDisturbed keeps, for each scenario and target, the run with the
// lowest other %, in the order the pairs first appear.
func leastDisturbed(rows []result) []result {
	type key struct{ scenario, target string }
	index := map[key]int{}
	var out []result
	for _, r := range rows {
		k := key{r.Scenario, r.Target}
		i, seen := index[k]
		switch {
		case !seen:
			index[k] = len(out)
			out = append(out, r)
		case otherPct(r) < otherPct(out[i]):
			out[i] = r
		}
	}
	return out
}

func otherPct(r result) float64 {
	if r.OtherPct == nil {
		return 0
	}
	return *r.OtherPct
}

func writeReport(w io.Writer, rows []result) {
	find := func(scenario, target string) (result, bool) {
		for _, r := range rows {
			if r.Scenario == scenario && r.Target == target {
				return r, true
			}
		}
		return result{}, false
	}

	fmt.Fprintln(w, "| scenario | target | req/s | p50 | p99 | TTFB p50 | TTFB p99 | CPU µs/req | core % | other % | peak RSS MiB | driver % | errors |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		ttfb50, ttfb99 := "–", "–"
		if r.Stream {
			ttfb50, ttfb99 = fmtUS(r.TTFBP50us), fmtUS(r.TTFBP99us)
		}
		cpu, core, other, rss := "–", "–", "–", "–"
		if r.CorePct > 0 {
			cpu, core, rss = fmt.Sprintf("%.0f", r.CPUusPerReq), fmt.Sprintf("%.0f", r.CorePct), fmt.Sprintf("%.1f", r.PeakRSSMiB)
		}
		if r.OtherPct != nil {
			other = fmt.Sprintf("%.0f", *r.OtherPct)
		}
		fmt.Fprintf(w, "| %s %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %.0f | %d |\n",
			r.Scenario, r.Title, r.Target, r.RPS, fmtUS(r.P50us), fmtUS(r.P99us), ttfb50, ttfb99, cpu, core, other, rss, r.DriverPct, r.Errors)
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "gateway ÷ floor (req/s: higher is better; the rest: lower is better)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| scenario | compared with | req/s | p50 | p99 | TTFB p50 | CPU µs/req | peak RSS |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|")
	for _, g := range rows {
		if g.Target != "gateway" {
			continue
		}
		f, ok := find(g.Baseline, "floor")
		if !ok {
			continue
		}
		ttfb := "–"
		if g.Stream && f.Stream {
			ttfb = ratio(g.TTFBP50us, f.TTFBP50us)
		}
		fmt.Fprintf(w, "| %s %s | floor, %s %s | %s | %s | %s | %s | %s | %s |\n",
			g.Scenario, g.Title, f.Scenario, f.Title, ratio(g.RPS, f.RPS), ratio(g.P50us, f.P50us), ratio(g.P99us, f.P99us),
			ttfb, ratio(g.CPUusPerReq, f.CPUusPerReq), ratio(g.PeakRSSMiB, f.PeakRSSMiB))
	}

	var governed []string
	for _, g := range rows {
		if g.Target != "gateway" || g.GatewayBase == "" {
			continue
		}
		o, ok := find(g.GatewayBase, "gateway")
		if !ok {
			continue
		}
		scripts, cmds, cpu := "–", "–", "–"
		if done := float64(g.Requests + g.Errors); g.Redis != nil && done > 0 {
			scripts = fmt.Sprintf("%.2f", float64(g.Redis.Eval)/done)
			cmds = fmt.Sprintf("%.2f", float64(g.Redis.All)/done)
			cpu = fmt.Sprintf("%.0f", g.Redis.CPUus/done)
		}
		governed = append(governed, fmt.Sprintf("| %s %s | gateway, %s %s | %s | %s | %s | %s | %s | %s | %s | %s |",
			g.Scenario, g.Title, o.Scenario, o.Title, ratio(g.RPS, o.RPS), ratio(g.P50us, o.P50us), ratio(g.P99us, o.P99us),
			ratio(g.CPUusPerReq, o.CPUusPerReq), ratio(g.PeakRSSMiB, o.PeakRSSMiB), scripts, cmds, cpu))
	}
	if len(governed) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "governed gateway ÷ open gateway (req/s: higher is better; the rest: lower is better), and what it sent Redis per request")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| scenario | compared with | req/s | p50 | p99 | CPU µs/req | peak RSS | Redis scripts/req | Redis cmds/req | Redis CPU µs/req |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
		for _, line := range governed {
			fmt.Fprintln(w, line)
		}
	}

	var added []string
	for _, r := range rows {
		u, ok := find(r.Scenario, "upstream")
		if !ok || r.Target == "upstream" {
			continue
		}
		// A stream's full latency is paced by the upstream, so only its
		// first byte says what the hop adds.
		p50, ttfb := fmtSigned(r.P50us-u.P50us), "–"
		if r.Stream {
			p50, ttfb = "–", fmtSigned(r.TTFBP50us-u.TTFBP50us)
		}
		added = append(added, fmt.Sprintf("| %s %s | %s | %s | %s |", r.Scenario, r.Title, r.Target, p50, ttfb))
	}
	if len(added) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Added over the upstream measured directly in the same scenario")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| scenario | target | p50 added | TTFB p50 added |")
		fmt.Fprintln(w, "|---|---|--:|--:|")
		for _, line := range added {
			fmt.Fprintln(w, line)
		}
	}
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// fmtUS formats microseconds: "850µs", "12.3ms".
func fmtUS(us float64) string {
	switch {
	case us < 0:
		return "-" + fmtUS(-us)
	case us < 1000:
		return fmt.Sprintf("%.0fµs", us)
	case us < 100_000:
		return fmt.Sprintf("%.2fms", us/1000)
	default:
		return fmt.Sprintf("%.0fms", us/1000)
	}
}

// fmtSigned is fmtUS with an explicit sign.
func fmtSigned(us float64) string {
	if us < 0 {
		return fmtUS(us)
	}
	return "+" + fmtUS(us)
}
