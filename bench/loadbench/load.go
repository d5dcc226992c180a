package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	systemPrompt = "You are a careful assistant for a shipping company. Answer questions about " +
		"harbour operations, tides, vessel schedules and cargo handling. Be concise and " +
		"precise, use plain language, and say so when you are not sure. Never invent " +
		"schedule data: if a vessel or berth is not in the context, ask for its name. " +
		"Prefer metric units, 24-hour times and ISO dates. Keep answers under one " +
		"hundred words unless the user asks for more detail."
	userPrompt = "Our harbour uses a tidal gate that opens twice a day. Tomorrow the high " +
		"tide is at 06:40 and 19:05, and we have three vessels waiting: a 190 m container " +
		"ship, a small ferry and a tanker with a 12 m draught. Explain in a short paragraph " +
		"how a tidal gateway decides what passes and when, and why it should add as little " +
		"delay as possible to each passage."
	maxBodyRead  = 8 << 20 // a response larger than this is an error
	maxErrSample = 5       // distinct error messages kept per run
)

// result is one measured run, one JSON line in the results file.
type result struct {
	Scenario    string   `json:"scenario"`    // short id: a, b, …
	Title       string   `json:"title"`       // human description
	Target      string   `json:"target"`      // upstream | floor | gateway
	Baseline    string   `json:"baseline"`    // scenario whose floor row this row is compared with
	API         string   `json:"api"`         // caller dialect
	Stream      bool     `json:"stream"`      //
	Concurrency int      `json:"concurrency"` //
	BodyBytes   int      `json:"body_bytes"`  // request body size
	Requests    int      `json:"requests"`    // completed without error
	Errors      int      `json:"errors"`      //
	Seconds     float64  `json:"seconds"`     // wall time of the measured phase
	RPS         float64  `json:"rps"`         // Requests / Seconds
	P50us       float64  `json:"p50_us"`      // full response latency
	P99us       float64  `json:"p99_us"`      //
	TTFBP50us   float64  `json:"ttfb_p50_us"` // time to the first body byte
	TTFBP99us   float64  `json:"ttfb_p99_us"` //
	CPUusPerReq float64  `json:"cpu_us_per_req"`
	CorePct     float64  `json:"core_pct"`            // target CPU / wall time, % of one core
	DriverPct   float64  `json:"driver_pct"`          // load generator + driver pids, % of one core
	PeakRSSMiB  float64  `json:"peak_rss_mib"`        // VmHWM of the target
	OtherPct    *float64 `json:"other_pct,omitempty"` // busy time of the target's core not charged to the target
	ErrorSample []string `json:"error_sample,omitempty"`
	// GatewayBase is the scenario whose gateway row this row is compared
	// with (the governance rows against the open gateway).
	GatewayBase string `json:"gateway_baseline,omitempty"`
	// Redis is what the Redis server ran during the measured phase
	// (INFO commandstats before and after), when -redis is set.
	Redis *redisCount `json:"redis,omitempty"`
}

// loadSpec is what every request of a run sends and expects.
type loadSpec struct {
	url         string
	body        []byte
	header      http.Header
	mustContain []string // markers a valid response body contains
	concurrency int
}

