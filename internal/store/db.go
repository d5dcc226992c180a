package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The two backends differ in driver, DDL types, a few expressions and the
// bulk insert; everything else (every query, with $N placeholders, which
// SQLite accepts too) is shared by sqlStore through these interfaces.

// querier runs statements. query calls row once per result row.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args []any, row func(scan func(...any) error) error) error
}

// db is a backend.
type db interface {
	querier
	// tx runs fn in a transaction, committed when fn returns nil.
	tx(ctx context.Context, fn func(querier) error) error
	// insertUsage appends rows (usageColumns) to the usage table and their
	// costs to usage_spend, atomically.
	insertUsage(ctx context.Context, rows []Usage) error
	// migrating runs fn while holding the migration lock, with a db whose
	// statements run under that lock.
	migrating(ctx context.Context, fn func(db) error) error
	dialect() *dialect
	// watch calls changed when a config version may have been added.
	watch(ctx context.Context, changed func()) error
	close() error
}

// dialect holds what the SQL text of the two backends disagrees on.
type dialect struct {
	ddl     *strings.Replacer // {{timestamp}}, {{seq}}, {{epoch_day}} in migrations
	day     string            // UTC day (YYYY-MM-DD) of usage column u.time
	collate string            // appended to ORDER BY on text: bytewise order on both
	// Stats buckets: whole hours and whole UTC days since the Unix epoch
	// of u.time, as integers (cheaper than formatting dates per row).
	hour, dayStart string
	// notify is the statement that announces a new config version, if any.
	notify string
	// lockConfig, run first in the transaction that adds a config version,
	// orders those transactions (SQLite: BEGIN IMMEDIATE already does), so
	// versions commit in number order and a version-conditional add sees
	// the true newest version. Readers are not blocked.
	lockConfig string
}

var (
	sqliteDialect = &dialect{
		// TIMESTAMP columns hold integer microseconds; the driver converts.
		ddl: strings.NewReplacer("{{timestamp}}", "TIMESTAMP", "{{seq}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
			"{{epoch_day}}", "(time / 86400000000 - (time < 0 AND time % 86400000000 <> 0))"),
		day:      "strftime('%Y-%m-%d', u.time / 1000000, 'unixepoch')",
		hour:     "u.time / 3600000000",
		dayStart: "u.time / 86400000000",
	}
	postgresDialect = &dialect{
		ddl: strings.NewReplacer("{{timestamp}}", "TIMESTAMPTZ", "{{seq}}", "BIGSERIAL PRIMARY KEY",
			"{{epoch_day}}", "FLOOR(EXTRACT(EPOCH FROM time) / 86400)::BIGINT"),
		day:        "to_char(u.time AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
		hour:       "FLOOR(EXTRACT(EPOCH FROM u.time) / 3600)::BIGINT",
		dayStart:   "FLOOR(EXTRACT(EPOCH FROM u.time) / 86400)::BIGINT",
		collate:    ` COLLATE "C"`,
		notify:     "SELECT pg_notify('" + configChannel + "', '')",
		lockConfig: "LOCK TABLE config_versions IN SHARE ROW EXCLUSIVE MODE",
	}
)

// isUnique reports a unique or primary key violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// --- SQLite (database/sql, modernc.org/sqlite) ---

type sqlConn interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// sqliteQ writes through w and reads through r.
type sqliteQ struct{ w, r sqlConn }

