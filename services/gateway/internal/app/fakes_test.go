package app

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/store"
	"github.com/quickchat-go/quickchat/pkg/token"
	"github.com/quickchat-go/quickchat/services/gateway/internal/oidclogin"
	"github.com/quickchat-go/quickchat/services/gateway/internal/ratelimit"
	"github.com/quickchat-go/quickchat/services/gateway/internal/session"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// testStore is everything the use cases need from storage, plus a way to seed messages
// (the persister's job in production).
type testStore interface {
	UserStore
	SignInAddressStore
	OIDCLoginStore
	GroupStore
	MemberStore
	BanStore
	MessageStore
	CreateMember(ctx context.Context, m store.Member) (store.Member, error)
	InsertMessages(ctx context.Context, batch []store.Message) (int64, error)
}

var (
	_ testStore = (*memStore)(nil)
	_ testStore = (*store.Store)(nil)
)

// eachStore runs f over the in-memory store and, unless -short, over PostgreSQL, so the
// fake is held to what the real store does. Each test has stores of its own, so tests run
// in parallel.
func eachStore(t *testing.T, f func(t *testing.T, b *bundle)) {
	t.Helper()
	t.Parallel()
	t.Run("in memory", func(t *testing.T) { f(t, setup(t, newMemStore())) })
	t.Run("on PostgreSQL", func(t *testing.T) { f(t, setup(t, postgresStore(t))) })
}

// postgresStore is pkg/store on a fresh, migrated database; it skips with -short.
func postgresStore(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{URL: testenv.PostgresURL(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// memStore is an in-memory store with the semantics the use cases rely on: NotFound for
// missing rows, Conflict for taken emails, identities and memberships.
type memStore struct {
	mu       sync.Mutex
	users    []store.User
	groups   []store.Group
	members  []store.Member
	bans     []store.Ban
	messages []store.Message
	logins   map[string]store.OIDCLogin
	// addresses maps an account id and a client to when the address is forgotten.
	addresses map[string]time.Time
}

func newMemStore() *memStore {
	return &memStore{logins: map[string]store.OIDCLogin{}, addresses: map[string]time.Time{}}
}

func (s *memStore) CreateUser(_ context.Context, u store.User) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.users {
		if o.Email == u.Email || (u.OIDCSubject != "" && o.OIDCIssuer == u.OIDCIssuer && o.OIDCSubject == u.OIDCSubject) {
			return store.User{}, apperr.New(apperr.Conflict, "user exists")
		}
	}
	u.CreatedAt = time.Now()
	s.users = append(s.users, u)
	return u, nil
}

func (s *memStore) findUser(match func(store.User) bool) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.users, match); i >= 0 {
		return s.users[i], nil
	}
	return store.User{}, apperr.New(apperr.NotFound, "user not found")
}

func (s *memStore) UserByID(_ context.Context, id uuid.UUID) (store.User, error) {
	return s.findUser(func(u store.User) bool { return u.ID == id })
}

func (s *memStore) UserByEmail(_ context.Context, email string) (store.User, error) {
	return s.findUser(func(u store.User) bool { return u.Email == email })
}

func (s *memStore) UserByOIDC(_ context.Context, issuer, subject string) (store.User, error) {
	return s.findUser(func(u store.User) bool { return u.OIDCIssuer == issuer && u.OIDCSubject == subject })
}

func (s *memStore) ClaimUserForOIDC(_ context.Context, id uuid.UUID, issuer, subject string) (store.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.ContainsFunc(s.users, func(u store.User) bool { return u.OIDCIssuer == issuer && u.OIDCSubject == subject }) {
		return store.User{}, apperr.New(apperr.Conflict, "identity linked")
	}
	i := slices.IndexFunc(s.users, func(u store.User) bool { return u.ID == id && u.OIDCIssuer == "" })
	if i < 0 {
		return store.User{}, apperr.New(apperr.NotFound, "unlinked account not found")
	}
	s.users[i].OIDCIssuer, s.users[i].OIDCSubject, s.users[i].PasswordHash = issuer, subject, ""
	for k := range s.addresses {
		if strings.HasPrefix(k, id.String()+"|") {
			delete(s.addresses, k)
		}
	}
	return s.users[i], nil
}

