package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/ops"
	"github.com/quickchat-go/quickchat/pkg/token"
)

// The keys committed to the repository that tests may load: the example key docker-compose
// and the k8s overlays shipped until issue 13, and the fuzz test's key.
const (
	publishedExampleKey = "testdata/published-example-key.pem"
	publishedFuzzKey    = "../../pkg/token/testdata/fuzz-signing-key.pem"
)

// Regression: issue 13 H2. docker-compose and the k8s overlays signed tokens with the
// example key committed to the repository, and the gateway started on it silently: with
// the repository alone, owner and member tokens were forged.
func TestGatewayRefusesSigningKeysCommittedToTheRepository(t *testing.T) {
	example := readKeys(t, publishedExampleKey)
	fresh := mustKey(t)
	tests := []struct {
		name     string
		keys     []string // PEM files concatenated into the key file; "" is a fresh key
		insecure bool     // GATEWAY_INSECURE_DEV_KEY=true
		starts   bool
	}{
		{"the repository's example key stops the gateway", []string{publishedExampleKey}, false, false},
		{"the fuzz test's key stops the gateway", []string{publishedFuzzKey}, false, false},
		{"a committed key kept behind a fresh signing key stops the gateway", []string{"", publishedExampleKey}, false, false},
		{"GATEWAY_INSECURE_DEV_KEY=true starts on the example key", []string{publishedExampleKey}, true, true},
		{"a fresh key starts", []string{""}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyFile := filepath.Join(t.TempDir(), "signing-keys.pem")
			var pemData []byte
			for _, f := range tt.keys {
				if f == "" {
					p, err := token.EncodePEMKey(fresh)
					if err != nil {
						t.Fatal(err)
					}
					pemData = append(pemData, p...)
					continue
				}
				p, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				pemData = append(pemData, p...)
			}
			if err := os.WriteFile(keyFile, pemData, 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.insecure {
				t.Setenv("GATEWAY_INSECURE_DEV_KEY", "true")
			}
			cfg := testConfig(t, keyFile)

			if !tt.starts {
				ready := make(chan ops.Addrs, 1)
				done := make(chan error, 1)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() { done <- run(ctx, cfg, ready) }()
				var err error
				select {
				case <-ready:
					cancel()
					<-done
					t.Fatal("the gateway started with a committed signing key")
				case err = <-done:
				}
				if err == nil {
					t.Fatal("the gateway ran with a committed signing key")
				}
				for _, want := range []string{"committed to the Quick Chat repository", "forge", "gateway keygen", "GATEWAY_SIGNING_KEY_FILE", "GATEWAY_INSECURE_DEV_KEY=true"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("the refusal does not say %q: %v", want, err)
					}
				}
				return
			}
			gw := startGateway(t, cfg)
			kids := jwksKeyIDs(t, gw.url)
			want := fresh
			if tt.insecure {
				want = example[0]
			}
			fp, err := token.Fingerprint(&want.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if len(kids) != 1 || kids[0] != fp {
				t.Fatalf("JWKS key ids %v, want [%s]", kids, fp)
			}
		})
	}
}

func TestKeygenWritesAFreshKeyOnceAndNeverOverwritesIt(t *testing.T) {
	dir := t.TempDir()
	keygenOK := func(t *testing.T, args []string, envFile string) (stdout, stderr string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := keygen(args, envFile, &out, &errOut); err != nil {
			t.Fatalf("keygen %q: %v", args, err)
		}
		return out.String(), errOut.String()
	}

	t.Run("a named file gets a fresh P-256 key readable by its owner only", func(t *testing.T) {
		path := filepath.Join(dir, "named.pem")
		keygenOK(t, []string{path}, "")
		k := readKeys(t, path)
		if len(k) != 1 {
			t.Fatalf("%d keys", len(k))
		}
		if where, published := token.Published(&k[0].PublicKey); published {
			t.Fatalf("keygen wrote a published key (%s)", where)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, %v; want 0600", st.Mode().Perm(), err)
		}
		before, _ := os.ReadFile(path)
		_, stderr := keygenOK(t, []string{path}, "")
		after, _ := os.ReadFile(path)
		if !bytes.Equal(before, after) || !strings.Contains(stderr, "kept") {
			t.Fatalf("a second keygen replaced the key (stderr %q)", stderr)
		}
	})
	t.Run("without a named file the key goes to GATEWAY_SIGNING_KEY_FILE", func(t *testing.T) {
		path := filepath.Join(dir, "from-env.pem")
		keygenOK(t, nil, path)
		readKeys(t, path)
	})
	t.Run("without either the key goes to stdout, a new one each time", func(t *testing.T) {
		a, _ := keygenOK(t, nil, "")
		b, _ := keygenOK(t, nil, "")
		ka, err := token.ParsePEMKeys([]byte(a))
		if err != nil {
			t.Fatal(err)
		}
		kb, err := token.ParsePEMKeys([]byte(b))
		if err != nil {
			t.Fatal(err)
		}
		if ka[0].Equal(kb[0]) {
			t.Fatal("two runs printed the same key")
		}
	})
	t.Run("flags and extra arguments are refused", func(t *testing.T) {
		for _, args := range [][]string{{"-force", filepath.Join(dir, "x.pem")}, {"a.pem", "b.pem"}} {
			if err := keygen(args, "", &bytes.Buffer{}, &bytes.Buffer{}); err == nil {
				t.Errorf("keygen %q succeeded", args)
			}
		}
	})
}

// TestKeygenRunsWithoutTheServersConfiguration runs the real main in a child process: a
// one-shot keygen container has no database URL, and must not need one.
func TestKeygenRunsWithoutTheServersConfiguration(t *testing.T) {
	if args := os.Getenv("QC_GATEWAY_TEST_MAIN_ARGS"); args != "" {
		os.Args = append([]string{"gateway"}, strings.Fields(args)...)
		main()
		return
	}
	path := filepath.Join(t.TempDir(), "keys", "signing-keys.pem")
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeygenRunsWithoutTheServersConfiguration$", "-test.count=1")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEWAY_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "QC_GATEWAY_TEST_MAIN_ARGS=keygen", "GATEWAY_SIGNING_KEY_FILE="+path)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gateway keygen: %v\n%s", err, out)
	}
	readKeys(t, path)
}

// readKeys reads a PEM key file as the gateway does.
func readKeys(t testing.TB, path string) []*ecdsa.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.ParsePEMKeys(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return keys
}

// jwksKeyIDs returns the key ids the gateway at base publishes.
func jwksKeyIDs(t testing.TB, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}
