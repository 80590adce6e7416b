package devstack

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/quickchat-go/quickchat/pkg/token"
)

// ServiceNames are the Quick Chat services a System runs.
var ServiceNames = []string{"gateway", "realtime", "persister"}

// BuildServices compiles the services of the workspace into outDir and returns the path of
// each binary by service name.
func BuildServices(ctx context.Context, outDir string) (map[string]string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, fmt.Errorf("build services: %w", err)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, fmt.Errorf("build services: %w", err)
	}
	bins := map[string]string{}
	args := []string{"build", "-o", outDir + string(filepath.Separator)}
	for _, name := range ServiceNames {
		args = append(args, "./services/"+name)
		bins[name] = filepath.Join(outDir, name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build services: %w\n%s", err, out)
	}
	return bins, nil
}

// SystemConfig configures StartSystem. The zero value runs everything on free ports.
type SystemConfig struct {
	// Dir holds logs, binaries and the signing key; empty means a temporary directory.
	Dir string
	// Stack provides PostgreSQL, Redis and Kafka. When nil, DatabaseURL, RedisAddr and
	// KafkaBrokers name servers that already run (e.g. from package testenv); when those
	// are empty too, a new Stack is started under Dir.
	Stack        *Stack
	DatabaseURL  string
	RedisAddr    string
	KafkaBrokers []string
	// Binaries maps service name to a built binary; nil builds them into Dir/bin.
	Binaries map[string]string
	// Realtimes and Persisters are the instance counts (defaults 2 and 1).
	Realtimes, Persisters int
	// GatewayPort and RealtimePorts fix ports (0 or missing = a free port).
	GatewayPort   int
	RealtimePorts []int
	// Topic, RedisPrefix and Database isolate this system on shared servers (defaults
	// "chat-messages", "qc:", and the Stack's own database; Database applies to a Stack).
	Topic, RedisPrefix, Database string
	// Env adds KEY=VALUE settings to every service (each reads only its own prefix).
	Env []string
	// Kafka configures the broker of a Stack the System starts itself.
	Kafka KafkaConfig
}

// System is a running Quick Chat: infrastructure plus every service process.
type System struct {
	Stack     *Stack
	Gateway   *Service
	Realtime  []*Service
	Persister []*Service
	// GatewayURL is the gateway's base URL, e.g. http://127.0.0.1:8080.
	GatewayURL string
	// RealtimeURLs are the WebSocket URLs of the realtime instances.
	RealtimeURLs []string
	// DatabaseURL is the database the services use.
	DatabaseURL string

	ownStack bool
	tempDir  string
}

