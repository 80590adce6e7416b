package redisconn

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/redis/rueidis"

	"github.com/quickchat-go/quickchat/pkg/tlsclient"
)

// Settings say how a service reaches Redis besides the addresses. The zero value is a
// plaintext connection without a password, as the dev stack needs.
type Settings struct {
	// Username is the Redis ACL user (default empty: the "default" user). It has no
	// envconfig tag on purpose: envconfig falls back to a tag's bare name, and a bare
	// USERNAME is set in many shells.
	Username string
	// Password is the ACL user's password, or the server's requirepass (default empty:
	// no AUTH). Untagged for the same reason as Username.
	Password string
	// TLS encrypts the connections (default false). Managed offerings with in-transit
	// encryption need it.
	TLS bool `envconfig:"TLS" default:"false"`
	// TLSCAFile is a PEM file of the certificate authorities trusted for the servers'
	// certificates (default: none, the system roots). Needs TLS.
	TLSCAFile string `envconfig:"TLS_CA_FILE"`
	// TLSCertFile and TLSKeyFile are a PEM client certificate and its key, for servers
	// that require one (tls-auth-clients; default: none). Both or neither; needs TLS.
	TLSCertFile string `envconfig:"TLS_CERT_FILE"`
	TLSKeyFile  string `envconfig:"TLS_KEY_FILE"`
	// TLSServerName is the name the servers' certificates must carry when it differs
	// from the host dialled (default: the host of each address, cluster nodes included).
	// Needs TLS.
	TLSServerName string `envconfig:"TLS_SERVER_NAME"`
}

// Validate checks the settings without reading any file. prefix is how the service names
// them, e.g. "REALTIME_REDIS", so each message names the variable to fix.
func (s Settings) Validate(prefix string) error {
	var errs []error
	tlsFiles := s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != "" || s.TLSServerName != ""
	if tlsFiles && !s.TLS {
		errs = append(errs, fmt.Errorf("%[1]s_TLS_CA_FILE, _CERT_FILE, _KEY_FILE and _SERVER_NAME need %[1]s_TLS=true", prefix))
	}
	if s.tlsFiles().Check() != nil {
		errs = append(errs, fmt.Errorf("%[1]s_TLS_CERT_FILE and %[1]s_TLS_KEY_FILE must be set together", prefix))
	}
	if s.Username != "" && s.Password == "" {
		errs = append(errs, fmt.Errorf("%[1]s_USERNAME needs %[1]s_PASSWORD", prefix))
	}
	return errors.Join(errs...)
}

func (s Settings) tlsFiles() tlsclient.Files {
	return tlsclient.Files{CAFile: s.TLSCAFile, CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile, ServerName: s.TLSServerName}
}

// ClientOption returns the rueidis options for addrs (one server, or Redis Cluster seeds)
// with these settings, reading the TLS files. Client-side caching stays off: Quick Chat
// reads nothing twice that it could cache.
func (s Settings) ClientOption(addrs []string) (rueidis.ClientOption, error) {
	opt := rueidis.ClientOption{InitAddress: addrs, Username: s.Username, Password: s.Password, DisableCache: true}
	if s.TLS {
		tc, err := s.tlsFiles().Config()
		if err != nil {
			return opt, fmt.Errorf("redis: TLS settings: %w", err)
		}
		opt.TLSConfig = tc
	}
	return opt, nil
}

// NewClient connects to Redis at addrs. rueidis connects and authenticates before it
// returns, so a wrong password, an untrusted certificate or a TLS mismatch stop the caller
// here, with an error that says which setting to look at.
func NewClient(addrs []string, s Settings) (rueidis.Client, error) {
	opt, err := s.ClientOption(addrs)
	if err != nil {
		return nil, err
	}
	client, err := rueidis.NewClient(opt)
	if err != nil {
		if hint := explain(err, s.TLS); hint != "" {
			err = fmt.Errorf("%s: %w", hint, err)
		}
		return nil, fmt.Errorf("redis: connect to %s: %w", strings.Join(addrs, ","), err)
	}
	return client, nil
}

// tlsNames are the settings a TLS hint names.
var tlsNames = tlsclient.Names{
	Enable: "REDIS_TLS", CAFile: "REDIS_TLS_CA_FILE", ServerName: "REDIS_TLS_SERVER_NAME",
	ClientCert: "REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE",
}

// Explain puts what err means in front of it when it shows a known reason for not getting
// through to Redis; other errors, and nil, are returned as they are.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	if hint := explain(err, false); hint != "" {
		return fmt.Errorf("%s: %w", hint, err)
	}
	return err
}

// explain returns what err means, or "". overTLS tells whether the connection used TLS:
// a connection the server drops means something else then.
func explain(err error, overTLS bool) string {
	if hint := tlsclient.Explain(err, tlsNames); hint != "" {
		return hint
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WRONGPASS"):
		return "authentication failed: wrong user name or password, or the user is disabled (check REDIS_USERNAME and REDIS_PASSWORD)"
	case strings.Contains(msg, "NOAUTH"):
		return "Redis requires a password (set REDIS_PASSWORD, and REDIS_USERNAME for an ACL user)"
	case strings.Contains(msg, "without any password configured"):
		return "Redis has no password, but one was given (unset REDIS_PASSWORD, or configure the user on the server)"
	case strings.Contains(msg, "NOPERM"):
		return "the ACL user may not run a command or touch a key Quick Chat needs (see the ACL in docs/operations.md)"
	case overTLS && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		// With TLS 1.3 the server checks the client's certificate after the client thinks
		// the handshake is done, and drops the connection if it has none it trusts.
		return "Redis dropped the TLS connection: it may require a client certificate it trusts (check REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE)"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		// What a TLS port does with a plaintext command.
		return "Redis closed the connection at once: a TLS port reached without TLS (check REDIS_TLS and the port)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "nothing listens at the Redis address"
	}
	return ""
}
