package resp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Error is an error reply from the server ("-ERR ...").
type Error string

func (e Error) Error() string { return "redis: " + string(e) }

// Conn is one connection to a Redis server. It is not safe for concurrent use.
type Conn struct {
	c net.Conn
	r *bufio.Reader
}

// Dial connects to addr ("host:port").
func Dial(ctx context.Context, addr string) (*Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("resp: dial %s: %w", addr, err)
	}
	return &Conn{c: c, r: bufio.NewReader(c)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Do sends one command and reads its reply: a string for simple and bulk strings, nil for
// a null reply, int64 for integers, []any for arrays, and an Error for error replies.
// ctx's deadline, if any, bounds the round trip.
func (c *Conn) Do(ctx context.Context, args ...string) (any, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(30 * time.Second)
	}
	if err := c.c.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("resp: set deadline: %w", err)
	}
	buf := []byte("*" + strconv.Itoa(len(args)) + "\r\n")
	for _, a := range args {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, "\r\n"...)
		buf = append(buf, a...)
		buf = append(buf, "\r\n"...)
	}
	if _, err := c.c.Write(buf); err != nil {
		return nil, fmt.Errorf("resp: write %s: %w", args[0], err)
	}
	v, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("resp: read reply to %s: %w", args[0], err)
	}
	if e, ok := v.(Error); ok {
		return nil, e
	}
	return v, nil
}

func (c *Conn) read() (any, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("malformed line %q", line)
	}
	kind, body := line[0], line[1:len(line)-2]
	switch kind {
	case '+':
		return body, nil
	case '-':
		return Error(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("bad bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("bad array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		out := make([]any, n)
		for i := range out {
			if out[i], err = c.read(); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return nil, errors.New("unknown reply type " + strconv.Quote(string(kind)))
	}
}

// Do dials addr, runs one command and closes the connection.
func Do(ctx context.Context, addr string, args ...string) (any, error) {
	c, err := Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.Do(ctx, args...)
}

// DeletePrefix removes every key starting with prefix, using SCAN so it never blocks the
// server, and returns how many keys it deleted.
func DeletePrefix(ctx context.Context, addr, prefix string) (int, error) {
	c, err := Dial(ctx, addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	deleted, cursor := 0, "0"
	for {
		v, err := c.Do(ctx, "SCAN", cursor, "MATCH", escapeGlob(prefix)+"*", "COUNT", "1000")
		if err != nil {
			return deleted, err
		}
		arr, ok := v.([]any)
		if !ok || len(arr) != 2 {
			return deleted, fmt.Errorf("resp: unexpected SCAN reply %v", v)
		}
		cursor, _ = arr[0].(string)
		keys, _ := arr[1].([]any)
		if len(keys) > 0 {
			args := []string{"UNLINK"}
			for _, k := range keys {
				s, _ := k.(string)
				args = append(args, s)
			}
			n, err := c.Do(ctx, args...)
			if err != nil {
				return deleted, err
			}
			if n, ok := n.(int64); ok {
				deleted += int(n)
			}
		}
		if cursor == "0" || cursor == "" {
			return deleted, nil
		}
	}
}

// escapeGlob escapes the characters Redis' MATCH treats as patterns.
func escapeGlob(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\', '^':
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}
