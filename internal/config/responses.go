package config

// Responses configures the Responses API (POST /v1/responses).
type Responses struct {
	// Store keeps each answer whose request does not say "store": false
	// in the gateway store, so that a later request can continue it with
	// previous_response_id. Unset: on when a store is configured. Off,
	// no conversation content is written to the database.
	Store *bool `yaml:"store"`
}

// KeepResponses reports whether Responses API answers are stored.
func (c *Config) KeepResponses() bool {
	if c.Store == "" {
		return false
	}
	return c.Responses.Store == nil || *c.Responses.Store
}

// validateResponses checks the responses: section.
func (c *Config) validateResponses(add func(path, format string, args ...any)) {
	if s := c.Responses.Store; s != nil && *s && c.Store == "" {
		add("responses.store", "needs a gateway store: set `store:` (sqlite://… or postgres://…)")
	}
}
