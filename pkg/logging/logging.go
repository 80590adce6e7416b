// Package logging builds the zap logger every Quick Chat service uses.
package logging

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// New returns a JSON logger at level ("debug", "info", "warn", "error") tagged with the
// service name; format "console" gives human-readable output for local runs.
func New(service, level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("logging: level %q: %w", level, err)
	}
	cfg := zap.NewProductionConfig()
	if format == "console" {
		cfg = zap.NewDevelopmentConfig()
	} else if format != "" && format != "json" {
		return nil, fmt.Errorf("logging: format %q is neither json nor console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	log, err := cfg.Build()
	if err != nil {
		return nil, fmt.Errorf("logging: build: %w", err)
	}
	return log.With(zap.String("service", service)), nil
}
