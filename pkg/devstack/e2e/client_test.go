package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// api calls the gateway's JSON API and decodes the answer into out (when not nil),
// failing the test unless the status is want.
func api(tb testing.TB, method, url, bearer string, body any, want int, out any) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		tb.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", method, url, data, err)
		}
	}
}

// frame is any server frame; tests look only at the fields they need.
type frame struct {
	Type    string `json:"type"`
	Ref     string `json:"ref"`
	GroupID string `json:"group_id"`
	ID      string `json:"id"`
	Epoch   string `json:"epoch"`
	Offset  uint64 `json:"offset"`
	Code    string `json:"code"`
	Message *struct {
		ID          string `json:"id"`
		SenderName  string `json:"sender_name"`
		ClientMsgID string `json:"client_msg_id"`
		Body        string `json:"body"`
	} `json:"message"`
}

// wsClient is a minimal protocol client for tests.
type wsClient struct {
	tb   testing.TB
	conn *websocket.Conn
	refs int
}

func dial(tb testing.TB, url string) *wsClient {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		tb.Fatalf("dial %s: %v", url, err)
	}
	tb.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{tb: tb, conn: c}
}

func (c *wsClient) write(v map[string]any) string {
	c.tb.Helper()
	c.refs++
	ref := fmt.Sprint(c.refs)
	v["ref"] = ref
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
	return ref
}

// next returns the next frame of one of the given types, skipping others (presence,
// typing), and fails on an error frame.
func (c *wsClient) next(types ...string) frame {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			c.tb.Fatalf("read (waiting for %v): %v", types, err)
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.tb.Fatalf("undecodable frame %s: %v", data, err)
		}
		if f.Type == "error" {
			c.tb.Fatalf("error frame while waiting for %v: %s", types, data)
		}
		for _, t := range types {
			if f.Type == t {
				return f
			}
		}
	}
}

func (c *wsClient) join(group, token string) frame {
	c.tb.Helper()
	c.write(map[string]any{"type": "join", "group_id": group, "token": token})
	return c.next("joined")
}

func (c *wsClient) send(group, clientID, body string) frame {
	c.tb.Helper()
	c.write(map[string]any{"type": "send", "group_id": group, "client_msg_id": clientID, "body": body})
	return c.next("ack")
}
