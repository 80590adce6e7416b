package password

import (
	"strings"
	"testing"
)

func TestHashAndVerify(t *testing.T) {
	h := NewHasher(Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1})
	a, err := h.Hash("open sesame")
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Hash("open sesame")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of one secret are equal: the salt is not random")
	}
	if strings.Contains(a, "open sesame") || !strings.HasPrefix(a, "$argon2id$") {
		t.Fatalf("hash %q is not an encoded argon2id hash", a)
	}
	tests := []struct {
		name   string
		secret string
		want   bool
	}{
		{"the right secret matches", "open sesame", true},
		{"a wrong secret does not match", "open sesame!", false},
		{"an empty secret does not match", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := h.Verify(tt.secret, a)
			if err != nil || ok != tt.want {
				t.Fatalf("Verify = %v, %v; want %v", ok, err, tt.want)
			}
		})
	}
	if _, err := h.Verify("x", "not a hash"); err == nil {
		t.Fatal("want an error for a malformed hash")
	}
}
