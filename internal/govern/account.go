package govern

import (
	"context"
	"time"
)

// Budget is one scope's budget over its current period, as a key holder
// sees it.
type Budget struct {
	Scope        string     `json:"scope"` // key, user or team
	ID           string     `json:"id"`
	Name         string     `json:"name"`
	BudgetUSD    float64    `json:"budget_usd"`
	Period       string     `json:"period"`       // daily, monthly or total
	PeriodStart  *time.Time `json:"period_start"` // null for total
	PeriodEnd    *time.Time `json:"period_end"`   // null for total
	SpentUSD     float64    `json:"spent_usd"`
	RemainingUSD float64    `json:"remaining_usd"` // never below 0
}

// Allows reports whether the key's, user's and team's model allowlists
// all admit model (an empty list admits every model), as Admit checks.
func (id *Identity) Allows(model string) bool {
	for _, s := range id.scopes() {
		if len(s.models) > 0 && !allowed(s.models, model) {
			return false
		}
	}
	return true
}

// Budgets reports the budgets of id's key, user and team that have one,
// with what was spent in the current period according to the usage log
// (which lags the request path by its flush interval, and does not count
// requests still in flight).
func (g *Gate) Budgets(ctx context.Context, id *Identity) ([]Budget, error) {
	out := []Budget{}
	if id == nil {
		return out, nil
	}
	names := map[string]string{"key": id.Key.Name}
	if id.User != nil {
		names["user"] = id.User.Name
	}
	if id.Team != nil {
		names["team"] = id.Team.Name
	}
	for _, s := range id.scopes() {
		if s.limits.BudgetUSD <= 0 {
			continue
		}
		start, end, _ := period(s.limits.BudgetPeriod, g.opt.Now())
		spent, err := g.opt.Store.Spend(ctx, s.kind, s.id, start)
		if err != nil {
			return nil, err
		}
		b := Budget{Scope: s.kind, ID: s.id, Name: names[s.kind], BudgetUSD: s.limits.BudgetUSD,
			Period: s.limits.BudgetPeriod, SpentUSD: spent, RemainingUSD: max(0, s.limits.BudgetUSD-spent)}
		if b.Period == "" {
			b.Period = "total"
		}
		if !start.IsZero() {
			b.PeriodStart, b.PeriodEnd = &start, &end
		}
		out = append(out, b)
	}
	return out, nil
}
