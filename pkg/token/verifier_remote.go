package token

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

var _ Verifier = (*RemoteVerifier)(nil)

// maxJWKSBytes bounds a JWKS document; the gateway's is a few hundred bytes per key.
const maxJWKSBytes = 1 << 20

// RemoteVerifier verifies against the JWKS published at a URL.
//
// Verification never waits on the network for a key it already holds: the current key set
// is swapped in atomically, and only after a fetch succeeded, so a failed or slow fetch
// keeps the old keys working. The set is refreshed in the background every RefreshInterval.
// A token that names an unknown key id (a fresh rotation, or a forgery) triggers at most one
// fetch per MinRefresh; concurrent callers share a fetch in flight and wait for it at most
// RefreshWait or until their context ends.
type RemoteVerifier struct {
	cfg    RemoteVerifierConfig
	client *http.Client
	// life bounds every fetch: it is the constructor's context, so fetches stop with the
	// background refresh and a caller that gives up does not abort a fetch others share.
	life context.Context

	keys atomic.Pointer[keySet] // nil until the first successful fetch

	mu         sync.Mutex
	inflight   *flight   // the fetch running now, if any
	lastForced time.Time // when the last fetch for an unknown key id started
	lastErr    error     // outcome of the last fetch
}

// keySet is one fetched JWKS; a new pointer per fetch tells callers that the set changed.
type keySet struct {
	set jwk.Set
}

// flight is one JWKS fetch; done is closed once err is set and, on success, the new set
// has been stored.
type flight struct {
	done chan struct{}
	err  error
}

// settled stands for a fetch that already finished: a newer set arrived since the caller
// looked, so it only needs to look again.
var settled = func() *flight {
	f := &flight{done: make(chan struct{})}
	close(f.done)
	return f
}()

// errRefreshSlow is returned to a caller whose wait for a shared fetch hit RefreshWait.
var errRefreshSlow = errors.New("token: JWKS refresh still running")

// RemoteVerifierConfig configures a RemoteVerifier.
type RemoteVerifierConfig struct {
	// URL of the JWKS document, e.g. http://gateway:8080/.well-known/jwks.json; http or
	// https.
	URL string
	// Accept are the kinds of token this verifier accepts (required): a valid token of
	// another kind is Forbidden. Realtime accepts member tokens only.
	Accept []Kind
	// RefreshInterval is how often the set is refreshed in the background (default 5m).
	// After a failed fetch the background retries sooner: after MinRefresh (at least 1s),
	// then doubling up to RefreshInterval.
	RefreshInterval time.Duration
	// MinRefresh is the least time between refreshes forced by unknown key ids (default 10s).
	// Tokens with an unknown key id that arrive within it are refused without a fetch.
	MinRefresh time.Duration
	// RefreshWait is the longest a verification of a token with an unknown key id waits
	// for the fetch it triggered or joined (default 2s); its context may end the wait
	// sooner. Tokens with a known key id never wait.
	RefreshWait time.Duration
	// FetchTimeout bounds one fetch of the set, connection included (default 5s).
	FetchTimeout time.Duration
	// HTTPClient fetches the set (default: a client trusting RootCAs and CAFile if set,
	// the system roots otherwise). It cannot be combined with RootCAs or CAFile: configure
	// its transport's TLS instead.
	HTTPClient *http.Client
	// RootCAs are the certificate authorities trusted for an https URL, instead of the
	// system roots (default: the system roots). Use it when the gateway's certificate is
	// issued by a private CA.
	RootCAs *x509.CertPool
	// CAFile is a PEM file of certificate authorities trusted for an https URL, added to
	// RootCAs (default: none). Like RootCAs, it replaces the system roots.
	CAFile string
}

// withDefaults fills in every zero field and checks the rest.
func (c RemoteVerifierConfig) withDefaults() (RemoteVerifierConfig, error) {
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		return c, errors.New("token: JWKS URL is required")
	case err != nil:
		return c, fmt.Errorf("token: JWKS URL %q: %w", c.URL, err)
	case u.Scheme != "http" && u.Scheme != "https":
		return c, fmt.Errorf("token: JWKS URL %q must be http or https", c.URL)
	case c.HTTPClient != nil && (c.RootCAs != nil || c.CAFile != ""):
		return c, errors.New("token: set RootCAs/CAFile or HTTPClient, not both")
	case len(c.Accept) == 0:
		return c, errors.New("token: say which kinds of token the verifier accepts (Accept)")
	}
	for _, k := range c.Accept {
		if k.Audience() == "" {
			return c, fmt.Errorf("token: cannot accept unknown kind %q", k)
		}
	}
	if c.RefreshInterval <= 0 {
		c.RefreshInterval = 5 * time.Minute
	}
	if c.MinRefresh <= 0 {
		c.MinRefresh = 10 * time.Second
	}
	if c.RefreshWait <= 0 {
		c.RefreshWait = 2 * time.Second
	}
	if c.FetchTimeout <= 0 {
		c.FetchTimeout = 5 * time.Second
	}
	return c, nil
}

