package nodetest

import (
	"testing"

	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

func TestMemoryBroker(t *testing.T) {
	TestBroker(t, func(*testing.T) node.Broker { return NewMemoryBroker() })
}
