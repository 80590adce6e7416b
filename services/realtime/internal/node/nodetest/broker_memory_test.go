package nodetest

import (
	"testing"

	"github.com/quickchat-go/quickchat/services/realtime/internal/node"
)

func TestMemoryBroker(t *testing.T) {
	TestBroker(t, func(*testing.T) node.Broker { return NewMemoryBroker() })
}

func TestMemoryBrokerRevocation(t *testing.T) {
	TestRevocation(t, func(*testing.T) (node.Broker, Revoke) {
		b := NewMemoryBroker()
		return b, func(_ *testing.T, room string, members ...string) { b.Revoke(room, members...) }
	})
}
