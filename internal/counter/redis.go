package counter

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the shared Counter: all state lives in Redis under a prefix and
// every Reserve and Settle is one Lua script (EVALSHA, falling back to EVAL
// when the server has not seen it), so N replicas behave as one.
//
// Keys, under the prefix:
//
//	id:<ID>    the reservation's mark ("r" reserved, "s" settled)
//	rq:<Key>   request window: zset member=ID score=µs
//	tk:<Key>   token window: zset member=ID score=µs
//	ta:<Key>   token window: hash ID→tokens, ""→sum
//	b:<Key>    budget: hash s→settled spend µUSD, e→period end µs
//	           (seeded by Budget.Seed when missing; expires at the period end)
//	bl:<Key>   budget: live reservations, zset ID→expiry µs
//	ba:<Key>   budget: hash ID→reserved µUSD, ""→sum
//
// A script touches all the keys of one reservation, so on Redis Cluster
// they must share a hash slot: the prefix must carry a hash tag, e.g.
// "{tidegate}:", and NewRedis wraps a cluster client's prefix in braces
// when it has none. Everything then lives on one shard; single-node and
// Sentinel deployments need nothing. The server must not evict keys
// (maxmemory-policy noeviction or volatile-*): a lost key under-counts.
//
// Time is the clock passed in, sent to the scripts as an argument, never
// Redis TIME; replicas should keep their clocks in sync (NTP). Key expiry
// (PEXPIRE) is Redis's own time and only collects idle state.
type Redis struct {
	client redis.UniversalClient
	prefix string
	clock  Clock
}

var _ Counter = (*Redis)(nil)

var (
	//go:embed common.lua
	commonLua string
	//go:embed reserve.lua
	reserveLua string
	//go:embed settle.lua
	settleLua string

	reserveScript = redis.NewScript(commonLua + reserveLua)
	settleScript  = redis.NewScript(commonLua + settleLua)
)

// NewRedis returns a counter keeping its state in client under prefix; a
// nil clock is time.Now. The client stays the caller's: Close does not
// close it.
func NewRedis(client redis.UniversalClient, prefix string, clock Clock) *Redis {
	if clock == nil {
		clock = time.Now
	}
	if _, cluster := client.(*redis.ClusterClient); cluster && !hasHashTag(prefix) {
		if prefix == "" {
			prefix = "tidegate:"
		}
		prefix = "{" + prefix + "}"
	}
	return &Redis{client: client, prefix: prefix, clock: clock}
}

// hasHashTag reports whether Redis Cluster hashes keys starting with
// prefix by a tag inside it: a "{" followed later by "}" with something
// in between.
func hasHashTag(prefix string) bool {
	i := strings.IndexByte(prefix, '{')
	return i >= 0 && strings.IndexByte(prefix[i+1:], '}') > 0
}

// Close releases nothing; the client belongs to the caller.
func (c *Redis) Close() error { return nil }

// Reserve implements Counter: one round trip, two when a budget's spend
// counter has to be seeded first.
func (c *Redis) Reserve(ctx context.Context, r *Reservation) (Decision, error) {
	if err := r.validate(); err != nil {
		return Decision{}, err
	}
	keys := make([]string, 0, 1+len(r.Requests)+2*len(r.Tokens)+3*len(r.Budgets))
	keys = append(keys, c.prefix+"id:"+r.ID)
	for _, w := range r.Requests {
		keys = append(keys, c.prefix+"rq:"+w.Key)
	}
	for _, w := range r.Tokens {
		keys = append(keys, c.prefix+"tk:"+w.Key, c.prefix+"ta:"+w.Key)
	}
	keys = c.budgetKeys(keys, r.Budgets)

	var d Decision
	err := withSeeds(ctx, r.Budgets, func(seeds []seed) ([]int, error) {
		args := make([]any, 0, 9+2*len(r.Requests)+2*len(r.Tokens)+3*len(r.Budgets))
		args = append(args, micros(c.clock()), r.ID, len(r.Requests), len(r.Tokens), len(r.Budgets),
			r.TokenAmount, r.Cost, r.ttl(), millis(r.markTTL()))
		for _, ws := range [][]Window{r.Requests, r.Tokens} {
			for _, w := range ws {
				args = append(args, w.Limit, w.Window.Microseconds())
			}
		}
		for i, b := range r.Budgets {
			args = append(args, b.Limit, micros(b.Expires), seedArg(seeds, i))
		}
		res, err := reserveScript.Run(ctx, c.client, keys, args...).Int64Slice()
		if err != nil {
			return nil, unavailable("reserve", err)
		}
		switch {
		case len(res) > 0 && res[0] == -2:
			return nil, ErrDuplicate
		case len(res) > 0 && res[0] == -1:
			return ints(res[1:]), nil
		case len(res) != 3+2*(len(r.Requests)+len(r.Tokens)):
			return nil, fmt.Errorf("%w: reserve script returned %d values", ErrUnavailable, len(res))
		}
		d = Decision{
			Allowed: res[0] == 1,
			Budget:  res[0] == 2,
			Denied:  r.deniedKey(int(res[1])),
			States:  make([]State, len(r.Requests)+len(r.Tokens)),
		}
		if res[0] == 0 {
			d.RetryAfter = fromMicros(res[2])
		}
		for i := range d.States {
			w, _, _ := r.window(i)
			d.States[i] = State{Key: w.Key, Limit: w.Limit, Remaining: res[3+2*i], Reset: fromMicros(res[4+2*i])}
		}
		return nil, nil
	})
	return d, err
}

// Settle implements Counter: one round trip (none without token windows
// and budgets), two when a budget's spend counter has to be seeded first.
func (c *Redis) Settle(ctx context.Context, r *Reservation, u Usage) error {
	if err := r.validate(); err != nil {
		return err
	}
	if len(r.Tokens) == 0 && len(r.Budgets) == 0 {
		return nil // request counts stay as they are
	}
	keys := make([]string, 0, 1+2*len(r.Tokens)+3*len(r.Budgets))
	keys = append(keys, c.prefix+"id:"+r.ID)
	for _, w := range r.Tokens {
		keys = append(keys, c.prefix+"tk:"+w.Key, c.prefix+"ta:"+w.Key)
	}
	keys = c.budgetKeys(keys, r.Budgets)

	return withSeeds(ctx, r.Budgets, func(seeds []seed) ([]int, error) {
		args := make([]any, 0, 7+len(r.Tokens)+2*len(r.Budgets))
		args = append(args, micros(c.clock()), r.ID, len(r.Tokens), len(r.Budgets), u.Tokens, u.Cost, millis(r.markTTL()))
		for _, w := range r.Tokens {
			args = append(args, w.Window.Microseconds())
		}
		for i, b := range r.Budgets {
			args = append(args, micros(b.Expires), seedArg(seeds, i))
		}
		res, err := settleScript.Run(ctx, c.client, keys, args...).Int64Slice()
		if err != nil {
			return nil, unavailable("settle", err)
		}
		if len(res) > 0 && res[0] == -1 {
			return ints(res[1:]), nil
		}
		return nil, nil
	})
}

func (c *Redis) budgetKeys(keys []string, budgets []Budget) []string {
	for _, b := range budgets {
		keys = append(keys, c.prefix+"b:"+b.Key, c.prefix+"bl:"+b.Key, c.prefix+"ba:"+b.Key)
	}
	return keys
}

func seedArg(seeds []seed, i int) string {
	if seeds == nil || !seeds[i].ok {
		return ""
	}
	return strconv.FormatInt(seeds[i].v, 10)
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, err)
}

func millis(us int64) int64 { return (us + 999) / 1000 }

func ints(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}
