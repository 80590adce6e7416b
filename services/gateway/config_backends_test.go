package main

import (
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/redisconn"
)

// TestConfigReadsTheRedisSettings checks the names of the Redis connection variables,
// which must match realtime's, and that a wrong combination stops the gateway.
func TestConfigReadsTheRedisSettings(t *testing.T) {
	t.Setenv("GATEWAY_DATABASE_URL", "postgres://x")
	t.Run("every variable lands in its field", func(t *testing.T) {
		for k, v := range map[string]string{
			"GATEWAY_REDIS_USERNAME": "qc", "GATEWAY_REDIS_PASSWORD": "pw", "GATEWAY_REDIS_TLS": "true",
			"GATEWAY_REDIS_TLS_CA_FILE": "/ca.pem", "GATEWAY_REDIS_TLS_SERVER_NAME": "redis.internal",
		} {
			t.Setenv(k, v)
		}
		cfg, err := loadConfig()
		if err != nil {
			t.Fatal(err)
		}
		want := redisconn.Settings{Username: "qc", Password: "pw", TLS: true, TLSCAFile: "/ca.pem", TLSServerName: "redis.internal"}
		if cfg.Redis != want {
			t.Fatalf("redis %+v, want %+v", cfg.Redis, want)
		}
	})
	t.Run("a user without a password is refused", func(t *testing.T) {
		t.Setenv("GATEWAY_REDIS_USERNAME", "qc")
		t.Setenv("GATEWAY_REDIS_PASSWORD", "")
		if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "GATEWAY_REDIS_USERNAME needs GATEWAY_REDIS_PASSWORD") {
			t.Fatalf("loadConfig = %v", err)
		}
	})
}
