package kafka

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/IBM/sarama"

	"github.com/quickchat-go/quickchat/pkg/tlsclient"
)

// tlsNames are the settings a TLS hint names.
var tlsNames = tlsclient.Names{
	Enable: "KAFKA_TLS", CAFile: "KAFKA_TLS_CA_FILE", ServerName: "KAFKA_TLS_SERVER_NAME",
	ClientCert: "KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE",
}

// Explain puts what err means in front of it when it shows a known reason for not getting
// through to the brokers (TLS, SASL, a wrong port), so a service that cannot start says
// which setting to fix. The result is one line: Sarama joins its brokers' errors with
// newlines, which would split a log line. Nil is returned as it is.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	return &explained{hint: explain(err), err: err}
}

// explained is an error with what it means in front, on one line.
type explained struct {
	hint string
	err  error
}

func (e *explained) Error() string {
	msg := strings.Join(strings.Fields(strings.ReplaceAll(e.err.Error(), "\n", "; ")), " ")
	if e.hint == "" {
		return msg
	}
	return e.hint + ": " + msg
}

func (e *explained) Unwrap() error { return e.err }

// connectError explains why a client could not reach the brokers. Sarama's client keeps
// only some of its brokers' errors (a refused SASL handshake leaves none), so when what it
// kept explains nothing, each broker is opened once more on its own with cfg and asked.
func connectError(brokers []string, cfg *sarama.Config, err error) error {
	if explain(err) != "" {
		return Explain(err)
	}
	for _, addr := range brokers {
		b := sarama.NewBroker(addr)
		if b.Open(cfg) != nil {
			continue
		}
		// Connected waits for the connection attempt Open started.
		_, cerr := b.Connected()
		_ = b.Close()
		if cerr == nil {
			continue
		}
		if hint := explain(cerr); hint != "" {
			return &explained{hint: hint, err: fmt.Errorf("%w (broker %s: %v)", err, addr, cerr)}
		}
	}
	return Explain(err)
}

func explain(err error) string {
	if hint := tlsclient.Explain(err, tlsNames); hint != "" {
		return hint
	}
	switch {
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed):
		return "SASL authentication failed: wrong user name or password, or no credentials for this mechanism (check KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD and KAFKA_SASL_MECHANISM)"
	case errors.Is(err, sarama.ErrUnsupportedSASLMechanism):
		return "the brokers do not enable this SASL mechanism on this listener (check KAFKA_SASL_MECHANISM)"
	case errors.Is(err, sarama.ErrIllegalSASLState):
		return "the listener does not take SASL (check KAFKA_SASL_MECHANISM and the port)"
	case errors.Is(err, sarama.ErrClusterAuthorizationFailed), errors.Is(err, sarama.ErrTopicAuthorizationFailed):
		return "authenticated but not authorized (check the user's ACLs)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		// What a Kafka listener does with bytes it cannot make sense of.
		return "the brokers closed the connection at once: a TLS listener reached without TLS, a plaintext one with TLS, or a SASL listener without SASL (check KAFKA_TLS, KAFKA_SASL_MECHANISM and the port)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens at the broker address (check KAFKA_BROKERS)"
	}
	return ""
}
