package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/stats"
)

// maxLine bounds one command line (a connect command carries thousands of tokens).
const maxLine = 256 << 20

// Worker holds one process's connections and counters.
type Worker struct {
	id int

	mu      sync.Mutex
	conns   []*conn
	senders []*conn // interleaved over rooms, so consecutive sends go to different rooms
	clients map[string]*http.Client

	deliveries atomic.Int64
	latency    *stats.Latency

	sent, acked, ackDuplicates, resent atomic.Int64
	ackLatency                         *stats.Latency

	countMu sync.Mutex
	refused map[string]int64 // send error replies by code
	errors  map[string]int64 // anything else unexpected
	closes  map[int]int64    // server-ended sockets by close code
}

// New returns a worker; id makes its client message ids unique across workers.
func New(id int) *Worker {
	return &Worker{
		id: id, clients: map[string]*http.Client{},
		latency: stats.NewLatency(), ackLatency: stats.NewLatency(),
		refused: map[string]int64{}, errors: map[string]int64{}, closes: map[int]int64{},
	}
}

// Serve reads commands from in and writes replies to out until in ends or a close
// command is handled. Commands run concurrently (a send may run during a storm); replies
// carry the command's ID.
func (w *Worker) Serve(ctx context.Context, in io.Reader, out io.Writer) error {
	// Closing (or losing the driver) cancels whatever is still running.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var (
		outMu sync.Mutex
		enc   = json.NewEncoder(out)
		wg    sync.WaitGroup
	)
	reply := func(r Reply) {
		outMu.Lock()
		defer outMu.Unlock()
		_ = enc.Encode(r)
	}
	defer func() {
		cancel()
		w.closeAll()
		wg.Wait()
	}()
	for sc.Scan() {
		var cmd Command
		if err := json.Unmarshal(sc.Bytes(), &cmd); err != nil {
			return fmt.Errorf("worker %d: decode command: %w", w.id, err)
		}
		if cmd.Op == OpClose {
			cancel()
			w.closeAll()
			wg.Wait()
			reply(Reply{ID: cmd.ID})
			return nil
		}
		wg.Go(func() { reply(w.do(ctx, cmd)) })
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("worker %d: read commands: %w", w.id, err)
	}
	return nil
}

func (w *Worker) do(ctx context.Context, cmd Command) Reply {
	r := Reply{ID: cmd.ID}
	switch {
	case cmd.Op == OpConnect && cmd.Connect != nil:
		r.Connect = w.connect(ctx, *cmd.Connect)
	case cmd.Op == OpSend && cmd.Send != nil:
		r.Send = w.runSend(ctx, *cmd.Send)
	case cmd.Op == OpStats:
		r.Stats = w.stats(cmd.Stats != nil && cmd.Stats.Reset)
	case cmd.Op == OpVerify && cmd.Verify != nil:
		r.Verify = w.verify(cmd.Verify.Finals)
	case cmd.Op == OpStorm && cmd.Storm != nil:
		r.Storm = w.storm(ctx, *cmd.Storm)
	default:
		r.Error = fmt.Sprintf("unknown or incomplete command %q", cmd.Op)
	}
	return r
}

// httpClient returns the client that dials from localIP (one per address, shared by its
// connections).
func (w *Worker) httpClient(localIP string) *http.Client {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.clients[localIP]; ok {
		return c
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if ip := net.ParseIP(localIP); ip != nil {
		d.LocalAddr = &net.TCPAddr{IP: ip}
	}
	c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: -1}}
	w.clients[localIP] = c
	return c
}

// connect opens and joins the given connections, a bounded number at a time.
func (w *Worker) connect(ctx context.Context, cmd ConnectCmd) *ConnectResult {
	start := time.Now()
	conns := make([]*conn, len(cmd.Conns))
	w.mu.Lock()
	base := len(w.conns)
	for i, spec := range cmd.Conns {
		conns[i] = &conn{w: w, idx: base + i, spec: spec}
	}
	w.conns = append(w.conns, conns...)
	w.mu.Unlock()

	res := &ConnectResult{}
	lat := stats.NewLatency()
	var mu sync.Mutex
	sem := make(chan struct{}, max(cmd.Concurrency, 1))
	var wg sync.WaitGroup
	for _, c := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			t0 := time.Now()
			jctx, cancel := context.WithTimeout(ctx, max(cmd.Timeout, time.Second))
			_, err := c.dialJoin(jctx, false)
			cancel()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.Failed++
				if len(res.Errors) < 5 {
					res.Errors = append(res.Errors, err.Error())
				}
				return
			}
			res.Joined++
			lat.Record(c.idx, time.Since(t0))
		})
	}
	wg.Wait()
	w.arrangeSenders()
	res.Elapsed = time.Since(start)
	res.JoinLatency = lat.Snapshot(false)
	return res
}

// arrangeSenders orders the sender connections so that consecutive sends go to
// different rooms: the first sender of every room, then the second of every room, ...
func (w *Worker) arrangeSenders() {
	w.mu.Lock()
	defer w.mu.Unlock()
	rank := map[*conn]int{}
	perRoom := map[string]int{}
	var senders []*conn
	for _, c := range w.conns {
		if c.spec.Sender {
			rank[c] = perRoom[c.spec.Room]
			perRoom[c.spec.Room]++
			senders = append(senders, c)
		}
	}
	sort.SliceStable(senders, func(i, j int) bool { return rank[senders[i]] < rank[senders[j]] })
	w.senders = senders
}

func (w *Worker) stats(reset bool) *StatsResult {
	s := &StatsResult{Latency: w.latency.Snapshot(reset), Acked: map[string]uint64{}}
	if reset {
		s.Deliveries = w.deliveries.Swap(0)
	} else {
		s.Deliveries = w.deliveries.Load()
	}
	for _, c := range w.snapshotConns() {
		c.mu.Lock()
		if c.ready {
			s.Open++
		}
		if c.maxAck > s.Acked[c.spec.Room] {
			s.Acked[c.spec.Room] = c.maxAck
		}
		c.mu.Unlock()
	}
	w.countMu.Lock()
	if len(w.closes) > 0 {
		s.Closes = make(map[int]int64, len(w.closes))
		for k, v := range w.closes {
			s.Closes[k] = v
		}
	}
	w.countMu.Unlock()
	return s
}

func (w *Worker) verify(finals map[string]uint64) *VerifyResult {
	v := &VerifyResult{}
	for _, c := range w.snapshotConns() {
		c.account(finals[c.spec.Room], v)
	}
	return v
}

func (w *Worker) snapshotConns() []*conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*conn(nil), w.conns...)
}

func (w *Worker) closeAll() {
	for _, c := range w.snapshotConns() {
		c.drop()
	}
}

func (w *Worker) count(m *map[string]int64, key string) {
	w.countMu.Lock()
	(*m)[key]++
	w.countMu.Unlock()
}

func (w *Worker) countClose(code int) {
	w.countMu.Lock()
	w.closes[code]++
	w.countMu.Unlock()
}