func (s *memStore) RememberSignInAddress(_ context.Context, user uuid.UUID, client string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := user.String() + "|" + client; until.After(s.addresses[k]) {
		s.addresses[k] = until
	}
	return nil
}

func (s *memStore) SignInAddressKnown(_ context.Context, user uuid.UUID, client string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addresses[user.String()+"|"+client].After(now), nil
}

func (s *memStore) CreateOIDCLogin(_ context.Context, l store.OIDCLogin) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins[string(l.StateHash)] = l
	return nil
}

func (s *memStore) TakeOIDCLogin(_ context.Context, stateHash []byte) (store.OIDCLogin, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.logins[string(stateHash)]
	if !ok {
		return store.OIDCLogin{}, apperr.New(apperr.NotFound, "sign-in not found")
	}
	delete(s.logins, string(stateHash))
	return l, nil
}

func (s *memStore) CreateGroupWithOwner(ctx context.Context, g store.Group, owner store.Member, maxOwned int) (store.Group, store.Member, error) {
	s.mu.Lock()
	if !slices.ContainsFunc(s.users, func(u store.User) bool { return u.ID == g.OwnerID }) {
		s.mu.Unlock()
		return store.Group{}, store.Member{}, apperr.New(apperr.NotFound, "group owner not found")
	}
	owned := 0
	for _, o := range s.groups {
		if o.OwnerID == g.OwnerID {
			owned++
		}
	}
	if maxOwned > 0 && owned >= maxOwned {
		s.mu.Unlock()
		return store.Group{}, store.Member{}, store.ErrTooManyGroups
	}
	g.CreatedAt, g.UpdatedAt = time.Now(), time.Now()
	s.groups = append([]store.Group{g}, s.groups...) // newest first
	s.mu.Unlock()
	owner.GroupID, owner.UserID = g.ID, uuid.NullUUID{UUID: g.OwnerID, Valid: true}
	m, err := s.CreateMember(ctx, owner)
	return g, m, err
}

func (s *memStore) Group(_ context.Context, id uuid.UUID) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.groups, func(g store.Group) bool { return g.ID == id }); i >= 0 {
		return s.groups[i], nil
	}
	return store.Group{}, apperr.New(apperr.NotFound, "group not found")
}

func (s *memStore) GroupsByOwner(_ context.Context, owner uuid.UUID) ([]store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Group
	for _, g := range s.groups {
		if g.OwnerID == owner {
			out = append(out, g)
		}
	}
	return out, nil
}

func (s *memStore) UpdateGroup(_ context.Context, id uuid.UUID, u store.GroupUpdate) (store.Group, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.groups, func(g store.Group) bool { return g.ID == id })
	if i < 0 {
		return store.Group{}, apperr.New(apperr.NotFound, "group not found")
	}
	if u.Title != "" {
		s.groups[i].Title = u.Title
	}
	if u.PasscodeHash != "" {
		s.groups[i].PasscodeHash = u.PasscodeHash
	}
	return s.groups[i], nil
}

