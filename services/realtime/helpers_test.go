package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/coder/websocket"
	"github.com/google/uuid"
	"github.com/kelseyhightower/envconfig"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/event"
	"github.com/quickchat-go/quickchat/pkg/kafka"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/pkg/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// hang bounds every wait for something the servers will do: a guard against a test
// hanging on a bug, never an assertion about speed.
const hang = 60 * time.Second

// bundle is what a test needs to run realtime instances: its own Redis key prefix and
// Kafka topic on the shared servers, and a gateway stand-in that signs member tokens and
// serves its JWKS over HTTP, which the instances fetch exactly as in production.
type bundle struct {
	redisAddr string
	prefix    string
	brokers   []string
	topic     string
	signer    *token.Signer
	jwksURL   string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := token.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(signer.JWKSHandler())
	t.Cleanup(jwks.Close)
	return &bundle{
		redisAddr: testenv.RedisAddr(t),
		prefix:    testenv.KeyPrefix(t),
		brokers:   testenv.KafkaBrokers(t),
		topic:     testenv.Topic(t, 4),
		signer:    signer,
		jwksURL:   jwks.URL + "/.well-known/jwks.json",
	}
}

// config returns the defaults of main's configuration pointed at the test's servers.
func (b *bundle) config(t testing.TB) Config {
	t.Helper()
	var c Config
	if err := envconfig.Process("QC_REALTIME_TEST_UNSET", &c); err != nil {
		t.Fatal(err)
	}
	c.Addr = "127.0.0.1:0"
	c.OpsAddr = "127.0.0.1:0"
	c.InstanceID = "test-" + uuid.NewString()[:8]
	c.JWKSURL = b.jwksURL
	c.RedisAddrs = []string{b.redisAddr}
	c.RedisPrefix = b.prefix
	c.StreamShards = 4
	c.KafkaBrokers = b.brokers
	c.KafkaTopic = b.topic
	c.LogLevel = "warn"
	// Tests send in bursts; the rate limits have tests of their own.
	c.FrameRate, c.FrameBurst = 10000, 10000
	c.MemberSendRate, c.AddrSendRate, c.AddrTypingRate = 0, 0, 0
	c.PresenceTTL = 3 * time.Second
	c.ShutdownGrace = 15 * time.Second
	return c
}

// env returns cfg as REALTIME_* variables, for a realtime process.
func env(cfg Config) []string {
	return []string{
		"REALTIME_ADDR=" + cfg.Addr,
		"REALTIME_OPS_ADDR=" + cfg.OpsAddr,
		"REALTIME_INSTANCE_ID=" + cfg.InstanceID,
		"REALTIME_JWKS_URL=" + cfg.JWKSURL,
		"REALTIME_REDIS_ADDRS=" + strings.Join(cfg.RedisAddrs, ","),
		"REALTIME_REDIS_PREFIX=" + cfg.RedisPrefix,
		fmt.Sprintf("REALTIME_STREAM_SHARDS=%d", cfg.StreamShards),
		"REALTIME_KAFKA_BROKERS=" + strings.Join(cfg.KafkaBrokers, ","),
		"REALTIME_KAFKA_TOPIC=" + cfg.KafkaTopic,
		"REALTIME_LOG_LEVEL=info",
		fmt.Sprintf("REALTIME_FRAME_RATE=%g", cfg.FrameRate),
		fmt.Sprintf("REALTIME_FRAME_BURST=%d", cfg.FrameBurst),
		fmt.Sprintf("REALTIME_MEMBER_SEND_RATE=%g", cfg.MemberSendRate),
		fmt.Sprintf("REALTIME_ADDR_SEND_RATE=%g", cfg.AddrSendRate),
		fmt.Sprintf("REALTIME_ADDR_TYPING_RATE=%g", cfg.AddrTypingRate),
		"REALTIME_PRESENCE_TTL=" + cfg.PresenceTTL.String(),
	}
}

// instance is a realtime instance running in this process.
type instance struct {
	addr string
	// opsAddr serves /healthz, /readyz and /metrics.
	opsAddr string
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
	err     error
}

