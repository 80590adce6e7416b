package gatewayapi

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeEncodesAsUTCWithMilliseconds(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"a UTC instant keeps its milliseconds", time.Date(2026, 11, 27, 16, 12, 3, 123_000_000, time.UTC), `"2026-11-27T16:12:03.123Z"`},
		{"a whole second still has three fractional digits", time.Date(2026, 11, 27, 16, 12, 3, 0, time.UTC), `"2026-11-27T16:12:03.000Z"`},
		{"microseconds are truncated, not rounded", time.Date(2026, 11, 27, 16, 12, 3, 999_999_999, time.UTC), `"2026-11-27T16:12:03.999Z"`},
		{"another zone is converted to UTC", time.Date(2026, 11, 27, 17, 12, 3, 45_000_000, berlin), `"2026-11-27T16:12:03.045Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(NewTime(tt.in))
			if err != nil || string(got) != tt.want {
				t.Fatalf("Marshal = %s, %v; want %s", got, err, tt.want)
			}
			if s := `"` + FormatTime(tt.in) + `"`; s != tt.want {
				t.Fatalf("FormatTime = %s, want %s", s, tt.want)
			}
		})
	}
}

func TestTimeDecodesAnyRFC3339Timestamp(t *testing.T) {
	want := time.Date(2026, 11, 27, 16, 12, 3, 123_000_000, time.UTC)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"the gateway's own format is read back", `"2026-11-27T16:12:03.123Z"`, true},
		{"nanoseconds are accepted", `"2026-11-27T16:12:03.123000000Z"`, true},
		{"an offset is accepted", `"2026-11-27T17:12:03.123+01:00"`, true},
		{"a number is refused", `1795795923123`, false},
		{"a date without a time is refused", `"2026-11-27"`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Time
			err := json.Unmarshal([]byte(tt.in), &got)
			if (err == nil) != tt.ok {
				t.Fatalf("Unmarshal(%s) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if tt.ok && !got.Equal(want) {
				t.Fatalf("Unmarshal(%s) = %v, want %v", tt.in, got, want)
			}
		})
	}
	t.Run("null leaves the time as it was", func(t *testing.T) {
		got := NewTime(want)
		if err := json.Unmarshal([]byte(`null`), &got); err != nil || !got.Equal(want) {
			t.Fatalf("after null: %v, %v", got, err)
		}
	})
}

func TestBodiesCarryTimesInTheOneFormat(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 6_789_000, time.UTC)
	data, err := json.Marshal(Member{ID: "m", DisplayName: "Ada", JoinedAt: NewTime(at)})
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id":"m","display_name":"Ada","is_guest":false,"joined_at":"2026-01-02T03:04:05.006Z"}`
	if string(data) != want {
		t.Fatalf("member = %s, want %s", data, want)
	}
	var back Member
	if err := json.Unmarshal(data, &back); err != nil || !back.JoinedAt.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("decoded %+v, %v", back, err)
	}
}
