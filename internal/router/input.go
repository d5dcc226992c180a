package router

import (
	"context"
	"net/http"
	"time"

	"github.com/tidegate/tidegate/internal/llm"
)

// Input is what routing may look at, read cheaply from the request before
// anything is decoded. Strategies use it (cost reads the token figures,
// conditional hands it to each `when`), and so can a Policy.
type Input struct {
	Model   string      // the public model name as the caller sent it
	Path    string      // request path, e.g. /v1/chat/completions
	Dialect llm.Dialect // the caller's dialect
	Header  http.Header // the caller's headers (read-only)
	Stream  bool
	// EstimatedTokens is a cheap prompt size estimate: EstimateTokens of
	// the body.
	EstimatedTokens int
	// MaxTokens is max_tokens / max_completion_tokens; 0 when unset.
	MaxTokens int
	// Key, User and Team describe the authenticated caller (id, name,
	// metadata…) for policies; nil without client authentication.
	Key, User, Team map[string]any

	// Set by Chat and Embed, whether they succeed or not, for logs and
	// metrics: the upstream calls made, and the time spent in them and in
	// retry waits (measured only when metrics are on).
	Attempts int
	Waited   time.Duration
}

// EstimateTokens guesses a prompt's token count from its JSON size (about
// four bytes a token), without decoding it.
func EstimateTokens(body []byte) int { return len(body) / 4 }

// Condition is a compiled `when:` of a conditional target.
type Condition interface {
	// Match reports whether the target applies to the request. An error
	// counts as no match.
	Match(in *Input) (bool, error)
}

// ConditionCompiler compiles a `when:` expression at load, so an invalid
// one refuses to start the gateway.
type ConditionCompiler func(expr string) (Condition, error)

// Policy may replace the route chosen for a request or refuse the request.
// It runs after the model name is resolved; route is nil when the name is
// unknown (a policy may still supply one, e.g. Router.NamedTarget). A
// refusal is an *llm.Error, answered to the caller as is.
type Policy interface {
	Route(in *Input, route *Route) (*Route, error)
}

// Clock is the router's time: breaker cooldowns, latency samples and the
// backoff between retries. Tests inject a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, returning ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
