package redisconn

import (
	"context"
	"crypto/tls"

	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       Settings
		wantErr string
	}{
		{"the zero value (the dev stack) is valid", Settings{}, ""},
		{"an ACL user over TLS with a CA is valid", Settings{Username: "qc", Password: "p", TLS: true, TLSCAFile: "ca.pem"}, ""},
		{"a password alone (requirepass) is valid", Settings{Password: "p"}, ""},
		{"a user without a password is refused", Settings{Username: "qc"}, "QC_REDIS_USERNAME needs QC_REDIS_PASSWORD"},
		{"a CA file without TLS is refused", Settings{TLSCAFile: "ca.pem"}, "need QC_REDIS_TLS=true"},
		{"a client key without its certificate is refused", Settings{TLS: true, TLSKeyFile: "k.pem"}, "must be set together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate("QC_REDIS")
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Validate() = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// tlsRedis is a redis-server started by a test: TLS only, and an ACL user "qc" allowed
// the keys under qctest: with every command but the dangerous ones, as docs/operations.md
// advises; the default user is off.
type tlsRedis struct {
	addr   string
	ca     *devstack.CertAuthority
	client devstack.KeyPair
}

const (
	aclUser     = "qc"
	aclPassword = "correct-horse"
)

func startTLSRedis(tb testing.TB, clientCerts bool) tlsRedis {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: starts redis-server (skipped with -short)")
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skip("redis-server is not installed")
	}
	dir := tb.TempDir()
	ca, err := devstack.NewCertAuthority(filepath.Join(dir, "ca"))
	if err != nil {
		tb.Fatal(err)
	}
	server, err := ca.Issue("redis")
	if err != nil {
		tb.Fatal(err)
	}
	client, err := ca.Issue("client")
	if err != nil {
		tb.Fatal(err)
	}
	port, err := devstack.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	auth := "no"
	if clientCerts {
		auth = "yes"
	}
	conf := strings.Join([]string{
		"port 0", "bind 127.0.0.1", "tls-port " + strconv.Itoa(port),
		"tls-cert-file " + server.CertFile, "tls-key-file " + server.KeyFile, "tls-ca-cert-file " + ca.CAFile(),
		"tls-auth-clients " + auth, `save ""`, "appendonly no", "dir " + dir,
		"user default off", "user " + aclUser + " on >" + aclPassword + " ~qctest:* &* +@all -@dangerous",
	}, "\n") + "\n"
	confPath := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "redis.log"))
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, confPath)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = log.Close()
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cfg, err := tlsFilesFor(ca, client).tlsFiles().Config()
	if err != nil {
		tb.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; {
		conn, err := tls.Dial("tcp", addr, cfg)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(log.Name())
			tb.Fatalf("redis-server never served TLS on %s: %v\n%s", addr, err, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return tlsRedis{addr: addr, ca: ca, client: client}
}

func tlsFilesFor(ca *devstack.CertAuthority, client devstack.KeyPair) Settings {
	return Settings{TLS: true, TLSCAFile: ca.CAFile(), TLSCertFile: client.CertFile, TLSKeyFile: client.KeyFile}
}

func (r tlsRedis) settings() Settings {
	s := tlsFilesFor(r.ca, r.client)
	s.Username, s.Password = aclUser, aclPassword
	return s
}

func TestClientOverTLSWithAnACLUser(t *testing.T) {
	r := startTLSRedis(t, false)
	client, err := NewClient([]string{r.addr}, r.settings())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()
	key := "qctest:{s}:k"
	if err := client.Do(ctx, client.B().Set().Key(key).Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	script := rueidis.NewLuaScript("redis.call('XADD', KEYS[1], '*', 'd', ARGV[1]); return redis.call('GET', KEYS[2])")
	if v, err := script.Exec(ctx, client, []string{"qctest:{s}", key}, []string{"x"}).ToString(); err != nil || v != "v" {
		t.Fatalf("script = %q, %v", v, err)
	}
	t.Run("keys outside the user's pattern are refused with a hint", func(t *testing.T) {
		err := client.Do(ctx, client.B().Set().Key("other:k").Value("v").Build()).Error()
		if err == nil || !strings.Contains(Explain(err).Error(), "ACL user") {
			t.Fatalf("err = %v", Explain(err))
		}
	})
}

func TestClientFailsFastNamingTheCause(t *testing.T) {
	r := startTLSRedis(t, false)
	mtls := startTLSRedis(t, true)
	otherCA, err := devstack.NewCertAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		addr   string
		mutate func(*Settings)
		want   string
	}{
		{"a wrong password", r.addr, func(s *Settings) { s.Password = "wrong" }, "authentication failed"},
		{"no credentials where the default user is off", r.addr, func(s *Settings) { s.Username, s.Password = "", "" }, "requires a password"},
		{"a CA that did not sign the server's certificate", r.addr, func(s *Settings) { s.TLSCAFile = otherCA.CAFile() }, "not signed by a trusted authority"},
		{"a server name the certificate does not carry", r.addr, func(s *Settings) { s.TLSServerName = "redis.example.com" }, "does not name the host"},
		{"a plaintext client on the TLS port", r.addr, func(s *Settings) { *s = Settings{Username: aclUser, Password: aclPassword} }, "TLS port reached without TLS"},
		{"no client certificate where one is required", mtls.addr, func(s *Settings) {
			*s = mtls.settings()
			s.TLSCertFile, s.TLSKeyFile = "", ""
		}, "client certificate"},
		{"nothing at the address", "127.0.0.1:1", nil, "nothing listens"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" fails fast naming the cause", func(t *testing.T) {
			s := r.settings()
			if tt.mutate != nil {
				tt.mutate(&s)
			}
			start := time.Now()
			client, err := NewClient([]string{tt.addr}, s)
			if err == nil {
				client.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one naming %q", err, tt.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %v to fail", d)
			}
			t.Logf("%v (after %v)", err, time.Since(start).Round(time.Millisecond))
		})
	}
	t.Run("the client certificate is accepted where one is required", func(t *testing.T) {
		client, err := NewClient([]string{mtls.addr}, mtls.settings())
		if err != nil {
			t.Fatal(err)
		}
		client.Close()
	})
}
