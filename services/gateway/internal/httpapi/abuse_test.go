package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// hostile are names and titles that look like markup, SQL, templates or format strings.
// The API must store and return them byte for byte and interpret none of them.
var hostile = []string{
	`<script>alert(document.cookie)</script>`,
	`<img src=x onerror="alert(1)">`,
	`Robert'); DROP TABLE users;--`,
	`' OR '1'='1' --`,
	`{{7*7}} ${7*7} <%= 7*7 %>`,
	`%s%n%x%d`,
	"\u202eevil\u202c right-to-left",
	"e\u0301\u0301\u0301 zalgo \U0001F600",
	`"quoted" \backslash\ &amp; &lt;`,
}

// TestHostileTextIsStoredAndReturnedVerbatim: account names and group titles that look like
// code come back exactly as sent, and display names as sent up to NFKC normalisation,
// JSON-encoded so that no byte of them is markup, and the SQL among them drops nothing.
func TestHostileTextIsStoredAndReturnedVerbatim(t *testing.T) {
	e := setup(t)
	for _, text := range hostile {
		t.Run(fmt.Sprintf("%q", text), func(t *testing.T) {
			a := e.register(t, text)
			me := e.do(t, req{method: "GET", path: "/api/auth/me", bearer: a.access})
			want(t, me, http.StatusOK)
			var u struct{ Name string }
			me.decode(t, &u)
			if u.Name != text {
				t.Fatalf("account name came back as %q, want %q", u.Name, text)
			}
			g := e.createGroup(t, a, text)
			if g.Title != text {
				t.Fatalf("title came back as %q, want %q", g.Title, text)
			}
			// The owner has the account's name, so the guest takes another. Display names
			// are NFKC-normalised, and may not reorder text (issue 14).
			name := text + "!"
			jr := e.tryJoin(t, g, name, "", "")
			if strings.ContainsAny(text, "\u202a\u202b\u202c\u202d\u202e") {
				wantError(t, jr, http.StatusBadRequest, "invalid")
				return
			}
			want(t, jr, http.StatusOK)
			var j joinBody
			jr.decode(t, &j)
			if name = norm.NFKC.String(name); j.Member.DisplayName != name || e.verify(t, j.Token).Name != name {
				t.Fatalf("display name came back as %q (token %q), want %q", j.Member.DisplayName, e.verify(t, j.Token).Name, name)
			}
			r := e.do(t, req{method: "GET", path: "/api/chat-group/" + g.ID.String() + "/members", bearer: j.Token})
			want(t, r, http.StatusOK)
			for _, raw := range [][]byte{me.body, r.body} {
				if bytes.ContainsAny(raw, "<>&") {
					t.Fatalf("markup characters reached the JSON unescaped: %s", raw)
				}
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("Content-Type %q without nosniff lets a browser guess", ct)
			}
		})
	}
	// The SQL-looking names above dropped nothing: accounts and groups still work.
	a := e.register(t, "After")
	e.createGroup(t, a, "Still here")
}

// TestLongNamesAndTitlesAreBoundedInCharacters: the limits count characters (40 for
// display names, 100 for titles), so 40 or 100 four-byte characters are accepted and 41 or
// 101 one-byte characters are not, and a name far beyond the limit is refused without
// reaching the database.
func TestLongNamesAndTitlesAreBoundedInCharacters(t *testing.T) {
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Lengths")
	tests := []struct {
		name        string
		text        string
		status      int // of the join
		titleStatus int
	}{
		{"40 ASCII characters are accepted", strings.Repeat("a", 40), http.StatusOK, http.StatusCreated},
		{"40 four-byte characters are accepted", strings.Repeat("\U0001F600", 40), http.StatusOK, http.StatusCreated},
		{"41 characters are a title but no name", strings.Repeat("b", 41), http.StatusBadRequest, http.StatusCreated},
		{"100 four-byte characters are a title", strings.Repeat("\U0001F601", 100), http.StatusBadRequest, http.StatusCreated},
		{"101 characters are refused", strings.Repeat("c", 101), http.StatusBadRequest, http.StatusBadRequest},
		{"a name as long as the body limit allows is refused", strings.Repeat("n", 3500), http.StatusBadRequest, http.StatusBadRequest},
		{"a name beyond the body limit is refused as too large", strings.Repeat("n", 5000), http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge},
		{"only spaces are refused", strings.Repeat(" ", 50), http.StatusBadRequest, http.StatusBadRequest},
		{"a control character is refused", "tab\there", http.StatusBadRequest, http.StatusBadRequest},
		{"a NUL is refused", "nul\x00here", http.StatusBadRequest, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			join := e.do(t, req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/join", body: map[string]string{"name": tt.text, "passcode": g.passcode}})
			want(t, join, tt.status)
			title := e.do(t, req{method: "POST", path: "/api/chat-group", bearer: owner.access, body: map[string]string{"title": tt.text, "passcode": "long enough"}})
			want(t, title, tt.titleStatus)
			if tt.status == http.StatusOK {
				var j joinBody
				join.decode(t, &j)
				if j.Member.DisplayName != tt.text {
					t.Fatalf("name came back as %d bytes, want the %d sent", len(j.Member.DisplayName), len(tt.text))
				}
			}
		})
	}
}