// httpClient returns cfg.HTTPClient or a client that trusts the configured authorities.
func (c RemoteVerifierConfig) httpClient() (*http.Client, error) {
	if c.HTTPClient != nil {
		return c.HTTPClient, nil
	}
	if c.RootCAs == nil && c.CAFile == "" {
		return &http.Client{}, nil
	}
	pool := x509.NewCertPool()
	if c.RootCAs != nil {
		pool = c.RootCAs.Clone()
	}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("token: read JWKS CA file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("token: no PEM certificate in JWKS CA file %s", c.CAFile)
		}
	}
	tr, ok := http.DefaultTransport.(*http.Transport)
	if !ok {
		return nil, errors.New("token: http.DefaultTransport is not an *http.Transport")
	}
	tr = tr.Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}

// NewRemoteVerifier fetches the JWKS once and keeps it fresh in the background until ctx
// is done. A gateway that is not up yet is not an error: verifications and the background
// retry the fetch.
func NewRemoteVerifier(ctx context.Context, cfg RemoteVerifierConfig) (*RemoteVerifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	client, err := cfg.httpClient()
	if err != nil {
		return nil, err
	}
	v := &RemoteVerifier{cfg: cfg, client: client, life: ctx}
	// Best effort, so the first verifications find keys; Verify and Ready retry.
	first := v.startFetch(nil, true)
	select {
	case <-first.done:
	case <-ctx.Done():
	}
	go v.refreshLoop(ctx)
	return v, nil
}

// Ready reports whether the key set has been fetched at least once. If not, it tries a
// fetch (subject to MinRefresh) and says why there are no keys.
func (v *RemoteVerifier) Ready(ctx context.Context) error {
	if v.keys.Load() != nil {
		return nil
	}
	if f := v.startFetch(nil, false); f != nil {
		if err := v.await(ctx, f); err != nil {
			return fmt.Errorf("token: no JWKS from %s yet: %w", v.cfg.URL, err)
		}
	}
	if v.keys.Load() != nil {
		return nil
	}
	return v.noKeys()
}

// Verify implements Verifier. A token whose key id is known is checked against the current
// set without waiting on any fetch.
func (v *RemoteVerifier) Verify(ctx context.Context, raw string) (Claims, error) {
	return v.verify(ctx, raw, v.cfg.Accept)
}

// For returns a Verifier that shares v's keys, fetches and refreshes but accepts tokens of
// the given kinds instead of Accept's: a service that takes several kinds of token for
// different purposes checks each purpose with a verifier of its own and one key set.
func (v *RemoteVerifier) For(accept Kind, more ...Kind) Verifier {
	return remoteView{v: v, accept: append([]Kind{accept}, more...)}
}

// remoteView is a RemoteVerifier that accepts other kinds of token (see For).
type remoteView struct {
	v      *RemoteVerifier
	accept []Kind
}

var _ Verifier = remoteView{}

// Verify implements Verifier.
func (r remoteView) Verify(ctx context.Context, raw string) (Claims, error) {
	return r.v.verify(ctx, raw, r.accept)
}

// verify is Verify accepting the given kinds.
func (v *RemoteVerifier) verify(ctx context.Context, raw string, accept []Kind) (Claims, error) {
	seen := v.keys.Load()
	if seen != nil {
		c, err := parse(raw, seen.set, accept)
		if err == nil || !unknownKey(raw, seen.set) {
			return c, err
		}
		// The token names a key we do not hold: maybe the gateway rotated.
		f := v.startFetch(seen, false)
		if f == nil {
			return c, err // refreshed for an unknown key moments ago: the key is not published
		}
		if werr := v.await(ctx, f); werr != nil {
			return Claims{}, apperr.Wrap(werr, apperr.Unavailable, "signing keys unavailable")
		}
		return parse(raw, v.keys.Load().set, accept)
	}
	if raw == "" {
		return parse(raw, jwk.NewSet(), accept)
	}
	f := v.startFetch(nil, false)
	if f == nil {
		return Claims{}, apperr.Wrap(v.noKeys(), apperr.Unavailable, "signing keys unavailable")
	}
	if err := v.await(ctx, f); err != nil {
		return Claims{}, apperr.Wrap(err, apperr.Unavailable, "signing keys unavailable")
	}
	return parse(raw, v.keys.Load().set, accept)
}