func runLoad(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	addr := fs.String("addr", "http://"+loopback+":18081", "target base URL (127.0.0.1 only)")
	api := fs.String("api", "openai", "caller dialect: openai (POST /v1/chat/completions), anthropic (POST /v1/messages), "+
		"mcp-call (tools/call lookupOrder at -mcp-path), mcp-list (tools/list there, -mcp-tools tools expected) or rest (the same lookup sent to the API directly)")
	mcpPath := fs.String("mcp-path", "/mcp/bench", "mcp-call, mcp-list: the MCP endpoint's path")
	mcpTools := fs.Int("mcp-tools", 500, "mcp-list: how many tools the list must hold")
	model := fs.String("model", "", "model to ask for (default bench-openai or bench-anthropic)")
	stream := fs.Bool("stream", false, "ask for a stream")
	includeUsage := fs.Bool("include-usage", true, "OpenAI streams: ask for the usage chunk")
	apiKey := fs.String("api-key", "bench", "key sent as Authorization: Bearer / x-api-key")
	conc := fs.Int("c", 50, "concurrent workers (closed loop)")
	dur := fs.Duration("d", 10*time.Second, "measured duration")
	maxN := fs.Int("n", 0, "stop the measured phase after this many requests (0: duration only)")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured warm-up before the measured phase")
	timeout := fs.Duration("timeout", 30*time.Second, "per-request timeout")
	pid := fs.Int("pid", 0, "target process for CPU and peak RSS (0: not measured)")
	driverPIDs := fs.String("driver-pids", "", "comma-separated pids counted with this process as the driver side (e.g. the upstream)")
	targetCore := fs.Int("target-cpu", -1, "core the target is pinned to, to report other work on it (-1: not measured)")
	var res result
	fs.StringVar(&res.Scenario, "scenario", "x", "scenario id for the report")
	fs.StringVar(&res.Title, "title", "", "scenario description for the report")
	fs.StringVar(&res.Target, "target", "", "target name for the report: upstream, floor or gateway")
	fs.StringVar(&res.Baseline, "baseline", "", "scenario whose floor row this one is compared with (default: -scenario)")
	fs.StringVar(&res.GatewayBase, "vs-gateway", "", "scenario whose gateway row this one is compared with (governance rows)")
	redisAddr := fs.String("redis", "", "127.0.0.1:PORT of a Redis whose commands to count during the measured phase")
	out := fs.String("out", "", "append the result as one JSON line to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *conc < 1 || *conc > 1000:
		return fmt.Errorf("-c %d: want 1..1000", *conc)
	case *dur <= 0 || *dur > 10*time.Minute || *warmup < 0 || *warmup > 10*time.Minute:
		return errors.New("-d and -warmup: want at most 10m")
	}
	var spec *loadSpec
	var err error
	switch *api {
	case "mcp-call", "mcp-list", "rest":
		spec, err = newMCPLoadSpec(*addr, *api, *mcpPath, *mcpTools)
	default:
		spec, err = newLoadSpec(*addr, *api, *model, *apiKey, *stream, *includeUsage)
	}
	if err != nil {
		return err
	}
	spec.concurrency = *conc
	drivers, err := parsePIDs(*driverPIDs)
	if err != nil {
		return err
	}
	if res.Baseline == "" {
		res.Baseline = res.Scenario
	}
	res.API, res.Stream, res.Concurrency, res.BodyBytes = *api, *stream, *conc, len(spec.body)

	client := &http.Client{Transport: newTransport(*conc), Timeout: *timeout}
	defer client.CloseIdleConnections()
	if *warmup > 0 {
		w := spec.run(ctx, client, *warmup, math.MaxInt32)
		if w.errors > 0 {
			fmt.Fprintf(os.Stderr, "warm-up: %d errors, e.g. %s\n", w.errors, strings.Join(w.errSample, " | "))
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	limit := *maxN
	if limit <= 0 {
		limit = math.MaxInt32
	}
	var rdb *redisConn
	var redis0 redisStats
	if *redisAddr != "" {
		if rdb, err = dialRedis(ctx, *redisAddr, 0); err != nil {
			return err
		}
		defer rdb.Close()
		if redis0, err = rdb.stats(); err != nil {
			return err
		}
	}
	if *pid > 0 {
		resetPeakRSS(*pid)
	}
	self := os.Getpid()
	targetCPU0, errT := cpuTime(*pid)
	driverCPU0, errD := sumCPU(append(drivers, self))
	core0, errC := coreBusy(*targetCore)
	m := spec.run(ctx, client, *dur, int64(limit))
	targetCPU1, errT1 := cpuTime(*pid)
	driverCPU1, errD1 := sumCPU(append(drivers, self))
	core1, errC1 := coreBusy(*targetCore)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("load interrupted: %w", err) // a cut-short run is not a result
	}
	if rdb != nil {
		redis1, err := rdb.stats()
		if err != nil {
			return err
		}
		d := diffStats(redis0, redis1)
		res.Redis = &d
	}

	res.Requests, res.Errors, res.ErrorSample = len(m.latencies), m.errors, m.errSample
	res.Seconds = m.elapsed.Seconds()
	res.RPS = float64(res.Requests) / res.Seconds
	res.P50us, res.P99us = percentileUS(m.latencies, 0.50), percentileUS(m.latencies, 0.99)
	res.TTFBP50us, res.TTFBP99us = percentileUS(m.ttfbs, 0.50), percentileUS(m.ttfbs, 0.99)
	if errD == nil && errD1 == nil {
		res.DriverPct = 100 * (driverCPU1 - driverCPU0).Seconds() / res.Seconds
	}
	if *pid > 0 {
		if err := errors.Join(errT, errT1); err != nil {
			return fmt.Errorf("target pid %d: %w", *pid, err)
		}
		cpu := targetCPU1 - targetCPU0
		if done := res.Requests + res.Errors; done > 0 {
			res.CPUusPerReq = float64(cpu.Microseconds()) / float64(done)
		}
		res.CorePct = 100 * cpu.Seconds() / res.Seconds
		if *targetCore >= 0 && errC == nil && errC1 == nil {
			other := max(0, 100*(core1-core0-cpu).Seconds()/res.Seconds)
			res.OtherPct = &other
		}
		rss, err := peakRSS(*pid)
		if err != nil {
			return fmt.Errorf("target pid %d: %w", *pid, err)
		}
		res.PeakRSSMiB = float64(rss) / (1 << 20)
	}
	printResult(os.Stdout, res)
	if *out != "" {
		if err := appendJSONLine(*out, res); err != nil {
			return err
		}
	}
	return nil
}

func newLoadSpec(addr, api, model, apiKey string, stream, includeUsage bool) (*loadSpec, error) {
	base, err := checkURL(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr: %w", err)
	}
	spec := &loadSpec{header: http.Header{"Content-Type": {"application/json"}}, mustContain: []string{"tidewater"}}
	var body any
	switch api {
	case "openai":
		if model == "" {
			model = "bench-openai"
		}
		spec.url = base + "/v1/chat/completions"
		spec.header.Set("Authorization", "Bearer "+apiKey)
		req := map[string]any{
			"model": model,
			"messages": []map[string]string{
				{"role": "system", "content": systemPrompt},
				{"role": "user", "content": userPrompt},
			},
			"temperature": 0.7,
			"max_tokens":  256,
		}
		switch {
		case stream && includeUsage:
			req["stream"], req["stream_options"] = true, map[string]bool{"include_usage": true}
			spec.mustContain = append(spec.mustContain, "data: [DONE]", `"completion_tokens"`)
		case stream:
			req["stream"] = true
			spec.mustContain = append(spec.mustContain, "data: [DONE]")
		default:
			spec.mustContain = append(spec.mustContain, `"chat.completion"`, `"completion_tokens"`)
		}
		body = req
	case "anthropic":
		if model == "" {
			model = "bench-anthropic"
		}
		spec.url = base + "/v1/messages"
		spec.header.Set("x-api-key", apiKey)
		spec.header.Set("anthropic-version", "2023-06-01")
		req := map[string]any{
			"model":       model,
			"max_tokens":  256,
			"system":      systemPrompt,
			"messages":    []map[string]string{{"role": "user", "content": userPrompt}},
			"temperature": 0.7,
		}
		if stream {
			req["stream"] = true
			spec.mustContain = append(spec.mustContain, "event: message_stop", `"output_tokens"`)
		} else {
			spec.mustContain = append(spec.mustContain, `"end_turn"`, `"output_tokens"`)
		}
		body = req
	default:
		return nil, fmt.Errorf("-api %q: want openai or anthropic", api)
	}
	if spec.body, err = json.Marshal(body); err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	return spec, nil
}

// newMCPLoadSpec is a tools/call or tools/list through the gateway's MCP
// endpoint (stateless: no initialize needed), or the tool's HTTP request
// sent to the API directly (rest) for the baseline.
func newMCPLoadSpec(addr, api, path string, tools int) (*loadSpec, error) {
	base, err := checkURL(addr)
	if err != nil {
		return nil, fmt.Errorf("-addr: %w", err)
	}
	spec := &loadSpec{header: http.Header{"Content-Type": {"application/json"}}}
	switch api {
	case "rest":
		spec.url = base + mcpLookupURL
		spec.body = []byte(`{"id":7}`)
		spec.mustContain = []string{"tidewater", `"id":7`}
		return spec, nil
	case "mcp-call":
		spec.body = []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + mcpTool + `","arguments":{"id":7}}}`)
		// Only a successful call has structuredContent.
		spec.mustContain = []string{"tidewater", `"structuredContent"`}
	case "mcp-list":
		spec.body = []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`)
		spec.mustContain = []string{`"name":"` + mcpTool + `"`, fmt.Sprintf(`"name":"op%03d"`, tools-1)}
	}
	spec.url = base + path
	spec.header.Set("Accept", "application/json, text/event-stream")
	spec.header.Set("MCP-Protocol-Version", "2025-11-25")
	return spec, nil
}

// phase is what one closed-loop phase observed.
type phase struct {
	latencies, ttfbs []time.Duration // successful requests only
	errors           int
	errSample        []string
	elapsed          time.Duration
}

// run keeps spec.concurrency requests in flight until d has passed or
// maxN requests have been started, then waits for those in flight.
func (s *loadSpec) run(ctx context.Context, client *http.Client, d time.Duration, maxN int64) phase {
	var (
		started  atomic.Int64
		mu       sync.Mutex
		total    phase
		wg       sync.WaitGroup
		begin    = time.Now()
		deadline = begin.Add(d)
	)
	for range s.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine phase
			var buf bytes.Buffer
			chunk := make([]byte, 32<<10)
			for ctx.Err() == nil && time.Now().Before(deadline) && started.Add(1) <= maxN {
				lat, ttfb, err := s.do(ctx, client, &buf, chunk)
				if err != nil {
					mine.errors++
					if len(mine.errSample) < maxErrSample && !slices.Contains(mine.errSample, err.Error()) {
						mine.errSample = append(mine.errSample, err.Error())
					}
					continue
				}
				mine.latencies = append(mine.latencies, lat)
				mine.ttfbs = append(mine.ttfbs, ttfb)
			}
			mu.Lock()
			defer mu.Unlock()
			total.latencies = append(total.latencies, mine.latencies...)
			total.ttfbs = append(total.ttfbs, mine.ttfbs...)
			total.errors += mine.errors
			for _, e := range mine.errSample {
				if len(total.errSample) < maxErrSample && !slices.Contains(total.errSample, e) {
					total.errSample = append(total.errSample, e)
				}
			}
		}()
	}
	wg.Wait()
	total.elapsed = time.Since(begin)
	return total
}

// do sends one request, reads the whole response and checks it.
func (s *loadSpec) do(ctx context.Context, client *http.Client, buf *bytes.Buffer, chunk []byte) (lat, ttfb time.Duration, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.body))
	if err != nil {
		return 0, 0, fmt.Errorf("new request: %w", err)
	}
	req.Header = s.header // read-only; shared by all requests
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	buf.Reset()
	for buf.Len() <= maxBodyRead {
		n, rerr := resp.Body.Read(chunk)
		if n > 0 && ttfb == 0 {
			ttfb = time.Since(start)
		}
		buf.Write(chunk[:n])
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return 0, 0, fmt.Errorf("read body: %w", rerr)
		}
	}
	lat = time.Since(start)
	body := buf.Bytes()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, snippet(body))
	}
	if len(body) > maxBodyRead {
		return 0, 0, fmt.Errorf("response larger than %d bytes", maxBodyRead)
	}
	for _, m := range s.mustContain {
		if !bytes.Contains(body, []byte(m)) {
			return 0, 0, fmt.Errorf("response lacks %q: %s", m, snippet(body))
		}
	}
	return lat, ttfb, nil
}

func snippet(b []byte) string {
	const limit = 300
	if len(b) > limit {
		return strconv.Quote(string(b[:limit])) + "…"
	}
	return strconv.Quote(string(b))
}

// percentileUS is the nearest-rank percentile in microseconds; it sorts d.
func percentileUS(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(math.Ceil(p*float64(len(d)))) - 1
	return float64(d[max(i, 0)].Nanoseconds()) / 1e3
}

func parsePIDs(s string) ([]int, error) {
	var pids []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("pid %q: not a process id", f)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

func sumCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, pid := range pids {
		t, err := cpuTime(pid)
		if err != nil {
			return 0, err
		}
		sum += t
	}
	return sum, nil
}

func printResult(w io.Writer, r result) {
	fmt.Fprintf(w, "%-2s %-8s %-34s %8.0f req/s  p50 %s  p99 %s", r.Scenario, r.Target, r.Title, r.RPS, fmtUS(r.P50us), fmtUS(r.P99us))
	if r.Stream {
		fmt.Fprintf(w, "  ttfb p50 %s p99 %s", fmtUS(r.TTFBP50us), fmtUS(r.TTFBP99us))
	}
	if r.CorePct > 0 {
		fmt.Fprintf(w, "  cpu %.0f µs/req (%.0f%% core)  peak rss %.1f MiB", r.CPUusPerReq, r.CorePct, r.PeakRSSMiB)
	}
	if r.OtherPct != nil {
		fmt.Fprintf(w, "  other on its core %.0f%%", *r.OtherPct)
	}
	if r.Redis != nil {
		if done := r.Requests + r.Errors; done > 0 {
			fmt.Fprintf(w, "  redis %.2f scripts/req (%.2f cmds/req: %s), %.0f µs/req cpu", float64(r.Redis.Eval)/float64(done),
				float64(r.Redis.All)/float64(done), perRequest(r.Redis.Commands, done), r.Redis.CPUus/float64(done))
		}
	}
	fmt.Fprintf(w, "  driver %.0f%%  errors %d\n", r.DriverPct, r.Errors)
	for _, e := range r.ErrorSample {
		fmt.Fprintf(w, "   error: %s\n", e)
	}
}

// perRequest formats calls per command ÷ n, most frequent first:
// "evalsha 1.00, get 0.01".
func perRequest(calls map[string]int64, n int) string {
	names := slices.Collect(maps.Keys(calls))
	slices.SortFunc(names, func(a, b string) int { return cmp.Or(cmp.Compare(calls[b], calls[a]), cmp.Compare(a, b)) })
	parts := make([]string, len(names))
	for i, name := range names {
		parts[i] = fmt.Sprintf("%s %.2f", name, float64(calls[name])/float64(n))
	}
	return strings.Join(parts, ", ")
}

func appendJSONLine(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("results file: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("results file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("results file: %w", err)
	}
	return nil
}
