package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Open connects to the store named by url and applies pending migrations:
//
//	sqlite://relative/path.db    embedded SQLite, path relative to the working directory
//	sqlite:///absolute/path.db   embedded SQLite, absolute path
//	sqlite://:memory:            a private in-memory database (tests)
//	postgres://… or postgresql://…  PostgreSQL (a pgx pool; any libpq URL parameter)
//
// Several processes may Open the same PostgreSQL database at once: migrations
// run under an advisory lock.
func Open(ctx context.Context, url string) (Store, error) {
	var (
		d   db
		err error
	)
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		d, err = openSQLite(ctx, strings.TrimPrefix(url, "sqlite://"))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		d, err = openPostgres(ctx, url)
	default:
		scheme, _, ok := strings.Cut(url, "://")
		if !ok {
			scheme = "(none)"
		}
		// The URL itself is not echoed: it may hold a password.
		return nil, fmt.Errorf("store: unsupported URL scheme %q: use sqlite://relative/path.db, sqlite:///absolute/path.db, sqlite://:memory: or postgres://user@host:port/db", scheme)
	}
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: d}, nil
}

// SQLite settings shared by every connection: times are bound as integer
// microseconds since the epoch and read back as UTC time.Time from the
// columns declared TIMESTAMP.
const sqliteParams = "_busy_timeout=10000&_foreign_keys=1&_journal_mode=WAL&_synchronous=NORMAL" +
	"&_time_integer_format=unix_micro&_inttotime=1&_pragma=cache_size(-32768)"

func openSQLite(ctx context.Context, path string) (db, error) {
	if path == "" {
		return nil, fmt.Errorf("store: sqlite:// needs a path: sqlite://relative/path.db, sqlite:///absolute/path.db or sqlite://:memory:")
	}
	memory := path == ":memory:"
	if !memory {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
	}
	// A file: URI, so that '?', '#' and '%' in the path stay part of it.
	base := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?" + sqliteParams

	// One writer connection: SQLite serialises writers anyway, and queuing
	// them in database/sql instead of in the busy handler means concurrent
	// writes never fail with SQLITE_BUSY. BEGIN IMMEDIATE takes the write
	// lock up front, so a transaction that reads first cannot deadlock
	// against another process.
	w, err := sql.Open("sqlite", base+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	s := &sqliteDB{sqliteQ: sqliteQ{w, w}, w: w, r: w}
	if err := migrate(ctx, s); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepareInserts(ctx); err != nil {
		s.close()
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	if memory {
		return s, nil // a second pool would see another, empty database
	}
	// Readers get their own pool: in WAL mode they never wait for the writer.
	r, err := sql.Open("sqlite", base+"&_query_only=1")
	if err != nil {
		s.close()
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	s.r, s.sqliteQ.r = r, r
	return s, nil
}

func openPostgres(ctx context.Context, url string) (db, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		// Return timestamptz values in UTC, as SQLite does, not in time.Local.
		c.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: postgres: %w", err)
	}
	p := &pgDB{pool: pool, q: pool}
	if err := migrate(ctx, p); err != nil {
		pool.Close()
		return nil, err
	}
	return p, nil
}
