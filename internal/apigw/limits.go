package apigw

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tidegate/tidegate/internal/counter"
	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/openapi"
)

// RateLimit is one middleware profile's limit: requests per minute and
// per hour on one operation (zero: none on that window).
type RateLimit struct {
	RPM, RPH int64
}

// Limits enforce the x-tidegate-middlewares rate limits of one API's
// operations, shared by the HTTP proxy and the MCP server (and, with a
// Redis counter, by every replica). A nil *Limits admits everything.
type Limits struct {
	counter  counter.Counter
	failOpen bool
	logger   *slog.Logger
	windows  map[string][]counter.Window // operation id → windows
}

// NewLimits builds the limits of api's operations from the profiles they
// name. It fails on a profile that profiles does not define. It returns
// nil when no operation has a limit.
func NewLimits(name string, api *openapi.API, profiles map[string]RateLimit, c counter.Counter, failOpen bool, logger *slog.Logger) (*Limits, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Limits{counter: c, failOpen: failOpen, logger: logger, windows: map[string][]counter.Window{}}
	var problems []string
	for _, op := range api.Operations {
		for _, p := range op.Middlewares {
			rl, ok := profiles[p]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s %s (%s): x-tidegate-middlewares: unknown profile %q (define it under middlewares:)", op.Method, op.Path, op.ID, p))
				continue
			}
			base := "op:" + name + "/" + op.ID + ":" + p
			if rl.RPM > 0 {
				l.windows[op.ID] = append(l.windows[op.ID], counter.Window{Key: base + ":rpm", Limit: rl.RPM, Window: time.Minute})
			}
			if rl.RPH > 0 {
				l.windows[op.ID] = append(l.windows[op.ID], counter.Window{Key: base + ":rph", Limit: rl.RPH, Window: time.Hour})
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

// ProfileError lists the operations that name unknown profiles.
type ProfileError struct{ Problems []string }

func (e *ProfileError) Error() string {
	if len(e.Problems) == 1 {
		return e.Problems[0]
	}
	return fmt.Sprintf("%d unknown middleware profiles: %v", len(e.Problems), e.Problems)
}

// Check takes one request on every window of the operation; the error is
// an *llm.Error: 429 with RetryAfter when a window is full, 503 when the
// counter cannot be reached (unless failOpen).
func (l *Limits) Check(ctx context.Context, operation string) error {
	if l == nil {
		return nil
	}
	ws := l.windows[operation]
	if len(ws) == 0 {
		return nil
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	dec, err := l.counter.Reserve(ctx, &counter.Reservation{ID: "op_" + hex.EncodeToString(id[:]), Requests: ws})
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
