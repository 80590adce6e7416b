package app

import (
	"time"

	"github.com/quickchat-go/quickchat/services/gateway/internal/password"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// Limits are the abuse limits the use cases enforce.
type Limits struct {
	// PasscodePerIP and PasscodePerGroup bound join attempts (each checks a passcode).
	PasscodePerIP    ratelimit.Rule
	PasscodePerGroup ratelimit.Rule
	// LoginPerIP bounds sign-in and registration attempts from one client address;
	// LoginPerAccount bounds sign-in attempts for one email address.
	LoginPerIP      ratelimit.Rule
	LoginPerAccount ratelimit.Rule
}

// Deps are what the use cases need. Every field is required except Hasher (default:
// argon2id with password.DefaultParams), OIDC and Now.
type Deps struct {
	// Users, OIDCLogins, Groups, Members and Messages are the storage the use cases read
	// and write (pkg/store implements them all).
	Users      UserStore
	OIDCLogins OIDCLoginStore
	Groups     GroupStore
	Members    MemberStore
	Messages   MessageStore
	// Sessions starts and renews account sessions.
	Sessions Sessions
	// Hasher hashes and checks passwords and passcodes.
	Hasher Hasher
	// Limiter enforces Limits.
	Limiter Limiter
	Limits  Limits
	// Tokens signs member tokens, valid for MemberTokenTTL.
	Tokens         TokenSigner
	MemberTokenTTL time.Duration
	// OIDC is nil when sign-in with an identity provider is not configured.
	OIDC IdentityProvider
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// App is the gateway's use cases, grouped by what they act on.
type App struct {
	Accounts *Accounts
	Groups   *Groups
	Members  *Members
	History  *History
}

// New builds the use cases over d.
func New(d Deps) *App {
	if d.Hasher == nil {
		d.Hasher = password.NewHasher(password.DefaultParams)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	access := groupAccess{groups: d.Groups, members: d.Members}
	return &App{
		Accounts: &Accounts{
			users: d.Users, logins: d.OIDCLogins, sessions: d.Sessions, hasher: d.Hasher,
			limiter: d.Limiter, limits: d.Limits, oidc: d.OIDC, now: d.Now,
		},
		Groups: &Groups{access: access, users: d.Users, hasher: d.Hasher},
		Members: &Members{
			access: access, hasher: d.Hasher, limiter: d.Limiter, limits: d.Limits,
			tokens: d.Tokens, tokenTTL: d.MemberTokenTTL,
		},
		History: &History{access: access, messages: d.Messages},
	}
}