func (q sqliteQ) exec(ctx context.Context, s string, args ...any) (int64, error) {
	res, err := q.w.ExecContext(ctx, s, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q sqliteQ) query(ctx context.Context, s string, args []any, row func(func(...any) error) error) error {
	rows, err := q.r.QueryContext(ctx, s, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

type sqliteDB struct {
	sqliteQ
	w, r *sql.DB // r == w for :memory:

	// inserts[k] is the INSERT of usageChunk>>k usage rows, prepared on
	// the writer at open (not inside a transaction, which holds its only
	// connection) and kept; database/sql prepares it again on a new
	// connection. Parsing a 64-row INSERT costs about as much as binding
	// its rows.
	inserts [usageChunkSizes]*sql.Stmt
}

func (d *sqliteDB) dialect() *dialect { return sqliteDialect }

func (d *sqliteDB) tx(ctx context.Context, fn func(querier) error) error {
	return d.sqlTx(ctx, func(tx *sql.Tx) error { return fn(sqliteQ{tx, tx}) })
}

func (d *sqliteDB) sqlTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// usageChunk is how many rows one INSERT statement carries: per-statement
// work (bind, step, reset) dominates a one-row insert in SQLite, and
// 64 × 18 parameters stays far below its variable limit. A batch is cut
// into chunks of 64, 32, 16, … 1 rows, so that a few prepared statements
// serve every batch size.
const (
	usageChunk      = 64
	usageChunkSizes = 7 // 64 >> 0 … 64 >> 6
)

func (d *sqliteDB) insertUsage(ctx context.Context, rows []Usage) error {
	all := rows
	return d.sqlTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, usageChunk*len(usageColumns))
		for len(rows) > 0 {
			k := chunkLevel(len(rows))
			n := usageChunk >> k
			args = args[:0]
			for i := range rows[:n] {
				args = appendUsageValues(args, &rows[i])
			}
			if _, err := tx.StmtContext(ctx, d.inserts[k]).ExecContext(ctx, args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return addSpend(ctx, sqliteQ{tx, tx}, all)
	})
}

// chunkLevel is the k of the largest chunk (usageChunk >> k rows) that n
// rows fill.
func chunkLevel(n int) int {
	k := 0
	for usageChunk>>k > n {
		k++
	}
	return k
}

// prepareInserts prepares inserts.
func (d *sqliteDB) prepareInserts(ctx context.Context) error {
	for k := range d.inserts {
		stmt, err := d.w.PrepareContext(ctx, insertUsageRowsSQL(usageChunk>>k))
		if err != nil {
			return err
		}
		d.inserts[k] = stmt
	}
	return nil
}

// migrating needs no lock: each migration runs in a BEGIN IMMEDIATE
// transaction, which already excludes other processes.
func (d *sqliteDB) migrating(_ context.Context, fn func(db) error) error { return fn(d) }

func (d *sqliteDB) close() error {
	for _, stmt := range d.inserts {
		if stmt != nil {
			stmt.Close()
		}
	}
	err := d.w.Close()
	if d.r != d.w {
		err = errors.Join(err, d.r.Close())
	}
	return err
}

// --- PostgreSQL (pgx) ---

// pgConn is satisfied by *pgxpool.Pool, *pgx.Conn and pgx.Tx.
type pgConn interface {
	Exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, q string, args ...any) (pgx.Rows, error)
	Begin(ctx context.Context) (pgx.Tx, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error)
}

type pgDB struct {
	pool *pgxpool.Pool
	q    pgConn // the pool, or a connection or transaction of it
}

func (d *pgDB) dialect() *dialect { return postgresDialect }

func (d *pgDB) exec(ctx context.Context, s string, args ...any) (int64, error) {
	tag, err := d.q.Exec(ctx, s, args...)
	return tag.RowsAffected(), err
}

func (d *pgDB) query(ctx context.Context, s string, args []any, row func(func(...any) error) error) error {
	rows, err := d.q.Query(ctx, s, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (d *pgDB) tx(ctx context.Context, fn func(querier) error) error {
	return pgx.BeginFunc(ctx, d.q, func(tx pgx.Tx) error { return fn(&pgDB{pool: d.pool, q: tx}) })
}

// insertUsage uses COPY, and adds to usage_spend in the same transaction.
func (d *pgDB) insertUsage(ctx context.Context, rows []Usage) error {
	return pgx.BeginFunc(ctx, d.q, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"usage"}, usageColumns,
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) { return usageArgs(&rows[i]), nil }))
		if err != nil {
			return err
		}
		return addSpend(ctx, &pgDB{pool: d.pool, q: tx}, rows)
	})
}

// migrationLock is the pg_advisory_lock key that serialises migrations
// of replicas starting together ("tidegate" in ASCII).
const migrationLock = 0x7469646567617465

func (d *pgDB) migrating(ctx context.Context, fn func(db) error) error {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	if _, err := c.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return err
	}
	err = fn(&pgDB{pool: d.pool, q: c.Conn()})
	// A session lock: released explicitly, or with the connection if that fails.
	if _, uerr := c.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock)); uerr != nil {
		c.Conn().Close(context.WithoutCancel(ctx))
	}
	return err
}

func (d *pgDB) close() error {
	d.pool.Close()
	return nil
}
