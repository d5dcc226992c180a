package config

import "time"

// Cache is the response cache's store: exact-match answers keyed by a
// hash of the normalised request. Caching is turned on per model
// (models.X.cache) or for every model (all_models).
type Cache struct {
	// Backend is memory (default; an LRU bounded by max_bytes) or redis
	// (the top-level redis: URL, shared by replicas).
	Backend  string `yaml:"backend"`
	MaxBytes int64  `yaml:"max_bytes"`
	// TTL is how long an answer is served from the cache, for models that
	// set none (default 5m).
	TTL Duration `yaml:"ttl"`
	// Scope is shared (default: one entry serves every caller) or key
	// (the caller's key id is part of the cache key).
	Scope string `yaml:"scope"`
	// Prefix namespaces the Redis keys (default "tidegate:cache:").
	Prefix string `yaml:"prefix"`
	// AllModels caches every model with the defaults above.
	AllModels bool `yaml:"all_models"`
}

// ModelCache turns the cache on for one model, optionally with its own
// TTL and scope.
type ModelCache struct {
	TTL   Duration `yaml:"ttl"`
	Scope string   `yaml:"scope"`
	// Off excludes the model when all_models is set.
	Off bool `yaml:"off"`
}

// Cache defaults.
const (
	CacheMemory          = "memory"
	CacheRedis           = "redis"
	DefaultCacheMaxBytes = 64 << 20
	DefaultCacheTTL      = 5 * time.Minute
	DefaultCachePrefix   = "tidegate:cache:"
	CacheScopeShared     = "shared"
	CacheScopeKey        = "key"
)

// CacheEnabled reports whether any model is cached.
func (c *Config) CacheEnabled() bool {
	if c.Cache.AllModels {
		return true
	}
	for _, m := range c.Models {
		if m.Cache != nil && !m.Cache.Off {
			return true
		}
	}
	return false
}

func (c *Config) validateCache(add func(path, format string, args ...any)) {
	cc := c.Cache
	switch cc.Backend {
	case "", CacheMemory:
	case CacheRedis:
		if c.Redis == "" {
			add("cache.backend", "redis needs the top-level redis: URL")
		}
	default:
		add("cache.backend", "unknown backend %q (memory or redis)", cc.Backend)
	}
	if cc.MaxBytes < 0 {
		add("cache.max_bytes", "must not be negative")
	}
	scope := func(path, s string) {
		if s != "" && s != CacheScopeShared && s != CacheScopeKey {
			add(path, "unknown scope %q (shared or key)", s)
		}
	}
	scope("cache.scope", cc.Scope)
	for _, name := range sortedKeys(c.Models) {
		if mc := c.Models[name].Cache; mc != nil {
			scope("models."+name+".cache.scope", mc.Scope)
		}
	}
}
