package app

import (
	"time"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/services/gateway/internal/password"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
)

// Limits are the abuse limits the use cases enforce. Zero rules and back-offs are off.
type Limits struct {
	// PasscodePerIP and PasscodePerGroup bound join attempts (each checks a passcode).
	PasscodePerIP    ratelimit.Rule
	PasscodePerGroup ratelimit.Rule
	// PasscodeBackoffPerIP and PasscodeBackoffPerGroup make each wrong passcode from one
	// address, or for one group, cost a longer wait before the next attempt.
	PasscodeBackoffPerIP    ratelimit.Backoff
	PasscodeBackoffPerGroup ratelimit.Backoff
	// LoginPerIP bounds sign-in and registration attempts from one client address.
	LoginPerIP ratelimit.Rule
	// LoginPerAccountAddress bounds password sign-in attempts for one email address from
	// one client address.
	LoginPerAccountAddress ratelimit.Rule
	// LoginPerAccount bounds password sign-in attempts for one email address from all
	// the addresses the account has not signed in from within KnownAddressTTL together;
	// addresses it has signed in from are spared it, so failures elsewhere never lock the
	// owner out at home.
	LoginPerAccount ratelimit.Rule
	// OIDCStartPerIP bounds sign-ins started with the identity provider per address (each
	// stores a pending sign-in).
	OIDCStartPerIP ratelimit.Rule
	// GroupCreatePerAccount and PasscodeChangePerAccount bound the passcode hashing one
	// account can cause.
	GroupCreatePerAccount    ratelimit.Rule
	PasscodeChangePerAccount ratelimit.Rule
	// MaxGroupsPerAccount caps how many groups one account owns; 0 means no cap.
	MaxGroupsPerAccount int
}

// KnownAddressTTL is how long an address an account signed in from with its password is
// remembered (from the latest such sign-in) and spared the per-account limit.
const KnownAddressTTL = 30 * 24 * time.Hour

// Deps are what the use cases need. Every field is required except Hasher (default:
// argon2id with password.DefaultParams), GroupHasher (default: the Hasher's secondary
// lane, or the Hasher), MembershipMaxAge, OIDC, the attachments' fields (Objects nil: no
// attachments), Log and Now.
type Deps struct {
	// Users, Addresses, OIDCLogins, Groups, Members, Bans and Messages are the storage the
	// use cases read and write (pkg/store implements them all).
	Users      UserStore
	Addresses  SignInAddressStore
	OIDCLogins OIDCLoginStore
	Groups     GroupStore
	Members    MemberStore
	Bans       BanStore
	Messages   MessageStore
	// Revoker ends memberships in the realtime service, and Presence says who is
	// connected to it (pkg/roomredis implements both).
	Revoker  Revoker
	Presence Presence
	// Sessions starts and renews account sessions.
	Sessions Sessions
	// Hasher hashes and checks passwords and passcodes for sign-ins, registrations and
	// joins.
	Hasher Hasher
	// GroupHasher hashes the passcodes of new groups and changed passcodes; it should be
	// a lane of the Hasher that cannot take all of its capacity (password.Hasher's
	// Secondary), so a flood of group creations never stalls sign-ins and joins.
	GroupHasher Hasher
	// Limiter enforces Limits.
	Limiter Limiter
	Limits  Limits
	// Tokens signs member tokens, valid for MemberTokenTTL.
	Tokens         TokenSigner
	MemberTokenTTL time.Duration
	// MembershipMaxAge caps a guest's membership, from its last join with the passcode:
	// renewals stop then and the guest joins again (0: no cap).
	MembershipMaxAge time.Duration
	// OIDC is nil when sign-in with an identity provider is not configured.
	OIDC IdentityProvider
	// Objects keeps attachments' bytes and AttachmentRecords their records, under
	// AttachmentSettings; a nil Objects turns attachments off.
	Objects            ObjectStore
	AttachmentRecords  AttachmentStore
	AttachmentSettings AttachmentSettings
	// Log receives security events (default: none).
	Log *zap.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// App is the gateway's use cases, grouped by what they act on.
type App struct {
	Accounts *Accounts
	Groups   *Groups
	Members  *Members
	History  *History
	// Attachments shares files in groups.
	Attachments *Attachments
}

// New builds the use cases over d.
func New(d Deps) *App {
	if d.Hasher == nil {
		d.Hasher = password.NewHasher(password.DefaultParams)
	}
	if d.GroupHasher == nil {
		d.GroupHasher = d.Hasher
		if h, ok := d.Hasher.(*password.Hasher); ok {
			d.GroupHasher = h.Secondary()
		}
	}
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	access := groupAccess{groups: d.Groups, members: d.Members}
	g := guard{limiter: d.Limiter, limits: d.Limits, log: securityLog{d.Log}}
	revoke := revocations{revoker: d.Revoker, log: g.log}
	attachments := &Attachments{
		access: access, records: d.AttachmentRecords, objects: d.Objects, tokens: d.Tokens, guard: g,
		cfg: d.AttachmentSettings, log: d.Log, now: d.Now, thumbs: make(chan struct{}, thumbnailConcurrency),
	}
	return &App{
		Accounts: &Accounts{
			users: d.Users, addresses: d.Addresses, logins: d.OIDCLogins, sessions: d.Sessions, hasher: d.Hasher,
			guard: g, oidc: d.OIDC, now: d.Now,
		},
		Groups: &Groups{access: access, users: d.Users, hasher: d.GroupHasher, guard: g, revoke: revoke,
			attachments: attachments, log: d.Log},
		Members: &Members{
			access: access, bans: d.Bans, messages: d.Messages, presence: d.Presence, revoke: revoke,
			hasher: d.Hasher, guard: g, tokens: d.Tokens, tokenTTL: d.MemberTokenTTL,
			maxAge: d.MembershipMaxAge, now: d.Now,
		},
		History:     &History{access: access, messages: d.Messages},
		Attachments: attachments,
	}
}
