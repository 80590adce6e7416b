package resp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
	"time"
)

func TestDoParsesEveryReplyType(t *testing.T) {
	tests := []struct {
		name    string
		reply   string
		want    any
		wantErr error
	}{
		{name: "simple string", reply: "+PONG\r\n", want: "PONG"},
		{name: "error", reply: "-ERR wrong\r\n", wantErr: Error("ERR wrong")},
		{name: "integer", reply: ":42\r\n", want: int64(42)},
		{name: "bulk string with CRLF inside", reply: "$4\r\na\r\nb\r\n", want: "a\r\nb"},
		{name: "null bulk string", reply: "$-1\r\n", want: nil},
		{name: "nested array", reply: "*2\r\n$1\r\n0\r\n*2\r\n+a\r\n:1\r\n", want: []any{"0", []any{"a", int64(1)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fakeServer(t, tt.reply)
			got, err := c.Do(context.Background(), "CMD", "arg")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestEscapeGlob(t *testing.T) {
	if got, want := escapeGlob(`a*b?c[d]e\f^`), `a\*b\?c\[d\]e\\f\^`; got != want {
		t.Fatalf("escapeGlob = %q, want %q", got, want)
	}
}

// fakeServer returns a Conn whose server checks the request and answers reply.
func fakeServer(tb testing.TB, reply string) *Conn {
	tb.Helper()
	client, server := net.Pipe()
	tb.Cleanup(func() { client.Close(); server.Close() })
	go func() {
		r := bufio.NewReader(server)
		want := "*2\r\n$3\r\nCMD\r\n$3\r\narg\r\n"
		buf := make([]byte, len(want))
		if _, err := io.ReadFull(r, buf); err != nil || string(buf) != want {
			server.Close()
			return
		}
		_ = server.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = server.Write([]byte(reply))
	}()
	return &Conn{c: client, r: bufio.NewReader(client)}
}
