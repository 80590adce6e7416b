package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
)

// WeedVersion is the SeaweedFS module version whose `weed` binary .ci/install-deps.sh builds
// into <repo>/.dev/bin/weed (a pseudo-version of its main branch, Apache-2.0).
const WeedVersion = "v0.0.0-20261109003541-7506e5f91cd6"

// DefaultS3Bucket is the bucket StartS3 creates when S3Config.Bucket is empty.
const DefaultS3Bucket = "quickchat-attachments"

// S3Region is the region the server answers for; SeaweedFS accepts any, clients must name
// one to sign.
const S3Region = "us-east-1"

// S3Config configures StartS3. The zero value is ready to use.
type S3Config struct {
	// Dir holds the data ("data"), the credentials file ("s3.json") and the log
	// ("weed.log"). Existing data is reused. Empty means a new temporary directory, which
	// Close removes.
	Dir string
	// Port is the S3 API's TCP port on 127.0.0.1. Default 0: a free port. The server's
	// other ports (master, volume, filer and their gRPC ports) are always free ones.
	Port int
	// Bucket is created at start if missing. Default DefaultS3Bucket.
	Bucket string
	// AccessKey and SecretKey are the one identity the server knows (it may do anything).
	// Default: random ones, new at each StartS3.
	AccessKey, SecretKey string
	// AllowedOrigins are the browser origins the S3 API answers CORS requests from, as
	// SeaweedFS's -s3.allowedOrigins takes them. Default "*": any origin, since the
	// browser's uploads and downloads are signed URLs, never ambient credentials.
	AllowedOrigins string
	// StopTimeout bounds a graceful shutdown before the server is killed. Default 5s: a
	// `weed server` does not always exit on SIGTERM, and its stores survive a kill.
	StopTimeout time.Duration
}

// s3ReadyTimeout bounds how long a start waits for the bucket to answer.
const s3ReadyTimeout = 60 * time.Second

// S3 is a SeaweedFS server (master, volume server, filer and S3 gateway in one `weed
// server` process) started by StartS3. Its methods are safe for concurrent use.
type S3 struct {
	cfg     S3Config
	dir     string
	created bool
	bin     string
	logPath string
	// ports of the server's other parts, picked once so a restart reuses them.
	master, masterGRPC, volume, volumeGRPC, filer, filerGRPC, s3GRPC int

	slot slot
}

// StartS3 starts SeaweedFS on 127.0.0.1 with its S3 API on cfg.Port, authenticating one
// identity, and waits until the bucket exists and answers a signed request.
func StartS3(ctx context.Context, cfg S3Config) (*S3, error) {
	if cfg.StopTimeout == 0 {
		cfg.StopTimeout = 5 * time.Second
	}
	if cfg.Bucket == "" {
		cfg.Bucket = DefaultS3Bucket
	}
	if cfg.AllowedOrigins == "" {
		cfg.AllowedOrigins = "*"
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		cfg.AccessKey, cfg.SecretKey = "qc"+randomHex(8), randomHex(20)
	}
	bin, err := findWeed()
	if err != nil {
		return nil, err
	}
	dir, created, err := serverDir(cfg.Dir, "s3")
	if err != nil {
		return nil, err
	}
	s := &S3{slot: slot{name: "s3"}, cfg: cfg, dir: dir, created: created, bin: bin, logPath: filepath.Join(dir, "weed.log")}
	if err := os.MkdirAll(s.dataDir(), 0o755); err != nil {
		s.removeDir()
		return nil, fmt.Errorf("s3: create data dir: %w", err)
	}
	pickPort := cfg.Port == 0
	for attempt := 1; ; attempt++ {
		if err = s.pickPorts(pickPort); err != nil {
			s.removeDir()
			return nil, err
		}
		err = s.Start(ctx)
		if err == nil || attempt == 3 || !logMentionsBindFailure(s.logPath) {
			break
		}
	}
	if err != nil {
		s.removeDir()
		return nil, err
	}
	return s, nil
}

// pickPorts chooses the free ports of the server's parts, and the S3 port when s3 is set.
func (s *S3) pickPorts(s3 bool) error {
	ports := []*int{&s.master, &s.masterGRPC, &s.volume, &s.volumeGRPC, &s.filer, &s.filerGRPC, &s.s3GRPC}
	if s3 {
		ports = append(ports, &s.cfg.Port)
	}
	for _, p := range ports {
		var err error
		if *p, err = FreePort(); err != nil {
			return err
		}
	}
	return nil
}

// findWeed finds the SeaweedFS binary: $QC_WEED, else <repo>/.dev/bin/weed as built by
// .ci/install-deps.sh, else weed on PATH.
func findWeed() (string, error) {
	if p := os.Getenv("QC_WEED"); p != "" {
		return p, nil
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, ".dev", "bin", "weed")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("weed"); err == nil {
		return p, nil
	}
	return "", errors.New("s3: the SeaweedFS binary weed was not found (set QC_WEED, or run .ci/install-deps.sh)")
}

