package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/quickchat-go/quickchat/pkg/token"
)

// newSigner returns the signer of cfg.SigningKeyFile, or of an ephemeral key when it is
// empty. A key committed to the Quick Chat repository (token.Published) stops the gateway
// unless cfg.InsecureDevKey is set: with it, anyone could forge any account's or member's
// tokens. Every key of the file counts, not only the signing one, since the JWKS publishes
// them all and realtime accepts tokens signed by any of them.
func newSigner(cfg Config, log *zap.Logger) (*token.Signer, error) {
	if cfg.SigningKeyFile == "" {
		log.Warn("GATEWAY_SIGNING_KEY_FILE is empty: using an ephemeral signing key; tokens will not survive a restart and replicas will not agree")
		k, err := token.GenerateKey()
		if err != nil {
			return nil, err
		}
		return token.NewSigner(k)
	}
	pemData, err := os.ReadFile(cfg.SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	keys, err := token.ParsePEMKeys(pemData)
	if err != nil {
		return nil, fmt.Errorf("signing keys in %s: %w", cfg.SigningKeyFile, err)
	}
	for i, k := range keys {
		where, published := token.Published(&k.PublicKey)
		if !published {
			continue
		}
		fp, err := token.Fingerprint(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		if !cfg.InsecureDevKey {
			return nil, fmt.Errorf("signing key %d of %s (GATEWAY_SIGNING_KEY_FILE, fingerprint %s) is committed to the Quick Chat repository (%s): "+
				"anyone with a copy of the repository can forge tokens for any account and any group. "+
				"Generate a key of your own with `gateway keygen <file>` and point GATEWAY_SIGNING_KEY_FILE at it (docs/operations.md, \"Signing keys\"); "+
				"only on a throwaway stack nobody else can reach, GATEWAY_INSECURE_DEV_KEY=true starts anyway",
				i+1, cfg.SigningKeyFile, fp, where)
		}
		log.Warn("GATEWAY_INSECURE_DEV_KEY is set: signing with a key committed to the Quick Chat repository; anyone can forge tokens for this gateway",
			zap.String("file", cfg.SigningKeyFile), zap.Int("key", i+1), zap.String("fingerprint", fp), zap.String("committed_at", where))
	}
	return token.NewSigner(keys...)
}

// keygenConfig is the only configuration `gateway keygen` reads: GATEWAY_SIGNING_KEY_FILE,
// the same variable the server reads its keys from (Config.SigningKeyFile).
type keygenConfig struct {
	// SigningKeyFile is where keygen writes the key when the command line names no file.
	SigningKeyFile string `envconfig:"SIGNING_KEY_FILE"`
}

// keygenUsage is printed for a malformed `gateway keygen` command line.
const keygenUsage = "usage: gateway keygen [FILE]  (FILE defaults to GATEWAY_SIGNING_KEY_FILE; without either, the key goes to stdout)"

// keygen runs `gateway keygen [FILE]`: it writes a fresh EC P-256 signing key as PKCS #8
// PEM to FILE, or to envFile (GATEWAY_SIGNING_KEY_FILE) when no FILE is named, or to stdout
// when neither is set. An existing file is kept as it is, never overwritten, so a one-shot
// container can run keygen on every start and the key is made only the first time (as
// docker-compose.yml does); to rotate, generate into a new file and follow
// docs/operations.md. The file is readable by its owner only.
func keygen(args []string, envFile string, stdout, stderr io.Writer) error {
	path := envFile
	switch {
	case len(args) > 1 || (len(args) == 1 && (args[0] == "" || args[0][0] == '-')):
		return errors.New(keygenUsage)
	case len(args) == 1:
		path = args[0]
	}
	k, err := token.GenerateKey()
	if err != nil {
		return err
	}
	pemData, err := token.EncodePEMKey(k)
	if err != nil {
		return err
	}
	if path == "" {
		_, err := stdout.Write(pemData)
		return err
	}
	if _, err := os.Stat(path); err == nil {
		fmt.Fprintf(stderr, "gateway keygen: %s exists; kept it\n", path)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("keygen: %w", err)
	}
	created, err := writeNewFile(path, pemData)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if !created {
		fmt.Fprintf(stderr, "gateway keygen: %s exists; kept it\n", path)
		return nil
	}
	fp, err := token.Fingerprint(&k.PublicKey)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "gateway keygen: wrote a new signing key to %s (key id %s)\n", path, fp)
	return nil
}

// writeNewFile writes data to path with mode 0600 unless path exists, and reports whether
// it did. The data goes to a temporary file first and is linked into place, so path never
// holds a partial key and a file created meanwhile is never replaced.
func writeNewFile(path string, data []byte) (bool, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".signing-key-*.tmp")
	if err != nil {
		return false, err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
