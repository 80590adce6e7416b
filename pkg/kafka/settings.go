package kafka

import (
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
	"github.com/quickchat-go/quickchat/pkg/scram"

	"github.com/quickchat-go/quickchat/pkg/tlsclient"
)

// The SASL mechanisms Settings accepts, spelled as Kafka and the managed offerings spell
// them.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// Settings say how a service reaches its Kafka brokers and what it does about its topics.
// A service nests it under KAFKA_ (envconfig), so the variables read REALTIME_KAFKA_TLS,
// PERSISTER_KAFKA_SASL_PASSWORD and so on. The zero value is a plaintext connection
// without authentication that creates missing topics, as the single-broker dev stack
// needs.
type Settings struct {
	// TLS encrypts the connections to the brokers (default false). Every managed
	// offering needs it.
	TLS bool `envconfig:"TLS" default:"false"`
	// TLSCAFile is a PEM file of the certificate authorities trusted for the brokers'
	// certificates (default: none, the system roots). Needs TLS.
	TLSCAFile string `envconfig:"TLS_CA_FILE"`
	// TLSCertFile and TLSKeyFile are a PEM client certificate and its key, for brokers
	// that authenticate clients by certificate (mutual TLS; default: none). Both or
	// neither; needs TLS.
	TLSCertFile string `envconfig:"TLS_CERT_FILE"`
	TLSKeyFile  string `envconfig:"TLS_KEY_FILE"`
	// TLSServerName is the name the brokers' certificates must carry when it differs
	// from the host names in the broker addresses (default: each broker's host name).
	// Needs TLS.
	TLSServerName string `envconfig:"TLS_SERVER_NAME"`

	// SASLMechanism authenticates with SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	// (default empty: no SASL). It needs TLS unless SASLWithoutTLS is set.
	SASLMechanism string `envconfig:"SASL_MECHANISM"`
	// SASLUsername and SASLPassword are the SASL credentials (an API key and secret on
	// Confluent Cloud); both are required with SASLMechanism.
	SASLUsername string `envconfig:"SASL_USERNAME"`
	SASLPassword string `envconfig:"SASL_PASSWORD"`
	// SASLWithoutTLS allows SASL over a plaintext connection (default false), where
	// PLAIN sends the password in clear and no mechanism authenticates the broker. Only
	// for a private network you trust.
	SASLWithoutTLS bool `envconfig:"SASL_WITHOUT_TLS" default:"false"`

	// TopicReplication is the replication factor of topics this service creates
	// (default 0: as many replicas as the cluster has brokers, at most 3; -1: the
	// brokers' default.replication.factor).
	TopicReplication int16 `envconfig:"TOPIC_REPLICATION" default:"0"`
	// TopicMinInsync is the min.insync.replicas of topics this service creates: how many
	// replicas must have a record before the producer's acknowledgement (default 0: one
	// less than the replication factor, at least 1; with TopicReplication -1 the brokers'
	// default).
	TopicMinInsync int `envconfig:"TOPIC_MIN_INSYNC" default:"0"`
	// TopicManaged means the topics are created outside Quick Chat (by Terraform, a
	// platform team, a console); the service never creates one and refuses to start
	// when its topic does not exist (default false).
	TopicManaged bool `envconfig:"TOPIC_MANAGED" default:"false"`
}