// startFetch returns the fetch a caller should wait for. A fetch in flight is shared.
// Otherwise, unless force is set, a caller that saw the set seen gets settled if a newer set
// has arrived since, nil if the last fetch for an unknown key started less than MinRefresh
// ago, or a new fetch.
func (v *RemoteVerifier) startFetch(seen *keySet, force bool) *flight {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.inflight != nil {
		return v.inflight
	}
	if !force {
		if v.keys.Load() != seen {
			return settled
		}
		if !v.lastForced.IsZero() && time.Since(v.lastForced) < v.cfg.MinRefresh {
			return nil
		}
		v.lastForced = time.Now()
	}
	f := &flight{done: make(chan struct{})}
	v.inflight = f
	go v.run(f)
	return f
}

// run performs f and publishes its outcome. The new set is stored before the flight ends,
// so a caller that finds no fetch in flight also finds the newest set.
func (v *RemoteVerifier) run(f *flight) {
	set, err := v.fetch(v.life)
	if err == nil {
		v.keys.Store(&keySet{set: set})
	}
	v.mu.Lock()
	v.inflight = nil
	v.lastErr = err
	v.mu.Unlock()
	f.err = err
	close(f.done)
}

// await waits for f, at most RefreshWait and while ctx lasts.
func (v *RemoteVerifier) await(ctx context.Context, f *flight) error {
	wait := time.NewTimer(v.cfg.RefreshWait)
	defer wait.Stop()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return fmt.Errorf("token: waiting for JWKS refresh: %w", ctx.Err())
	case <-wait.C:
		return errRefreshSlow
	}
}

// refreshLoop refreshes the set every RefreshInterval until ctx is done, sooner after a
// failure. Verifications keep using the old set while it runs.
func (v *RemoteVerifier) refreshLoop(ctx context.Context) {
	var retry time.Duration // back-off after failures; 0 while fetches succeed
	next := func(err error) time.Duration {
		if err == nil && v.keys.Load() != nil {
			retry = 0
			return v.cfg.RefreshInterval
		}
		// At least a second apart even when MinRefresh is tiny (tests use 1ns), so a down
		// gateway is not polled in a tight loop.
		retry = min(max(2*retry, v.cfg.MinRefresh, time.Second), v.cfg.RefreshInterval)
		return retry
	}
	v.mu.Lock()
	timer := time.NewTimer(next(v.lastErr))
	v.mu.Unlock()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		f := v.startFetch(nil, true)
		select {
		case <-ctx.Done():
			return
		case <-f.done:
		}
		timer.Reset(next(f.err))
	}
}

// fetch downloads and parses the set. An empty set counts as a failure so a misconfigured
// gateway cannot wipe out the keys in use.
func (v *RemoteVerifier) fetch(ctx context.Context) (jwk.Set, error) {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("token: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	res, err := v.client.Do(req)
	if err != nil {
		var unknownCA x509.UnknownAuthorityError
		if errors.As(err, &unknownCA) {
			return nil, fmt.Errorf("token: fetch JWKS: the server's certificate is not signed by a trusted authority (set RootCAs or CAFile to its CA): %w", err)
		}
		return nil, fmt.Errorf("token: fetch JWKS: %w", err)
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("token: fetch JWKS %s: status %s", v.cfg.URL, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("token: read JWKS %s: %w", v.cfg.URL, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("token: JWKS %s is larger than %d bytes", v.cfg.URL, maxJWKSBytes)
	}
	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("token: parse JWKS %s: %w", v.cfg.URL, err)
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("token: JWKS %s holds no keys", v.cfg.URL)
	}
	return set, nil
}

// noKeys explains why no set has been fetched yet.
func (v *RemoteVerifier) noKeys() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.lastErr == nil {
		return fmt.Errorf("token: no JWKS from %s yet: first fetch still running", v.cfg.URL)
	}
	return fmt.Errorf("token: no JWKS from %s yet: %w", v.cfg.URL, v.lastErr)
}

// unknownKey reports whether raw is signed with a key id that keys does not hold.
func unknownKey(raw string, keys jwk.Set) bool {
	kid, ok := keyID(raw)
	if !ok {
		return false
	}
	_, found := keys.LookupKeyID(kid)
	return !found
}