// TestInvalidUTF8IsRefused: JSON must be UTF-8 (RFC 8259). A body with invalid bytes in a
// string is refused, not silently repaired: repairing would store U+FFFD in names and make
// different invalid passwords hash alike.
func TestInvalidUTF8IsRefused(t *testing.T) {
	e := setup(t)
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "UTF-8")
	tests := []struct {
		name string
		req  req
	}{
		{"a display name with a stray continuation byte", req{method: "POST", path: "/api/chat-group/" + g.ID.String() + "/join",
			body: "{\"name\":\"Mal\x80ory\",\"passcode\":\"" + g.passcode + "\"}"}},
		{"an account name with an overlong encoding", req{method: "POST", path: "/api/auth/register",
			body: "{\"email\":\"utf8@example.com\",\"password\":\"long enough\",\"name\":\"\xc0\xafroot\"}"}},
		{"a password with invalid bytes", req{method: "POST", path: "/api/auth/register",
			body: "{\"email\":\"utf8b@example.com\",\"password\":\"pass\xffword!\",\"name\":\"B\"}"}},
		{"a title with a UTF-16 surrogate encoded in UTF-8", req{method: "POST", path: "/api/chat-group", bearer: owner.access,
			body: "{\"title\":\"\xed\xa0\x80\",\"passcode\":\"long enough\"}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.req)
			want(t, r, http.StatusBadRequest)
			if code := r.errorCode(t); code != "invalid" {
				t.Fatalf("code %q, want invalid", code)
			}
		})
	}
}

// TestPasscodeGuessingIsLimitedUnderConcurrency: a burst of parallel guesses from one
// address gets no more passcode checks than the limit allows, whatever the interleaving,
// and the right passcode does not slip through while the address is limited.
func TestPasscodeGuessingIsLimitedUnderConcurrency(t *testing.T) {
	const limit, guesses = 10, 60
	lim := generous
	lim.PasscodePerIP = ratelimit.Rule{Limit: limit, Per: time.Minute}
	e := setup(t, withLimits(lim))
	owner := e.register(t, "Owner")
	g := e.createGroup(t, owner, "Vault")
	path := "/api/chat-group/" + g.ID.String() + "/join"

	statuses := make([]int, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			r := e.do(t, req{method: "POST", path: path, body: map[string]string{"name": "Mallory", "passcode": fmt.Sprintf("guess-%04d", i)}})
			statuses[i] = r.status
			if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
		})
	}
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts[http.StatusForbidden] > limit || counts[http.StatusForbidden]+counts[http.StatusTooManyRequests] != guesses {
		t.Fatalf("statuses %v: want at most %d passcode checks (403) and 429 for the rest", counts, limit)
	}
	r := e.do(t, req{method: "POST", path: path, body: map[string]string{"name": "Mallory", "passcode": g.passcode}})
	want(t, r, http.StatusTooManyRequests)
}

// TestGarbageBearerTokensAreUnauthorized sends a thousand malformed, forged and truncated
// bearer tokens: each gets 401 with the error shape, none a 500.
func TestGarbageBearerTokensAreUnauthorized(t *testing.T) {
	e := setup(t)
	a := e.register(t, "Victim")
	parts := strings.Split(a.access, ".")
	var tokens []string
	for i := range 1000 {
		switch i % 5 {
		case 0:
			tokens = append(tokens, a.access[:i%len(a.access)])
		case 1:
			tokens = append(tokens, parts[0]+"."+parts[1]+"."+strings.Repeat("A", i%90))
		case 2:
			tokens = append(tokens, strings.Repeat("x.", i%40))
		case 3:
			tokens = append(tokens, string(bytes.Repeat([]byte{byte(0x21 + i%94)}, 1+i%50)))
		default:
			tokens = append(tokens, `eyJhbGciOiJub25lIn0.`+parts[1]+".")
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, tok := range tokens {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			hr, err := http.NewRequest("GET", e.srv.URL+"/api/auth/me", nil)
			if err != nil {
				t.Error(err)
				return
			}
			hr.Header["Authorization"] = []string{"Bearer " + tok}
			resp, err := http.DefaultClient.Do(hr)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			var b errorShape
			if err := json.NewDecoder(resp.Body).Decode(&b); err != nil || resp.StatusCode != http.StatusUnauthorized || b.Error.Code != "unauthorized" {
				t.Errorf("token %q: %d %+v (%v), want 401 unauthorized", tok, resp.StatusCode, b, err)
			}
		})
	}
	wg.Wait()
	if !utf8.ValidString(a.access) {
		t.Fatal("the real token is not ASCII")
	}
	want(t, e.do(t, req{method: "GET", path: "/api/auth/me", bearer: a.access}), http.StatusOK)
}

type errorShape struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
