// Package testbinary builds the real tidegate binary once per test package
// and runs it as a child process, for the end-to-end tests that drive it
// as a user would:
//
//	var bin testbinary.Binary
//
//	func TestMain(m *testing.M) { os.Exit(testbinary.Main(m, "tidegate-e2e-x-", &bin)) }
//
//	func TestX(t *testing.T) {
//		bin.Need(t)
//		addr := testbinary.FreeAddr(t)
//		p := bin.Start(t, "tidegate", "", testbinary.Env(t, "TIDEGATE_LISTEN="+addr), "serve")
//		if !p.WaitHealthy(t, addr, 15*time.Second) { … p.Err(), p.Output() … }
//		… p.URL …
//		p.Signal(t, syscall.SIGTERM)
//		p.Wait(10 * time.Second)
//	}
package testbinary

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// Binary is the tidegate binary that Main built.
type Binary struct {
	path       string
	skipReason string // set when the go tool is missing
	buildErr   error  // set when the build failed
}

// Main builds cmd/tidegate into a fresh temporary directory (named as
// os.MkdirTemp does with pattern), runs the package's tests and removes the
// directory; it returns the exit code for os.Exit. A missing go tool or a
// failed build is reported by Need, test by test.
func Main(m *testing.M, pattern string, b *Binary) int {
	goTool, err := exec.LookPath("go")
	if err != nil {
		p := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, serr := os.Stat(p); serr == nil {
			goTool, err = p, nil
		}
	}
	dir, derr := os.MkdirTemp("", pattern)
	if derr != nil {
		fmt.Fprintln(os.Stderr, "tempdir:", derr)
		return 1
	}
	defer os.RemoveAll(dir)
	if err != nil {
		b.skipReason = "the go tool is not available to build the tidegate binary: " + err.Error()
	} else {
		b.path = filepath.Join(dir, "tidegate")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(ctx, goTool, "build", "-o", b.path, "github.com/tidegate/tidegate/cmd/tidegate")
		out, berr := cmd.CombinedOutput()
		cancel()
		if berr != nil {
			b.buildErr = fmt.Errorf("go build: %v\n%s", berr, out)
		}
	}
	return m.Run()
}

// Need skips t without a go tool and fails it if the build failed.
func (b *Binary) Need(t testing.TB) {
	t.Helper()
	if b.skipReason != "" {
		t.Skip(b.skipReason)
	}
	if b.buildErr != nil {
		t.Fatal(b.buildErr)
	}
}

// Env is a minimal, deterministic environment plus extra: PATH, a fresh
// HOME, no provider keys, no config, Ollama pointed at a closed port.
func Env(t testing.TB, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + t.TempDir(),
		"OLLAMA_HOST=" + FreeAddr(t),
	}, extra...)
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// FreeAddr returns a loopback address nothing listened on a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	return fmt.Sprintf("127.0.0.1:%d", FreePort(t))
}

// Process is a running (or exited) tidegate.
type Process struct {
	Name string // in failure messages and the output log
	Addr string // where it serves, once WaitHealthy saw it do so
	URL  string // "http://" + Addr

	cmd    *exec.Cmd
	out    syncBuffer // stdout and stderr
	done   chan struct{}
	err    error // Wait's result, once done is closed
	exited time.Time
}

// Start runs the binary with args in dir ("": the test's own) with exactly
// env. The process is killed when the test ends if it still runs, and its
// output is logged then if the test failed.
func (b *Binary) Start(t testing.TB, name, dir string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{Name: name, cmd: exec.Command(b.path, args...), done: make(chan struct{})}
	p.cmd.Env, p.cmd.Dir = env, dir
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.exited = time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", p.Name, p.out.String())
		}
	})
	return p
}

// WaitHealthy polls /health at addr until it answers 200, and sets Addr
// and URL; false if the process exited first. It fails the test if d
// passes.
func (p *Process) WaitHealthy(t testing.TB, addr string, d time.Duration) bool {
	t.Helper()
	p.Addr, p.URL = addr, "http://"+addr
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(d)
	for {
		resp, err := hc.Get(p.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		select {
		case <-p.done:
			return false
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer /health at %s within %s:\n%s", p.Name, addr, d, p.out.String())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Wait waits up to d for the process to exit; false if it still runs.
func (p *Process) Wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// Signal sends s to the process.
func (p *Process) Signal(t testing.TB, s os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(s); err != nil {
		t.Fatalf("signal %s: %v", p.Name, err)
	}
}

// Output is what the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Err is the process's exit error (nil for status 0) once it exited.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Exited is when the process exited (zero while it runs).
func (p *Process) Exited() time.Time {
	select {
	case <-p.done:
		return p.exited
	default:
		return time.Time{}
	}
}

// ExitCode is the exit status once the process exited: -1 if it did not
// exit normally (killed by a signal, for one).
func (p *Process) ExitCode() int {
	var ee *exec.ExitError
	if errors.As(p.Err(), &ee) {
		return ee.ExitCode()
	}
	if p.Err() != nil {
		return -1
	}
	return 0
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
