package scram

import (
	"crypto/sha256"
	"testing"

	"github.com/xdg-go/scram"
)

// TestSCRAMClientCompletesAnExchangeOnlyWithTheRightPassword runs the adapter against
// xdg-go/scram's server side, the same library the brokers' SCRAM is checked against in
// its own tests.
func TestSCRAMClientCompletesAnExchangeOnlyWithTheRightPassword(t *testing.T) {
	stored := func(password string) scram.StoredCredentials {
		c, err := scram.SHA256.NewClient("ada", password, "")
		if err != nil {
			t.Fatal(err)
		}
		return c.GetStoredCredentials(scram.KeyFactors{Salt: "NaCl-salt", Iters: 4096})
	}
	server, err := scram.SHA256.NewServer(func(user string) (scram.StoredCredentials, error) { return stored("right"), nil })
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		password string
		ok       bool
	}{{"the right password completes", "right", true}, {"a wrong password is refused", "wrong", false}} {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{hash: scram.HashGeneratorFcn(sha256.New)}
			if err := c.Begin("ada", tt.password, ""); err != nil {
				t.Fatal(err)
			}
			conv := server.NewConversation()
			msg, err := c.Step("")
			for err == nil && !c.Done() {
				var challenge string
				if challenge, err = conv.Step(msg); err != nil {
					break
				}
				msg, err = c.Step(challenge)
			}
			ok := err == nil && c.Done() && conv.Valid()
			if ok != tt.ok {
				t.Fatalf("exchange ok = %v (err %v), want %v", ok, err, tt.ok)
			}
		})
	}
}
