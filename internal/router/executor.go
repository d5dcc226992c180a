package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tidegate/tidegate/internal/llm"
	"github.com/tidegate/tidegate/internal/tracing"
)

// errDeadline is the cause of a route's overall timeout, told apart from
// the caller going away.
var errDeadline = errors.New("route timeout")

// Result is a started generation: the first event has been read.
type Result struct {
	Target   *Target
	Attempts int // upstream calls made, retries and fallbacks included
	First    llm.Event
	// Stream yields the events after First. Closing it releases the
	// upstream, ends the overall deadline and records the outcome.
	Stream llm.Stream

	call   chatCall    // kept here: one allocation per request
	req    llm.Request // the current attempt's copy of the caller's request
	stream llm.Stream  // the current attempt's stream
	track  tracked
	// A refused answer kept while fallback_on_refusal tries other targets.
	stashed struct {
		target *Target
		first  llm.Event
		stream llm.Stream
	}
}

// Chat runs req against the route's targets, in the order of the route's
// strategy, until one produces its first event. req is not modified; each
// attempt gets a shallow copy with the upstream model set. in is what the
// strategy may look at (nil: only the model and stream flag).
func (r *Router) Chat(ctx context.Context, route *Route, req *llm.Request, in *Input) (*Result, error) {
	if in == nil {
		in = &Input{Model: req.Model, Stream: req.Stream}
	}
	var cancel context.CancelFunc
	if route.Timeout > 0 {
		ctx, cancel = context.WithTimeoutCause(ctx, route.Timeout, errDeadline)
	}
	res := &Result{}
	res.call = chatCall{res: res, orig: req}
	t, attempts, err := r.run(ctx, route, in, &res.call)
	in.Attempts = attempts
	if st := res.stashed.stream; st != nil && st != res.stream {
		st.Close() // a refusal kept in reserve, not needed after all
	}
	if err != nil {
		if cancel != nil {
			cancel()
		}
		return nil, err
	}
	res.Target, res.Attempts = t, attempts
	res.track = tracked{s: res.stream, r: r, t: t, route: route, ctx: ctx, cancel: cancel, began: res.call.start, span: res.call.span}
	if !req.Stream {
		res.track.ended.Store(true) // recorded already
	}
	res.Stream = &res.track
	return res, nil
}

// EmbedResult is a finished embeddings request.
type EmbedResult struct {
	Response *llm.EmbedResponse
	Target   *Target
	Attempts int
}

// Embed runs an embeddings request through the same executor as Chat:
// the strategy's order, retries, breakers, fallback and timeout.
func (r *Router) Embed(ctx context.Context, route *Route, req *llm.EmbedRequest, in *Input) (*EmbedResult, error) {
	if in == nil {
		in = &Input{Model: req.Model}
	}
	if route.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, route.Timeout, errDeadline)
		defer cancel()
	}
	c := embedCall{orig: req}
	t, attempts, err := r.run(ctx, route, in, &c)
	in.Attempts = attempts
	if err != nil {
		return nil, err
	}
	return &EmbedResult{Response: c.resp, Target: t, Attempts: attempts}, nil
}

// call is one kind of request the executor runs.
type call interface {
	// try sends one attempt to t; on success the call keeps the answer.
	// refused reports a content-filter refusal.
	try(ctx context.Context, t *Target) (refused bool, err error)
	// streaming reports whether the answer goes on after try returns (its
	// outcome is recorded when the stream ends).
	streaming() bool
	// stash keeps the refused answer as a last resort; unstash restores it.
	stash(t *Target)
	unstash() (*Target, bool)
	// operation is the gen_ai.operation.name of the attempts' spans.
	operation() string
	// began is told the successful attempt's start and span (nil: tracing
	// off); keep reports that the stream that follows ends them, else the
	// span ends now.
	began(start time.Time, span trace.Span) (keep bool)
}

// outcome is what a failed attempt means for the executor.
type outcome uint8

const (
	outcomeRetry     outcome = iota // retry this target, then the next; counts against its breaker
	outcomeNext                     // the next target at once; counts against its breaker
	outcomeRefusal                  // the next target at once (fallback_on_refusal); not counted
	outcomeStop                     // the caller's own error: answer it now; not counted
	outcomeCancelled                // the caller left or the deadline passed; not counted
)

