package report

import (
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/harness/loadgen/internal/scenario"
)

func TestSpliceBlock(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{
			name: "a new document gets a title and the block",
			doc:  "",
			want: "# Quick Chat benchmarks\n\n" + beginMarker + "\nNEW\n" + endMarker + "\n",
		},
		{
			name: "the block between the markers is replaced and everything else kept",
			doc:  "# B\n\nintro\n" + beginMarker + "\nOLD\n" + endMarker + "\n\n## Persister: Kafka → PostgreSQL\n\ntheirs\n",
			want: "# B\n\nintro\n" + beginMarker + "\nNEW\n" + endMarker + "\n\n## Persister: Kafka → PostgreSQL\n\ntheirs\n",
		},
		{
			name: "a document without markers gets the block appended",
			doc:  "# B\n\n## Persister: Kafka → PostgreSQL\n\ntheirs\n",
			want: "# B\n\n## Persister: Kafka → PostgreSQL\n\ntheirs\n\n" + beginMarker + "\nNEW\n" + endMarker + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spliceBlock(tt.doc, "\nNEW\n\n"); got != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestVerdicts(t *testing.T) {
	t.Run("a scenario without windows gives no verdicts rather than failing", func(t *testing.T) {
		if vs := Verdicts(Bench{Fanout: &FanoutResult{}, LargeRoom: &FanoutResult{}, Two: &FanoutResult{}}); len(vs) != 0 {
			t.Fatalf("verdicts %+v, want none", vs)
		}
	})
	t.Run("CPU targets are half of Centrifugo's at each rate", func(t *testing.T) {
		w := func(cpu float64) []scenario.Window { return []scenario.Window{{RealtimeCPUPer1000: cpu}} }
		vs := Verdicts(Bench{Fanout: &FanoutResult{Windows: scenario.ByRate{1000: w(0.02), 2000: w(0.02), 5000: w(0.02)}}})
		met := map[string]bool{}
		for _, v := range vs {
			if strings.Contains(v.What, "CPU-s") {
				met[v.Target] = v.Met
			}
		}
		want := map[string]bool{"≤ 0.027": true, "≤ 0.018": false, "≤ 0.009": false}
		if len(met) != 3 {
			t.Fatalf("CPU verdicts %v, want 3", met)
		}
		for target, ok := range want {
			if met[target] != ok {
				t.Errorf("0.02 against %s: met %v, want %v", target, met[target], ok)
			}
		}
	})
	t.Run("an integrity miss beside zeros says which sends failed", func(t *testing.T) {
		ws := []scenario.Window{{Refused: map[string]int64{"rate_limited": 6}}, {Unacked: 2}}
		vs := Verdicts(Bench{Fanout: &FanoutResult{Windows: scenario.ByRate{1000: ws}}})
		for _, v := range vs {
			if !strings.Contains(v.What, "lost / duplicated") {
				continue
			}
			if v.Met || v.Measured != "0 / 0 / 0 (6 sends refused: rate_limited) (2 sends unanswered)" {
				t.Fatalf("verdict %+v", v)
			}
			return
		}
		t.Fatal("no integrity verdict")
	})
}
