package chatclient

import (
	"encoding/json"

	"github.com/quickchat-go/quickchat/pkg/wire"
)

// Frame is a server frame as received: its fields (pkg/wire declares them; which are set
// depends on Type, see docs/protocol.md) and the bytes they were read from.
type Frame struct {
	wire.ServerFrame
	// Raw is the frame as received.
	Raw []byte `json:"-"`
}

func decodeFrame(data []byte) (Frame, error) {
	f := Frame{Raw: data}
	err := json.Unmarshal(data, &f.ServerFrame)
	return f, err
}