func (s *memStore) UpdateGroupRemovingGuests(ctx context.Context, id uuid.UUID, u store.GroupUpdate) (store.Group, []uuid.UUID, error) {
	g, err := s.UpdateGroup(ctx, id, u)
	if err != nil {
		return store.Group{}, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	removed := []uuid.UUID{}
	s.members = slices.DeleteFunc(s.members, func(m store.Member) bool {
		if m.GroupID == id && m.Guest() {
			removed = append(removed, m.ID)
			return true
		}
		return false
	})
	return g, removed, nil
}

func (s *memStore) DeleteGroup(_ context.Context, id uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups = slices.DeleteFunc(s.groups, func(g store.Group) bool { return g.ID == id })
	s.members = slices.DeleteFunc(s.members, func(m store.Member) bool { return m.GroupID == id })
	s.bans = slices.DeleteFunc(s.bans, func(b store.Ban) bool { return b.GroupID == id })
	return nil
}

func (s *memStore) CreateMember(_ context.Context, m store.Member) (store.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createMember(m)
}

// createMember stores m with the store's constraints; s.mu is held.
func (s *memStore) createMember(m store.Member) (store.Member, error) {
	if !slices.ContainsFunc(s.groups, func(g store.Group) bool { return g.ID == m.GroupID }) {
		return store.Member{}, apperr.New(apperr.NotFound, "group not found")
	}
	// In the order PostgreSQL checks the unique indexes: account, name, guest key.
	mine := func(o store.Member) bool { return o.GroupID == m.GroupID }
	switch {
	case m.UserID.Valid && slices.ContainsFunc(s.members, func(o store.Member) bool { return mine(o) && o.UserID == m.UserID }):
		return store.Member{}, apperr.New(apperr.Conflict, "already a member")
	case m.NameKey != "" && slices.ContainsFunc(s.members, func(o store.Member) bool { return mine(o) && o.NameKey == m.NameKey }):
		return store.Member{}, store.ErrNameTaken
	case m.GuestKeyHash != nil && slices.ContainsFunc(s.members, func(o store.Member) bool { return mine(o) && bytes.Equal(o.GuestKeyHash, m.GuestKeyHash) }):
		return store.Member{}, apperr.New(apperr.Conflict, "already a member")
	}
	now := time.Now().Truncate(time.Microsecond) // PostgreSQL's precision
	m.CreatedAt, m.LastSeenAt, m.PasscodeAt = now, now, now
	s.members = append(s.members, m)
	return m, nil
}

func (s *memStore) CreateMemberWithPasscode(_ context.Context, m store.Member, passcodeHash string) (store.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.groups, func(g store.Group) bool { return g.ID == m.GroupID })
	if i < 0 {
		return store.Member{}, apperr.New(apperr.NotFound, "group not found")
	}
	if s.groups[i].PasscodeHash != passcodeHash {
		return store.Member{}, store.ErrPasscodeChanged
	}
	return s.createMember(m)
}

func (s *memStore) findMember(match func(store.Member) bool) (store.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.IndexFunc(s.members, match); i >= 0 {
		return s.members[i], nil
	}
	return store.Member{}, apperr.New(apperr.NotFound, "member not found")
}

func (s *memStore) Member(_ context.Context, id uuid.UUID) (store.Member, error) {
	return s.findMember(func(m store.Member) bool { return m.ID == id })
}

func (s *memStore) MemberByUser(_ context.Context, group, user uuid.UUID) (store.Member, error) {
	return s.findMember(func(m store.Member) bool { return m.GroupID == group && m.UserID.Valid && m.UserID.UUID == user })
}

func (s *memStore) MemberByGuestKey(_ context.Context, group uuid.UUID, keyHash []byte) (store.Member, error) {
	return s.findMember(func(m store.Member) bool {
		return m.GroupID == group && m.GuestKeyHash != nil && bytes.Equal(m.GuestKeyHash, keyHash)
	})
}

