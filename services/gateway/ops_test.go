package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Regression: issue 13 L7 — the gateway served /metrics, /healthz and /readyz (with raw
// error text) on its public port, which the Ingress routes to the internet. They are on
// the ops address now, and the public port answers 404 for them.
func TestOpsEndpointsAreServedOnlyOnTheOpsAddress(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys.pem")
	writeKeys(t, keyFile, mustKey(t))
	gw := startGateway(t, testConfig(t, keyFile))
	for _, path := range []string{"/metrics", "/readyz", "/healthz"} {
		t.Run("the public port answers 404 for "+path, func(t *testing.T) {
			if status, body := get(t, gw.url+path); status != http.StatusNotFound {
				t.Fatalf("GET %s on the public port = %d %.200q, want 404", path, status, body)
			}
		})
	}
	tests := []struct {
		name, path string
		status     int
		contains   string
	}{
		{"the ops address serves liveness", "/healthz", http.StatusOK, `"ok"`},
		{"the ops address serves readiness", "/readyz", http.StatusOK, `"ready"`},
		{"the ops address serves Prometheus metrics", "/metrics", http.StatusOK, "go_goroutines"},
		{"the ops address serves no API", "/api/auth/me", http.StatusNotFound, ""},
		{"the ops address serves no public keys", "/.well-known/jwks.json", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, gw.opsURL+tt.path)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("GET %s on the ops address = %d %.200q, want %d with %q", tt.path, status, body, tt.status, tt.contains)
			}
		})
	}
}

// get fetches url and returns the status and body.
func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
