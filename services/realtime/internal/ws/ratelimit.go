package ws

import (
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens per second up to burst. It is used by one
// goroutine only, or under its owner's lock.
type bucket struct {
	tokens float64
	last   time.Time
}

// fill brings the bucket up to now.
func (b *bucket) fill(now time.Time, rate, burst float64) {
	if b.last.IsZero() {
		b.tokens = burst
	} else if now.After(b.last) {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
}

// take takes n tokens if there are that many; otherwise it takes none and says how long
// until there would be.
func (b *bucket) take(now time.Time, rate, burst, n float64) (ok bool, wait time.Duration) {
	b.fill(now, rate, burst)
	if b.tokens < n {
		return false, time.Duration((n - b.tokens) / rate * float64(time.Second))
	}
	b.tokens -= n
	return true, 0
}

// allow takes one token if there is one.
func (b *bucket) allow(now time.Time, rate, burst float64) bool {
	ok, _ := b.take(now, rate, burst, 1)
	return ok
}

// level returns the tokens there are now.
func (b *bucket) level(now time.Time, rate, burst float64) float64 {
	b.fill(now, rate, burst)
	return b.tokens
}

// full reports whether the bucket would be full at now, so forgetting it loses nothing.
func (b *bucket) full(now time.Time, rate, burst float64) bool {
	return b.last.IsZero() || b.tokens+now.Sub(b.last).Seconds()*rate >= burst
}

// rate is a rate limit: Rate per second, bursts of Burst (zero Rate: no limit).
type rate struct {
	Rate, Burst float64
}

// addrLimits are the send and typing buckets of the client addresses this instance
// serves. They outlive connections, so an address cannot refill its buckets by
// reconnecting; a bucket is forgotten once it is full again.
type addrLimits struct {
	send, typing rate

	mu    sync.Mutex
	addrs map[string]*addrBuckets
}

type addrBuckets struct{ send, typing bucket }

func newAddrLimits(send, typing rate) *addrLimits {
	return &addrLimits{send: send, typing: typing, addrs: make(map[string]*addrBuckets)}
}

// takeSend charges one message to the address.
func (a *addrLimits) takeSend(ip string, now time.Time) (bool, time.Duration) {
	return a.take(ip, now, false)
}

// takeTyping charges one typing event to the address.
func (a *addrLimits) takeTyping(ip string, now time.Time) (bool, time.Duration) {
	return a.take(ip, now, true)
}

func (a *addrLimits) take(ip string, now time.Time, typing bool) (bool, time.Duration) {
	r := a.send
	if typing {
		r = a.typing
	}
	if r.Rate <= 0 {
		return true, 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	bs := a.addrs[ip]
	if bs == nil {
		bs = &addrBuckets{}
		a.addrs[ip] = bs
	}
	b := &bs.send
	if typing {
		b = &bs.typing
	}
	return b.take(now, r.Rate, r.Burst, 1)
}

// sweep forgets the addresses whose buckets are full again.
func (a *addrLimits) sweep(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ip, bs := range a.addrs {
		if bs.send.full(now, a.send.Rate, a.send.Burst) && bs.typing.full(now, a.typing.Rate, a.typing.Burst) {
			delete(a.addrs, ip)
		}
	}
}

// len returns how many addresses are remembered.
func (a *addrLimits) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.addrs)
}
