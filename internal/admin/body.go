package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidegate/tidegate/internal/store"
)

// body is a request's JSON object, read field by field so that every error
// names its field, absent and null can be told apart (PATCH), and unknown
// fields are refused instead of silently ignored. The first error sticks;
// the getters do nothing once one is set.
type body struct {
	m   map[string]json.RawMessage
	err *apiError
}

// readBody reads r's body as a JSON object whose fields are all in allowed.
// An empty body is an empty object.
func readBody(r *http.Request, allowed ...string) *body {
	b := &body{m: map[string]json.RawMessage{}}
	data, err := io.ReadAll(r.Body) // already bounded and read by ServeHTTP
	if err != nil {
		b.err = errf(http.StatusBadRequest, "invalid_request_error", "invalid_body", "cannot read the request body: "+err.Error())
		return b
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return b
	}
	if data[0] != '{' {
		b.err = errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the request body must be a JSON object")
		return b
	}
	if err := json.Unmarshal(data, &b.m); err != nil {
		b.err = errf(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the request body is not valid JSON: "+err.Error())
		return b
	}
	names := make([]string, 0, len(b.m))
	for k := range b.m {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		if !slices.Contains(allowed, k) {
			b.err = &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Code: "unknown_field", Param: k,
				Message: k + ": unknown field (allowed: " + strings.Join(allowed, ", ") + ")"}
			return b
		}
	}
	return b
}

func (b *body) fail(e *apiError) {
	if b.err == nil {
		b.err = e
	}
}

// raw returns a present field's value; ok is false when the field is absent
// or an error is already set.
func (b *body) raw(name string) (v json.RawMessage, null, ok bool) {
	if b.err != nil {
		return nil, false, false
	}
	v, ok = b.m[name]
	if !ok {
		return nil, false, false
	}
	return v, string(v) == "null", true
}

func (b *body) has(name string) bool {
	_, ok := b.m[name]
	return ok
}

// field sets *dst from a present field: null sets the zero value, any
// other value what parse makes of it (or its error).
func field[T any](b *body, name string, dst *T, parse func(json.RawMessage) (T, *apiError)) {
	v, null, ok := b.raw(name)
	switch {
	case !ok:
	case null:
		var zero T
		*dst = zero
	default:
		x, e := parse(v)
		if e != nil {
			b.fail(e)
			return
		}
		*dst = x
	}
}

// string sets *dst from a string field; null sets "".
func (b *body) string(name string, dst *string) {
	field(b, name, dst, func(v json.RawMessage) (s string, _ *apiError) {
		if json.Unmarshal(v, &s) != nil {
			return "", invalid(name, "must be a string")
		}
		return s, nil
	})
}

// count sets *dst from a whole number ≥ 0; null sets 0 (no limit).
func (b *body) count(name string, dst *int64) {
	field(b, name, dst, func(v json.RawMessage) (int64, *apiError) {
		n, e := number(name, v)
		if e != nil {
			return 0, e
		}
		i, err := n.Int64()
		if err != nil { // 60.0 is fine; 1.5 and 1e30 are not
			f, ferr := n.Float64()
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<62 {
				return 0, invalid(name, "must be a whole number below 2^62, got %s", n)
			}
			i = int64(f)
		}
		if i < 0 {
			return 0, invalid(name, "must be 0 (no limit) or more, got %d", i)
		}
		return i, nil
	})
}

// money sets *dst from a number ≥ 0; null sets 0 (no budget).
func (b *body) money(name string, dst *float64) {
	field(b, name, dst, func(v json.RawMessage) (float64, *apiError) {
		n, e := number(name, v)
		if e != nil {
			return 0, e
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return 0, invalid(name, "must be a finite number, got %s", n)
		}
		if f < 0 {
			return 0, invalid(name, "must be 0 (no budget) or more, got %s", n)
		}
		return f, nil
	})
}