func (s *memStore) MembersPage(_ context.Context, group uuid.UUID, after store.MemberCursor, limit int) ([]store.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Member
	ordered := slices.Clone(s.members)
	slices.SortStableFunc(ordered, func(a, b store.Member) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	for _, m := range ordered {
		later := m.CreatedAt.After(after.CreatedAt) || (m.CreatedAt.Equal(after.CreatedAt) && m.ID.String() > after.ID.String())
		if m.GroupID == group && later && len(out) < limit {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *memStore) TouchMember(_ context.Context, id uuid.UUID, now time.Time, passcode bool) (store.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.members, func(m store.Member) bool { return m.ID == id })
	if i < 0 {
		return store.Member{}, apperr.New(apperr.NotFound, "member not found")
	}
	s.members[i].LastSeenAt = now
	if passcode {
		s.members[i].PasscodeAt = now
	}
	return s.members[i], nil
}

// deleteMember removes a member of group; s.mu is held.
func (s *memStore) deleteMember(group, id uuid.UUID) (store.Member, error) {
	i := slices.IndexFunc(s.members, func(m store.Member) bool { return m.GroupID == group && m.ID == id })
	if i < 0 {
		return store.Member{}, apperr.New(apperr.NotFound, "member not found")
	}
	m := s.members[i]
	s.members = slices.Delete(s.members, i, i+1)
	return m, nil
}

func (s *memStore) DeleteMember(_ context.Context, group, id uuid.UUID) (store.Member, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deleteMember(group, id)
}

func (s *memStore) GuestMemberIDs(_ context.Context, group uuid.UUID) ([]uuid.UUID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []uuid.UUID
	for _, m := range s.members {
		if m.GroupID == group && m.Guest() {
			out = append(out, m.ID)
		}
	}
	return out, nil
}

func (s *memStore) BanMember(_ context.Context, group, member, banID uuid.UUID) (store.Ban, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.deleteMember(group, member)
	if err != nil {
		return store.Ban{}, err
	}
	b := store.Ban{ID: banID, GroupID: group, MemberID: m.ID, UserID: m.UserID, GuestKeyHash: m.GuestKeyHash, DisplayName: m.DisplayName, CreatedAt: time.Now()}
	s.bans = append(s.bans, b)
	return b, nil
}

func (s *memStore) Bans(_ context.Context, group uuid.UUID) ([]store.Ban, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []store.Ban{}
	for _, b := range s.bans {
		if b.GroupID == group {
			out = append(out, b)
		}
	}
	return out, nil
}

func (s *memStore) DeleteBan(_ context.Context, group, id uuid.UUID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.bans, func(b store.Ban) bool { return b.GroupID == group && b.ID == id })
	if i < 0 {
		return apperr.New(apperr.NotFound, "ban not found")
	}
	s.bans = slices.Delete(s.bans, i, i+1)
	return nil
}

func (s *memStore) Banned(_ context.Context, group uuid.UUID, user uuid.NullUUID, guestKeyHash []byte) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.ContainsFunc(s.bans, func(b store.Ban) bool {
		return b.GroupID == group && ((user.Valid && b.UserID == user) || (guestKeyHash != nil && bytes.Equal(b.GuestKeyHash, guestKeyHash)))
	}), nil
}

func (s *memStore) MessageCounts(_ context.Context, group uuid.UUID, senders []uuid.UUID) (map[uuid.UUID]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[uuid.UUID]int64{}
	for _, m := range s.messages {
		if m.GroupID == group && slices.Contains(senders, m.SenderID) {
			out[m.SenderID]++
		}
	}
	return out, nil
}

func (s *memStore) InsertMessages(_ context.Context, batch []store.Message) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, batch...)
	slices.SortFunc(s.messages, func(a, b store.Message) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	return int64(len(batch)), nil
}

func (s *memStore) MessagesBefore(_ context.Context, group, before uuid.UUID, limit int) ([]store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Message
	for i := len(s.messages) - 1; i >= 0 && len(out) < limit; i-- {
		if m := s.messages[i]; m.GroupID == group && m.ID.String() < before.String() {
			out = append(out, m)
		}
	}
	return out, nil
}

func (s *memStore) MessagesAfter(_ context.Context, group, after uuid.UUID, limit int) ([]store.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Message
	for _, m := range s.messages {
		if len(out) < limit && m.GroupID == group && m.ID.String() > after.String() {
			out = append(out, m)
		}
	}
	return out, nil
}

