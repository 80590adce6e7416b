package httpapi_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// oneTimeFormat is RFC 3339 in UTC with exactly millisecond precision, the one timestamp
// format of REST and WebSocket alike (docs/api.md).
var oneTimeFormat = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// TestEveryTimestampHasTheOneFormat reads each response that carries an instant as plain
// JSON and checks every time field, so a field that slips back to another format fails.
func TestEveryTimestampHasTheOneFormat(t *testing.T) {
	t.Parallel()
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Clock")
	j := e.join(t, g, "Guest", "")
	seedMessages(t, e.st, g.ID, 1)
	base := "/api/chat-group/" + g.ID.String()

	tests := []struct {
		name   string
		req    req
		status int
		fields []string // paths of time fields, "a.b" for nested and "a[].b" for each element
	}{
		{"a sign-in", req{method: "POST", path: "/api/auth/login", body: map[string]string{"email": owner.email, "password": owner.pass}},
			http.StatusOK, []string{"user.created_at", "refresh_expires_at"}},
		{"a refresh", req{method: "POST", path: "/api/auth/refresh", cookies: owner.refreshCookie()},
			http.StatusOK, []string{"user.created_at", "refresh_expires_at"}},
		{"the signed-in account", req{method: "GET", path: "/api/auth/me", bearer: owner.access}, http.StatusOK, []string{"created_at"}},
		{"a group", req{method: "GET", path: base, bearer: owner.access}, http.StatusOK, []string{"created_at", "updated_at"}},
		{"the owner's groups", req{method: "GET", path: "/api/chat-group", bearer: owner.access}, http.StatusOK, []string{"groups[].created_at", "groups[].updated_at"}},
		{"a renewed member token", req{method: "POST", path: base + "/token", bearer: j.Token}, http.StatusOK, []string{"group.created_at", "group.updated_at", "member.joined_at"}},
		{"the members", req{method: "GET", path: base + "/members", bearer: j.Token}, http.StatusOK, []string{"members[].joined_at"}},
		{"the history", req{method: "GET", path: "/api/chats/" + g.ID.String(), bearer: j.Token}, http.StatusOK, []string{"messages[].created_at"}},
	}
	for _, tt := range tests {
		t.Run("the times of "+tt.name+" are RFC 3339 UTC milliseconds", func(t *testing.T) {
			r := e.do(t, tt.req)
			want(t, r, tt.status)
			var body map[string]any
			r.decode(t, &body)
			for _, path := range tt.fields {
				values := timeFields(body, path)
				if len(values) == 0 {
					t.Fatalf("no %s in %s", path, r.body)
				}
				for _, v := range values {
					if s, ok := v.(string); !ok || !oneTimeFormat.MatchString(s) {
						raw, _ := json.Marshal(v)
						t.Fatalf("%s = %s, want like \"2026-11-27T16:12:03.123Z\"", path, raw)
					}
				}
			}
		})
	}
}

// timeFields returns the values at path in a decoded JSON object.
func timeFields(v any, path string) []any {
	if path == "" {
		return []any{v}
	}
	head, rest, _ := strings.Cut(path, ".")
	obj, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if name, each := strings.CutSuffix(head, "[]"); each {
		list, _ := obj[name].([]any)
		var out []any
		for _, el := range list {
			out = append(out, timeFields(el, rest)...)
		}
		return out
	}
	field, ok := obj[head]
	if !ok {
		return nil
	}
	return timeFields(field, rest)
}
