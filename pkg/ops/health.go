package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency is usable; a nil error means ready.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Health answers /healthz, /readyz and /metrics; a Server mounts it on the ops address.
type Health struct {
	checks   []Check
	draining atomic.Bool
	gatherer prometheus.Gatherer
}

// NewHealth returns a Health that runs checks on every readiness probe and exposes the
// metrics in gatherer (prometheus.DefaultGatherer when nil).
func NewHealth(gatherer prometheus.Gatherer, checks ...Check) *Health {
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	return &Health{checks: checks, gatherer: gatherer}
}

// SetDraining marks the service as shutting down, which makes /readyz fail so load
// balancers stop sending new work while in-flight work finishes.
func (h *Health) SetDraining() { h.draining.Store(true) }

// register mounts the endpoints on r, which only the ops listener serves.
func (h *Health) register(r chi.Router) {
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", h.ready)
	r.Handle("/metrics", promhttp.HandlerFor(h.gatherer, promhttp.HandlerOpts{}))
}

// ready runs every check. The reply names each failing check with its error text: that
// is operator detail (a host name, a user name, a TLS complaint), fit for the ops address
// only, which no Ingress or proxy routes.
func (h *Health) ready(w http.ResponseWriter, r *http.Request) {
	if h.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "draining"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	failed := map[string]string{}
	for _, c := range h.checks {
		if err := c.Func(ctx); err != nil {
			failed[c.Name] = err.Error()
		}
	}
	if len(failed) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "failed": failed})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
