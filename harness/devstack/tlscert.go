package devstack

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CertAuthority is a throwaway certificate authority for the secured loopback servers:
// its certificate and key live in one directory, so a restarted stack keeps trusting the
// certificates it issued before.
type CertAuthority struct {
	dir  string
	cert *x509.Certificate
	key  crypto.Signer
}

// KeyPair names the PEM files of one issued certificate. KeyFile holds an unencrypted
// PKCS #8 key; BundleFile holds the key followed by the certificate, the single-file form
// Kafka's PEM key store reads.
type KeyPair struct {
	CertFile   string
	KeyFile    string
	BundleFile string
}

// certValidity is long enough for any dev stack and short enough that nobody mistakes
// these certificates for real ones.
const certValidity = 90 * 24 * time.Hour

// NewCertAuthority loads the authority kept in dir (ca.pem, ca-key.pem) or creates it.
func NewCertAuthority(dir string) (*CertAuthority, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tls: create dir: %w", err)
	}
	ca := &CertAuthority{dir: dir}
	certPEM, certErr := os.ReadFile(ca.CAFile())
	keyPEM, keyErr := os.ReadFile(ca.keyFile())
	if certErr == nil && keyErr == nil {
		if err := ca.load(certPEM, keyPEM); err != nil {
			return nil, err
		}
		return ca, nil
	}
	if !errors.Is(certErr, os.ErrNotExist) && certErr != nil {
		return nil, fmt.Errorf("tls: read CA: %w", certErr)
	}
	if err := ca.create(); err != nil {
		return nil, err
	}
	return ca, nil
}

// CAFile is the PEM file clients trust.
func (ca *CertAuthority) CAFile() string { return filepath.Join(ca.dir, "ca.pem") }

func (ca *CertAuthority) keyFile() string { return filepath.Join(ca.dir, "ca-key.pem") }

func (ca *CertAuthority) load(certPEM, keyPEM []byte) error {
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return fmt.Errorf("tls: CA files in %s are not PEM", ca.dir)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return fmt.Errorf("tls: parse CA certificate: %w", err)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return fmt.Errorf("tls: parse CA key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return fmt.Errorf("tls: CA key is a %T, not a signer", key)
	}
	ca.cert, ca.key = cert, signer
	return nil
}

func (ca *CertAuthority) create() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tls: generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Quick Chat devstack CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tls: sign CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("tls: parse CA certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tls: encode CA key: %w", err)
	}
	if err := writePEM(ca.keyFile(), 0o600, pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}); err != nil {
		return err
	}
	if err := writePEM(ca.CAFile(), 0o644, pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		return err
	}
	ca.cert, ca.key = cert, key
	return nil
}

// Issue signs a certificate named name for hosts (DNS names or IP addresses; "localhost"
// and 127.0.0.1 are always included) that serves as both a server and a client
// certificate, and writes it beside the CA. Existing files of the same name are replaced.
func (ca *CertAuthority) Issue(name string, hosts ...string) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("tls: generate key for %s: %w", name, err)
	}
	serial, err := randomSerial()
	if err != nil {
		return KeyPair{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range append([]string{"localhost", "127.0.0.1"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("tls: sign certificate for %s: %w", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("tls: encode key for %s: %w", name, err)
	}
	kp := KeyPair{
		CertFile:   filepath.Join(ca.dir, name+".pem"),
		KeyFile:    filepath.Join(ca.dir, name+"-key.pem"),
		BundleFile: filepath.Join(ca.dir, name+"-bundle.pem"),
	}
	certBlock := pem.Block{Type: "CERTIFICATE", Bytes: der}
	keyBlock := pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}
	// Servers that run as another OS user (PostgreSQL) need to read the key; the files
	// are throwaway loopback credentials, and PostgreSQL itself refuses group/world-
	// readable keys unless root owns them, so the caller adjusts ownership when needed.
	if err := writePEM(kp.CertFile, 0o644, certBlock); err != nil {
		return KeyPair{}, err
	}
	if err := writePEM(kp.KeyFile, 0o600, keyBlock); err != nil {
		return KeyPair{}, err
	}
	if err := writePEM(kp.BundleFile, 0o600, keyBlock, certBlock); err != nil {
		return KeyPair{}, err
	}
	return kp, nil
}

func randomSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("tls: serial number: %w", err)
	}
	return n, nil
}

func writePEM(path string, mode os.FileMode, blocks ...pem.Block) error {
	var out []byte
	for i := range blocks {
		out = append(out, pem.EncodeToMemory(&blocks[i])...)
	}
	if err := os.WriteFile(path, out, mode); err != nil {
		return fmt.Errorf("tls: write %s: %w", path, err)
	}
	return nil
}
