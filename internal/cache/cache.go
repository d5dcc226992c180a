// Package cache is tidegate's exact-match response cache: answers keyed
// by a hash of the normalised request, kept in a byte-bounded in-memory
// LRU or in Redis, with a TTL per model. Streams are stored as their
// canonical events and replayed as a stream in the caller's dialect.
package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tidwall/gjson"

	"github.com/tidegate/tidegate/internal/config"
	"github.com/tidegate/tidegate/internal/jsonw"
	"github.com/tidegate/tidegate/internal/llm"
)

// Store keeps serialised entries.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Close() error
}

// Results reported to Options.Observe (and in x-tidegate-cache).
const (
	Hit    = "hit"
	Miss   = "miss"
	Bypass = "bypass"
)

// Options configure a Cache.
type Options struct {
	// Observe is called once per request to a cached model with Hit, Miss
	// or Bypass: the seam for metrics (cache_requests_total{result}).
	Observe func(model, result string)
	Now     func() time.Time
}

// Cache decides which requests are cached, for how long, and under which
// key. Safe for concurrent use.
type Cache struct {
	store  Store
	models map[string]rule
	all    *rule
	opt    Options
}

type rule struct {
	ttl      time.Duration
	keyScope bool
}

// New builds the cache of cfg, with the store its backend names; nil
// when no model is cached.
func New(cfg *config.Config, opt Options) (*Cache, error) {
	c := build(cfg, opt)
	if c == nil {
		return nil, nil
	}
	cc := cfg.Cache
	switch cc.Backend {
	case config.CacheRedis:
		opts, err := redis.ParseURL(cfg.Redis)
		if err != nil {
			return nil, fmt.Errorf("cache: redis: %w", err)
		}
		prefix := cc.Prefix
		if prefix == "" {
			prefix = config.DefaultCachePrefix
		}
		c.store = NewRedis(redis.NewClient(opts), prefix, true)
	default:
		max := cc.MaxBytes
		if max == 0 {
			max = config.DefaultCacheMaxBytes
		}
		c.store = NewMemory(max, c.opt.Now)
	}
	return c, nil
}

// NewWithStore is New with a given store (tests, a shared client).
func NewWithStore(cfg *config.Config, store Store, opt Options) *Cache {
	c := build(cfg, opt)
	if c != nil {
		c.store = store
	}
	return c
}

// build reads which models are cached and how.
func build(cfg *config.Config, opt Options) *Cache {
	if !cfg.CacheEnabled() {
		return nil
	}
	cc := cfg.Cache
	def := rule{ttl: cc.TTL.D(config.DefaultCacheTTL), keyScope: cc.Scope == config.CacheScopeKey}
	c := &Cache{models: map[string]rule{}, opt: opt}
	if c.opt.Now == nil {
		c.opt.Now = time.Now
	}
	if cc.AllModels {
		c.all = &def
	}
	for name, m := range cfg.Models {
		switch {
		case m.Cache == nil:
		case m.Cache.Off:
			c.models[name] = rule{} // ttl 0: not cached
		default:
			r := def
			r.ttl = m.Cache.TTL.D(def.ttl)
			if m.Cache.Scope != "" {
				r.keyScope = m.Cache.Scope == config.CacheScopeKey
			}
			c.models[name] = r
		}
	}
	return c
}

// Store is where the cache keeps its entries, so that the cache of a new
// config version (NewWithStore) keeps the answers of the previous one.
func (c *Cache) Store() Store { return c.store }

// Close releases the store.
func (c *Cache) Close() error {
	if c == nil {
		return nil
	}
	return c.store.Close()
}

// Request is one request's view of the cache.
type Request struct {
	c      *Cache
	model  string
	key    string
	ttl    time.Duration
	Result string // Hit, Miss or Bypass; "" when the model is not cached
}

// Begin decides whether a request to the models entry model is cached
// and computes its key. A nil *Request means the model is not cached
// (no header, no cost beyond a map lookup).
func (c *Cache) Begin(model string, d llm.Dialect, path string, stream bool, body []byte, h http.Header, keyID string) *Request {
	if c == nil {
		return nil
	}
	r, ok := c.models[model]
	if !ok && c.all != nil {
		r, ok = *c.all, true
	}
	if !ok || r.ttl <= 0 {
		return nil
	}
	req := &Request{c: c, model: model, ttl: r.ttl}
	if bypass(h) {
		req.Result = Bypass
		c.observe(model, Bypass)
		return req
	}
	scope := ""
	if r.keyScope {
		scope = keyID
	}
	req.key = Key(d, path, model, scope, stream, body)
	return req
}

