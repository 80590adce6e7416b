package main

import (
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
)

func TestAttachmentSettingsAreCheckedWhenAttachmentsAreOn(t *testing.T) {
	// The defaults, as main reads them, with the required database URL.
	defaults := func(t *testing.T) Config {
		t.Helper()
		t.Setenv("QC_ATTACH_TEST_DATABASE_URL", "postgres://x")
		var c Config
		if err := envconfig.Process("QC_ATTACH_TEST", &c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	on := func(c *Config) {
		c.S3Endpoint, c.S3AccessKey, c.S3SecretKey = "http://127.0.0.1:8333", "key", "secret"
	}
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{"the defaults without an endpoint leave attachments off", func(*Config) {}, true},
		{"the defaults with an endpoint and keys are valid", on, true},
		{"an endpoint without keys is refused", func(c *Config) { on(c); c.S3SecretKey = "" }, false},
		{"an endpoint with a path is refused", func(c *Config) { on(c); c.S3Endpoint = "https://s3.example.com/bucket" }, false},
		{"a public endpoint that is not http is refused", func(c *Config) { on(c); c.S3PublicEndpoint = "ftp://files" }, false},
		{"no allowed types are refused", func(c *Config) { on(c); c.AttachmentTypes = nil }, false},
		{"an orphan age within the upload and reference lifetimes is refused", func(c *Config) { on(c); c.AttachmentOrphanAge = time.Hour }, false},
		{"download URLs of more than a week are refused", func(c *Config) { on(c); c.AttachmentDownloadTTL = 8 * 24 * time.Hour }, false},
		{"settings that are unused while attachments are off are not checked", func(c *Config) { c.AttachmentTypes = nil }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults(t)
			tt.change(&c)
			if errs := c.validateAttachments(); (len(errs) == 0) != tt.ok {
				t.Fatalf("validateAttachments() = %v, want ok=%v", errs, tt.ok)
			}
		})
	}
	if c := defaults(t); c.attachmentsOn() || c.AttachmentMaxBytes != 25<<20 {
		t.Fatalf("defaults: on=%v, max %d bytes; want off and 25 MiB", c.attachmentsOn(), c.AttachmentMaxBytes)
	}
}