// start runs an instance with the test's configuration, changed by mutate if not nil, and
// stops it when the test ends.
func (b *bundle) start(t *testing.T, mutate func(*Config)) *instance {
	t.Helper()
	cfg := b.config(t)
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan ops.Addrs, 1)
	inst := &instance{cancel: cancel, done: make(chan error, 1)}
	go func() { inst.done <- run(ctx, cfg, ready) }()
	select {
	case addrs := <-ready:
		inst.addr, inst.opsAddr = addrs.Public.String(), addrs.Ops.String()
	case err := <-inst.done:
		cancel()
		t.Fatalf("instance did not start: %v", err)
	case <-time.After(hang):
		cancel()
		t.Fatal("instance did not start in time")
	}
	t.Cleanup(func() {
		if err := inst.stop(); err != nil {
			t.Errorf("instance stopped with %v", err)
		}
	})
	return inst
}

// stop drains the instance as SIGTERM would and returns what run returned.
func (i *instance) stop() error {
	i.once.Do(func() {
		i.cancel()
		select {
		case i.err = <-i.done:
		case <-time.After(hang):
			i.err = errors.New("instance did not stop")
		}
	})
	return i.err
}

func (i *instance) url() string { return "ws://" + i.addr + "/ws" }

// metric returns the value of a metric from /metrics at opsAddr, an instance's ops
// address; name includes the labels as exposed, e.g. `m{outcome="x"}`.
func metric(t testing.TB, opsAddr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			if _, err := fmt.Sscan(v, &f); err == nil {
				return f
			}
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// member is someone who joined a group at the gateway.
type member struct {
	id, name, token string
}

func (b *bundle) member(t testing.TB, group, name string) member {
	t.Helper()
	id := uuid.NewString()
	tok, err := b.signer.Sign(token.Claims{Subject: id, Kind: token.KindMember, GroupID: group, Name: name}, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return member{id: id, name: name, token: tok}
}

// frame is a server frame as the test client read it.
type frame struct{ wire.ServerFrame }

// msg returns the message of a message frame.
func (f frame) msg(t testing.TB) wire.Message {
	t.Helper()
	if f.Message == nil {
		t.Fatalf("%s frame without message", f.Type)
	}
	return *f.Message
}

// client is a test WebSocket client. A goroutine reads every frame into a queue so the
// server never sees it as slow unless a test wants that (see dialRaw).
type client struct {
	t       testing.TB
	ws      *websocket.Conn
	frames  chan frame
	pending []frame
	done    chan struct{}
	err     error // why reading ended; set before done closes
	refs    int
	// received counts the bytes of every frame read.
	received atomic.Int64
}

func dial(t testing.TB, url string) *client {
	t.Helper()
	c := &client{t: t, ws: dialRaw(t, url), frames: make(chan frame, 100000), done: make(chan struct{})}
	go c.readLoop()
	return c
}

func dialRaw(t testing.TB, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		c.received.Add(int64(len(data)))
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err = fmt.Errorf("server sent a frame that is not JSON: %q", data)
			return
		}
		c.frames <- f
	}
}

func (c *client) write(v any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.writeText(string(b))
}

func (c *client) writeText(s string) {
	c.t.Helper()
	if err := c.ws.Write(context.Background(), websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) ref() string {
	c.refs++
	return fmt.Sprintf("r%d", c.refs)
}

// next returns the next frame that satisfies pred, keeping the others for later calls.
func (c *client) next(what string, pred func(frame) bool) frame {
	c.t.Helper()
	for i, f := range c.pending {
		if pred(f) {
			c.pending = append(c.pending[:i:i], c.pending[i+1:]...)
			return f
		}
	}
	timeout := time.After(hang)
	for {
		select {
		case f := <-c.frames:
			if pred(f) {
				return f
			}
			c.pending = append(c.pending, f)
		case <-c.done:
			// Frames read before the end are still queued.
			select {
			case f := <-c.frames:
				if pred(f) {
					return f
				}
				c.pending = append(c.pending, f)
				continue
			default:
			}
			c.t.Fatalf("connection ended (%v) while waiting for %s", c.err, what)
		case <-timeout:
			c.t.Fatalf("no %s in %s", what, hang)
		}
	}
}

// reply returns the reply (of any type) to the frame with ref.
func (c *client) reply(ref string) frame {
	c.t.Helper()
	return c.next("reply to "+ref, func(f frame) bool { return f.Ref == ref })
}

// join joins a room and returns the joined reply; replayed messages stay queued.
func (c *client) join(group string, m member, since *wire.Position) frame {
	c.t.Helper()
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeJoin, Ref: ref, GroupID: group}, Token: m.token, Since: since})
	f := c.reply(ref)
	if f.Type != wire.TypeJoined {
		c.t.Fatalf("join got %s %s: %s", f.Type, f.Code, f.Detail)
	}
	return f
}

