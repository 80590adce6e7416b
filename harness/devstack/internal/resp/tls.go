package resp

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
)

// DialTLS connects to addr ("host:port") over TLS with cfg; the handshake is done before
// it returns, so a certificate the client does not trust fails here.
func DialTLS(ctx context.Context, addr string, cfg *tls.Config) (*Conn, error) {
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("resp: dial %s over TLS: %w", addr, err)
	}
	return &Conn{c: c, r: bufio.NewReader(c)}, nil
}
