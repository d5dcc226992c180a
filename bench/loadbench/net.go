package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"
)

// loopback is the only address this benchmark ever binds to or dials.
const loopback = "127.0.0.1"

// checkListen accepts only 127.0.0.1:PORT.
func checkListen(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host != loopback {
		return fmt.Errorf("listen address %q: only %s is allowed", addr, loopback)
	}
	return nil
}

// checkURL accepts only http://127.0.0.1:PORT[/path] and returns it
// without a trailing slash.
func checkURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("url %q: %w", raw, err)
	}
	if u.Scheme != "http" || u.Hostname() != loopback || u.Port() == "" {
		return "", fmt.Errorf("url %q: only http://%s:PORT is allowed", raw, loopback)
	}
	return u.Scheme + "://" + u.Host + trimSlash(u.Path), nil
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// newTransport is a pooled loopback transport that ignores proxy settings
// from the environment and keeps up to conns idle connections.
func newTransport(conns int) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// serve runs h on addr until ctx is done or lifetime has passed, then shuts
// down gracefully. lifetime bounds how long a forgotten server can live.
func serve(ctx context.Context, addr string, h http.Handler, lifetime time.Duration) error {
	if err := checkListen(addr); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx, cancel := context.WithTimeout(ctx, lifetime)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShutdown()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// runFreePort prints a TCP port that is free on 127.0.0.1 right now.
func runFreePort() error {
	ln, err := net.Listen("tcp", loopback+":0")
	if err != nil {
		return fmt.Errorf("freeport: %w", err)
	}
	defer ln.Close()
	fmt.Println(ln.Addr().(*net.TCPAddr).Port)
	return nil
}

// runWait dials addr until it accepts a TCP connection or the timeout passes.
func runWait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	addr := fs.String("addr", "", "127.0.0.1:PORT to wait for")
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := checkListen(*addr); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	var d net.Dialer
	for attempt := 0; attempt < 10000; attempt++ {
		conn, err := d.DialContext(ctx, "tcp", *addr)
		if err == nil {
			return conn.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait %s: %w", *addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("wait %s: too many attempts", *addr)
}
