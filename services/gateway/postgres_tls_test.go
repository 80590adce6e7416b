package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/quickchat-go/quickchat/harness/devstack"
	"github.com/quickchat-go/quickchat/harness/devstack/testenv"
)

// TestMigrateOverVerifyFullTLS runs `gateway migrate` against the TLS-only PostgreSQL of
// `devstack up -secure`, with sslmode=verify-full and the CA in sslrootcert, and checks
// that a plaintext URL is refused there with the server's reason (so the migration that
// worked went over TLS).
func TestMigrateOverVerifyFullTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs the TLS PostgreSQL (skipped with -short)")
	}
	admin := os.Getenv("QC_TEST_SECURE_POSTGRES_URL")
	if admin == "" {
		t.Skip("QC_TEST_SECURE_POSTGRES_URL is not set: start `devstack up -secure` and source its env file")
	}
	if !strings.Contains(admin, "sslmode=verify-full") || !strings.Contains(admin, "sslrootcert=") {
		t.Fatalf("QC_TEST_SECURE_POSTGRES_URL %q does not ask for verify-full with a CA file", admin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := testenv.UniqueName(t)
	dbURL, err := devstack.CreateDatabase(ctx, admin, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = devstack.DropDatabase(context.Background(), admin, name) })

	if err := migrate(ctx, Config{DatabaseURL: dbURL}); err != nil {
		t.Fatalf("migrate over verify-full: %v", err)
	}
	plain := strings.Replace(dbURL, "sslmode=verify-full", "sslmode=disable", 1)
	err = migrate(ctx, Config{DatabaseURL: plain})
	if err == nil || !strings.Contains(err.Error(), "PostgreSQL") || !strings.Contains(err.Error(), "no encryption") {
		t.Fatalf("migrate over plaintext = %v, want the server's refusal", err)
	}
}
