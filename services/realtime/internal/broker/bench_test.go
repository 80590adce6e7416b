package broker

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

// BenchmarkSendScripts measures what one send costs Redis: the reserve and publish
// scripts of a new message, reported as Redis CPU µs per send (from INFO cpu), since
// Redis is the one single-threaded part every realtime instance shares.
func BenchmarkSendScripts(b *testing.B) {
	addr := testenv.RedisAddr(b)
	for _, tc := range []struct {
		name  string
		quota node.Quota
	}{
		{"without quota", node.Quota{}},
		{"with send quota", node.Quota{Name: node.QuotaSend, Member: "m", Rate: 1e6, Burst: 1e6}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bb := setup(b, addr, nil)
			ctx := context.Background()
			data := []byte(strings.Repeat("x", 160))
			before := redisCPU(b, bb.client)
			b.ResetTimer()
			for i := range b.N {
				id := strconv.Itoa(i)
				k := node.DedupKey{Room: "room-" + strconv.Itoa(i%1000), Sender: "s", ClientMsgID: id}
				q := tc.quota
				res, err := bb.broker.Reserve(ctx, k, "id-"+id, "owner", time.Hour, time.Minute, q)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := bb.broker.Publish(ctx, k, res.ID, data, len(data), time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(redisCPU(b, bb.client)-before)/float64(time.Microsecond)/float64(b.N), "redis-µs/send")
		})
	}
}

// redisCPU is the Redis server's user+system CPU time so far.
func redisCPU(tb testing.TB, c rueidis.Client) time.Duration {
	tb.Helper()
	info, err := c.Do(context.Background(), c.B().Info().Section("cpu").Build()).ToString()
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatalf("INFO cpu %s: %v", k, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}
