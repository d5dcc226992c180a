package store

import (
	"context"
	"fmt"
	"time"
)

// migrations[v-1] brings the schema to version v. Append only: never edit
// a released migration. {{timestamp}}, {{seq}} and {{epoch_day}} (the UTC day
// of column time, as days since 1970-01-01) are filled in per dialect;
// everything else must be valid SQLite and PostgreSQL. Times are UTC with
// microsecond precision (TIMESTAMPTZ; integer microseconds in SQLite).
var migrations = []string{
	// 1: keys, users, teams, usage.
	`CREATE TABLE keys (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL DEFAULT '',
	prefix        TEXT NOT NULL DEFAULT '',
	hash          TEXT NOT NULL UNIQUE,
	prev_hash     TEXT NOT NULL DEFAULT '',
	prev_until    {{timestamp}},
	user_id       TEXT NOT NULL DEFAULT '',
	team_id       TEXT NOT NULL DEFAULT '',
	models        TEXT NOT NULL DEFAULT '[]',
	rpm           BIGINT NOT NULL DEFAULT 0,
	rph           BIGINT NOT NULL DEFAULT 0,
	tpm           BIGINT NOT NULL DEFAULT 0,
	tph           BIGINT NOT NULL DEFAULT 0,
	budget_usd    DOUBLE PRECISION NOT NULL DEFAULT 0,
	budget_period TEXT NOT NULL DEFAULT '',
	metadata      TEXT NOT NULL DEFAULT '{}',
	expires_at    {{timestamp}},
	revoked_at    {{timestamp}},
	created_at    {{timestamp}} NOT NULL,
	updated_at    {{timestamp}} NOT NULL
);
CREATE INDEX keys_prev_hash ON keys (prev_hash) WHERE prev_hash <> '';
CREATE INDEX keys_user_id ON keys (user_id);
CREATE INDEX keys_team_id ON keys (team_id);

CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL DEFAULT '',
	team_id       TEXT NOT NULL DEFAULT '',
	models        TEXT NOT NULL DEFAULT '[]',
	rpm           BIGINT NOT NULL DEFAULT 0,
	rph           BIGINT NOT NULL DEFAULT 0,
	tpm           BIGINT NOT NULL DEFAULT 0,
	tph           BIGINT NOT NULL DEFAULT 0,
	budget_usd    DOUBLE PRECISION NOT NULL DEFAULT 0,
	budget_period TEXT NOT NULL DEFAULT '',
	metadata      TEXT NOT NULL DEFAULT '{}',
	created_at    {{timestamp}} NOT NULL,
	updated_at    {{timestamp}} NOT NULL
);
CREATE INDEX users_team_id ON users (team_id);

CREATE TABLE teams (
	id            TEXT PRIMARY KEY,
	name          TEXT NOT NULL DEFAULT '',
	models        TEXT NOT NULL DEFAULT '[]',
	rpm           BIGINT NOT NULL DEFAULT 0,
	rph           BIGINT NOT NULL DEFAULT 0,
	tpm           BIGINT NOT NULL DEFAULT 0,
	tph           BIGINT NOT NULL DEFAULT 0,
	budget_usd    DOUBLE PRECISION NOT NULL DEFAULT 0,
	budget_period TEXT NOT NULL DEFAULT '',
	metadata      TEXT NOT NULL DEFAULT '{}',
	created_at    {{timestamp}} NOT NULL,
	updated_at    {{timestamp}} NOT NULL
);

CREATE TABLE usage (
	seq                {{seq}},
	time               {{timestamp}} NOT NULL,
	request_id         TEXT NOT NULL DEFAULT '',
	key_id             TEXT NOT NULL DEFAULT '',
	user_id            TEXT NOT NULL DEFAULT '',
	team_id            TEXT NOT NULL DEFAULT '',
	model              TEXT NOT NULL DEFAULT '',
	provider           TEXT NOT NULL DEFAULT '',
	upstream_model     TEXT NOT NULL DEFAULT '',
	input_tokens       BIGINT NOT NULL DEFAULT 0,
	output_tokens      BIGINT NOT NULL DEFAULT 0,
	cache_read_tokens  BIGINT NOT NULL DEFAULT 0,
	cache_write_tokens BIGINT NOT NULL DEFAULT 0,
	cost_usd           DOUBLE PRECISION NOT NULL DEFAULT 0,
	latency_ms         BIGINT NOT NULL DEFAULT 0,
	status             INTEGER NOT NULL DEFAULT 0,
	refused            BOOLEAN NOT NULL DEFAULT FALSE,
	error              TEXT NOT NULL DEFAULT ''
);
CREATE INDEX usage_time ON usage (time);
CREATE INDEX usage_key_time ON usage (key_id, time);
CREATE INDEX usage_user_time ON usage (user_id, time);
CREATE INDEX usage_team_time ON usage (team_id, time);
CREATE INDEX usage_model_time ON usage (model, time);`,
	// 2: daily spend per key, user and team (budget seeds), kept by every
	// usage insert; the usage log keeps only its time index, so an insert
	// touches two B-trees instead of six.
	`CREATE TABLE usage_spend (
	scope    TEXT NOT NULL,
	id       TEXT NOT NULL,
	day      BIGINT NOT NULL,
	cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
	PRIMARY KEY (scope, id, day)
);
INSERT INTO usage_spend (scope, id, day, cost_usd)
	SELECT 'key', key_id, {{epoch_day}}, SUM(cost_usd) FROM usage WHERE key_id <> '' AND cost_usd > 0 GROUP BY key_id, {{epoch_day}};
INSERT INTO usage_spend (scope, id, day, cost_usd)
	SELECT 'user', user_id, {{epoch_day}}, SUM(cost_usd) FROM usage WHERE user_id <> '' AND cost_usd > 0 GROUP BY user_id, {{epoch_day}};
INSERT INTO usage_spend (scope, id, day, cost_usd)
	SELECT 'team', team_id, {{epoch_day}}, SUM(cost_usd) FROM usage WHERE team_id <> '' AND cost_usd > 0 GROUP BY team_id, {{epoch_day}};
DROP INDEX usage_key_time;
DROP INDEX usage_user_time;
DROP INDEX usage_team_time;
DROP INDEX usage_model_time;`,
	// 3: usage records answered from the response cache.
	`ALTER TABLE usage ADD COLUMN cache_hit BOOLEAN NOT NULL DEFAULT FALSE;`,
	// 4: stored Responses API conversations (previous_response_id).
	`CREATE TABLE responses (
	id          TEXT PRIMARY KEY,
	previous_id TEXT NOT NULL DEFAULT '',
	key_id      TEXT NOT NULL DEFAULT '',
	model       TEXT NOT NULL DEFAULT '',
	items       TEXT NOT NULL,
	created_at  {{timestamp}} NOT NULL
);
CREATE INDEX responses_created_at ON responses (created_at);`,
	// 5: configuration versions (live configuration with history).
	`CREATE TABLE config_versions (
	version    {{seq}},
	author     TEXT NOT NULL DEFAULT '',
	source     TEXT NOT NULL DEFAULT '',
	yaml       TEXT NOT NULL,
	hash       TEXT NOT NULL,
	created_at {{timestamp}} NOT NULL
);
CREATE INDEX config_versions_source ON config_versions (source, version);`,
	// 6: the Response object of each stored turn, as it was returned
	// (GET /v1/responses/{id}); '' for turns stored before.
	`ALTER TABLE responses ADD COLUMN response TEXT NOT NULL DEFAULT '';`,
}

// migrate applies the migrations the database has not seen, each in its
// own transaction together with its schema_migrations row. Re-running it
// is a no-op; concurrent runs are serialised by the backend's lock (and,
// failing that, by the primary key on version).
func migrate(ctx context.Context, d db) error {
	err := d.migrating(ctx, func(d db) error {
		if _, err := d.exec(ctx, d.dialect().ddl.Replace(`CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at {{timestamp}} NOT NULL
)`)); err != nil {
			return err
		}
		for i, m := range migrations {
			version := i + 1
			err := d.tx(ctx, func(q querier) error {
				var n int64
				if err := q.query(ctx, "SELECT COUNT(*) FROM schema_migrations WHERE version = $1", []any{version},
					func(scan func(...any) error) error { return scan(&n) }); err != nil || n > 0 {
					return err
				}
				if _, err := q.exec(ctx, d.dialect().ddl.Replace(m)); err != nil {
					return err
				}
				_, err := q.exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
					version, time.Now().UTC())
				return err
			})
			if err != nil {
				return fmt.Errorf("migration %d: %w", version, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}
