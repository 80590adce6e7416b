package app

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// Regression: issue 13 Info. Refused sign-ins, wrong passcodes and limits hit left no
// trace for operators. Each is now a structured security event naming the client and
// the account or group, and none carries a password, passcode or email address.
func TestSecurityEventsAreLoggedWithoutSecrets(t *testing.T) {
	eachStore(t, func(t *testing.T, b *bundle) {
		ctx := context.Background()
		b.build(Limits{PasscodeBackoffPerGroup: ratelimit.Backoff{After: 0, Base: 1e9, Max: 1e9}})
		ada, owner := b.account(t, "Ada")
		g := b.group(t, owner, "Club")
		secrets := []string{"password-Ada", "wrong password!", "wrong passcode!", "open sesame", "ada@example.test", "nobody@example.test"}

		_, _ = b.Accounts.SignIn(ctx, PasswordSignIn{Client: "192.0.2.1", Email: "ada@example.test", Password: "wrong password!"})
		_, _ = b.Accounts.SignIn(ctx, PasswordSignIn{Client: "192.0.2.1", Email: "nobody@example.test", Password: "wrong password!"})
		b.limiter.deny["auth:ip:192.0.2.2"] = true
		_, _ = b.Accounts.SignIn(ctx, PasswordSignIn{Client: "192.0.2.2", Email: "ada@example.test", Password: "password-Ada"})
		_, _ = b.Members.Join(ctx, Caller{}, Joining{Client: "192.0.2.3", GroupID: g.ID.String(), Name: "M", Passcode: "wrong passcode!"})
		_, err := b.Members.Join(ctx, Caller{}, Joining{Client: "192.0.2.3", GroupID: g.ID.String(), Name: "M", Passcode: "open sesame"})
		wantCode(t, err, apperr.RateLimited)

		var got []string
		for _, e := range b.events.All() {
			fields := e.ContextMap()
			got = append(got, fmt.Sprintf("%v %v %v", fields["event"], fields["limit"], fields["reason"]))
			for _, s := range secrets {
				if strings.Contains(fmt.Sprint(fields), s) {
					t.Fatalf("event %v carries %q", fields, s)
				}
			}
			if fields["client"] == nil {
				t.Fatalf("event %v names no client", fields)
			}
		}
		want := []string{
			"sign_in_failed <nil> wrong password",
			"sign_in_failed <nil> unknown email",
			"rate_limited login_per_ip <nil>",
			"passcode_failed <nil> <nil>",
			"backoff passcode_backoff_per_group <nil>",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if acct := b.events.All()[0].ContextMap()["account"]; acct != ada.ID.String() {
			t.Fatalf("the failed sign-in names account %v, want %v", acct, ada.ID)
		}
	})
}
