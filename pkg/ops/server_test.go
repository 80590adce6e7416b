package ops_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/ops"
)

// serve starts an ops Server on a free loopback port and stops it when the test ends.
func serve(t *testing.T, h *ops.Health, mount ...func(chi.Router)) string {
	t.Helper()
	s, err := ops.NewServer("127.0.0.1:0", h, zap.NewNop(), mount...)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	t.Cleanup(func() {
		if err := s.Stop(time.Second); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return "http://" + s.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
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

func TestServerServesTheOpsEndpointsAndWhatTheServiceMounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "ops_test_things_total", Help: "Things."})
	reg.MustRegister(c)
	c.Inc()
	url := serve(t, ops.NewHealth(reg), func(r chi.Router) {
		r.Get("/debug/extra", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "extra") })
	})
	tests := []struct {
		name, path string
		status     int
		contains   string
	}{
		{"liveness answers ok", "/healthz", http.StatusOK, `{"status":"ok"}`},
		{"readiness with no checks answers ready", "/readyz", http.StatusOK, `{"status":"ready"}`},
		{"metrics come from the given registry", "/metrics", http.StatusOK, "ops_test_things_total 1"},
		{"a route the service mounts is served", "/debug/extra", http.StatusOK, "extra"},
		{"anything else is 404", "/api", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, url+tt.path)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Fatalf("GET %s = %d %q, want %d with %q", tt.path, status, body, tt.status, tt.contains)
			}
		})
	}
}

func TestReadinessNamesFailingChecksAndDraining(t *testing.T) {
	var down atomic.Bool
	h := ops.NewHealth(prometheus.NewRegistry(),
		ops.Check{Name: "db", Func: func(context.Context) error {
			if down.Load() {
				return errors.New("dial tcp 10.0.0.5:5432: connection refused")
			}
			return nil
		}},
		ops.Check{Name: "cache", Func: func(context.Context) error { return nil }},
	)
	url := serve(t, h)
	if status, _ := get(t, url+"/readyz"); status != http.StatusOK {
		t.Fatalf("readyz with every check passing = %d, want 200", status)
	}

	down.Store(true)
	status, body := get(t, url+"/readyz")
	var reply struct {
		Status string
		Failed map[string]string
	}
	if err := json.Unmarshal([]byte(body), &reply); err != nil {
		t.Fatal(err)
	}
	if status != http.StatusServiceUnavailable || reply.Status != "unavailable" || len(reply.Failed) != 1 || reply.Failed["db"] == "" {
		t.Fatalf("readyz with the db down = %d %s, want 503 naming only db", status, body)
	}

	down.Store(false)
	h.SetDraining()
	if status, body := get(t, url+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, "draining") {
		t.Fatalf("readyz while draining = %d %s, want 503 draining", status, body)
	}
	if status, _ := get(t, url+"/healthz"); status != http.StatusOK {
		t.Fatalf("healthz while draining = %d; liveness must not fail on a drain", status)
	}
}

func TestServerLifecycle(t *testing.T) {
	t.Run("an unstarted server releases its port on Stop", func(t *testing.T) {
		s, err := ops.NewServer("127.0.0.1:0", ops.NewHealth(nil), zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		addr := s.Addr().String()
		if err := s.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
		again, err := ops.NewServer(addr, ops.NewHealth(nil), zap.NewNop())
		if err != nil {
			t.Fatalf("the port is still held: %v", err)
		}
		_ = again.Stop(time.Second)
	})
	t.Run("Run serves until its context ends", func(t *testing.T) {
		s, err := ops.NewServer("127.0.0.1:0", ops.NewHealth(nil), zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, time.Second) }()
		url := "http://" + s.Addr().String() + "/healthz"
		deadline := time.Now().Add(10 * time.Second)
		for {
			if resp, err := http.Get(url); err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("Run never served")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v after its context ended, want nil", err)
		}
		if _, err := http.Get(url); err == nil {
			t.Fatal("the listener still answers after Run returned")
		}
	})
	t.Run("a taken address is an error that names it", func(t *testing.T) {
		s, err := ops.NewServer("127.0.0.1:0", ops.NewHealth(nil), zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Stop(time.Second)
		_, err = ops.NewServer(s.Addr().String(), ops.NewHealth(nil), zap.NewNop())
		if err == nil || !strings.Contains(err.Error(), s.Addr().String()) {
			t.Fatalf("NewServer on a taken address = %v, want an error naming it", err)
		}
	})
}
