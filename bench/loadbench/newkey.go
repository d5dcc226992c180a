package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// runNewKey creates a tidegate virtual key through the admin API and prints
// its secret: loadbench newkey -addr http://127.0.0.1:PORT [-name bench]
// [-rpm N]. The admin key is read from $TIDEGATE_ADMIN_KEY, not argv.
func runNewKey(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("newkey", flag.ContinueOnError)
	addr := fs.String("addr", "", "gateway base URL (127.0.0.1 only)")
	name := fs.String("name", "bench", "key name")
	rpm := fs.Int64("rpm", 0, "requests per minute (0: no limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	secret, err := newKey(ctx, *addr, os.Getenv("TIDEGATE_ADMIN_KEY"), *name, *rpm)
	if err != nil {
		return err
	}
	fmt.Println(secret)
	return nil
}

func newKey(ctx context.Context, addr, adminKey, name string, rpm int64) (string, error) {
	base, err := checkURL(addr)
	if err != nil {
		return "", fmt.Errorf("newkey -addr: %w", err)
	}
	if adminKey == "" {
		return "", errors.New("newkey: TIDEGATE_ADMIN_KEY is not set")
	}
	body, err := json.Marshal(map[string]any{"name": name, "rpm": rpm})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/admin/keys", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("newkey: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: newTransport(1)}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("newkey: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("newkey: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("newkey: status %d: %s", resp.StatusCode, snippet(b))
	}
	var out struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Key == "" {
		return "", fmt.Errorf("newkey: no key in the answer: %s", snippet(b))
	}
	return out.Key, nil
}
