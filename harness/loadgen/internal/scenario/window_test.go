package scenario

import (
	"encoding/json"
	"testing"
)

func TestByRateSurvivesAJSONRoundTrip(t *testing.T) {
	in := ByRate{5000: {{Rate: 5000, Sent: 7}}, 20: {{Rate: 20}, {Rate: 20}}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out ByRate
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || len(out[20]) != 2 || out[5000][0].Sent != 7 {
		t.Fatalf("round trip gave %+v from %s", out, data)
	}
}
