package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestCodeAndMessageSurviveWrapping(t *testing.T) {
	cause := errors.New("pq: secret driver detail")
	tests := []struct {
		name     string
		err      error
		wantCode Code
		wantMsg  string
	}{
		{"nil has no code", nil, "", "internal error"},
		{"plain errors are internal and hidden", cause, Internal, "internal error"},
		{"coded error keeps code and message", New(NotFound, "group %s not found", "g1"), NotFound, "group g1 not found"},
		{"wrapped coded error is found through fmt", fmt.Errorf("load: %w", Wrap(cause, Unavailable, "database unavailable")), Unavailable, "database unavailable"},
		{"internal code hides its message", Wrap(cause, Internal, "query failed"), Internal, "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CodeOf(tt.err); got != tt.wantCode {
				t.Errorf("CodeOf = %q, want %q", got, tt.wantCode)
			}
			if got := MessageOf(tt.err); got != tt.wantMsg {
				t.Errorf("MessageOf = %q, want %q", got, tt.wantMsg)
			}
		})
	}
	if !errors.Is(Wrap(cause, Internal, "x"), cause) {
		t.Error("Wrap must keep the cause reachable with errors.Is")
	}
}
