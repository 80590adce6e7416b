package ops

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"
)

// Addrs are where a service with a public listener listens; its run sends them to a test
// once both listeners are open.
type Addrs struct {
	// Public serves clients: the API and UI, or WebSockets.
	Public net.Addr
	// Ops serves /healthz, /readyz and /metrics to probes and Prometheus.
	Ops net.Addr
}

// Server is a service's ops listener: /healthz, /readyz and /metrics, plus whatever the
// service mounts besides (realtime's profiles), on an address of its own. Everything else
// is 404. It is started before and stopped after the public listener, so probes see
// "draining" for as long as the service drains.
type Server struct {
	ln  net.Listener
	srv *http.Server
	log *zap.Logger
	// served is closed, with serveErr set, when serving ends; nil before Start.
	served   chan struct{}
	serveErr error
}

// NewServer opens the ops listener on addr (":0" picks a free port). mount adds routes of
// the service's own to the ops router.
func NewServer(addr string, h *Health, log *zap.Logger, mount ...func(r chi.Router)) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops: listen on ops address %s: %w", addr, err)
	}
	r := chi.NewRouter()
	h.register(r)
	for _, m := range mount {
		m(r)
	}
	return &Server{
		ln: ln,
		// Scrapes and probes are small and quick; profiles (seconds=N) need long writes, so
		// only reading the request is bounded.
		srv: &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute},
		log: log.With(zap.String("listener", "ops")),
	}, nil
}

// Addr is the bound ops address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Start serves in the background until Stop.
func (s *Server) Start() {
	s.served = make(chan struct{})
	s.log.Info("listening", zap.String("addr", s.ln.Addr().String()))
	go func() {
		err := s.srv.Serve(s.ln)
		if !errors.Is(err, http.ErrServerClosed) {
			// Probes fail from now on, so the orchestrator restarts the service.
			s.log.Error("ops listener stopped serving", zap.Error(err))
		}
		s.serveErr = err
		close(s.served)
	}()
}

// Stop shuts the listener down, giving in-flight requests up to grace, and reports why
// serving ended when it ended on its own. It closes an unstarted listener.
func (s *Server) Stop(grace time.Duration) error {
	if s.served == nil {
		if err := s.ln.Close(); err != nil {
			return fmt.Errorf("ops: close ops listener: %w", err)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("ops: shut down ops listener: %w", err)
	}
	<-s.served
	if !errors.Is(s.serveErr, http.ErrServerClosed) {
		return fmt.Errorf("ops: serve ops listener: %w", s.serveErr)
	}
	return nil
}

// Run serves until ctx ends, then stops as Stop does; it returns early if serving fails.
// It suits a service whose only listener is the ops one (the persister).
func (s *Server) Run(ctx context.Context, grace time.Duration) error {
	s.Start()
	select {
	case <-ctx.Done():
		return s.Stop(grace)
	case <-s.served:
		return fmt.Errorf("ops: serve ops listener: %w", s.serveErr)
	}
}
