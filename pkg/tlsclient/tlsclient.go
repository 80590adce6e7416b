package tlsclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Files names what a client TLS configuration is made of. Every field is optional: the
// zero value trusts the system roots, presents no certificate and verifies each server
// against the host name it was dialled by.
type Files struct {
	// CAFile is a PEM file of the certificate authorities trusted for the server's
	// certificate, instead of the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, presented when the
	// server asks for one (mutual TLS). Both or neither.
	CertFile, KeyFile string
	// ServerName is the name the server's certificate must carry, when it differs from
	// the host dialled (an IP address, a tunnel, a proxy).
	ServerName string
}

// Check reports the combinations that cannot work, without reading the files.
func (f Files) Check() error {
	if (f.CertFile == "") != (f.KeyFile == "") {
		return errors.New("a client certificate needs both a certificate file and a key file")
	}
	return nil
}

// Config reads the files and returns the configuration (TLS 1.2 or newer).
func (f Files) Config() (*tls.Config, error) {
	if err := f.Check(); err != nil {
		return nil, err
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: f.ServerName}
	if f.CAFile != "" {
		pem, err := os.ReadFile(f.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", f.CAFile)
		}
		c.RootCAs = pool
	}
	if f.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}

// Names says where a caller's TLS settings are, so a hint names the setting to fix.
type Names struct {
	// Enable turns TLS on or off (REDIS_TLS, or sslmode in a database URL).
	Enable string
	// CAFile names the trusted authorities (REDIS_TLS_CA_FILE, or sslrootcert).
	CAFile string
	// ServerName is what the certificate must name (REDIS_TLS_SERVER_NAME, or the URL's
	// host).
	ServerName string
	// ClientCert is the client certificate (REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE).
	ClientCert string
}

// Explain returns what a TLS failure in err means and which setting to look at, or ""
// when err shows no TLS failure.
func Explain(err error, n Names) string {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &unknown):
		return "the server's certificate is not signed by a trusted authority (check " + n.CAFile + ")"
	case errors.As(err, &hostname):
		return "the server's certificate does not name the host dialled (check the address or " + n.ServerName + ")"
	case errors.As(err, &invalid):
		return "the server's certificate is not valid (" + invalid.Error() + ")"
	case errors.As(err, &record):
		return "the server does not speak TLS on this port (check " + n.Enable + " and the port)"
	case strings.Contains(err.Error(), "remote error: tls: "):
		// Go reports the server's alerts only as text.
		return "the server refused the TLS handshake (it may require a client certificate, see " + n.ClientCert + ", or refuse the protocol version)"
	case strings.Contains(err.Error(), "tls: "):
		return "the TLS handshake failed (check " + n.Enable + ", " + n.CAFile + " and " + n.ClientCert + ")"
	}
	return ""
}