// Validate checks the settings without reading any file. prefix is how the service names
// them, e.g. "REALTIME_KAFKA", so each message names the variable to fix.
func (s Settings) Validate(prefix string) error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	tlsFiles := s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != "" || s.TLSServerName != ""
	check(s.TLS || !tlsFiles, "%[1]s_TLS_CA_FILE, _CERT_FILE, _KEY_FILE and _SERVER_NAME need %[1]s_TLS=true", prefix)
	check(s.tlsFiles().Check() == nil, "%[1]s_TLS_CERT_FILE and %[1]s_TLS_KEY_FILE must be set together", prefix)
	if s.SASLMechanism == "" {
		check(s.SASLUsername == "" && s.SASLPassword == "", "%[1]s_SASL_USERNAME and %[1]s_SASL_PASSWORD need %[1]s_SASL_MECHANISM", prefix)
	} else {
		_, err := mechanism(s.SASLMechanism)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s_SASL_MECHANISM: %w", prefix, err))
		}
		check(s.SASLUsername != "" && s.SASLPassword != "", "%[1]s_SASL_MECHANISM needs %[1]s_SASL_USERNAME and %[1]s_SASL_PASSWORD", prefix)
		check(s.TLS || s.SASLWithoutTLS,
			"%[1]s_SASL_MECHANISM needs %[1]s_TLS=true: without TLS the credentials cross the network unprotected (set %[1]s_SASL_WITHOUT_TLS=true to allow it on a network you trust)", prefix)
	}
	check(s.TopicReplication >= -1, "%s_TOPIC_REPLICATION must be -1 (the brokers' default), 0 (automatic) or a replica count", prefix)
	check(s.TopicMinInsync >= 0, "%s_TOPIC_MIN_INSYNC must be 0 (automatic) or a replica count", prefix)
	check(s.TopicReplication <= 0 || s.TopicMinInsync <= int(s.TopicReplication),
		"%[1]s_TOPIC_MIN_INSYNC must not exceed %[1]s_TOPIC_REPLICATION, or no write could ever be acknowledged", prefix)
	return errors.Join(errs...)
}

func (s Settings) tlsFiles() tlsclient.Files {
	return tlsclient.Files{CAFile: s.TLSCAFile, CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile, ServerName: s.TLSServerName}
}

// mechanism maps a mechanism's name, in any case, to Sarama's.
func mechanism(name string) (sarama.SASLMechanism, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case MechanismPlain:
		return sarama.SASLTypePlaintext, nil
	case MechanismSCRAMSHA256:
		return sarama.SASLTypeSCRAMSHA256, nil
	case MechanismSCRAMSHA512:
		return sarama.SASLTypeSCRAMSHA512, nil
	}
	return "", fmt.Errorf("unknown SASL mechanism %q: want %s, %s or %s", name, MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512)
}

// Configure applies the connection settings (TLS, SASL) to c, reading the TLS files.
// Every Sarama client a service makes goes through it.
func (s Settings) Configure(c *sarama.Config) error {
	if s.TLS {
		tc, err := s.tlsFiles().Config()
		if err != nil {
			return fmt.Errorf("kafka: TLS settings: %w", err)
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = tc
	}
	if s.SASLMechanism == "" {
		return nil
	}
	mech, err := mechanism(s.SASLMechanism)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	c.Net.SASL.Enable = true
	c.Net.SASL.Handshake = true
	c.Net.SASL.Mechanism = mech
	c.Net.SASL.User = s.SASLUsername
	c.Net.SASL.Password = s.SASLPassword
	switch mech {
	case sarama.SASLTypeSCRAMSHA256:
		c.Net.SASL.SCRAMClientGeneratorFunc = scram.SHA256
	case sarama.SASLTypeSCRAMSHA512:
		c.Net.SASL.SCRAMClientGeneratorFunc = scram.SHA512
	}
	return nil
}

// NewConfig returns NewConfig(clientID) with the connection settings applied.
func (s Settings) NewConfig(clientID string) (*sarama.Config, error) {
	c := NewConfig(clientID)
	if err := s.Configure(c); err != nil {
		return nil, err
	}
	return c, nil
}

// NewDurableProducerConfig returns NewDurableProducerConfig(clientID) with the connection
// settings applied.
func (s Settings) NewDurableProducerConfig(clientID string) (*sarama.Config, error) {
	c := NewDurableProducerConfig(clientID)
	if err := s.Configure(c); err != nil {
		return nil, err
	}
	return c, nil
}
