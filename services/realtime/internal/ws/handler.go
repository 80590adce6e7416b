package ws

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/clientip"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
	"github.com/quickchat-go/quickchat/services/realtime/internal/metrics"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
	"github.com/quickchat-go/quickchat/services/realtime/internal/protocol"
)

// Verifier checks the gateway's tokens: member tokens at join, attachment references at
// send.
type Verifier interface {
	Verify(ctx context.Context, raw string) (token.Claims, error)
}

var (
	_ Verifier     = (*token.RemoteVerifier)(nil)
	_ http.Handler = (*Handler)(nil)
)

// Config tunes the transport.
type Config struct {
	// OriginPatterns are the allowed browser Origins (host patterns as in
	// websocket.AcceptOptions); requests without an Origin header (non-browsers) pass.
	OriginPatterns []string
	// MaxFrameBytes bounds one incoming frame; a larger one closes the connection with
	// 1009 (message too big).
	MaxFrameBytes int64
	// SendQueue is how many outgoing frames a connection may have queued before it is
	// closed as a slow consumer.
	SendQueue int
	// WriteTimeout bounds writing one frame; a longer stall closes the connection as a
	// slow consumer.
	WriteTimeout time.Duration
	// PingInterval is how often every connection is pinged; PongTimeout is how long the
	// pong may take before the peer is taken for dead.
	PingInterval, PongTimeout time.Duration
	// MaxConnsPerIP bounds concurrent connections from one client address (0: no limit).
	MaxConnsPerIP int
	// ClientIP finds the client's address behind trusted proxies (nil: the TCP peer).
	ClientIP *clientip.Resolver
	// MaxRoomsPerConn bounds how many rooms one connection may join.
	MaxRoomsPerConn int
	// FrameRate and FrameBurst rate-limit client frames per connection (a token bucket).
	// Every frame is charged, valid or not.
	FrameRate  float64
	FrameBurst int
	// FloodCloseAfter and FloodWindow close a connection that keeps sending after being
	// told rate_limited: more than FloodCloseAfter frames refused by the frame limiter
	// before the retry-after the connection was told, within FloodWindow, close it with
	// 1008 (policy violation). 0 FloodCloseAfter: never.
	FloodCloseAfter int
	FloodWindow     time.Duration
	// ReplayRate and ReplayBurst bound the bytes of replayed messages one connection may
	// receive (a token bucket in bytes); a join whose replay the connection cannot pay
	// replays nothing and the client reloads history.
	ReplayRate, ReplayBurst float64
	// AddrSendRate and AddrSendBurst limit the messages sent from one client address on
	// this instance (0 rate: no limit); more are refused with rate_limited.
	AddrSendRate, AddrSendBurst float64
	// AddrTypingRate and AddrTypingBurst limit the typing events from one client address
	// on this instance (0 rate: no limit); more are dropped silently.
	AddrTypingRate, AddrTypingBurst float64
	// TypingInterval is the least time between two typing events a connection publishes
	// per room; more frequent ones are dropped silently. (The node applies the same
	// interval per member across connections.)
	TypingInterval time.Duration
	// OpTimeout bounds one Redis operation done for a client frame (join, presence, typing).
	OpTimeout time.Duration
	// Limits bound frame contents.
	Limits protocol.Limits
}

// Handler accepts WebSocket connections.
type Handler struct {
	node     *node.Node
	verifier Verifier
	// files checks the attachment references of send frames.
	files   Verifier
	cfg     Config
	metrics *metrics.Metrics
	log     *zap.Logger
	// sec logs security events (rate-limit hits, refused tokens), sampled so a flood
	// cannot flood the log.
	sec      *zap.Logger
	framesIn map[string]prometheus.Counter
	writeHop prometheus.Observer
	addrs    *addrLimits

	mu       sync.Mutex
	conns    map[*conn]struct{}
	perIP    map[string]int
	draining bool
}