// run is the one executor every strategy shares.
func (r *Router) run(ctx context.Context, route *Route, in *Input, c call) (*Target, int, error) {
	var buf [8]int
	order, err := r.order(buf[:0], route, in)
	if err != nil {
		return nil, 0, err
	}
	var (
		attempts, skipped int
		lastErr           error
		retryAt           time.Time
		failedOn          *Target // the target that failed last, for fallbacks_total
	)
	for _, idx := range order {
		t := &route.Targets[idx]
	tries:
		for try := 1; try <= t.Retry.Attempts; try++ {
			now := r.clock.Now()
			ok, probe := t.state.allow(now)
			if !ok {
				if try == 1 {
					skipped++
					if at := t.state.retryAt(now); retryAt.IsZero() || at.Before(retryAt) {
						retryAt = at
					}
				}
				break
			}
			attempts++
			if failedOn != nil && failedOn != t {
				r.metrics.Fallback(route.Name, failedOn.ID(), t.ID())
			}
			failedOn = nil
			refused, err := r.attempt(ctx, c, t, in)
			if err == nil {
				r.succeeded(t, now, c.streaming())
				if refused && route.FallbackOnRefusal {
					c.stash(t)
					lastErr = nil
					break
				}
				return t, attempts, nil
			}
			lastErr = err
			failedOn = t
			out := classify(ctx, err, t, route)
			if out.counts() {
				t.state.breaker.failure(r.clock.Now(), err.Error()) // the cooldown starts now, not when the attempt did
			} else {
				t.state.breaker.release(probe)
			}
			switch out {
			case outcomeStop, outcomeCancelled:
				return nil, attempts, r.final(ctx, route, attempts, err)
			case outcomeNext, outcomeRefusal:
				break tries
			}
			if try == t.Retry.Attempts {
				break
			}
			wait, ok := r.backoff(t, try, err)
			if !ok {
				break // Retry-After is longer than we wait: next target at once
			}
			if dl, has := ctx.Deadline(); has && time.Until(dl) < wait {
				break
			}
			var slept time.Time
			if r.metrics != nil {
				slept = time.Now()
			}
			serr := r.clock.Sleep(ctx, wait)
			if r.metrics != nil {
				in.Waited += time.Since(slept)
			}
			if serr != nil {
				return nil, attempts, r.final(ctx, route, attempts, lastErr)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	if t, ok := c.unstash(); ok {
		return t, attempts, nil
	}
	switch {
	case attempts == 0 && skipped > 0:
		return nil, 0, r.allUnavailable(route, retryAt)
	case ctx.Err() != nil:
		if lastErr == nil {
			lastErr = ctx.Err()
		}
		return nil, attempts, r.final(ctx, route, attempts, lastErr)
	case lastErr == nil:
		return nil, 0, &llm.Error{Kind: llm.KindInternal, Message: fmt.Sprintf("model %q has no target to try", route.Name)}
	}
	return nil, attempts, lastErr
}

// counts reports whether an outcome is the target's failure (it counts
// against the breaker).
func (o outcome) counts() bool { return o == outcomeRetry || o == outcomeNext }

// succeeded records a first event: latency, and the outcome unless a
// stream decides it later (a half-open probe closes at once either way).
func (r *Router) succeeded(t *Target, start time.Time, streaming bool) {
	now := r.clock.Now()
	t.state.latency.observe(now.Sub(start), now)
	if streaming {
		t.state.breaker.firstByte()
		return
	}
	t.state.breaker.success(now)
}

// classify decides what a failed attempt means. Only failures of the
// target retry, fall back and count against its breaker: connection errors,
// timeouts, the statuses of retry.on_status, other upstream 5xx and the
// upstream refusing the gateway's own credentials. The caller's own 4xx
// never do.
func classify(ctx context.Context, err error, t *Target, route *Route) outcome {
	if ctx.Err() != nil {
		return outcomeCancelled
	}
	var e *llm.Error
	if !errors.As(err, &e) {
		return outcomeRetry
	}
	if e.Status == 499 {
		return outcomeCancelled
	}
	if s := e.UpstreamStatus; s != 0 {
		switch {
		case t.Retry.OnStatus.Has(s):
			return outcomeRetry
		case s == 401 || s == 403 || s >= 500:
			return outcomeNext
		case route.FallbackOnRefusal && contentFiltered(e):
			return outcomeRefusal
		}
		return outcomeStop
	}
	switch e.Kind {
	case llm.KindUpstream, llm.KindTimeout, llm.KindOverloaded, llm.KindRateLimit:
		return outcomeRetry // no HTTP status: transport failures, bad or empty answers, in-stream errors
	}
	return outcomeStop
}

// contentFiltered reports an upstream refusal on content policy grounds
// (Azure's content_filter, OpenAI's content_policy_violation).
func contentFiltered(e *llm.Error) bool {
	s := e.Code + " " + e.UpstreamType
	return strings.Contains(s, "content_filter") || strings.Contains(s, "content_policy")
}

// backoff is the wait before retry number try+1 on t: the upstream's
// Retry-After when it is short enough (false when it is not), else an
// exponential backoff with full jitter.
func (r *Router) backoff(t *Target, try int, err error) (time.Duration, bool) {
	var e *llm.Error
	if errors.As(err, &e) && e.RetryAfter > 0 {
		return e.RetryAfter, e.RetryAfter <= t.Retry.MaxRetryAfter
	}
	d := t.Retry.Backoff
	for i := 1; i < try && (t.Retry.MaxBackoff <= 0 || d < t.Retry.MaxBackoff); i++ {
		d *= 2
	}
	if t.Retry.MaxBackoff > 0 && d > t.Retry.MaxBackoff {
		d = t.Retry.MaxBackoff
	}
	return time.Duration(r.rand() * float64(d)), true
}

// final is the error to answer when the executor stops early: the route's
// timeout as a 504 that says so, else err.
func (r *Router) final(ctx context.Context, route *Route, attempts int, err error) error {
	if ctx.Err() != nil && context.Cause(ctx) == errDeadline {
		return &llm.Error{Kind: llm.KindTimeout,
			Message: fmt.Sprintf("model %q: no answer within its %s timeout (%d attempts)", route.Name, route.Timeout, attempts), Err: err}
	}
	return err
}

// allUnavailable is the 503 when every target was skipped without a
// request: open circuits, or providers failing their health checks.
func (r *Router) allUnavailable(route *Route, retryAt time.Time) *llm.Error {
	wait := retryAt.Sub(r.clock.Now())
	secs := max(int((wait+time.Second-1)/time.Second), 1)
	return &llm.Error{Kind: llm.KindOverloaded, RetryAfter: time.Duration(secs) * time.Second,
		Message: fmt.Sprintf("all targets of model %q are unavailable (circuit open); retry after %d s", route.Name, secs)}
}

// chatCall runs chat attempts.
type chatCall struct {
	res  *Result
	orig *llm.Request
	// The successful attempt's start and span (streams end them).
	start time.Time
	span  trace.Span
}

func (c *chatCall) try(ctx context.Context, t *Target) (bool, error) {
	res := c.res
	res.req = *c.orig
	res.req.Model = t.Model
	s, err := t.Provider.Chat(ctx, &res.req)
	if err != nil {
		return false, err
	}
	first, err := s.Next()
	if err != nil {
		s.Close()
		if errors.Is(err, io.EOF) {
			err = &llm.Error{Kind: llm.KindUpstream, Message: "upstream " + t.Provider.Name() + " sent an empty stream"}
		}
		return false, err
	}
	res.First, res.stream = first, s
	refused := !c.orig.Stream && first.Response != nil && first.Response.StopReason == llm.StopContentFilter
	return refused, nil
}

func (c *chatCall) streaming() bool { return c.orig.Stream }

func (c *chatCall) operation() string { return tracing.Operation(c.orig.Op) }

// began: a stream's span ends with the stream; a whole answer's now, with
// its usage.
func (c *chatCall) began(start time.Time, span trace.Span) bool {
	c.start, c.span = start, span
	if c.orig.Stream {
		return true
	}
	if resp := c.res.First.Response; resp != nil && span != nil {
		setUsage(span, resp.Model, resp.Usage)
	}
	return false
}

func (c *chatCall) stash(t *Target) {
	st := &c.res.stashed
	if st.stream != nil {
		st.stream.Close()
	}
	st.target, st.first, st.stream = t, c.res.First, c.res.stream
	c.res.stream = nil
}

func (c *chatCall) unstash() (*Target, bool) {
	st := &c.res.stashed
	if st.target == nil {
		return nil, false
	}
	c.res.First, c.res.stream = st.first, st.stream
	return st.target, true
}

// embedCall runs embeddings attempts.
type embedCall struct {
	orig *llm.EmbedRequest
	resp *llm.EmbedResponse
}

func (c *embedCall) try(ctx context.Context, t *Target) (bool, error) {
	attempt := *c.orig
	attempt.Model = t.Model
	resp, err := t.Provider.Embed(ctx, &attempt)
	c.resp = resp
	return false, err
}

func (c *embedCall) streaming() bool   { return false }
func (c *embedCall) operation() string { return "embeddings" }
func (c *embedCall) began(_ time.Time, span trace.Span) bool {
	if c.resp != nil && span != nil {
		setUsage(span, c.resp.Model, llm.Usage{InputTokens: c.resp.InputTokens})
	}
	return false
}
func (c *embedCall) stash(*Target)            {}
func (c *embedCall) unstash() (*Target, bool) { return nil, false }

// tracked wraps the stream handed to the caller: its end records the
// target's outcome (a failure after the first byte counts against the
// breaker) and Close ends the overall deadline.
type tracked struct {
	s      llm.Stream
	r      *Router
	t      *Target
	route  *Route
	ctx    context.Context
	cancel context.CancelFunc
	ended  atomic.Bool // outcome recorded
	began  time.Time   // the attempt's start (metrics on)
	span   trace.Span  // the attempt's span (tracing on), ended with the stream
	usage  llm.Usage   // seen so far, for the span
	model  string      // the response's model, for the span
}

func (s *tracked) Next() (llm.Event, error) {
	ev, err := s.s.Next()
	if err == nil && s.span != nil {
		s.observe(ev)
	}
	if err != nil && !s.ended.Swap(true) {
		now := s.r.clock.Now()
		switch {
		case errors.Is(err, io.EOF):
			s.t.state.breaker.success(now)
		case classify(s.ctx, err, s.t, s.route).counts():
			s.t.state.breaker.failure(now, err.Error())
		}
		s.end(err)
	}
	return ev, err
}

// observe keeps what the span reports at the end.
func (s *tracked) observe(ev llm.Event) {
	switch {
	case ev.Response != nil:
		s.usage.Merge(ev.Response.Usage)
		if ev.Response.Model != "" {
			s.model = ev.Response.Model
		}
	case ev.Usage != nil:
		s.usage.Merge(*ev.Usage)
	}
}

// end records a stream's end in its metrics and span; err is io.EOF or
// nil when it ended well.
func (s *tracked) end(err error) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if s.r.metrics != nil {
		d := time.Since(s.began)
		if err == nil {
			s.t.state.obs.Succeeded(d)
		} else {
			s.t.state.obs.Failed(d, 0, errorType(s.ctx, llm.AsError(err)))
		}
	}
	if s.span != nil {
		setUsage(s.span, s.model, s.usage)
		endAttempt(s.span, err)
	}
}

func (s *tracked) Close() error {
	err := s.s.Close()
	if !s.ended.Swap(true) {
		// The caller stopped reading before the end; the upstream was
		// serving fine.
		s.t.state.breaker.success(s.r.clock.Now())
		s.end(nil)
	}
	if s.cancel != nil {
		s.cancel()
	}
	return err
}

// attempt is c.try on t, timed for the metrics (in.Waited too) and
// traced as a client span, both only when they are on.
func (r *Router) attempt(ctx context.Context, c call, t *Target, in *Input) (refused bool, err error) {
	var began time.Time
	if r.metrics != nil {
		began = time.Now() // real time: a test's fake clock does not move during a call
	}
	actx, span := ctx, trace.Span(nil)
	if r.tracer != nil {
		actx, span = r.startAttempt(ctx, c, t)
	}
	refused, err = c.try(actx, t)
	if r.metrics != nil {
		d := time.Since(began)
		in.Waited += d
		switch {
		case err != nil:
			e := llm.AsError(err)
			t.state.obs.Failed(d, e.UpstreamStatus, errorType(ctx, e))
		case c.streaming():
			t.state.obs.FirstByte(d) // the rest is recorded when the stream ends
		default:
			t.state.obs.FirstByte(d)
			t.state.obs.Succeeded(d)
		}
	}
	switch {
	case err != nil && span != nil:
		endAttempt(span, err)
	case err == nil && !c.began(began, span) && span != nil:
		endAttempt(span, nil)
	}
	return refused, err
}

// errorType is upstream_errors_total's error_type: the error's kind, or
// "cancelled" when the caller left or the route's deadline passed.
func errorType(ctx context.Context, e *llm.Error) string {
	if ctx.Err() != nil || e.Status == 499 {
		return "cancelled"
	}
	return e.Kind.String()
}

// startAttempt starts the client span of one upstream attempt.
func (r *Router) startAttempt(ctx context.Context, c call, t *Target) (context.Context, trace.Span) {
	op := c.operation()
	return r.tracer.Start(ctx, op+" "+t.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		tracing.OperationName.String(op),
		tracing.ProviderName.String(tracing.System(t.Provider.Dialect())),
		tracing.RequestModel.String(t.Model),
		tracing.GatewayProvider.String(t.Provider.Name()),
	))
}

// setUsage puts an answer's model and token counts on its span.
func setUsage(span trace.Span, model string, u llm.Usage) {
	attrs := make([]attribute.KeyValue, 0, 3)
	if model != "" {
		attrs = append(attrs, tracing.ResponseModel.String(model))
	}
	if u.InputTokens > 0 || u.OutputTokens > 0 {
		attrs = append(attrs, tracing.UsageInputTokens.Int(u.InputTokens), tracing.UsageOutputTokens.Int(u.OutputTokens))
	}
	span.SetAttributes(attrs...)
}

// endAttempt ends an attempt's span, with its error if it failed.
func endAttempt(span trace.Span, err error) {
	if err != nil {
		e := llm.AsError(err)
		attrs := []attribute.KeyValue{tracing.ErrorType.String(e.Kind.String())}
		if e.UpstreamStatus != 0 {
			attrs = append(attrs, tracing.HTTPStatus.Int(e.UpstreamStatus))
		}
		span.SetAttributes(attrs...)
		span.SetStatus(codes.Error, e.Message)
	}
	span.End()
}
