package tlsclient

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/harness/devstack"
)

func TestFilesConfig(t *testing.T) {
	ca, err := devstack.NewCertAuthority(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	client, err := ca.Issue("client")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("the zero value trusts the system roots and presents nothing", func(t *testing.T) {
		c, err := Files{}.Config()
		if err != nil || c.RootCAs != nil || len(c.Certificates) != 0 {
			t.Fatalf("config = %+v, %v", c, err)
		}
	})
	t.Run("a CA file, a client certificate and a server name are all used", func(t *testing.T) {
		c, err := Files{CAFile: ca.CAFile(), CertFile: client.CertFile, KeyFile: client.KeyFile, ServerName: "db.internal"}.Config()
		if err != nil || c.RootCAs == nil || len(c.Certificates) != 1 || c.ServerName != "db.internal" {
			t.Fatalf("config = %+v, %v", c, err)
		}
	})
	for _, tt := range []struct {
		name  string
		files Files
		want  string
	}{
		{"a certificate without its key is refused", Files{CertFile: client.CertFile}, "both a certificate file and a key file"},
		{"a missing CA file is refused", Files{CAFile: "/nonexistent.pem"}, "read CA file"},
		{"a CA file without a certificate is refused", Files{CAFile: client.KeyFile}, "holds no PEM certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.files.Config(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestExplainNamesTheSettingToFix(t *testing.T) {
	n := Names{Enable: "X_TLS", CAFile: "X_TLS_CA_FILE", ServerName: "X_TLS_SERVER_NAME", ClientCert: "X_TLS_CERT_FILE"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"an unknown authority names the CA file", fmt.Errorf("dial: %w", x509.UnknownAuthorityError{}), "X_TLS_CA_FILE"},
		{"a host the certificate does not name names the server name", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "h"}, "X_TLS_SERVER_NAME"},
		{"an alert from the server names the client certificate", errors.New("remote error: tls: certificate required"), "X_TLS_CERT_FILE"},
		{"anything else is not a TLS failure", errors.New("connection refused"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Explain(tt.err, n)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("Explain = %q, want one naming %q", got, tt.want)
			}
		})
	}
}
