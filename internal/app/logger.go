package app

import (
	"io"
	"log/slog"

	"github.com/tidegate/tidegate/internal/config"
)

// NewLogger builds the process logger from telemetry.logging: text or
// JSON lines on w at the configured level (the access log, when on, is
// written through it at info).
func NewLogger(l config.Logging, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.Level)); err != nil {
		level = slog.LevelInfo // validated at load; "" is the default
	}
	opts := &slog.HandlerOptions{Level: level}
	if l.Format == config.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
