package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// adminFlags are the flags of every command that talks to the admin API.
type adminFlags struct {
	url  string
	key  string
	json bool
}

func (f *adminFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.url, "url", "", "gateway base URL (default $TIDEGATE_URL or http://127.0.0.1:8080)")
	cmd.PersistentFlags().StringVar(&f.key, "admin-key", "", "admin key (default $TIDEGATE_ADMIN_KEY)")
	cmd.PersistentFlags().BoolVar(&f.json, "json", false, "print the API's JSON answer instead of a table")
}

// client resolves the flags against the environment.
func (f *adminFlags) client() (*adminClient, error) {
	base := f.url
	if base == "" {
		base = os.Getenv("TIDEGATE_URL")
	}
	if base == "" {
		base = "http://127.0.0.1:8080"
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	key := f.key
	if key == "" {
		key = os.Getenv("TIDEGATE_ADMIN_KEY")
	}
	if key == "" {
		return nil, errors.New("no admin key: pass --admin-key or set TIDEGATE_ADMIN_KEY")
	}
	return &adminClient{base: strings.TrimRight(base, "/"), key: key, http: &http.Client{Timeout: 60 * time.Second}}, nil
}

// adminClient calls the admin API.
type adminClient struct {
	base string
	key  string
	http *http.Client
}

// apiError is the admin API's error answer.
type apiError struct {
	Status  int
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d %s)", e.Message, e.Status, e.Code)
}

// do sends in (if not nil) as JSON and returns the answer's body; an error
// status becomes an *apiError.
func (c *adminClient) do(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("admin API at %s: reading the answer: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(data, &env) == nil && env.Error != nil && env.Error.Message != "" {
			env.Error.Status = resp.StatusCode
			return nil, env.Error
		}
		return nil, &apiError{Status: resp.StatusCode, Message: strings.TrimSpace(string(data)), Code: http.StatusText(resp.StatusCode)}
	}
	return data, nil
}

// call is do that decodes the answer into out, or prints it as indented
// JSON when asJSON is set (then out is left as is and printed is true).
func (c *adminClient) call(cmd *cobra.Command, asJSON bool, method, path string, in, out any) (printed bool, err error) {
	data, err := c.do(cmd.Context(), method, path, in)
	if err != nil {
		return false, err
	}
	if asJSON {
		var buf bytes.Buffer
		if len(bytes.TrimSpace(data)) == 0 {
			return true, nil
		}
		if err := json.Indent(&buf, data, "", "  "); err != nil {
			return true, fmt.Errorf("admin API answered invalid JSON: %w", err)
		}
		buf.WriteByte('\n')
		_, err := cmd.OutOrStdout().Write(buf.Bytes())
		return true, err
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return false, fmt.Errorf("admin API answered unexpected JSON: %w", err)
		}
	}
	return false, nil
}

// parseWhen reads a point in time for a flag: RFC 3339, a date
// (YYYY-MM-DD, UTC), or a duration relative to now — "7d", "36h", "90m" —
// in the past (ago) or the future.
func parseWhen(flag, s string, now time.Time, ago bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if d, err := parseDuration(s); err == nil && d > 0 {
		if ago {
			return now.Add(-d), nil
		}
		return now.Add(d), nil
	}
	rel := "ago"
	if !ago {
		rel = "from now"
	}
	return time.Time{}, fmt.Errorf("--%s: want an RFC 3339 time (2030-01-02T15:04:05Z), a date (2030-01-02) or a duration %s (7d, 12h), got %q", flag, rel, s)
}

// parseDuration is time.ParseDuration plus whole days ("7d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 32)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
