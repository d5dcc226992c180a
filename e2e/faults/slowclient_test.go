package faults_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/app"
	"github.com/tidegate/tidegate/internal/config"
)

// serveApp runs the gateway with app.Serve on a real loopback listener, as
// the binary does (server timeouts are set there), until the test ends.
func serveApp(t *testing.T, yaml string) string {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(context.Background(), cfg, "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("app: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Serve did not return within 10s of its context ending")
		}
	})
	return ln.Addr().String()
}

// TestSlowHeaderClients: 300 connections dribbling header bytes are cut
// off by read_header_timeout, while real requests keep being served
// promptly.
func TestSlowHeaderClients(t *testing.T) {
	addr := serveApp(t, `
server: {read_header_timeout: 1s, shutdown_timeout: 2s}
providers: {echo: {type: echo}}
models: {echo: {provider: echo, model: echo}}
`)
	const conns = 300
	const giveUp = 8 * time.Second
	prefix := "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Slow: "

	type result struct {
		closedAfter time.Duration
		err         error // nil: closed by the server
	}
	results := make([]result, conns)
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("dial slow connection %d: %v", i, err)
		}
		wg.Add(1)
		go func(i int, conn net.Conn) {
			defer wg.Done()
			defer conn.Close()
			start := time.Now()
			buf := make([]byte, 512)
			for n := 0; time.Since(start) < giveUp; n++ {
				b := byte('a')
				if n < len(prefix) {
					b = prefix[n]
				}
				if _, err := conn.Write([]byte{b}); err != nil {
					results[i] = result{closedAfter: time.Since(start)}
					return
				}
				_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := conn.Read(buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						continue // still open: dribble on
					}
					results[i] = result{closedAfter: time.Since(start)}
					return
				}
				// The server said something (an error status): keep
				// reading until it closes.
			}
			results[i] = result{closedAfter: time.Since(start), err: errors.New("still open")}
		}(i, conn)
	}

	// Real requests, each on a new connection, while the slow ones hold.
	rc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var slowest time.Duration
	for i := 0; i < 10; i++ {
		start := time.Now()
		resp, err := rc.Post("http://"+addr+"/v1/chat/completions", "application/json",
			strings.NewReader(`{"model":"echo","messages":[{"role":"user","content":"still here"}]}`))
		if err != nil {
			t.Fatalf("real request %d while slow clients hold connections: %v", i, err)
		}
		resp.Body.Close()
		el := time.Since(start)
		if el > slowest {
			slowest = el
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("real request %d: status %d", i, resp.StatusCode)
		}
		if el > 2*time.Second {
			t.Errorf("real request %d took %s while slow clients held connections", i, el)
		}
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(giveUp + 5*time.Second):
		t.Fatal("slow connection goroutines did not finish")
	}
	var times []time.Duration
	open := 0
	for _, r := range results {
		if r.err != nil {
			open++
			continue
		}
		times = append(times, r.closedAfter)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	if open > 0 {
		t.Errorf("%d of %d slow connections were still open after %s (read_header_timeout 1s)", open, conns, giveUp)
	}
	if len(times) > 0 {
		t.Logf("slow connections closed after %s (first) … %s (last); slowest real request %s", times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond), slowest.Round(time.Millisecond))
		if times[0] < 700*time.Millisecond {
			t.Errorf("a slow connection was closed after %s, before read_header_timeout (1s)", times[0])
		}
		if last := times[len(times)-1]; last > 4*time.Second {
			t.Errorf("the last slow connection was closed only after %s (read_header_timeout 1s)", last)
		}
	}
}
