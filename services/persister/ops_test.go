package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Regression: issue 13 L7 — every service serves /healthz, /readyz and /metrics on an ops
// address of its own, named alike in each (PERSISTER_OPS_ADDR beside GATEWAY_OPS_ADDR and
// REALTIME_OPS_ADDR), which probes and Prometheus use and nothing routes from outside. The
// persister has no public listener, so its ops address serves those three and nothing else.
func TestOpsAddressServesProbesAndMetricsOnly(t *testing.T) {
	b := setup(t, 1, "")
	opsAddr := startInProcess(t, b.config())
	tests := []struct {
		name, path string
		status     int
		contains   string
	}{
		{"the ops address serves liveness", "/healthz", http.StatusOK, `"ok"`},
		{"the ops address serves readiness", "/readyz", http.StatusOK, `"ready"`},
		{"the ops address serves Prometheus metrics", "/metrics", http.StatusOK, "persister_rows_written_total"},
		{"anything else is 404", "/debug/pprof/", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get("http://" + opsAddr + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.contains) {
				t.Fatalf("GET %s = %d %.200q, want %d with %q", tt.path, resp.StatusCode, body, tt.status, tt.contains)
			}
		})
	}
}
