package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
	"github.com/quickchat-go/quickchat/pkg/apperr"
	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/token"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// gateway is one in-process run of the service.
type gateway struct {
	url string
	// opsURL is the base URL of the ops listener (/healthz, /readyz, /metrics).
	opsURL string
	stop   func()
}

// startGateway runs the gateway with cfg until stop is called or the test ends.
func startGateway(t testing.TB, cfg Config) *gateway {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan ops.Addrs, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, ready) }()
	var addrs ops.Addrs
	select {
	case addrs = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("gateway did not start: %v", err)
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway stopped with error: %v", err)
		}
	}
	t.Cleanup(stop)
	return &gateway{url: "http://" + addrs.Public.String(), opsURL: "http://" + addrs.Ops.String(), stop: stop}
}

// testConfig loads the configuration from the environment as main does, on a fresh
// database, with cheap hashing.
func testConfig(t *testing.T, keyFile string) Config {
	t.Helper()
	t.Setenv("GATEWAY_DATABASE_URL", testenv.PostgresURL(t))
	t.Setenv("GATEWAY_REDIS_ADDR", testenv.RedisAddr(t))
	t.Setenv("GATEWAY_REDIS_PREFIX", testenv.KeyPrefix(t))
	t.Setenv("GATEWAY_ADDR", "127.0.0.1:0")
	t.Setenv("GATEWAY_OPS_ADDR", "127.0.0.1:0")
	t.Setenv("GATEWAY_MIGRATE_ON_START", "true")
	t.Setenv("GATEWAY_SIGNING_KEY_FILE", keyFile)
	t.Setenv("GATEWAY_PASSWORD_HASH_MEMORY_KIB", "64")
	t.Setenv("GATEWAY_PASSWORD_HASH_ITERATIONS", "1")
	t.Setenv("GATEWAY_LOG_LEVEL", "error")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writeKeys(t testing.TB, path string, keys ...*ecdsa.PrivateKey) {
	t.Helper()
	var pemData []byte
	for _, k := range keys {
		p, err := token.EncodePEMKey(k)
		if err != nil {
			t.Fatal(err)
		}
		pemData = append(pemData, p...)
	}
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
}

func post(t testing.TB, url, bearer string, body any, out any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	r, err := http.NewRequest(http.MethodPost, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b.String())
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
}

func kidOf(t testing.TB, raw string) string {
	t.Helper()
	msg, err := jws.ParseString(raw)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Signatures()[0].ProtectedHeaders().KeyID()
}

// TestRealtimeVerifiesGatewayTokensThroughJWKSAcrossARotation plays the realtime
// service's part: it knows only the gateway's JWKS URL, no key and no secret.
func TestRealtimeVerifiesGatewayTokensThroughJWKSAcrossARotation(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys.pem")
	oldKey, newKey := mustKey(t), mustKey(t)
	writeKeys(t, keyFile, oldKey)
	cfg := testConfig(t, keyFile)
	gw := startGateway(t, cfg)

	var sess struct {
		AccessToken string `json:"access_token"`
	}
	creds := map[string]string{"email": "owner@example.com", "password": "a long password", "name": "Owner"}
	post(t, gw.url+"/api/auth/register", "", creds, nil)
	delete(creds, "name")
	post(t, gw.url+"/api/auth/login", "", creds, &sess)
	var g struct {
		ID string `json:"id"`
	}
	post(t, gw.url+"/api/chat-group", sess.AccessToken, map[string]string{"title": "Room", "passcode": "open sesame"}, &g)
	var joined struct {
		Token string `json:"token"`
	}
	post(t, gw.url+"/api/chat-group/"+g.ID+"/join", "", map[string]string{"name": "Guest", "passcode": "open sesame"}, &joined)

	// Realtime reaches the gateway through a stable address (a Service in Kubernetes);
	// here a proxy that follows whichever gateway process is current.
	var current atomic.Pointer[url.URL]
	setBackend := func(raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		current.Store(u)
	}
	setBackend(gw.url)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httputil.NewSingleHostReverseProxy(current.Load()).ServeHTTP(w, r)
	}))
	defer front.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	verifier, err := token.NewRemoteVerifier(ctx, token.RemoteVerifierConfig{
		URL: front.URL + "/.well-known/jwks.json", Accept: []token.Kind{token.KindMember}, MinRefresh: time.Nanosecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifier.Verify(ctx, joined.Token)
	if err != nil {
		t.Fatalf("member token before rotation: %v", err)
	}
	if c.Kind != token.KindMember || c.GroupID != g.ID {
		t.Fatalf("claims = %+v", c)
	}

	// Rotate: restart the gateway with the new key first and the old one kept second, as
	// an operator would.
	gw.stop()
	writeKeys(t, keyFile, newKey, oldKey)
	gw = startGateway(t, cfg)
	setBackend(gw.url)

	var renewed struct {
		Token string `json:"token"`
	}
	post(t, gw.url+"/api/chat-group/"+g.ID+"/token", joined.Token, nil, &renewed)
	if kidOf(t, renewed.Token) == kidOf(t, joined.Token) {
		t.Fatal("the renewed token was not signed by the new key")
	}
	if c, err := verifier.Verify(ctx, renewed.Token); err != nil || c.GroupID != g.ID {
		t.Fatalf("token from the new key: %+v, %v", c, err)
	}
	if _, err := verifier.Verify(ctx, joined.Token); err != nil {
		t.Fatalf("token from the old key after rotation: %v", err)
	}
	stranger, err := token.NewSigner(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := stranger.Sign(token.Claims{Subject: "m", Kind: token.KindMember, GroupID: g.ID}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier.Verify(ctx, forged); !apperr.Is(err, apperr.Unauthorized) {
		t.Fatalf("token from an unpublished key: err = %v, want unauthorized", err)
	}
}

func mustKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestConfigValidation(t *testing.T) {
	valid := func() Config {
		return Config{
			Addr: ":8080", OpsAddr: ":8090",
			DatabaseURL: "postgres://x", DatabaseMaxConns: 5, AccessTokenTTL: 15 * time.Minute,
			RefreshTokenTTL: time.Hour, MemberTokenTTL: 15 * time.Minute, ShutdownGrace: time.Second,
			PasswordHashMemoryKiB: 64, PasswordHashIterations: 1, MaxBodyBytes: 65536, JanitorInterval: time.Minute,
			SessionMaxAge: time.Hour, ReadHeaderTimeout: time.Second, ReadTimeout: time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute,
			MembershipMaxAge: 720 * time.Hour, RedisAddr: []string{"127.0.0.1:6379"}, RedisPrefix: "qc:", RedisShards: 16,
		}
	}
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"a complete configuration is valid", func(*Config) {}, true},
		{"access tokens may not outlive 15 minutes", func(c *Config) { c.AccessTokenTTL = 16 * time.Minute }, false},
		{"member tokens may not outlive 15 minutes", func(c *Config) { c.MemberTokenTTL = time.Hour }, false},
		{"refresh tokens must outlive access tokens", func(c *Config) { c.RefreshTokenTTL = time.Minute }, false},
		{"garbage trusted proxies are refused", func(c *Config) { c.TrustedProxies = []string{"proxy.local"} }, false},
		{"CIDR trusted proxies are accepted", func(c *Config) { c.TrustedProxies = []string{"10.0.0.0/8", "::1"} }, true},
		{"OIDC needs a client id", func(c *Config) {
			c.OIDCIssuer, c.OIDCRedirectURL = "https://id.example", "https://chat.example/api/auth/oidc/callback"
		}, false},
		{"OIDC needs an absolute redirect URL", func(c *Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCRedirectURL = "https://id.example", "qc", "/callback"
		}, false},
		{"a complete OIDC setup is accepted", func(c *Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCRedirectURL = "https://id.example", "qc", "https://chat.example/api/auth/oidc/callback"
		}, true},
		{"a tiny hash memory cost is refused", func(c *Config) { c.PasswordHashMemoryKiB = 1 }, false},
		{"sessions must outlive access tokens", func(c *Config) { c.SessionMaxAge = time.Minute }, false},
		{"a negative group cap is refused", func(c *Config) { c.MaxGroupsPerAccount = -1 }, false},
		{"a read timeout shorter than the header timeout is refused", func(c *Config) { c.ReadTimeout = time.Millisecond }, false},
		{"a write timeout within the hashing wait is refused", func(c *Config) { c.WriteTimeout = 5 * time.Second }, false},
		{"an allowed origin with a path is refused", func(c *Config) { c.AllowedOrigins = []string{"https://app.example/x"} }, false},
		{"an allowed origin is accepted", func(c *Config) { c.AllowedOrigins = []string{"https://app.example:8443"} }, true},
		{"the ops address may not be the public one", func(c *Config) { c.OpsAddr = c.Addr }, false},
		{"the ops address may not be empty", func(c *Config) { c.OpsAddr = "" }, false},
		{"both listeners may pick free ports", func(c *Config) { c.Addr, c.OpsAddr = "127.0.0.1:0", "127.0.0.1:0" }, true},
		{"guest memberships must outlive a member token", func(c *Config) { c.MembershipMaxAge = time.Minute }, false},
		{"a Redis address is required", func(c *Config) { c.RedisAddr = nil }, false},
		{"a Redis prefix with braces is refused", func(c *Config) { c.RedisPrefix = "q{c}:" }, false},
		{"no shards are refused", func(c *Config) { c.RedisShards = 0 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			if err := c.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestConfigReadsRateRulesFromTheEnvironment(t *testing.T) {
	t.Setenv("GATEWAY_DATABASE_URL", "postgres://x")
	t.Setenv("GATEWAY_RATE_PASSCODE_PER_IP", "3/10s")
	t.Setenv("GATEWAY_RATE_LOGIN_PER_ACCOUNT", "off")
	cfg, err := loadConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RatePasscodePerIP.Limit != 3 || cfg.RatePasscodePerIP.Per != 10*time.Second || !cfg.RateLoginPerAccount.Off() {
		t.Fatalf("rules = %v, %v", cfg.RatePasscodePerIP, cfg.RateLoginPerAccount)
	}
	if cfg.RatePasscodePerGroup.String() != "30/1m0s" {
		t.Fatalf("default per-group rule = %v", cfg.RatePasscodePerGroup)
	}
	t.Setenv("GATEWAY_RATE_LOGIN_PER_IP", "lots")
	if _, err := loadConfig(); err == nil {
		t.Fatal("want an error for a malformed rule")
	}
}

// TestRunRefusesAnInvalidConfiguration: run checks its configuration itself, so a caller
// that builds a Config by hand (a test, another main) cannot start a gateway with, say,
// hour-long access tokens.
func TestRunRefusesAnInvalidConfiguration(t *testing.T) {
	cfg := Config{DatabaseURL: "postgres://unused", AccessTokenTTL: time.Hour}
	err := run(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_ACCESS_TOKEN_TTL") {
		t.Fatalf("run = %v, want the configuration error", err)
	}
}