// bypass: Cache-Control: no-store, or x-tidegate-cache: off.
func bypass(h http.Header) bool {
	if strings.EqualFold(strings.TrimSpace(h.Get("x-tidegate-cache")), "off") {
		return true
	}
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return true
			}
		}
	}
	return false
}

func (c *Cache) observe(model, result string) {
	if c.opt.Observe != nil {
		c.opt.Observe(model, result)
	}
}

// Entry is a cached answer.
type Entry struct {
	// Body is a non-stream answer in the caller's dialect.
	Body []byte `json:"body,omitempty"`
	// Events are a stream's canonical events (without upstream bytes).
	Events   []Event   `json:"events,omitempty"`
	Provider string    `json:"provider,omitempty"`
	Model    string    `json:"model,omitempty"`
	Stored   time.Time `json:"stored"`
}

// Header is the x-tidegate-cache value: hit, miss or bypass.
func (r *Request) Header() string {
	if r == nil {
		return ""
	}
	return r.Result
}

// Missed reports a lookup that found nothing: the answer should be stored.
func (r *Request) Missed() bool { return r != nil && r.Result == Miss }

// Lookup returns the cached entry, if any, and sets Result. A store error
// counts as a miss: the cache never fails a request.
func (r *Request) Lookup(ctx context.Context) (*Entry, bool) {
	if r == nil || r.Result == Bypass {
		return nil, false
	}
	data, ok, err := r.c.store.Get(ctx, r.key)
	var e Entry
	if err == nil && ok && json.Unmarshal(data, &e) == nil && (len(e.Body) > 0 || len(e.Events) > 0) {
		r.Result = Hit
		r.c.observe(r.model, Hit)
		return &e, true
	}
	r.Result = Miss
	r.c.observe(r.model, Miss)
	return nil, false
}

// Store saves a complete, successful answer after a miss.
func (r *Request) Store(ctx context.Context, e *Entry) error {
	if r == nil || r.Result != Miss {
		return nil
	}
	e.Stored = r.c.opt.Now()
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("cache: encode: %w", err)
	}
	return r.c.store.Set(ctx, r.key, data, r.ttl)
}

// Key hashes the normalised request: the caller's dialect and path, the
// public model, the scope (a key id, or ""), and the body with its object
// keys sorted, strings re-escaped and the fields that do not change the
// answer dropped (model, stream, stream_options).
func Key(d llm.Dialect, path, model, scope string, stream bool, body []byte) string {
	h := sha256.New()
	kind := "whole"
	if stream {
		kind = "stream"
	}
	for _, s := range []string{string(d), path, kind, model, scope} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	w := canon{h: h}
	w.value(gjson.ParseBytes(body), true)
	w.flush()
	return hex.EncodeToString(h.Sum(nil))
}

// canon writes a canonical JSON form into a hash.
type canon struct {
	h   hash.Hash
	buf []byte
}

// ignored are the top-level fields that do not change the answer.
func ignored(key string) bool { return key == "model" || key == "stream" || key == "stream_options" }

func (w *canon) value(v gjson.Result, top bool) {
	switch {
	case v.IsObject():
		type kv struct {
			k string
			v gjson.Result
		}
		var kvs []kv
		v.ForEach(func(k, val gjson.Result) bool {
			if !(top && ignored(k.Str)) {
				kvs = append(kvs, kv{k.Str, val})
			}
			return true
		})
		sort.Slice(kvs, func(i, j int) bool { return kvs[i].k < kvs[j].k })
		w.buf = append(w.buf, '{')
		for i, e := range kvs {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			w.buf = jsonw.AppendString(w.buf, e.k)
			w.buf = append(w.buf, ':')
			w.value(e.v, false)
		}
		w.buf = append(w.buf, '}')
	case v.IsArray():
		w.buf = append(w.buf, '[')
		i := 0
		v.ForEach(func(_, e gjson.Result) bool {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			i++
			w.value(e, false)
			return true
		})
		w.buf = append(w.buf, ']')
	case v.Type == gjson.String:
		w.buf = jsonw.AppendString(w.buf, v.Str)
	default:
		w.buf = append(w.buf, v.Raw...)
	}
	if len(w.buf) > 32<<10 {
		w.flush()
	}
}

func (w *canon) flush() {
	w.h.Write(w.buf)
	w.buf = w.buf[:0]
}
