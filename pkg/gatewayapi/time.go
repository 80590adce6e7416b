package gatewayapi

import (
	"bytes"
	"fmt"
	"time"
)

// TimeLayout is the one timestamp format of Quick Chat's JSON: RFC 3339 in UTC with exactly
// three fractional digits, e.g. "2026-11-27T16:12:03.123Z". A fixed width keeps strings
// sortable and lets clients parse them with any RFC 3339 parser (JavaScript's Date too).
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is an instant in a JSON body. It encodes in TimeLayout (truncated to the
// millisecond, in UTC) and decodes any RFC 3339 timestamp.
type Time struct {
	time.Time
}

// NewTime returns t as a Time.
func NewTime(t time.Time) Time { return Time{Time: t} }

// FormatTime renders t in TimeLayout: UTC, truncated to the millisecond.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// MarshalJSON implements json.Marshaler.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON implements json.Unmarshaler. Like time.Time, it leaves t unchanged for
// null.
func (t *Time) UnmarshalJSON(data []byte) error {
	if bytes.Equal(data, []byte("null")) {
		return nil
	}
	if len(data) < 2 || data[0] != '"' || data[len(data)-1] != '"' {
		return fmt.Errorf("gatewayapi: time %s is not a JSON string", data)
	}
	return t.UnmarshalText(data[1 : len(data)-1])
}

// MarshalText implements encoding.TextMarshaler, so a Time used as a map key or in other
// text encodings has the same form.
func (t Time) MarshalText() ([]byte, error) {
	return t.UTC().AppendFormat(nil, TimeLayout), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *Time) UnmarshalText(text []byte) error {
	parsed, err := time.Parse(time.RFC3339Nano, string(text))
	if err != nil {
		return fmt.Errorf("gatewayapi: time %q is not RFC 3339: %w", text, err)
	}
	t.Time = parsed
	return nil
}