// strings sets *dst from an array of non-empty strings; null sets nil.
func (b *body) strings(name string, dst *[]string) {
	field(b, name, dst, func(v json.RawMessage) ([]string, *apiError) {
		var list []string
		if json.Unmarshal(v, &list) != nil {
			return nil, invalid(name, "must be an array of strings")
		}
		out := make([]string, 0, len(list))
		for i, s := range list {
			s = strings.TrimSpace(s)
			if s == "" || strings.ContainsFunc(s, unicode.IsSpace) {
				return nil, invalid(name+"["+strconv.Itoa(i)+"]", "must be a non-empty name without spaces, got %q", list[i])
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out, nil
	})
}

// stringMap sets *dst from an object of strings; null sets nil.
func (b *body) stringMap(name string, dst *map[string]string) {
	field(b, name, dst, func(v json.RawMessage) (m map[string]string, _ *apiError) {
		if json.Unmarshal(v, &m) != nil {
			return nil, invalid(name, "must be an object whose values are strings")
		}
		if _, ok := m[""]; ok {
			return nil, invalid(name, "keys must not be empty")
		}
		return m, nil
	})
}

// time sets *dst from an RFC 3339 timestamp; null sets nil.
func (b *body) time(name string, dst **time.Time) {
	field(b, name, dst, func(v json.RawMessage) (*time.Time, *apiError) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, invalid(name, "must be an RFC 3339 timestamp string such as 2030-01-02T15:04:05Z")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, invalid(name, "must be an RFC 3339 timestamp such as 2030-01-02T15:04:05Z, got %q", s)
		}
		t = t.UTC()
		return &t, nil
	})
}

// bool reports a present boolean field; null is an error.
func (b *body) bool(name string) (value, set bool) {
	v, _, ok := b.raw(name)
	if !ok {
		return false, false
	}
	if json.Unmarshal(v, &value) != nil || string(v) == "null" {
		b.fail(invalid(name, "must be true or false"))
		return false, false
	}
	return value, true
}

// number reads a JSON number as written.
func number(name string, v json.RawMessage) (json.Number, *apiError) {
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	var x any
	if d.Decode(&x) != nil {
		return "", invalid(name, "must be a number")
	}
	n, ok := x.(json.Number)
	if !ok {
		return "", invalid(name, "must be a number")
	}
	return n, nil
}

// Fields shared by keys, users and teams.
var commonFields = []string{"name", "models", "rpm", "rph", "tpm", "tph", "budget_usd", "budget_period", "metadata"}

func withCommon(extra ...string) []string {
	return append(slices.Clone(commonFields), extra...)
}

// common applies the shared fields to an entity's parts.
func (b *body) common(name *string, models *[]string, lim *store.Limits, meta *map[string]string) {
	b.string("name", name)
	b.strings("models", models)
	b.count("rpm", &lim.RPM)
	b.count("rph", &lim.RPH)
	b.count("tpm", &lim.TPM)
	b.count("tph", &lim.TPH)
	b.money("budget_usd", &lim.BudgetUSD)
	b.string("budget_period", &lim.BudgetPeriod)
	b.stringMap("metadata", meta)
}

// valid is the first error reading b, or else validateCommon's verdict.
func (b *body) valid(name *string, lim *store.Limits) *apiError {
	if b.err != nil {
		return b.err
	}
	return validateCommon(name, lim)
}

// validateCommon checks the shared fields after they were applied, and
// normalises the name and the budget period.
func validateCommon(name *string, lim *store.Limits) *apiError {
	*name = strings.TrimSpace(*name)
	switch {
	case *name == "":
		return invalid("name", "is required and must not be empty")
	case utf8.RuneCountInString(*name) > 200:
		return invalid("name", "must be at most 200 characters")
	case strings.ContainsFunc(*name, unicode.IsControl):
		return invalid("name", "must not contain control characters")
	}
	switch lim.BudgetPeriod {
	case "":
		lim.BudgetPeriod = store.PeriodTotal
	case store.PeriodTotal, store.PeriodDaily, store.PeriodMonthly:
	default:
		return invalid("budget_period", "must be one of daily, monthly, total; got %q", lim.BudgetPeriod)
	}
	return nil
}
