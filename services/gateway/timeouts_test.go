package main

import (
	"bufio"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Regression: issue 13 L2. The gateway had no read timeout: a client that trickles a
// body one byte at a time held its connection (and a goroutine) for as long as it
// liked. Now the server gives up on the request after GATEWAY_READ_TIMEOUT.
func TestTrickledBodiesAreCutOff(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "keys.pem")
	writeKeys(t, keyFile, mustKey(t))
	t.Setenv("GATEWAY_READ_HEADER_TIMEOUT", "500ms")
	t.Setenv("GATEWAY_READ_TIMEOUT", "1s")
	cfg := testConfig(t, keyFile)
	gw := startGateway(t, cfg)
	u, err := url.Parse(gw.url)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		head string
		body string
	}{
		{"a trickled body", "POST /api/auth/login HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n", strings.Repeat(" ", 200)},
		{"trickled headers", "POST /api/auth/login HTTP/1.1\r\nHost: " + u.Host + "\r\n", strings.Repeat("X-Slow: 1\r\n", 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name+" loses its connection before it is done", func(t *testing.T) {
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			closed := make(chan struct{})
			go func() {
				// Whatever the server answers, if anything, it then closes the connection.
				defer close(closed)
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err == nil {
					resp.Body.Close()
					_, _ = conn.Read(make([]byte, 1))
				}
			}()
			if _, err := conn.Write([]byte(tt.head)); err != nil {
				t.Fatal(err)
			}
			// 40 slow pieces take 8 s, far longer than the 1 s the server allows.
			piece := len(tt.body) / 40
			for i := 0; i < len(tt.body); i += piece {
				select {
				case <-closed:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := conn.Write([]byte(tt.body[i : i+piece])); err != nil {
					return // the server hung up
				}
			}
			select {
			case <-closed:
				t.Fatal("the server waited for the whole trickled request")
			case <-time.After(5 * time.Second):
				t.Fatal("the server kept the connection after the whole trickled request")
			}
		})
	}
}