// StartSystem starts (or reuses) the Stack, then the gateway (which migrates the database),
// the realtime instances and the persisters, each waited for until ready.
func StartSystem(ctx context.Context, cfg SystemConfig) (sys *System, err error) {
	if cfg.Realtimes <= 0 {
		cfg.Realtimes = 2
	}
	if cfg.Persisters <= 0 {
		cfg.Persisters = 1
	}
	if cfg.Topic == "" {
		cfg.Topic = "chat-messages"
	}
	if cfg.RedisPrefix == "" {
		cfg.RedisPrefix = "qc:"
	}
	sys = &System{Stack: cfg.Stack}
	if cfg.Dir == "" {
		if cfg.Dir, err = os.MkdirTemp("", tempPrefix+"system-"); err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		sys.tempDir = cfg.Dir
	}
	defer func() {
		if err != nil {
			_ = sys.Close(context.WithoutCancel(ctx))
			sys = nil
		}
	}()
	external := cfg.DatabaseURL != "" || cfg.RedisAddr != "" || len(cfg.KafkaBrokers) > 0
	if external && (cfg.DatabaseURL == "" || cfg.RedisAddr == "" || len(cfg.KafkaBrokers) == 0) {
		return sys, errors.New("system: DatabaseURL, RedisAddr and KafkaBrokers must be given together")
	}
	if sys.Stack == nil && !external {
		if sys.Stack, err = StartStack(ctx, StackConfig{Dir: filepath.Join(cfg.Dir, "stack"), Kafka: cfg.Kafka}); err != nil {
			return sys, err
		}
		sys.ownStack = true
	}
	if cfg.Binaries == nil {
		if cfg.Binaries, err = BuildServices(ctx, filepath.Join(cfg.Dir, "bin")); err != nil {
			return sys, err
		}
	}
	redis, kafka := cfg.RedisAddr, strings.Join(cfg.KafkaBrokers, ",")
	sys.DatabaseURL = cfg.DatabaseURL
	if sys.Stack != nil {
		redis, kafka = sys.Stack.Redis.Addr(), strings.Join(sys.Stack.Kafka.Brokers(), ",")
		sys.DatabaseURL = sys.Stack.Postgres.URL()
		if cfg.Database != "" {
			if sys.DatabaseURL, err = sys.Stack.Postgres.CreateDatabase(ctx, cfg.Database); err != nil {
				return sys, err
			}
		}
	}
	keyFile, err := signingKeyFile(cfg.Dir)
	if err != nil {
		return sys, err
	}
	ports, err := pickPorts(cfg)
	if err != nil {
		return sys, err
	}
	logDir := filepath.Join(cfg.Dir, "logs")

	sys.GatewayURL = fmt.Sprintf("http://127.0.0.1:%d", ports.gateway)
	opsURL := func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d", port) }
	for _, p := range ports.realtime {
		sys.RealtimeURLs = append(sys.RealtimeURLs, fmt.Sprintf("ws://127.0.0.1:%d/ws", p))
	}
	gwEnv := append([]string{
		fmt.Sprintf("GATEWAY_ADDR=127.0.0.1:%d", ports.gateway),
		fmt.Sprintf("GATEWAY_OPS_ADDR=127.0.0.1:%d", ports.gatewayOps),
		"GATEWAY_DATABASE_URL=" + sys.DatabaseURL,
		// The gateway ends memberships in realtime's Redis, so it names the same keys.
		"GATEWAY_REDIS_ADDR=" + redis,
		"GATEWAY_REDIS_PREFIX=" + cfg.RedisPrefix,
		"GATEWAY_MIGRATE_ON_START=true",
		"GATEWAY_SIGNING_KEY_FILE=" + keyFile,
		"GATEWAY_PUBLIC_REALTIME_URL=" + strings.Join(sys.RealtimeURLs, ","),
		"GATEWAY_COOKIE_SECURE=false",
	}, append(stackS3Env(sys.Stack), cfg.Env...)...)
	for _, kv := range cfg.Env {
		if shards, ok := strings.CutPrefix(kv, "REALTIME_STREAM_SHARDS="); ok {
			gwEnv = append(gwEnv, "GATEWAY_REDIS_SHARDS="+shards)
		}
	}
	if sys.Gateway, err = StartService(ctx, ServiceConfig{
		Name: "gateway", Binary: cfg.Binaries["gateway"], Env: gwEnv, Dir: logDir,
		ReadyURL: opsURL(ports.gatewayOps) + "/readyz", OpsURL: opsURL(ports.gatewayOps),
	}); err != nil {
		return sys, err
	}

	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	start := func(sc ServiceConfig, into *[]*Service, i int) {
		defer wg.Done()
		s, err := StartService(ctx, sc)
		mu.Lock()
		defer mu.Unlock()
		(*into)[i] = s
		errs = append(errs, err)
	}
	sys.Realtime = make([]*Service, cfg.Realtimes)
	sys.Persister = make([]*Service, cfg.Persisters)
	for i, port := range ports.realtime {
		wg.Add(1)
		go start(ServiceConfig{
			Name: fmt.Sprintf("realtime-%d", i+1), Binary: cfg.Binaries["realtime"], Dir: logDir,
			ReadyURL: opsURL(ports.realtimeOps[i]) + "/readyz", OpsURL: opsURL(ports.realtimeOps[i]),
			Env: append([]string{
				fmt.Sprintf("REALTIME_ADDR=127.0.0.1:%d", port),
				fmt.Sprintf("REALTIME_OPS_ADDR=127.0.0.1:%d", ports.realtimeOps[i]),
				fmt.Sprintf("REALTIME_INSTANCE_ID=realtime-%d", i+1),
				"REALTIME_JWKS_URL=" + sys.GatewayURL + "/.well-known/jwks.json",
				"REALTIME_REDIS_ADDRS=" + redis,
				"REALTIME_REDIS_PREFIX=" + cfg.RedisPrefix,
				"REALTIME_KAFKA_BROKERS=" + kafka,
				"REALTIME_KAFKA_TOPIC=" + cfg.Topic,
			}, cfg.Env...),
		}, &sys.Realtime, i)
	}
	for i, port := range ports.persister {
		wg.Add(1)
		go start(ServiceConfig{
			Name: fmt.Sprintf("persister-%d", i+1), Binary: cfg.Binaries["persister"], Dir: logDir,
			ReadyURL: opsURL(port) + "/readyz", OpsURL: opsURL(port),
			Env: append([]string{
				fmt.Sprintf("PERSISTER_OPS_ADDR=127.0.0.1:%d", port),
				"PERSISTER_DATABASE_URL=" + sys.DatabaseURL,
				"PERSISTER_KAFKA_BROKERS=" + kafka,
				"PERSISTER_KAFKA_TOPIC=" + cfg.Topic,
				"PERSISTER_KAFKA_GROUP=persister-" + cfg.Topic,
			}, cfg.Env...),
		}, &sys.Persister, i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return sys, err
	}
	return sys, nil
}

// stackS3Env is the gateway's object store of attachments on the stack's S3 server, none
// without one (a system on servers from the environment gets it through SystemConfig.Env).
func stackS3Env(st *Stack) []string {
	if st == nil || st.S3 == nil {
		return nil
	}
	return st.S3.GatewayEnv(st.S3.Bucket())
}

// systemPorts are the services' listen ports; every service has an ops port of its own
// besides its public one (the persister has only the ops one).
type systemPorts struct {
	gateway, gatewayOps   int
	realtime, realtimeOps []int
	persister             []int
}

func pickPorts(cfg SystemConfig) (systemPorts, error) {
	var p systemPorts
	var err error
	free := func(fixed int) int {
		if fixed > 0 || err != nil {
			return fixed
		}
		var port int
		port, err = FreePort()
		return port
	}
	p.gateway = free(cfg.GatewayPort)
	p.gatewayOps = free(0)
	for i := 0; i < cfg.Realtimes; i++ {
		fixed := 0
		if i < len(cfg.RealtimePorts) {
			fixed = cfg.RealtimePorts[i]
		}
		p.realtime = append(p.realtime, free(fixed))
		p.realtimeOps = append(p.realtimeOps, free(0))
	}
	for i := 0; i < cfg.Persisters; i++ {
		p.persister = append(p.persister, free(0))
	}
	if err != nil {
		return p, fmt.Errorf("system: pick ports: %w", err)
	}
	return p, nil
}

// signingKeyFile returns Dir/signing-key.pem, creating a fresh key the first time, so a
// restarted gateway keeps issuing tokens the realtime instances already trust.
func signingKeyFile(dir string) (string, error) {
	path := filepath.Join(dir, "signing-key.pem")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	k, err := token.GenerateKey()
	if err != nil {
		return "", err
	}
	pemData, err := token.EncodePEMKey(k)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("system: %w", err)
	}
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		return "", fmt.Errorf("system: write signing key: %w", err)
	}
	return path, nil
}

// Services returns every service process, gateway first.
func (s *System) Services() []*Service {
	all := []*Service{s.Gateway}
	all = append(all, s.Realtime...)
	all = append(all, s.Persister...)
	out := all[:0]
	for _, svc := range all {
		if svc != nil {
			out = append(out, svc)
		}
	}
	return out
}

// Close stops every service gracefully, then the Stack if the System started it.
func (s *System) Close(ctx context.Context) error {
	var errs []error
	// Realtime first so in-flight sends finish while Kafka and the gateway are still up.
	for _, group := range [][]*Service{s.Realtime, s.Persister, {s.Gateway}} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, svc := range group {
			if svc == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := svc.Stop(ctx); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
	}
	if s.ownStack && s.Stack != nil {
		errs = append(errs, s.Stack.Close())
	}
	if s.tempDir != "" {
		errs = append(errs, os.RemoveAll(s.tempDir))
	}
	return errors.Join(errs...)
}
