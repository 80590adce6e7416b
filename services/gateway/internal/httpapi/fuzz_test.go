package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/quickchat-go/quickchat/services/gateway/internal/app"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// fuzzRoute is one JSON-body route the fuzzer posts to, with the credentials it needs.
type fuzzRoute struct {
	method, path, bearer string
}

// statusOfCode is the documented status of each error code (docs/api.md, Errors).
var statusOfCode = map[string]int{
	"invalid": 400, "unauthorized": 401, "forbidden": 403, "not_found": 404, "method_not_allowed": 405,
	"conflict": 409, "too_large": 413, "rate_limited": 429, "unavailable": 503, "internal": 500,
}

// FuzzJSONBodies posts arbitrary bodies to every route that decodes a JSON body, through
// the real router on a real database. Whatever the body, the answer must be a documented
// status below 500 with a JSON body (the error shape for errors, its code matching the
// status), and it must never echo a password or passcode. Seeds are in testdata/fuzz.
func FuzzJSONBodies(f *testing.F) {
	// No rate limit may hide the handlers behind 429s.
	unlimited := ratelimit.Rule{Limit: 1 << 30, Per: time.Minute}
	e := setup(f, withLimits(app.Limits{PasscodePerIP: unlimited, PasscodePerGroup: unlimited, LoginPerIP: unlimited, LoginPerAccount: unlimited}))
	owner := e.register(f, "Owner")
	joined := e.createGroup(f, owner, "Fuzzed")
	edited := e.createGroup(f, owner, "Edited by the fuzzer")
	member := e.join(f, joined, "Member", "")
	routes := []fuzzRoute{
		{"POST", "/api/auth/register", ""},
		{"POST", "/api/auth/login", ""},
		{"POST", "/api/auth/refresh", ""},
		{"POST", "/api/auth/logout", ""},
		{"POST", "/api/chat-group", owner.access},
		{"PUT", "/api/chat-group/" + edited.ID.String(), owner.access},
		{"POST", "/api/chat-group/" + joined.ID.String() + "/join", ""},
		{"POST", "/api/chat-group/" + joined.ID.String() + "/join", owner.access},
		{"POST", "/api/chat-group/" + joined.ID.String() + "/token", member.Token},
	}
	for i := range routes {
		f.Add(uint8(i), []byte(`{"email":"a@example.com","password":"long enough","name":"A","title":"T","passcode":"1234","refresh_token":"qcrt_x"}`))
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		hr := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		hr.Header.Set("Content-Type", "application/json")
		if rt.bearer != "" {
			hr.Header.Set("Authorization", "Bearer "+rt.bearer)
		}
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, hr)
		res := &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		e.assertNoSecrets(t, req{method: rt.method, path: rt.path}, res.body)
		if res.status >= 500 {
			t.Fatalf("%s %s with %q: %s", rt.method, rt.path, body, res)
		}
		if res.status == http.StatusNoContent {
			return
		}
		if !json.Valid(res.body) || !utf8.Valid(res.body) {
			t.Fatalf("%s %s: answer is not JSON: %s", rt.method, rt.path, res)
		}
		if res.status >= 400 {
			code := res.errorCode(t)
			if statusOfCode[code] != res.status {
				t.Fatalf("%s %s: error code %q with status %d", rt.method, rt.path, code, res.status)
			}
		}
	})
}
