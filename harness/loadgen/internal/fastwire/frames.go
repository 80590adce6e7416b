package fastwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// AppendJoin appends a join frame (a wire.ClientFrame); since may be nil.
func AppendJoin(dst []byte, ref, groupID, token string, since *wire.Position) []byte {
	dst = append(dst, `{"type":"`+wire.TypeJoin+`","ref":`...)
	dst = strconv.AppendQuote(dst, ref)
	dst = append(dst, `,"group_id":`...)
	dst = strconv.AppendQuote(dst, groupID)
	dst = append(dst, `,"token":`...)
	dst = strconv.AppendQuote(dst, token)
	if since != nil {
		dst = append(dst, `,"since":{"epoch":`...)
		dst = strconv.AppendQuote(dst, since.Epoch)
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, since.Offset, 10)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// AppendSend appends a send frame (a wire.ClientFrame). ref, groupID, clientMsgID and
// body must be plain ASCII without quotes or backslashes (the load generator makes them
// so); they are copied verbatim.
func AppendSend(dst []byte, ref, groupID, clientMsgID string, body []byte) []byte {
	dst = append(dst, `{"type":"`+wire.TypeSend+`","ref":"`...)
	dst = append(dst, ref...)
	dst = append(dst, `","group_id":"`...)
	dst = append(dst, groupID...)
	dst = append(dst, `","client_msg_id":"`...)
	dst = append(dst, clientMsgID...)
	dst = append(dst, `","body":"`...)
	dst = append(dst, body...)
	return append(dst, `"}`...)
}

// bodyPrefix starts every body the load generator sends; the send time follows it.
const bodyPrefix = "lg "

// AppendBody appends a message body of exactly size bytes (at least 24) that carries the
// send time, so the receiver can measure send→deliver latency on the same clock.
func AppendBody(dst []byte, sentAt time.Time, size int) []byte {
	start := len(dst)
	dst = append(dst, bodyPrefix...)
	dst = strconv.AppendInt(dst, sentAt.UnixNano(), 10)
	dst = append(dst, ' ')
	for len(dst)-start < size {
		dst = append(dst, 'x')
	}
	return dst
}

// SentAt returns the send time carried by a body made by AppendBody (zero if there is
// none).
func SentAt(body []byte) time.Time {
	rest, ok := bytes.CutPrefix(body, []byte(bodyPrefix))
	if !ok {
		return time.Time{}
	}
	n, ok := digits(rest)
	if !ok {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Type returns the frame's type without decoding it (nil if there is none). The server
// writes "type" first, so this is a short scan.
func Type(frame []byte) []byte {
	v, _ := stringField(frame, `"type":"`)
	return v
}

// ScannedMessage is what the load generator needs of a message frame.
type ScannedMessage struct {
	Epoch  []byte // aliases the frame
	Offset uint64
	// SentAt is the send time from the body (zero if the body is not the load
	// generator's).
	SentAt time.Time
}

// ParseMessage scans a message frame for its position and the body's send time.
func ParseMessage(frame []byte) (ScannedMessage, error) {
	var m ScannedMessage
	off, ok := numberField(frame, `"offset":`)
	if !ok {
		return m, fmt.Errorf("fastwire: message frame without offset: %.200s", frame)
	}
	m.Offset = off
	if m.Epoch, ok = stringField(frame, `"epoch":"`); !ok {
		return m, fmt.Errorf("fastwire: message frame without epoch: %.200s", frame)
	}
	if body, ok := stringField(frame, `"body":"`); ok {
		m.SentAt = SentAt(body)
	}
	return m, nil
}

// stringField returns the raw (still escaped) value of the first string field whose key
// and opening quote are key.
func stringField(frame []byte, key string) ([]byte, bool) {
	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		return nil, false
	}
	v := frame[i+len(key):]
	for j := 0; j < len(v); j++ {
		switch v[j] {
		case '\\':
			j++
		case '"':
			return v[:j], true
		}
	}
	return nil, false
}

func numberField(frame []byte, key string) (uint64, bool) {
	i := bytes.Index(frame, []byte(key))
	if i < 0 {
		return 0, false
	}
	n, ok := digits(frame[i+len(key):])
	return uint64(n), ok && n >= 0
}

// digits parses the decimal number at the start of b.
func digits(b []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(b) && i < 19 && b[i] >= '0' && b[i] <= '9'; i++ {
		n = n*10 + int64(b[i]-'0')
	}
	return n, i > 0
}

// ParseFrame decodes a frame other than a message in full (joined, ack, reset and error
// frames; presence and typing events decode too, though the load generator ignores them).
func ParseFrame(frame []byte) (wire.ServerFrame, error) {
	var f wire.ServerFrame
	if err := json.Unmarshal(frame, &f); err != nil {
		return f, fmt.Errorf("fastwire: decode %.200s: %w", frame, err)
	}
	return f, nil
}
