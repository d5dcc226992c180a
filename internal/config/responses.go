package config

import "time"

// Responses configures the Responses API (POST /v1/responses).
type Responses struct {
	// Store keeps each answer whose request does not say "store": false
	// in the gateway store, so that a later request can continue it with
	// previous_response_id. Unset: on when a store is configured. Off,
	// no conversation content is written to the database.
	Store *bool `yaml:"store"`
	// Retention is how long stored turns are kept: older ones are not
	// read and are deleted in the background. Unset: 720h (30 days, as at
	// OpenAI); 0 keeps them forever.
	Retention *Duration `yaml:"retention"`
}

// DefaultResponseRetention is how long stored turns are kept by default.
const DefaultResponseRetention = 30 * 24 * time.Hour

// minResponseRetention keeps a conversation alive long enough for a
// follow-up request.
const minResponseRetention = time.Minute

// KeepResponses reports whether Responses API answers are stored.
func (c *Config) KeepResponses() bool {
	if c.Store == "" {
		return false
	}
	return c.Responses.Store == nil || *c.Responses.Store
}

// ResponseRetention is how long stored turns are kept; 0 is forever.
func (c *Config) ResponseRetention() time.Duration {
	if r := c.Responses.Retention; r != nil {
		return time.Duration(*r)
	}
	return DefaultResponseRetention
}

// validateResponses checks the responses: section.
func (c *Config) validateResponses(add func(path, format string, args ...any)) {
	if s := c.Responses.Store; s != nil && *s && c.Store == "" {
		add("responses.store", "needs a gateway store: set `store:` (sqlite://… or postgres://…)")
	}
	if r := c.Responses.Retention; r != nil {
		switch {
		case c.Store == "":
			add("responses.retention", "needs a gateway store: set `store:` (sqlite://… or postgres://…)")
		case *r > 0 && time.Duration(*r) < minResponseRetention:
			add("responses.retention", "must be at least %s (0 keeps stored responses forever)", minResponseRetention)
		}
	}
}
