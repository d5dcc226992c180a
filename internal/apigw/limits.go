package apigw

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/openapi"
)

// RateLimit is one middleware profile's limit: requests per minute and
// per hour on one operation (zero: none on that window), shared by all
// callers or, with a Partition, counted per caller.
type RateLimit struct {
	RPM, RPH int64
	// Partition splits the windows by caller: "jwt.<claim>" (a claim of
	// the verified token, e.g. jwt.sub), "key" (the virtual key's id), or
	// "" (one window for everyone).
	Partition string
}

// Partition kinds.
const (
	PartitionKey       = "key"
	PartitionJWTPrefix = "jwt."
)

// Limits enforce the x-tidegate-middlewares rate limits of one API's
// operations, shared by the HTTP proxy and the MCP server (and, with a
// Redis counter, by every replica). A nil *Limits admits everything.
type Limits struct {
	counter  counter.Counter
	failOpen bool
	logger   *slog.Logger
	windows  map[string][]window // operation id → windows
}

// window is one limit of an operation; with a partition its key gets the
// caller's value appended at each check.
type window struct {
	counter.Window
	partition string
}

// NewLimits builds the limits of api's operations from the profiles they
// name. It fails on a profile that profiles does not define. It returns
// nil when no operation has a limit.
//
// auth is the API's auth mode ("passthrough", "keys" or "jwt"): a profile
// partitioned by jwt.* needs jwt, one partitioned by key needs keys, and
// neither applies to dispatch operations (their callers are not the
// API's).
func NewLimits(name string, api *openapi.API, profiles map[string]RateLimit, auth string, c counter.Counter, failOpen bool, logger *slog.Logger) (*Limits, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Limits{counter: c, failOpen: failOpen, logger: logger, windows: map[string][]window{}}
	var problems []string
	for _, op := range api.Operations {
		for _, p := range op.Middlewares {
			rl, ok := profiles[p]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s %s (%s): x-tidegate-middlewares: unknown profile %q (define it under middlewares:)", op.Method, op.Path, op.ID, p))
				continue
			}
			if msg := partitionProblem(rl.Partition, auth, op.DispatchModel != ""); msg != "" {
				problems = append(problems, fmt.Sprintf("%s %s (%s): x-tidegate-middlewares: profile %q %s", op.Method, op.Path, op.ID, p, msg))
				continue
			}
			base := "op:" + name + "/" + op.ID + ":" + p
			if rl.RPM > 0 {
				l.windows[op.ID] = append(l.windows[op.ID], window{counter.Window{Key: base + ":rpm", Limit: rl.RPM, Window: time.Minute}, rl.Partition})
			}
			if rl.RPH > 0 {
				l.windows[op.ID] = append(l.windows[op.ID], window{counter.Window{Key: base + ":rph", Limit: rl.RPH, Window: time.Hour}, rl.Partition})
			}
		}
	}
	if len(problems) > 0 {
		return nil, &ProfileError{Problems: problems}
	}
	if len(l.windows) == 0 {
		return nil, nil
	}
	if c == nil {
		return nil, fmt.Errorf("rate-limit middlewares need a counter")
	}
	return l, nil
}

// partitionProblem says why a partition cannot apply to an operation of
// an API with the given auth mode ("" when it can).
func partitionProblem(partition, auth string, dispatch bool) string {
	switch {
	case partition == "":
		return ""
	case dispatch:
		return fmt.Sprintf("is partitioned by %s, which does not apply to an x-tidegate-dispatch operation", partition)
	case partition == PartitionKey && auth != "keys":
		return fmt.Sprintf("is partitioned by key, but the API's auth is %q (use auth: keys)", auth)
	case strings.HasPrefix(partition, PartitionJWTPrefix) && auth != "jwt":
		return fmt.Sprintf("is partitioned by %s, but the API's auth is %q (use auth: jwt)", partition, auth)
	}
	return ""
}

// ProfileError lists the operations that name unknown profiles.
type ProfileError struct{ Problems []string }

func (e *ProfileError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return fmt.Sprintf("%d unknown middleware profiles: %v", len(e.Problems), e.Problems)
}

// Check takes one request on every window of the operation, partitioned
// windows in the caller's own partition (c is the Guard's admitted call;
// nil for passthrough). The error is an *llm.Error: 429 with RetryAfter
// when a window is full, 403 when the caller lacks the partition's value
// (a token without that claim), 503 when the counter cannot be reached
// (unless failOpen).
func (l *Limits) Check(ctx context.Context, operation string, c *Call) error {
	if l == nil {
		return nil
	}
	ws := l.windows[operation]
	if len(ws) == 0 {
		return nil
	}
	reqs := make([]counter.Window, len(ws))
	for i, w := range ws {
		reqs[i] = w.Window
		if w.partition == "" {
			continue
		}
		v, ok := c.partition(w.partition)
		if !ok {
			return &llm.Error{Kind: llm.KindPermission, Status: http.StatusForbidden, Code: "partition_missing",
				Message: fmt.Sprintf("the rate limit of %s is counted per %s, and this caller has none", operation, w.partition)}
		}
		reqs[i].Key += ":" + w.partition + "=" + partitionValue(v)
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	dec, err := l.counter.Reserve(ctx, &counter.Reservation{ID: "op_" + hex.EncodeToString(id[:]), Requests: reqs})
	if err != nil {
		if l.failOpen {
			l.logger.Warn("operation limits not enforced: counter backend unavailable", "operation", operation, "error", err)
			return nil
		}
		return &llm.Error{Kind: llm.KindOverloaded, Status: http.StatusServiceUnavailable, Message: "rate limits cannot be checked right now; try again shortly", Err: err}
	}
	if !dec.Allowed {
		return &llm.Error{Kind: llm.KindRateLimit, Code: "rate_limit_exceeded", RetryAfter: dec.RetryAfter,
			Message: fmt.Sprintf("rate limit reached for %s (%s); retry after %s", operation, dec.Denied, dec.RetryAfter.Round(time.Millisecond))}
	}
	return nil
}

// partition is the caller's value for a partition: a claim (string or
// number) of its verified token, or its key's id.
func (c *Call) partition(p string) (string, bool) {
	if c == nil {
		return "", false
	}
	if p == PartitionKey {
		id, _ := c.key["id"].(string)
		return id, id != ""
	}
	claim, ok := strings.CutPrefix(p, PartitionJWTPrefix)
	if !ok {
		return "", false
	}
	switch v := c.claims[claim].(type) {
	case string:
		return v, v != ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// partitionValue keeps a partition's value readable in counter keys when
// it is short and plain, and hashes it otherwise (claims are caller
// data: no separators, no unbounded key length).
func partitionValue(v string) string {
	if len(v) <= 64 && !strings.ContainsFunc(v, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.@|", r))
	}) {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "sha256:" + hex.EncodeToString(sum[:12])
}
