package faults_test

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/tidegate/tidegate/internal/testgateway"
	"github.com/tidegate/tidegate/internal/testupstream"
)

// openFDs counts this process's open file descriptors (-1 where /proc is
// not available).
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// settle waits until f stops changing (two equal readings 50ms apart) and
// returns its value; bounded by 3 s.
func settle(f func() int) int {
	prev := f()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		cur := f()
		if cur == prev {
			return cur
		}
		prev = cur
	}
	return prev
}

func goroutineDump() string {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
	return b.String()
}

// TestClientDisconnectMidStream: a caller that leaves after the first event
// makes the gateway cancel its upstream request promptly, and twenty such
// departures leave no goroutine or connection behind.
func TestClientDisconnectMidStream(t *testing.T) {
	g := testgateway.Start(t, "")
	for _, rt := range routes {
		rt.up(g).Set(testupstream.Reply{Text: "one two three four five", Hang: true})
	}
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()

	leave := func(t *testing.T, i int) {
		t.Helper()
		rt := routes[i%len(routes)]
		up := rt.up(g)
		before := up.Cancelled()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL+rt.d.path, strings.NewReader(rt.d.body(rt.model, true)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", rt, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			t.Fatalf("%s: status %d", rt, resp.StatusCode)
		}
		// Read the first event, then leave: by closing the body on even
		// rounds, by cancelling the request on odd ones.
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				resp.Body.Close()
				t.Fatalf("%s: stream ended before its first event: %v", rt, err)
			}
			if line == "\n" || line == "\r\n" {
				break
			}
		}
		start := time.Now()
		if i%2 == 0 {
			resp.Body.Close()
		} else {
			cancel()
			resp.Body.Close()
		}
		if !waitFor(5*time.Second, func() bool { return up.Cancelled() > before }) {
			t.Fatalf("%s: round %d: the upstream request was not cancelled within 5s of the client leaving", rt, i)
		}
		if el := time.Since(start); el > time.Second {
			t.Logf("%s: round %d: upstream cancelled only after %s", rt, i, el)
		}
	}

	// Warm up every route once so lazily started goroutines are counted
	// in the baseline.
	for i := range routes {
		leave(t, i)
	}
	tr.CloseIdleConnections()
	baseG, baseFD := settle(runtime.NumGoroutine), settle(openFDs)

	const rounds = 20
	for i := 0; i < rounds; i++ {
		leave(t, i)
	}
	tr.CloseIdleConnections()

	const slack = 3
	var gotG, gotFD int
	okG := waitFor(5*time.Second, func() bool { gotG = runtime.NumGoroutine(); return gotG <= baseG+slack })
	okFD := waitFor(5*time.Second, func() bool { gotFD = openFDs(); return gotFD <= baseFD+slack })
	t.Logf("goroutines: baseline %d, after %d rounds %d; open fds: baseline %d, after %d", baseG, rounds, gotG, baseFD, gotFD)
	if !okG {
		t.Errorf("goroutines leak: %d after %d disconnects, baseline %d\n%s", gotG, rounds, baseG, goroutineDump())
	}
	if baseFD >= 0 && !okFD {
		t.Errorf("connections leak: %d open fds after %d disconnects, baseline %d", gotFD, rounds, baseFD)
	}
}
