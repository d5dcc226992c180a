package admin

import (
	"cmp"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidegate/tidegate/internal/store"
)

// Usage grouping.
var groupBys = []string{"key", "user", "team", "model", "day"}

// defaultWindow is how far back usage goes without since=.
const defaultWindow = 30 * 24 * time.Hour

// Log paging.
const (
	defaultLogLimit = 100
	maxLogLimit     = 1000
)

// timeParam parses an RFC 3339 timestamp or a date (YYYY-MM-DD, UTC
// midnight); zero when absent.
func timeParam(q url.Values, name string) (time.Time, *apiError) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, invalid(name, "must be an RFC 3339 timestamp (2030-01-02T15:04:05Z) or a date (2030-01-02), got %q", s)
}

// intParam parses a whole number in [lo, hi]; def when absent.
func intParam(q url.Values, name string, lo, hi, def int64) (int64, *apiError) {
	s := strings.TrimSpace(q.Get(name))
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, invalid(name, "must be a whole number from %d to %d, got %q", lo, hi, s)
	}
	return n, nil
}

func (h *handler) usage(w http.ResponseWriter, r *http.Request, _ *call) {
	q, e := query(r, "group_by", "since", "until", "format")
	if e != nil {
		writeError(w, e)
		return
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		writeError(w, invalid("format", "must be json or csv; got %q", format))
		return
	}
	groupBy := q.Get("group_by")
	if groupBy == "" {
		groupBy = "key"
	}
	if !slices.Contains(groupBys, groupBy) {
		writeError(w, invalid("group_by", "must be one of %s; got %q", strings.Join(groupBys, ", "), groupBy))
		return
	}
	since, e := timeParam(q, "since")
	if e != nil {
		writeError(w, e)
		return
	}
	until, e := timeParam(q, "until")
	if e != nil {
		writeError(w, e)
		return
	}
	if until.IsZero() {
		until = h.now().UTC()
	}
	if since.IsZero() {
		since = until.Add(-defaultWindow)
	}
	if !since.Before(until) {
		writeError(w, invalid("since", "must be before until (%s)", until.Format(time.RFC3339)))
		return
	}
	rows, err := h.store.UsageSummary(r.Context(), groupBy, since, until)
	if err != nil {
		h.storeError(w, r, err, "usage", "")
		return
	}
	names, err := h.groupNames(r, groupBy, rows)
	if err != nil {
		h.storeError(w, r, err, "usage", "")
		return
	}
	rep := UsageReport{GroupBy: groupBy, Since: since, Until: until, Data: make([]UsageRow, 0, len(rows))}
	for _, row := range rows {
		name := row.Name
		if name == "" {
			name = names[row.Group]
		}
		rep.Data = append(rep.Data, UsageRow{
			Group: row.Group, Name: name, Requests: row.Requests, Refused: row.Refused,
			InputTokens: row.InputTokens, OutputTokens: row.OutputTokens, CostUSD: row.CostUSD,
		})
		rep.Totals.Requests += row.Requests
		rep.Totals.Refused += row.Refused
		rep.Totals.InputTokens += row.InputTokens
		rep.Totals.OutputTokens += row.OutputTokens
		rep.Totals.CostUSD += row.CostUSD
	}
	if groupBy == "day" {
		slices.SortFunc(rep.Data, func(a, b UsageRow) int { return strings.Compare(a.Group, b.Group) })
	} else { // the biggest spenders first
		slices.SortFunc(rep.Data, func(a, b UsageRow) int {
			return cmp.Or(cmp.Compare(b.CostUSD, a.CostUSD), cmp.Compare(b.Requests, a.Requests), strings.Compare(a.Group, b.Group))
		})
	}
	if format == "csv" {
		writeUsageCSV(w, rep)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// groupNames maps the ids of rows the store left unnamed to the names of
// their keys, users or teams.
func (h *handler) groupNames(r *http.Request, groupBy string, rows []store.UsageRow) (map[string]string, error) {
	missing := false
	for _, row := range rows {
		if row.Name == "" && row.Group != "" {
			missing = true
			break
		}
	}
	names := map[string]string{}
	if !missing {
		return names, nil
	}
	switch groupBy {
	case "key":
		keys, err := h.store.ListKeys(r.Context())
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			names[k.ID] = k.Name
		}
	case "user":
		users, err := h.store.ListUsers(r.Context())
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			names[u.ID] = u.Name
		}
	case "team":
		teams, err := h.store.ListTeams(r.Context())
		if err != nil {
			return nil, err
		}
		for _, t := range teams {
			names[t.ID] = t.Name
		}
	}
	return names, nil
}

func (h *handler) logs(w http.ResponseWriter, r *http.Request, _ *call) {
	q, e := query(r, "key_id", "model", "status", "since", "until", "limit", "before")
	if e != nil {
		writeError(w, e)
		return
	}
	f := store.LogFilter{KeyID: strings.TrimSpace(q.Get("key_id")), Model: strings.TrimSpace(q.Get("model"))}
	status, e := intParam(q, "status", 100, 599, 0)
	if e == nil {
		f.Status = int(status)
		f.Since, e = timeParam(q, "since")
	}
	if e == nil {
		f.Until, e = timeParam(q, "until")
	}
	var limit int64
	if e == nil {
		limit, e = intParam(q, "limit", 1, maxLogLimit, defaultLogLimit)
	}
	if e == nil {
		f.Before, e = intParam(q, "before", 1, 1<<62, 0)
	}
	if e == nil && !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		e = invalid("since", "must be before until (%s)", f.Until.Format(time.RFC3339))
	}
	if e != nil {
		writeError(w, e)
		return
	}
	// Ask for one more than a page to know whether another page follows;
	// the store caps a page at maxLogLimit, so a full page of that size may
	// be followed by an empty one.
	f.Limit = int(min(limit+1, maxLogLimit))
	entries, err := h.store.Logs(r.Context(), f)
	if err != nil {
		h.storeError(w, r, err, "logs", "")
		return
	}
	page := LogPage{Data: entries}
	n := int64(len(entries))
	if n > limit || (n == limit && limit == maxLogLimit) {
		page.Data = entries[:limit]
		seq := page.Data[limit-1].Seq
		page.NextBefore = &seq
	}
	if page.Data == nil {
		page.Data = []store.LogEntry{}
	}
	writeJSON(w, http.StatusOK, page)
}

// writeUsageCSV writes the report's rows as CSV (RFC 4180, with a header
// row) for spreadsheets; the totals are left to the spreadsheet.
func writeUsageCSV(w http.ResponseWriter, rep UsageReport) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="tidegate-usage-by-`+rep.GroupBy+`.csv"`)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{rep.GroupBy, "name", "requests", "refused", "input_tokens", "output_tokens", "cost_usd"})
	for _, r := range rep.Data {
		_ = cw.Write([]string{csvSafe(r.Group), csvSafe(r.Name), strconv.FormatInt(r.Requests, 10), strconv.FormatInt(r.Refused, 10),
			strconv.FormatInt(r.InputTokens, 10), strconv.FormatInt(r.OutputTokens, 10), strconv.FormatFloat(r.CostUSD, 'f', -1, 64)})
	}
	cw.Flush()
}

// csvSafe defuses text a spreadsheet would run as a formula (names are
// free text set through the API).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
