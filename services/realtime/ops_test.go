package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// Regression: issue 13 L7 — realtime served /metrics, /healthz and /readyz (and, when
// enabled, Go's profiles) on its public WebSocket port. They are on the ops address now,
// and the public port answers 404 for them.
func TestOpsEndpointsAreServedOnlyOnTheOpsAddress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inst := b.start(t, func(c *Config) { c.Pprof = true })
	for _, path := range []string{"/metrics", "/readyz", "/healthz", "/debug/pprof/"} {
		t.Run("the public port answers 404 for "+path, func(t *testing.T) {
			if status, body := get(t, "http://"+inst.addr+path); status != http.StatusNotFound {
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
		{"the ops address serves Prometheus metrics", "/metrics", http.StatusOK, "realtime_connections"},
		{"the ops address serves profiles when they are on", "/debug/pprof/", http.StatusOK, "goroutine"},
		{"the ops address serves no WebSockets", "/ws", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, "http://"+inst.opsAddr+tt.path)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("GET %s on the ops address = %d %.200q, want %d with %q", tt.path, status, body, tt.status, tt.contains)
			}
		})
	}
}

func TestConfigKeepsTheOpsAddressApartFromThePublicOne(t *testing.T) {
	b := &bundle{jwksURL: "http://gateway.test/.well-known/jwks.json", redisAddr: "127.0.0.1:6379", brokers: []string{"127.0.0.1:9092"}, prefix: "qc:", topic: "t"}
	tests := []struct {
		name          string
		addr, opsAddr string
		ok            bool
	}{
		{"distinct fixed ports are valid", ":8081", ":8091", true},
		{"the same fixed port is refused", ":8081", ":8081", false},
		{"an empty ops address is refused", ":8081", "", false},
		{"both listeners may pick free ports", "127.0.0.1:0", "127.0.0.1:0", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := b.config(t)
			c.Addr, c.OpsAddr = tt.addr, tt.opsAddr
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
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
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
