package ws

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
)

// Buffer sizes of an upgraded connection. net/http hands a hijacked connection its 4 KiB
// read and write buffers, which the WebSocket library keeps for the connection's life:
// with tens of thousands of mostly idle connections that is most of their memory. Client
// frames are small, larger reads bypass the buffer, and a server frame larger than the
// write buffer costs one more write call, so small buffers lose nothing that matters.
const (
	readBufferSize  = 512
	writeBufferSize = 1024
)

// smallBuffers is a ResponseWriter whose Hijack swaps net/http's buffers for small ones.
type smallBuffers struct {
	http.ResponseWriter
}

// Hijack implements http.Hijacker.
func (s smallBuffers) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	if err != nil {
		return nc, brw, err
	}
	n := brw.Reader.Buffered()
	if n == 0 {
		return nc, bufio.NewReadWriter(bufio.NewReaderSize(nc, readBufferSize), bufio.NewWriterSize(nc, writeBufferSize)), nil
	}
	// A client may send its first frame right behind the handshake; net/http has read
	// those bytes already. They must stay buffered in the new reader: the WebSocket library
	// keeps what is buffered and resets the reader onto the socket.
	buffered, _ := brw.Reader.Peek(n) // n bytes are buffered: Peek cannot fail
	early := bytes.Clone(buffered)
	br := bufio.NewReaderSize(io.MultiReader(bytes.NewReader(early), nc), max(readBufferSize, n))
	if _, err := br.Peek(n); err != nil {
		_ = nc.Close()
		return nil, nil, fmt.Errorf("ws: keep early bytes: %w", err)
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriterSize(nc, writeBufferSize)), nil
}

// Unwrap lets http.ResponseController reach the server's ResponseWriter.
func (s smallBuffers) Unwrap() http.ResponseWriter { return s.ResponseWriter }
