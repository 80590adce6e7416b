package token

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// stallFailsafe bounds how long a stalled JWKS request blocks if the test never releases
// it, so a verifier that waits on the fetch makes the test fail instead of hang.
const stallFailsafe = 10 * time.Second

// jwksServer is a real HTTP JWKS endpoint whose answers a test can make slow or broken.
type jwksServer struct {
	srv      *httptest.Server
	signer   atomic.Pointer[Signer]
	requests atomic.Int32

	mu       sync.Mutex
	stall    bool          // the next requests block until release is closed
	stalled  chan struct{} // receives once per request that starts blocking
	release  chan struct{} // closed to let blocked requests answer
	returned atomic.Bool   // a blocked request has answered (or given up)
	fail     func(w http.ResponseWriter)
}

func newJWKSServer(t testing.TB, s *Signer) *jwksServer {
	t.Helper()
	j := &jwksServer{stalled: make(chan struct{}, 64), release: make(chan struct{})}
	j.signer.Store(s)
	j.srv = httptest.NewServer(http.HandlerFunc(j.serve))
	t.Cleanup(func() {
		j.unstall()
		j.srv.Close()
	})
	return j
}

func (j *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	j.requests.Add(1)
	j.mu.Lock()
	stall, release, fail := j.stall, j.release, j.fail
	j.mu.Unlock()
	if stall {
		select {
		case j.stalled <- struct{}{}:
		default: // nobody is counting stalls this far
		}
		select {
		case <-release:
		case <-time.After(stallFailsafe):
		case <-r.Context().Done():
		}
		// Set before the answer is written, so whoever reads the answer sees it.
		j.returned.Store(true)
	}
	if fail != nil {
		fail(w)
		return
	}
	j.signer.Load().JWKSHandler().ServeHTTP(w, r)
}

// stallNext makes every following request block until unstall.
func (j *jwksServer) stallNext() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stall = true
	j.returned.Store(false)
}

// unstall lets blocked requests answer and later ones answer at once.
func (j *jwksServer) unstall() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.stall {
		j.stall = false
		close(j.release)
		j.release = make(chan struct{})
	}
}

// failWith makes every following request answer with fail (nil: answer normally again).
func (j *jwksServer) failWith(fail func(w http.ResponseWriter)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.fail = fail
}

// awaitStall waits until a request is blocked at the server.
func (j *jwksServer) awaitStall(t testing.TB) {
	t.Helper()
	select {
	case <-j.stalled:
	case <-time.After(10 * time.Second):
		t.Fatal("no JWKS request reached the server")
	}
}