// NewHandler returns a Handler that admits members to rooms with the member tokens v
// accepts, and files to messages with the attachment references files accepts. Call Run to
// drive keepalives and stall checks.
func NewHandler(n *node.Node, v, files Verifier, cfg Config, m *metrics.Metrics, log *zap.Logger) *Handler {
	if cfg.ClientIP == nil {
		cfg.ClientIP = clientip.New(nil)
	}
	h := &Handler{node: n, verifier: v, files: files, cfg: cfg, metrics: m, log: log, sec: securityLog(log),
		conns: make(map[*conn]struct{}), perIP: make(map[string]int), framesIn: make(map[string]prometheus.Counter),
		writeHop: m.Hops.WithLabelValues(metrics.HopWrite),
		addrs:    newAddrLimits(rate{cfg.AddrSendRate, cfg.AddrSendBurst}, rate{cfg.AddrTypingRate, cfg.AddrTypingBurst})}
	// Count frames only by known types so clients cannot mint label values.
	for _, t := range []string{wire.TypeJoin, wire.TypeLeave, wire.TypeSend, wire.TypeDelete,
		wire.TypeTyping, wire.TypePresence, wire.TypePing, "invalid", "unread"} {
		h.framesIn[t] = m.FramesIn.WithLabelValues(t)
	}
	return h
}

// ServeHTTP upgrades the request and hands the connection to a goroutine of its own, so
// neither the HTTP server's goroutine nor the request outlive the upgrade.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ip := clientip.Key(h.cfg.ClientIP.Resolve(r))
	switch h.admit(ip) {
	case admitDraining:
		http.Error(w, "server is shutting down; connect to another instance", http.StatusServiceUnavailable)
		return
	case admitTooMany:
		http.Error(w, "too many connections from this address", http.StatusTooManyRequests)
		return
	}
	wsc, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{
		OriginPatterns:  h.cfg.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		h.leaveIP(ip)
		h.log.Debug("websocket accept failed", zap.Error(err))
		return // Accept wrote the HTTP error
	}
	wsc.SetReadLimit(h.cfg.MaxFrameBytes)
	c := newConn(h, wsc, ip)
	if !h.track(c) {
		h.leaveIP(ip)
		_ = wsc.Close(wire.CloseReconnect, "server is shutting down")
		return
	}
	go func() {
		defer h.leaveIP(ip)
		defer h.untrack(c)
		// The request's context ends when ServeHTTP returns (and holds the request); the
		// connection lives on until it closes or Drain ends it.
		c.run(context.Background())
	}()
}

type admission int

const (
	admitOK admission = iota
	admitDraining
	admitTooMany
)

func (h *Handler) admit(ip string) admission {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return admitDraining
	}
	if h.cfg.MaxConnsPerIP > 0 && h.perIP[ip] >= h.cfg.MaxConnsPerIP {
		return admitTooMany
	}
	h.perIP[ip]++
	return admitOK
}

func (h *Handler) leaveIP(ip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perIP[ip]--; h.perIP[ip] <= 0 {
		delete(h.perIP, ip)
	}
}

func (h *Handler) track(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.draining {
		return false
	}
	h.conns[c] = struct{}{}
	h.metrics.Connections.Inc()
	return true
}

func (h *Handler) untrack(c *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns, c)
	h.metrics.Connections.Dec()
}

// Connections returns the number of open connections.
func (h *Handler) Connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// addrSweepInterval is how often the per-address buckets that are full again are
// forgotten.
const addrSweepInterval = 10 * time.Second

// Run drives keepalive pings, closes connections whose writes stall and forgets idle
// per-address buckets, until ctx ends.
func (h *Handler) Run(ctx context.Context) {
	every := min(time.Second, h.cfg.WriteTimeout/2, h.cfg.PingInterval/2)
	t := time.NewTicker(every)
	defer t.Stop()
	lastPing, lastAddrSweep := time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			ping := now.Sub(lastPing) >= h.cfg.PingInterval
			if ping {
				lastPing = now
			}
			h.sweep(now, ping)
			if now.Sub(lastAddrSweep) >= addrSweepInterval {
				lastAddrSweep = now
				h.addrs.sweep(now)
			}
		}
	}
}

func (h *Handler) sweep(now time.Time, ping bool) {
	stalledSince := now.Add(-h.cfg.WriteTimeout).UnixNano()
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		if ws := c.writeStart.Load(); ws != 0 && ws < stalledSince {
			c.abort(wire.CloseSlowConsumer, "write stalled: client too slow")
			continue
		}
		if ping {
			c.requestPing()
		}
	}
}

// Drain refuses new connections, lets each connection finish the send it has in flight
// and write what is queued, then closes it with the reconnect close code. It returns when
// every connection has ended or ctx is done (then the rest are cut).
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
