package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// configChannel is the PostgreSQL NOTIFY channel of new config versions.
const configChannel = "tidegate_config"

const configCols = "version, author, source, yaml, hash, created_at"

func scanConfig(scan func(...any) error) (ConfigVersion, error) {
	var v ConfigVersion
	err := scan(&v.Version, &v.Author, &v.Source, &v.YAML, &v.Hash, &v.CreatedAt)
	return v, err
}

func (s *sqlStore) AddConfigVersion(ctx context.Context, v *ConfigVersion, after int64) error {
	sum := sha256.Sum256([]byte(v.YAML))
	v.Hash = hex.EncodeToString(sum[:])
	v.CreatedAt = now()
	d := s.db.dialect()
	return s.db.tx(ctx, func(q querier) error {
		if d.lockConfig != "" {
			if _, err := q.exec(ctx, d.lockConfig); err != nil {
				return fmt.Errorf("add config version: lock: %w", err)
			}
		}
		if after != AnyVersion {
			var newest int64
			err := q.query(ctx, "SELECT COALESCE(MAX(version), 0) FROM config_versions", nil,
				func(scan func(...any) error) error { return scan(&newest) })
			if err != nil {
				return fmt.Errorf("add config version: %w", err)
			}
			if newest != after {
				return &VersionConflictError{After: after, Newest: newest}
			}
		}
		err := q.query(ctx, "INSERT INTO config_versions (author, source, yaml, hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING version",
			[]any{v.Author, v.Source, v.YAML, v.Hash, v.CreatedAt}, func(scan func(...any) error) error { return scan(&v.Version) })
		if err != nil {
			return fmt.Errorf("add config version: %w", err)
		}
		if d.notify != "" {
			if _, err := q.exec(ctx, d.notify); err != nil {
				return fmt.Errorf("notify config version: %w", err)
			}
		}
		return nil
	})
}

func (s *sqlStore) ConfigVersion(ctx context.Context, version int64) (*ConfigVersion, error) {
	return s.oneConfig(ctx, "SELECT "+configCols+" FROM config_versions WHERE version = $1", version)
}

func (s *sqlStore) LatestConfigVersion(ctx context.Context, source string) (*ConfigVersion, error) {
	if source == "" {
		return s.oneConfig(ctx, "SELECT "+configCols+" FROM config_versions ORDER BY version DESC LIMIT 1")
	}
	return s.oneConfig(ctx, "SELECT "+configCols+" FROM config_versions WHERE source = $1 ORDER BY version DESC LIMIT 1", source)
}

func (s *sqlStore) oneConfig(ctx context.Context, q string, args ...any) (*ConfigVersion, error) {
	var out *ConfigVersion
	err := s.db.query(ctx, q, args, func(scan func(...any) error) error {
		v, err := scanConfig(scan)
		out = &v
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("config version: %w", err)
	}
	if out == nil {
		return nil, fmt.Errorf("config version: %w", ErrNotFound)
	}
	out.CreatedAt = out.CreatedAt.UTC()
	return out, nil
}

func (s *sqlStore) ConfigVersions(ctx context.Context, limit int, before int64) ([]ConfigVersion, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	out := []ConfigVersion{}
	err := s.db.query(ctx, "SELECT "+configCols+" FROM config_versions WHERE version < $1 ORDER BY version DESC LIMIT $2",
		[]any{before, limit}, func(scan func(...any) error) error {
			v, err := scanConfig(scan)
			v.CreatedAt = v.CreatedAt.UTC()
			out = append(out, v)
			return err
		})
	if err != nil {
		return nil, fmt.Errorf("config versions: %w", err)
	}
	return out, nil
}

func (s *sqlStore) WatchConfig(ctx context.Context, changed func()) error {
	return s.db.watch(ctx, changed)
}

// watch polls the newest version every second: SQLite has no
// notifications, and the check is one indexed read.
func (d *sqliteDB) watch(ctx context.Context, changed func()) error {
	var last int64 = -1
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		var v int64
		err := d.query(ctx, "SELECT COALESCE(MAX(version), 0) FROM config_versions", nil,
			func(scan func(...any) error) error { return scan(&v) })
		if err == nil && last >= 0 && v != last {
			changed()
		}
		if err == nil {
			last = v
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// watch holds one pool connection in LISTEN and reconnects after a second
// when it fails; after a reconnect it reports a change, since
// notifications sent while it was away are lost.
func (d *pgDB) watch(ctx context.Context, changed func()) error {
	first := true
	for ctx.Err() == nil {
		err := d.listen(ctx, changed, !first)
		first = false
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (d *pgDB) listen(ctx context.Context, changed func(), report bool) error {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := c.Hijack() // LISTEN state must not go back to the pool
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{configChannel}.Sanitize()); err != nil {
		return err
	}
	if report {
		changed()
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		changed()
	}
}
