package deploycheck

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// repoRoot is the repository root, two folders above this package.
func repoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("cannot locate the test source")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

var (
	specsOnce sync.Once
	specs     map[string]EnvSpec
	specsErr  error
)

// envSpecs reads services/*/config.go once per test binary.
func envSpecs(tb testing.TB) map[string]EnvSpec {
	tb.Helper()
	specsOnce.Do(func() { specs, specsErr = LoadEnvSpecs(repoRoot(tb)) })
	if specsErr != nil {
		tb.Fatalf("read the services' config structs: %v", specsErr)
	}
	return specs
}

// errorsf reports each error of errs as a test error, prefixed with what.
func errorsf(tb testing.TB, what string, errs []error) {
	tb.Helper()
	for _, err := range errs {
		tb.Errorf("%s: %v", what, err)
	}
}

// parseSigningKeys mirrors the gateway's key file rules (pkg/token.ParsePEMKeys): PEM
// blocks of SEC 1 or PKCS #8 EC P-256 private keys, at least one.
func parseSigningKeys(data []byte) ([]*ecdsa.PrivateKey, error) {
	var keys []*ecdsa.PrivateKey
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var (
			k   any
			err error
		)
		switch block.Type {
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", len(keys), err)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, fmt.Errorf("key %d is not an EC P-256 key", len(keys))
		}
		keys = append(keys, ec)
	}
	if len(keys) == 0 {
		return nil, errors.New("no EC private key in the PEM data")
	}
	return keys, nil
}