func mustSign(t testing.TB, s *Signer, subject string) string {
	t.Helper()
	raw, err := s.Sign(Claims{Subject: subject, Kind: KindAccess}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func newRemote(t testing.TB, cfg RemoteVerifierConfig) *RemoteVerifier {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if cfg.Accept == nil {
		cfg.Accept = []Kind{KindAccess, KindMember}
	}
	v, err := NewRemoteVerifier(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Regression: issue 13 M2. A slow JWKS fetch held the key-cache lock, so every
// verification on the instance waited for it, even for tokens whose key was already known.
func TestKnownKeysVerifyWhileARefreshIsStalled(t *testing.T) {
	tests := []struct {
		name string
		cfg  RemoteVerifierConfig
		// stall starts a refresh that blocks at the server and returns a channel that
		// yields the outcome of the verification that triggered it, if any.
		stall func(t *testing.T, j *jwksServer, v *RemoteVerifier) <-chan error
	}{
		{
			name: "tokens with a known key verify while an unknown key's refresh is stalled",
			cfg:  RemoteVerifierConfig{RefreshInterval: time.Hour, RefreshWait: time.Minute, FetchTimeout: time.Minute},
			stall: func(t *testing.T, j *jwksServer, v *RemoteVerifier) <-chan error {
				rotated := newSigner(t, newKey(t), newKey(t))
				j.signer.Store(rotated)
				j.stallNext()
				raw := mustSign(t, rotated, "rotated")
				out := make(chan error, 1)
				go func() {
					_, err := v.Verify(context.Background(), raw)
					out <- err
				}()
				return out
			},
		},
		{
			name: "tokens with a known key verify while a background refresh is stalled",
			cfg:  RemoteVerifierConfig{RefreshInterval: 20 * time.Millisecond, FetchTimeout: time.Minute},
			stall: func(t *testing.T, j *jwksServer, v *RemoteVerifier) <-chan error {
				j.stallNext()
				return nil
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signer := newSigner(t, newKey(t))
			j := newJWKSServer(t, signer)
			tt.cfg.URL = j.srv.URL
			v := newRemote(t, tt.cfg)
			known := mustSign(t, signer, "known")
			if _, err := v.Verify(context.Background(), known); err != nil {
				t.Fatalf("known key before the stall: %v", err)
			}

			trigger := tt.stall(t, j, v)
			j.awaitStall(t)

			const callers = 100
			var wg sync.WaitGroup
			var late, failed atomic.Int32
			for range callers {
				wg.Go(func() {
					_, err := v.Verify(context.Background(), known)
					if j.returned.Load() {
						late.Add(1)
					}
					if err != nil {
						failed.Add(1)
					}
				})
			}
			wg.Wait()
			j.unstall()
			if n := late.Load(); n > 0 {
				t.Errorf("%d of %d verifications with a known key finished only after the stalled fetch returned", n, callers)
			}
			if n := failed.Load(); n > 0 {
				t.Errorf("%d of %d verifications with a known key failed", n, callers)
			}
			if trigger != nil {
				if err := <-trigger; err != nil {
					t.Errorf("the token that triggered the refresh: %v", err)
				}
			}
		})
	}
}

func TestUnknownKeysShareOneFetch(t *testing.T) {
	tests := []struct {
		name string
		// tokens signs one token per caller with keys the verifier does not hold yet.
		tokens  func(t *testing.T, j *jwksServer) []string
		wantErr apperr.Code
	}{
		{
			name: "concurrent tokens from a rotated key cause one fetch and all verify",
			tokens: func(t *testing.T, j *jwksServer) []string {
				rotated := newSigner(t, newKey(t), newKey(t))
				j.signer.Store(rotated)
				raws := make([]string, 50)
				for i := range raws {
					raws[i] = mustSign(t, rotated, "rotated")
				}
				return raws
			},
		},
		{
			name: "concurrent tokens from many unpublished keys cause one fetch and are all refused",
			tokens: func(t *testing.T, j *jwksServer) []string {
				raws := make([]string, 50)
				for i := range raws {
					raws[i] = mustSign(t, newSigner(t, newKey(t)), "forged")
				}
				return raws
			},
			wantErr: apperr.Unauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJWKSServer(t, newSigner(t, newKey(t)))
			v := newRemote(t, RemoteVerifierConfig{
				URL: j.srv.URL, MinRefresh: time.Hour, RefreshInterval: time.Hour, RefreshWait: time.Minute,
			})
			raws := tt.tokens(t, j)
			before := j.requests.Load()

			// The fetch blocks until every caller has started, so most of them find it in
			// flight; the verdict does not depend on how many do.
			j.stallNext()
			errs := make(chan error, len(raws))
			var started sync.WaitGroup
			for _, raw := range raws {
				started.Add(1)
				go func() {
					started.Done()
					_, err := v.Verify(context.Background(), raw)
					errs <- err
				}()
			}
			j.awaitStall(t)
			started.Wait()
			j.unstall()
			for range raws {
				if err := <-errs; apperr.CodeOf(err) != tt.wantErr {
					t.Errorf("code = %q (%v), want %q", apperr.CodeOf(err), err, tt.wantErr)
				}
			}
			if n := j.requests.Load() - before; n != 1 {
				t.Fatalf("%d callers with unknown keys caused %d fetches, want 1", len(raws), n)
			}

			// Within MinRefresh, more unknown keys are refused without asking again.
			for range 10 {
				raw := mustSign(t, newSigner(t, newKey(t)), "forged")
				if _, err := v.Verify(context.Background(), raw); !apperr.Is(err, apperr.Unauthorized) {
					t.Fatalf("an unpublished key within MinRefresh: err = %v, want unauthorized", err)
				}
			}
			if n := j.requests.Load() - before; n != 1 {
				t.Fatalf("unknown keys within MinRefresh caused %d more fetches", n-1)
			}
		})
	}
}

func TestRemoteVerifierPicksUpRotatedKey(t *testing.T) {
	tests := []struct {
		name string
		cfg  RemoteVerifierConfig
		// spendBudget makes the verifier refuse unknown keys without fetching, so only a
		// background refresh can bring the rotated key.
		spendBudget bool
		// refresh brings the rotated set to v without verifying a rotated token.
		refresh func(t *testing.T, j *jwksServer)
		// wantFetches is how many fetches verifying the rotated token causes (-1: any, as
		// the background keeps fetching).
		wantFetches int32
	}{
		{
			name:        "a rotated key verifies after one refresh triggered by its token",
			cfg:         RemoteVerifierConfig{MinRefresh: time.Hour, RefreshInterval: time.Hour},
			refresh:     func(*testing.T, *jwksServer) {},
			wantFetches: 1,
		},
		{
			name:        "a rotated key verifies after a background refresh",
			cfg:         RemoteVerifierConfig{MinRefresh: time.Hour, RefreshInterval: 20 * time.Millisecond},
			spendBudget: true,
			refresh: func(t *testing.T, j *jwksServer) {
				// One fetch runs at a time: once a second request arrives after the
				// rotation, the first one's set is in use.
				awaitRequests(t, j, j.requests.Load()+2)
			},
			wantFetches: -1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldKey, newK := newKey(t), newKey(t)
			j := newJWKSServer(t, newSigner(t, oldKey))
			tt.cfg.URL = j.srv.URL
			v := newRemote(t, tt.cfg)
			before := mustSign(t, j.signer.Load(), "u1")
			if _, err := v.Verify(context.Background(), before); err != nil {
				t.Fatalf("token from the first key: %v", err)
			}
			forged := mustSign(t, newSigner(t, newKey(t)), "x")
			if tt.spendBudget {
				if _, err := v.Verify(context.Background(), forged); !apperr.Is(err, apperr.Unauthorized) {
					t.Fatalf("forged token: err = %v", err)
				}
			}

			// Rotate: the new key signs, the old one stays published.
			j.signer.Store(newSigner(t, newK, oldKey))
			tt.refresh(t, j)
			after := mustSign(t, j.signer.Load(), "u2")
			fetches := j.requests.Load()
			c, err := v.Verify(context.Background(), after)
			if err != nil {
				t.Fatalf("token from the rotated key: %v", err)
			}
			if c.Subject != "u2" {
				t.Fatalf("subject = %q", c.Subject)
			}
			if n := j.requests.Load() - fetches; tt.wantFetches >= 0 && n != tt.wantFetches {
				t.Fatalf("verifying the rotated token caused %d fetches, want %d", n, tt.wantFetches)
			}
			if _, err := v.Verify(context.Background(), before); err != nil {
				t.Fatalf("token from the old key after rotation: %v", err)
			}
			if _, err := v.Verify(context.Background(), forged); !apperr.Is(err, apperr.Unauthorized) {
				t.Fatalf("forged token after rotation: err = %v", err)
			}
		})
	}
}

func awaitRequests(t testing.TB, j *jwksServer, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for j.requests.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("JWKS requests = %d, want %d", j.requests.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFailedFetchKeepsOldKeys(t *testing.T) {
	failures := []struct {
		name string
		fail func(w http.ResponseWriter)
	}{
		{"a server error", func(w http.ResponseWriter) { http.Error(w, "down", http.StatusBadGateway) }},
		{"a document that is not JSON", func(w http.ResponseWriter) { _, _ = w.Write([]byte("<html>")) }},
		{"a set without keys", func(w http.ResponseWriter) { _, _ = w.Write([]byte(`{"keys":[]}`)) }},
		{"a fetch slower than FetchTimeout", nil},
	}
	paths := []struct {
		name string
		cfg  RemoteVerifierConfig
		// refresh makes v fetch at least once and waits until that fetch is over.
		refresh func(t *testing.T, j *jwksServer, v *RemoteVerifier)
	}{
		{
			name: "triggered by an unknown key",
			cfg:  RemoteVerifierConfig{RefreshInterval: time.Hour, FetchTimeout: 100 * time.Millisecond, RefreshWait: time.Minute},
			refresh: func(t *testing.T, _ *jwksServer, v *RemoteVerifier) {
				_, err := v.Verify(context.Background(), mustSign(t, newSigner(t, newKey(t)), "x"))
				if !apperr.Is(err, apperr.Unavailable) {
					t.Fatalf("the token that met the failed fetch: err = %v, want unavailable", err)
				}
			},
		},
		{
			name: "in the background",
			cfg:  RemoteVerifierConfig{RefreshInterval: 20 * time.Millisecond, FetchTimeout: 100 * time.Millisecond},
			refresh: func(t *testing.T, j *jwksServer, _ *RemoteVerifier) {
				// One fetch runs at a time: a second request means the first is over.
				awaitRequests(t, j, j.requests.Load()+2)
			},
		},
	}
	for _, p := range paths {
		for _, f := range failures {
			t.Run(f.name+" "+p.name+" keeps the old keys working", func(t *testing.T) {
				signer := newSigner(t, newKey(t))
				j := newJWKSServer(t, signer)
				cfg := p.cfg
				cfg.URL = j.srv.URL
				v := newRemote(t, cfg)
				known := mustSign(t, signer, "u1")

				if f.fail != nil {
					j.failWith(f.fail)
				} else {
					j.stallNext()
				}
				p.refresh(t, j, v)
				if _, err := v.Verify(context.Background(), known); err != nil {
					t.Fatalf("token from the old key after a failed fetch: %v", err)
				}
				if err := v.Ready(context.Background()); err != nil {
					t.Fatalf("Ready after a failed fetch: %v", err)
				}
			})
		}
	}
}

func TestUnknownKeyWaitIsBounded(t *testing.T) {
	tests := []struct {
		name string
		wait time.Duration
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{
			name: "a caller with an unknown key waits no longer than RefreshWait",
			wait: 20 * time.Millisecond,
			ctx:  func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
		},
		{
			name: "a caller with an unknown key stops waiting when its context ends",
			wait: time.Minute,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJWKSServer(t, newSigner(t, newKey(t)))
			v := newRemote(t, RemoteVerifierConfig{
				URL: j.srv.URL, RefreshInterval: time.Hour, RefreshWait: tt.wait, FetchTimeout: time.Minute,
			})
			j.stallNext()
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := v.Verify(ctx, mustSign(t, newSigner(t, newKey(t)), "x"))
			if j.returned.Load() {
				t.Fatal("the caller returned only after the stalled fetch did")
			}
			if !apperr.Is(err, apperr.Unavailable) {
				t.Fatalf("err = %v, want unavailable", err)
			}
		})
	}
}

func TestRemoteVerifierBecomesReadyWhenTheGatewayComesUp(t *testing.T) {
	signer := newSigner(t, newKey(t))
	j := newJWKSServer(t, signer)
	j.failWith(func(w http.ResponseWriter) { http.Error(w, "starting", http.StatusServiceUnavailable) })
	v := newRemote(t, RemoteVerifierConfig{URL: j.srv.URL, MinRefresh: time.Nanosecond, RefreshInterval: time.Hour})
	known := mustSign(t, signer, "u1")

	err := v.Ready(context.Background())
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Ready while the gateway is down: err = %v, want the 503 named", err)
	}
	if _, err := v.Verify(context.Background(), known); !apperr.Is(err, apperr.Unavailable) {
		t.Fatalf("Verify while the gateway is down: err = %v, want unavailable", err)
	}
	j.failWith(nil)
	if err := v.Ready(context.Background()); err != nil {
		t.Fatalf("Ready once the gateway is up: %v", err)
	}
	if _, err := v.Verify(context.Background(), known); err != nil {
		t.Fatalf("Verify once the gateway is up: %v", err)
	}
}

func TestRemoteVerifierOverHTTPS(t *testing.T) {
	signer := newSigner(t, newKey(t))
	srv := httptest.NewUnstartedServer(signer.JWKSHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	known := mustSign(t, signer, "u1")

	tests := []struct {
		name    string
		cfg     RemoteVerifierConfig
		wantErr string // in Ready's error; "" for a verifier that works
	}{
		{"a server whose CA is in RootCAs is trusted", RemoteVerifierConfig{RootCAs: pool}, ""},
		{"a server whose CA is in CAFile is trusted", RemoteVerifierConfig{CAFile: caFile}, ""},
		{"a server signed by an unknown CA is refused with a hint", RemoteVerifierConfig{}, "set RootCAs or CAFile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.URL = srv.URL
			v := newRemote(t, tt.cfg)
			err := v.Ready(context.Background())
			t.Logf("Ready: %v", err)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "certificate") {
					t.Fatalf("Ready: err = %v, want one naming the certificate and %q", err, tt.wantErr)
				}
				if _, err := v.Verify(context.Background(), known); !apperr.Is(err, apperr.Unavailable) {
					t.Fatalf("Verify: err = %v, want unavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Ready: %v", err)
			}
			if c, err := v.Verify(context.Background(), known); err != nil || c.Subject != "u1" {
				t.Fatalf("Verify: %+v, %v", c, err)
			}
		})
	}
}

func TestRemoteVerifierConfigIsChecked(t *testing.T) {
	members := []Kind{KindMember}
	tests := []struct {
		name string
		cfg  RemoteVerifierConfig
	}{
		{"a missing URL is refused", RemoteVerifierConfig{Accept: members}},
		{"a URL that is not http or https is refused", RemoteVerifierConfig{URL: "file:///etc/jwks.json", Accept: members}},
		{"an HTTP client together with RootCAs is refused", RemoteVerifierConfig{URL: "https://gw", Accept: members, HTTPClient: &http.Client{}, RootCAs: x509.NewCertPool()}},
		{"a CA file that cannot be read is refused", RemoteVerifierConfig{URL: "https://gw", Accept: members, CAFile: filepath.Join(t.TempDir(), "missing.pem")}},
		{"a CA file without certificates is refused", RemoteVerifierConfig{URL: "https://gw", Accept: members, CAFile: "verifier_remote.go"}},
		{"a verifier that accepts no kind of token is refused", RemoteVerifierConfig{URL: "https://gw"}},
		{"a verifier that accepts an unknown kind is refused", RemoteVerifierConfig{URL: "https://gw", Accept: []Kind{"refresh"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if _, err := NewRemoteVerifier(ctx, tt.cfg); err == nil {
				t.Fatal("NewRemoteVerifier succeeded")
			}
		})
	}
}
