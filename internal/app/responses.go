package app

import (
	"context"
	"time"
)

const (
	// responsePurgeInterval is how often stored responses past their
	// retention are deleted. Until then the server already treats them
	// as gone.
	responsePurgeInterval = 10 * time.Minute
	// responsePurgeBatch bounds one DELETE, and responsePurgeBatches one
	// pass: a large backlog is worked off over several passes, never in
	// one long transaction.
	responsePurgeBatch   = 1000
	responsePurgeBatches = 100
)

// purgeResponses deletes stored Responses API turns past
// responses.retention, at start and then every purge interval, until ctx
// ends. It runs once per process (in RunBackground, not per generation)
// and reads the retention of the generation serving at each pass, so a
// reload changes it. Every replica purges; the deletes are idempotent.
func (a *App) purgeResponses(ctx context.Context) {
	t := time.NewTicker(a.o.purgeEvery)
	defer t.Stop()
	for {
		a.purgeResponsesOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// purgeResponsesOnce runs one pass: batches until one comes back short.
func (a *App) purgeResponsesOnce(ctx context.Context) {
	keep := a.gen.Load().cfg.ResponseRetention()
	if keep <= 0 {
		return // kept forever
	}
	before := time.Now().Add(-keep)
	var total int64
	for range responsePurgeBatches {
		n, err := a.base.store.PurgeResponses(ctx, before, responsePurgeBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				a.logger.Error("responses: purging expired turns", "error", err)
			}
			break
		}
		if n < responsePurgeBatch {
			break
		}
	}
	if total > 0 {
		a.logger.Info("responses: purged expired turns", "count", total, "retention", keep.String())
	}
}
