// Package scram signs Sarama's Kafka clients in with SASL/SCRAM (RFC 5802), on
// xdg-go/scram, the implementation Sarama's own example uses.
package scram

import (
	"fmt"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"
)

// SHA256 and SHA512 make a conversation for SCRAM-SHA-256 and SCRAM-SHA-512; they are
// what sarama.Config's Net.SASL.SCRAMClientGeneratorFunc takes.
func SHA256() sarama.SCRAMClient { return &client{hash: scram.SHA256} }

// SHA512 makes a SCRAM-SHA-512 conversation (see SHA256).
func SHA512() sarama.SCRAMClient { return &client{hash: scram.SHA512} }

// client runs one SCRAM exchange; Sarama makes a new one for every connection it
// authenticates.
type client struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

var _ sarama.SCRAMClient = (*client)(nil)

// Begin prepares the exchange for a user (the name and password are SASLprepped, as
// RFC 5802 asks).
func (c *client) Begin(user, password, authzID string) error {
	client, err := c.hash.NewClient(user, password, authzID)
	if err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	c.conv = client.NewConversation()
	return nil
}

// Step answers the broker's challenge ("" for the first message). It fails when the
// broker's final message does not prove that it knows the password too.
func (c *client) Step(challenge string) (string, error) {
	if c.conv == nil {
		return "", fmt.Errorf("scram: Step before Begin")
	}
	return c.conv.Step(challenge)
}

// Done reports whether the exchange is over.
func (c *client) Done() bool { return c.conv != nil && c.conv.Done() }