// Start starts the server again on the same directory and ports, and waits until the
// bucket answers. Starting a running server is an error.
func (s *S3) Start(ctx context.Context) error {
	return s.slot.start(ctx, func(bool) (*process, error) {
		if err := s.writeIdentities(); err != nil {
			return nil, err
		}
		port := func(p int) string { return strconv.Itoa(p) }
		return startProcess(procSpec{
			name: "s3",
			path: s.bin,
			args: []string{
				"server",
				"-dir=" + s.dataDir(),
				"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
				"-master.port=" + port(s.master), "-master.port.grpc=" + port(s.masterGRPC),
				"-master.volumeSizeLimitMB=64", "-master.telemetry=false",
				"-volume.port=" + port(s.volume), "-volume.port.grpc=" + port(s.volumeGRPC),
				"-volume.max=0", "-volume.preStopSeconds=0",
				"-filer", "-filer.port=" + port(s.filer), "-filer.port.grpc=" + port(s.filerGRPC),
				"-s3", "-s3.port=" + port(s.cfg.Port), "-s3.port.grpc=" + port(s.s3GRPC),
				"-s3.port.iceberg=0", "-s3.port.lance=0",
				"-s3.config=" + s.identitiesPath(),
				"-s3.allowedOrigins=" + s.cfg.AllowedOrigins,
			},
			dir:        s.dir,
			logPath:    s.logPath,
			stopSignal: syscall.SIGTERM,
		})
	}, s.waitReady)
}

// writeIdentities writes the server's one identity, which may do anything.
func (s *S3) writeIdentities() error {
	type credential struct {
		AccessKey string `json:"accessKey"`
		SecretKey string `json:"secretKey"`
	}
	type identity struct {
		Name        string       `json:"name"`
		Credentials []credential `json:"credentials"`
		Actions     []string     `json:"actions"`
	}
	b, err := json.Marshal(map[string][]identity{"identities": {{
		Name:        "quickchat",
		Credentials: []credential{{AccessKey: s.cfg.AccessKey, SecretKey: s.cfg.SecretKey}},
		Actions:     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}})
	if err != nil {
		return fmt.Errorf("s3: identities: %w", err)
	}
	if err := os.WriteFile(s.identitiesPath(), b, 0o600); err != nil {
		return fmt.Errorf("s3: write identities: %w", err)
	}
	return nil
}

// waitReady waits until the bucket exists (creating it once the server answers) and takes
// a write, which needs the master, a volume server, the filer and the S3 gateway all up.
// The first write after a start waits seconds for the master to grow volumes; taking it
// here keeps that wait out of the tests.
func (s *S3) waitReady(ctx context.Context, p *process) error {
	ctx, cancel := context.WithTimeout(ctx, s3ReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		lastErr = s.probe(cctx)
		ccancel()
		if lastErr == nil {
			select {
			case <-p.exited():
				return fmt.Errorf("s3: %w", p.exitError()) // another server answered on the port
			default:
				return nil
			}
		}
		select {
		case <-p.exited():
			return fmt.Errorf("s3: %w", p.exitError())
		case <-ctx.Done():
			return fmt.Errorf("s3: not ready on port %d: %w (last error: %v); log %s:\n%s",
				s.cfg.Port, ctx.Err(), lastErr, s.logPath, tailFile(s.logPath, 20))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// probe creates the bucket if needed and writes and deletes an object in it.
func (s *S3) probe(ctx context.Context) error {
	if err := CreateBucket(ctx, s.Settings(), s.cfg.Bucket); err != nil {
		return err
	}
	c, err := s.Settings().Client()
	if err != nil {
		return err
	}
	const key = ".devstack-ready"
	if _, err := c.PutObject(ctx, s.cfg.Bucket, key, strings.NewReader("ready"), 5, minio.PutObjectOptions{}); err != nil {
		return fmt.Errorf("s3: write a probe: %w", err)
	}
	if err := c.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("s3: delete the probe: %w", err)
	}
	return nil
}

// Stop shuts the server down (killing it after the stop timeout or when ctx ends) and
// keeps its data.
func (s *S3) Stop(ctx context.Context) error {
	return s.slot.stop(ctx, s.cfg.StopTimeout)
}

// Kill kills the server with SIGKILL, as a crash would, and keeps its data.
func (s *S3) Kill() error { return s.slot.kill() }

// Close stops the server and removes its directory if StartS3 created it.
func (s *S3) Close() error {
	return errors.Join(s.slot.close(s.cfg.StopTimeout), s.removeDir())
}

func (s *S3) removeDir() error {
	if !s.created {
		return nil
	}
	s.created = false
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("s3: remove %s: %w", s.dir, err)
	}
	return nil
}

// Endpoint is the S3 API's URL, "http://127.0.0.1:port".
func (s *S3) Endpoint() string {
	return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(s.cfg.Port))
}

// Bucket is the bucket StartS3 created.
func (s *S3) Bucket() string { return s.cfg.Bucket }

// Settings are what a client needs to reach the server (without a bucket).
func (s *S3) Settings() S3Settings {
	return S3Settings{Endpoint: s.Endpoint(), AccessKey: s.cfg.AccessKey, SecretKey: s.cfg.SecretKey}
}

// GatewayEnv returns the gateway's settings for storing attachments in bucket on this
// server (GATEWAY_S3_*).
func (s *S3) GatewayEnv(bucket string) []string { return s.Settings().GatewayEnv(bucket) }

// Port is the S3 API's TCP port.
func (s *S3) Port() int { return s.cfg.Port }

// Dir is the directory holding the server's data and log.
func (s *S3) Dir() string { return s.dir }

// LogPath is the file the server's output goes to.
func (s *S3) LogPath() string { return s.logPath }

// Pid is the server's process id, or 0 before the first start.
func (s *S3) Pid() int { return s.slot.pid() }

func (s *S3) dataDir() string        { return filepath.Join(s.dir, "data") }
func (s *S3) identitiesPath() string { return filepath.Join(s.dir, "s3.json") }

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return hex.EncodeToString(b)
}