// send sends a message and returns the ack.
func (c *client) send(group, clientMsgID, body string) frame {
	c.t.Helper()
	ref := c.ref()
	c.write(wire.ClientFrame{Head: wire.Head{Type: wire.TypeSend, Ref: ref, GroupID: group}, ClientMsgID: clientMsgID, Body: body})
	f := c.reply(ref)
	if f.Type != wire.TypeAck {
		c.t.Fatalf("send got %s %s: %s", f.Type, f.Code, f.Detail)
	}
	return f
}

// messages returns the next n message frames of the room, in the order received.
func (c *client) messages(group string, n int) []frame {
	c.t.Helper()
	out := make([]frame, 0, n)
	for len(out) < n {
		out = append(out, c.next(fmt.Sprintf("message %d of %d", len(out)+1, n), func(f frame) bool {
			return (f.Type == wire.TypeMessage || f.Type == wire.TypeReset) && f.GroupID == group
		}))
	}
	return out
}

// countRecords returns how many records of the topic carry each message id.
func countRecords(t testing.TB, brokers []string, topic string) map[string]int {
	t.Helper()
	cfg := kafka.NewConfig("realtime-test")
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	partitions, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, p := range partitions {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		start, err := client.GetOffset(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		if end <= start {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, start)
		if err != nil {
			t.Fatal(err)
		}
		for {
			var rec *sarama.ConsumerMessage
			select {
			case rec = <-pc.Messages():
			case <-time.After(hang):
				t.Fatalf("partition %d: no record before offset %d", p, end)
			}
			m, err := event.Decode(rec.Value)
			if err != nil {
				t.Fatalf("record at %d/%d is not a chat message: %v", p, rec.Offset, err)
			}
			if string(rec.Key) != m.GetGroupId() {
				t.Fatalf("record %s keyed %q, want its group %s", m.GetId(), rec.Key, m.GetGroupId())
			}
			counts[m.GetId()]++
			if rec.Offset+1 >= end {
				break
			}
		}
		_ = pc.Close()
	}
	return counts
}

func tokenClaims(memberID, group string) token.Claims {
	return token.Claims{Subject: memberID, Kind: token.KindMember, GroupID: group, Name: "x"}
}

func timeAgo() time.Time { return time.Now().Add(-time.Hour) }

// setup2Signer returns a member token signed by a key the gateway never published.
func setup2Signer(t testing.TB, memberID, group string) string {
	t.Helper()
	key, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	s, err := token.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(tokenClaims(memberID, group), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func accessToken(t testing.TB, b *bundle) string {
	t.Helper()
	tok, err := b.signer.Sign(token.Claims{Subject: uuid.NewString(), Kind: token.KindAccess}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// closeStatus is the WebSocket close code in err, or -1.
func closeStatus(err error) int { return int(websocket.CloseStatus(err)) }

// dialStatus dials and returns the HTTP status of the handshake.
func dialStatus(t testing.TB, url string, h http.Header) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		_ = ws.CloseNow()
	}
	if resp == nil {
		t.Fatalf("dial %s: no response: %v", url, err)
	}
	return resp.StatusCode
}

// waitUntil polls cond: a hang guard for states the servers reach on their own.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hang)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