// fakeSessions starts sessions without tokens worth anything.
type fakeSessions struct{}

func (fakeSessions) Start(_ context.Context, u store.User) (session.Session, error) {
	return session.Session{User: u, AccessToken: "access-" + u.ID.String()}, nil
}

func (fakeSessions) Refresh(context.Context, string) (session.Session, error) {
	return session.Session{}, apperr.New(apperr.Unauthorized, "refresh token invalid")
}

func (fakeSessions) Revoke(context.Context, string) error { return nil }

// plainHasher "hashes" by prefixing, and counts its calls so tests see the work done.
type plainHasher struct {
	mu     sync.Mutex
	hashes int
	checks int
}

func (h *plainHasher) Hash(_ context.Context, secret string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hashes++
	return "plain:" + secret, nil
}

func (h *plainHasher) Verify(_ context.Context, secret, hash string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks++
	return hash == "plain:"+secret, nil
}

// recordingLimiter records every key it is asked about and denies the keys in deny. Its
// back-offs count failures per key and make a key wait once it has more than After.
type recordingLimiter struct {
	mu       sync.Mutex
	keys     []string
	deny     map[string]bool
	failures map[string]int
}

func (l *recordingLimiter) CheckBackoff(_ context.Context, key string, b ratelimit.Backoff, what string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, key)
	if w := b.Wait(l.failures[key]); w > 0 {
		return apperr.Wrap(&ratelimit.Exceeded{RetryAfter: w}, apperr.RateLimited, "too many wrong %s", what)
	}
	return nil
}

func (l *recordingLimiter) RecordFailure(_ context.Context, key string, b ratelimit.Backoff) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b.Off() {
		return 0, nil
	}
	l.failures[key]++
	return l.failures[key], nil
}

func (l *recordingLimiter) ClearFailures(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.failures, key)
	return nil
}

func (l *recordingLimiter) Take(_ context.Context, key string, _ ratelimit.Rule, what string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = append(l.keys, key)
	if l.deny[key] {
		return apperr.Wrap(&ratelimit.Exceeded{RetryAfter: time.Second}, apperr.RateLimited, "too many %s", what)
	}
	return nil
}

// recordingRevoker records every revocation; fail makes it fail like an unreachable
// Redis.
type recordingRevoker struct {
	mu    sync.Mutex
	calls []revocation
	fail  bool
}

// revocation is one call of Revoke.
type revocation struct {
	room    string
	members []string
	reason  string
}

func (r *recordingRevoker) Revoke(_ context.Context, room string, members []string, reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return fmt.Errorf("redis: connection refused")
	}
	r.calls = append(r.calls, revocation{room: room, members: slices.Clone(members), reason: reason})
	return nil
}

// revoked returns the member ids revoked in room for reason, in order.
func (r *recordingRevoker) revoked(room, reason string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		if c.room == room && c.reason == reason {
			out = append(out, c.members...)
		}
	}
	return out
}

// fakePresence says the members in online are connected, in every room.
type fakePresence struct {
	online map[string]bool
	fail   bool
}

func (p *fakePresence) Online(context.Context, string) (map[string]bool, error) {
	if p.fail {
		return nil, fmt.Errorf("redis: connection refused")
	}
	return p.online, nil
}

// claimSigner "signs" claims as readable text and keeps the last ones.
type claimSigner struct{ last token.Claims }

func (s *claimSigner) Sign(c token.Claims, ttl time.Duration) (string, error) {
	s.last = c
	return fmt.Sprintf("member:%s:%s:%s", c.GroupID, c.Subject, ttl), nil
}

// fakeProvider is an identity provider that vouches for one identity.
type fakeProvider struct {
	id   oidclogin.Identity
	code string
}

func (p *fakeProvider) AuthURL(_ context.Context, state, _, _ string) (string, error) {
	return "https://idp.test/authorize?state=" + state, nil
}

