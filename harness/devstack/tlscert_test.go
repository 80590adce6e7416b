package devstack

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
)

func TestIssuedCertificatesVerifyAgainstTheAuthority(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCertAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	kp, err := ca.Issue("server", "broker-1")
	if err != nil {
		t.Fatal(err)
	}
	// A second authority from the same directory must be the same one.
	again, err := NewCertAuthority(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.cert.Equal(ca.cert) {
		t.Fatal("reloaded authority differs from the one created")
	}
	pair, err := tls.LoadX509KeyPair(kp.CertFile, kp.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := os.ReadFile(kp.BundleFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair(bundle, bundle); err != nil {
		t.Fatalf("bundle is not a key pair: %v", err)
	}
	caPEM, err := os.ReadFile(ca.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatal("CA file holds no certificate")
	}

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "broker-1"})
	if err != nil {
		t.Fatalf("handshake with issued certificate: %v", err)
	}
	conn.Close()

	if _, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "broker-1"}); err == nil {
		t.Fatal("a client without the CA accepted the certificate")
	}
}
