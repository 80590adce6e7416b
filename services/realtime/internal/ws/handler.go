package ws

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// Config tunes the transport.
type Config struct {
	// OriginPatterns are the allowed browser Origins (host patterns as in
	// websocket.AcceptOptions); requests without an Origin header (non-browsers) are allowed.
	OriginPatterns []string
	// MaxFrameBytes bounds one incoming frame.
	MaxFrameBytes int64
	// SendQueue is how many outgoing frames a connection may have queued before it is
	// closed as a slow consumer.
	SendQueue int
	// WriteTimeout bounds writing one frame.
	WriteTimeout time.Duration
	// Limits bound frame contents.
	Limits protocol.Limits
	// RecoverLimit caps how many missed messages one join replays.
	RecoverLimit int
}

// Handler accepts WebSocket connections.
type Handler struct {
	node     *node.Node
	verifier token.Verifier
	cfg      Config
	log      *zap.Logger

	mu       sync.Mutex
	conns    map[*conn]struct{}
	draining bool
}

// NewHandler returns a Handler.
func NewHandler(n *node.Node, v token.Verifier, cfg Config, log *zap.Logger) *Handler {
	return &Handler{node: n, verifier: v, cfg: cfg, log: log, conns: make(map[*conn]struct{})}
}

// ServeHTTP upgrades the request and runs the connection until it ends.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	draining := h.draining
	h.mu.Unlock()
	if draining {
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	}
	wsc, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		h.log.Debug("websocket accept failed", zap.Error(err))
		return // Accept already wrote the HTTP error
	}
	wsc.SetReadLimit(h.cfg.MaxFrameBytes)
	c := newConn(h, wsc)
	if !h.track(c) {
		_ = wsc.Close(protocol.CloseReconnect, "server is shutting down")
		return
	}
	defer h.untrack(c)
	c.run(r.Context())
}

func (h *Handler) track(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.conns[c] = struct{}{}
	return true
}

func (h *Handler) untrack(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// Connections returns the number of open connections.
func (h *Handler) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// Drain refuses new connections and closes every open one with the reconnect close code,
// after letting sends in flight finish, until ctx ends.
func (h *Handler) Drain(ctx context.Context) {
	h.mu.Lock()
	h.draining = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.drain(ctx)
		}()
	}
	wg.Wait()
}