func (p *fakeProvider) Exchange(_ context.Context, code, _, _ string) (oidclogin.Identity, error) {
	if code != p.code {
		return oidclogin.Identity{}, apperr.New(apperr.Unauthorized, "code refused")
	}
	return p.id, nil
}

// bundle is the use cases over fakes, with the fakes to inspect.
type bundle struct {
	*App
	st       testStore
	hasher   *plainHasher
	limiter  *recordingLimiter
	signer   *claimSigner
	idp      *fakeProvider
	revoker  *recordingRevoker
	presence *fakePresence
	now      time.Time
	// maxAge is the guests' membership age cap (0: none); build applies it.
	maxAge time.Duration
	// guestKeys are the keys of the guests that joined through guest(), by member id.
	guestKeys map[uuid.UUID]string
	// events are the security events the use cases logged.
	events *observer.ObservedLogs
}

// setup builds the use cases over st and fakes for everything else.
func setup(t testing.TB, st testStore) *bundle {
	t.Helper()
	b := &bundle{
		st: st, hasher: &plainHasher{}, limiter: &recordingLimiter{deny: map[string]bool{}, failures: map[string]int{}},
		signer: &claimSigner{}, idp: &fakeProvider{code: "good-code"}, now: time.Date(2026, 11, 27, 16, 0, 0, 0, time.UTC),
		revoker: &recordingRevoker{}, presence: &fakePresence{online: map[string]bool{}}, guestKeys: map[uuid.UUID]string{},
	}
	b.build(Limits{})
	return b
}

// build (re)builds the use cases with limits l over the bundle's store and fakes.
func (b *bundle) build(l Limits) {
	core, events := observer.New(zap.InfoLevel)
	b.events = events
	b.App = New(Deps{
		Users: b.st, Addresses: b.st, OIDCLogins: b.st, Groups: b.st, Members: b.st, Bans: b.st, Messages: b.st,
		Revoker: b.revoker, Presence: b.presence,
		Sessions: fakeSessions{}, Hasher: b.hasher, Limiter: b.limiter, Limits: l,
		Tokens: b.signer, MemberTokenTTL: 15 * time.Minute, MembershipMaxAge: b.maxAge, OIDC: b.idp, Log: zap.New(core),
		Now: func() time.Time { return b.now },
	})
}

// account stores an account with a password and returns a caller signed in to it.
func (b *bundle) account(t testing.TB, name string) (store.User, Caller) {
	t.Helper()
	u, err := b.st.CreateUser(context.Background(), store.User{
		ID: uuid.New(), Email: strings.ToLower(name) + "@example.test", Name: name, PasswordHash: "plain:password-" + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u, Bearer(token.Claims{Subject: u.ID.String(), Kind: token.KindAccess, Name: name})
}

// group creates a group owned by owner with the passcode "open sesame".
func (b *bundle) group(t testing.TB, owner Caller, title string) store.Group {
	t.Helper()
	g, err := b.Groups.Create(context.Background(), owner, title, "open sesame")
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// guest joins g without an account and returns the caller holding the member token.
func (b *bundle) guest(t testing.TB, g store.Group, name string) (store.Member, Caller) {
	t.Helper()
	mt, err := b.Members.Join(context.Background(), Caller{}, Joining{Client: "10.0.0.1", GroupID: g.ID.String(), Name: name, Passcode: "open sesame"})
	if err != nil {
		t.Fatal(err)
	}
	b.guestKeys[mt.Member.ID] = mt.GuestKey
	return mt.Member, Bearer(token.Claims{Subject: mt.Member.ID.String(), Kind: token.KindMember, GroupID: g.ID.String(), Name: name, Guest: true})
}

// wantCode fails unless err carries code.
func wantCode(t testing.TB, err error, code apperr.Code) {
	t.Helper()
	if got := apperr.CodeOf(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}
