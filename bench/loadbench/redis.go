package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A minimal RESP client, enough for the governance scenarios: check that
// Redis answers, count the commands the gateway sends it (INFO
// commandstats) and delete the benchmark's keys afterwards. It dials
// 127.0.0.1 only.

const (
	redisTimeout  = 10 * time.Second // per command
	maxRedisBulk  = 64 << 20         // largest bulk reply accepted
	maxRedisArray = 1 << 20          // most elements in an array reply
	maxScanRounds = 1_000_000        // bound on SCAN iterations in clean
)

// benchPrefix is the only kind of Redis key prefix clean may delete.
var benchPrefix = regexp.MustCompile(`^tgbench:[A-Za-z0-9_.-]{4,}:$`)

type redisConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// redisError is an error reply (-ERR …).
type redisError string

func (e redisError) Error() string { return "redis: " + string(e) }

// dialRedis connects to addr (127.0.0.1:PORT only) and selects db.
func dialRedis(ctx context.Context, addr string, db int) (*redisConn, error) {
	if err := checkListen(addr); err != nil {
		return nil, fmt.Errorf("redis %w", err)
	}
	d := net.Dialer{Timeout: 2 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	c := &redisConn{conn: conn, r: bufio.NewReader(conn)}
	if db != 0 {
		if _, err := c.do("SELECT", strconv.Itoa(db)); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *redisConn) Close() error { return c.conn.Close() }

// do sends one command and reads its reply: string, int64, nil, []any or
// a redisError.
func (c *redisConn) do(args ...string) (any, error) {
	if err := c.conn.SetDeadline(time.Now().Add(redisTimeout)); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(c.conn, b.String()); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	v, err := readRESP(c.r, 0)
	if err != nil {
		return nil, err
	}
	if e, ok := v.(redisError); ok {
		return nil, e
	}
	return v, nil
}

func readRESP(r *bufio.Reader, depth int) (any, error) {
	if depth > 4 {
		return nil, errors.New("redis: reply nested too deeply")
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply line")
	}
	kind, rest := line[0], line[1:]
	switch kind {
	case '+':
		return rest, nil
	case '-':
		return redisError(rest), nil
	case ':':
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redis: integer reply %q", rest)
		}
		return n, nil
	case '$':
		n, err := strconv.Atoi(rest)
		switch {
		case err != nil || n < -1 || n > maxRedisBulk:
			return nil, fmt.Errorf("redis: bulk length %q", rest)
		case n == -1:
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(rest)
		switch {
		case err != nil || n < -1 || n > maxRedisArray:
			return nil, fmt.Errorf("redis: array length %q", rest)
		case n == -1:
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			v, err := readRESP(r, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	default:
		return nil, fmt.Errorf("redis: unexpected reply %q", line)
	}
}

// redisStats is a snapshot of the server's counters.
type redisStats struct {
	calls map[string]int64 // calls per command since the last stats reset
	cpu   time.Duration    // the server's user + system CPU time
}

// stats reads INFO all: the calls per command from the commandstats
// section ("cmdstat_evalsha:calls=12,usec=…") and used_cpu_user +
// used_cpu_sys from the cpu section.
func (c *redisConn) stats() (redisStats, error) {
	v, err := c.do("INFO", "all")
	if err != nil {
		return redisStats{}, err
	}
	s, ok := v.(string)
	if !ok {
		return redisStats{}, fmt.Errorf("redis: INFO answered %T", v)
	}
	return parseInfo(s)
}

func parseInfo(info string) (redisStats, error) {
	st := redisStats{calls: map[string]int64{}}
	for _, line := range strings.Split(info, "\n") {
		name, fields, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch name {
		case "used_cpu_user", "used_cpu_sys":
			sec, err := strconv.ParseFloat(fields, 64)
			if err != nil {
				return redisStats{}, fmt.Errorf("redis: INFO %q", line)
			}
			st.cpu += time.Duration(sec * float64(time.Second))
			continue
		}
		name, ok = strings.CutPrefix(name, "cmdstat_")
		if !ok {
			continue
		}
		for _, f := range strings.Split(fields, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return redisStats{}, fmt.Errorf("redis: commandstats %q", line)
				}
				st.calls[name] = n
			}
		}
	}
	return st, nil
}

// redisCount is what the gateway sent Redis during a measured phase.
type redisCount struct {
	Eval int64 `json:"eval"` // EVALSHA + EVAL (and their _ro forms): the counter scripts
	All  int64 `json:"all"`  // every command, the benchmark's own INFO excluded
	// Commands is the calls per command (the benchmark's INFO excluded).
	Commands map[string]int64 `json:"commands,omitempty"`
	CPUus    float64          `json:"cpu_us"` // the Redis server's CPU time
}

// diffStats is after − before: the scripts and all commands run between
// the two INFO calls, minus the first INFO itself, and the CPU used.
func diffStats(before, after redisStats) redisCount {
	d := redisCount{Commands: map[string]int64{}, CPUus: float64((after.cpu - before.cpu).Microseconds())}
	for name, n := range after.calls {
		delta := n - before.calls[name]
		if name == "info" {
			delta-- // the first INFO
		}
		if delta <= 0 {
			continue
		}
		d.Commands[name] = delta
		d.All += delta
		switch name {
		case "evalsha", "eval", "evalsha_ro", "eval_ro":
			d.Eval += delta
		}
	}
	return d
}

// runRedis: loadbench redis -addr 127.0.0.1:6379 [-db N] ping | clean -prefix tgbench:…:
func runRedis(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("redis", flag.ContinueOnError)
	addr := fs.String("addr", loopback+":6379", "Redis address (127.0.0.1 only)")
	db := fs.Int("db", 0, "database")
	prefix := fs.String("prefix", "", "clean: delete the keys under this prefix (tgbench:<id>: only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: loadbench redis [-addr A] [-db N] [-prefix P] ping|clean")
	}
	c, err := dialRedis(ctx, *addr, *db)
	if err != nil {
		return err
	}
	defer c.Close()
	switch fs.Arg(0) {
	case "ping":
		v, err := c.do("PING")
		if err != nil {
			return err
		}
		if v != "PONG" {
			return fmt.Errorf("redis: PING answered %v", v)
		}
		return nil
	case "clean":
		n, err := c.clean(*prefix)
		if err != nil {
			return err
		}
		fmt.Println(n)
		return nil
	default:
		return fmt.Errorf("redis: unknown action %q", fs.Arg(0))
	}
}

// clean deletes every key under prefix and returns how many it deleted.
// Only benchmark prefixes (tgbench:<id>:) are accepted.
func (c *redisConn) clean(prefix string) (int64, error) {
	if !benchPrefix.MatchString(prefix) {
		return 0, fmt.Errorf("redis: prefix %q: only tgbench:<id>: prefixes may be cleaned", prefix)
	}
	var deleted int64
	cursor := "0"
	for range maxScanRounds {
		v, err := c.do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", "1000")
		if err != nil {
			return deleted, err
		}
		reply, ok := v.([]any)
		if !ok || len(reply) != 2 {
			return deleted, fmt.Errorf("redis: SCAN answered %v", v)
		}
		next, _ := reply[0].(string)
		keys, _ := reply[1].([]any)
		if len(keys) > 0 {
			cmd := []string{"UNLINK"}
			for _, k := range keys {
				if s, ok := k.(string); ok && strings.HasPrefix(s, prefix) {
					cmd = append(cmd, s)
				}
			}
			if len(cmd) > 1 {
				v, err := c.do(cmd...)
				if err != nil {
					return deleted, err
				}
				n, _ := v.(int64)
				deleted += n
			}
		}
		if next == "0" || next == "" {
			return deleted, nil
		}
		cursor = next
	}
	return deleted, errors.New("redis: clean: too many SCAN rounds")
}
