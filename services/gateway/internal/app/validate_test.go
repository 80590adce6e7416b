package app

import (
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"surrounding spaces are trimmed", "  Ada  ", "Ada", true},
		{"100 four-byte characters fit", strings.Repeat("\U0001F600", 100), strings.Repeat("\U0001F600", 100), true},
		{"101 characters do not", strings.Repeat("a", 101), "", false},
		{"only spaces are empty", "   ", "", false},
		{"a control character is refused", "tab\there", "", false},
		{"DEL is refused", "del\x7f", "", false},
		{"invalid UTF-8 is refused", "Mal\x80ory", "", false},
		{"markup is kept as text", "<b>x</b>", "<b>x</b>", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanName(tt.in, "name")
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("cleanName(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"an address is trimmed and lower-cased", " Ada@Example.COM ", "ada@example.com", true},
		{"a display name is refused", "Ada <ada@example.com>", "", false},
		{"no at sign is refused", "ada.example.com", "", false},
		{"an address over 254 bytes is refused", strings.Repeat("a", 250) + "@x.io", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := normalizeEmail(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("normalizeEmail(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestSecretLengths(t *testing.T) {
	tests := []struct {
		name   string
		check  func(string) error
		secret string
		ok     bool
	}{
		// Regression: issue 13 M6 (4-character passcodes fell to online guessing in hours).
		{"a passcode of 8 characters is enough", checkPasscode, "abcd1234", true},
		{"a passcode of 7 characters is not", checkPasscode, "abcd123", false},
		{"a passcode of 4 characters is not", checkPasscode, "abcd", false},
		{"a passcode counts characters, not bytes, from below", checkPasscode, "éèêëàâä", false},
		{"a passcode of 8 characters with 5 different ones is enough", checkPasscode, "ab1ab2c3", true},
		{"a passcode of fewer than 5 different characters is not", checkPasscode, "12121212", false},
		{"a passcode of one character repeated is not", checkPasscode, "aaaaaaaaaaaa", false},
		{"a passcode over 128 bytes is refused", checkPasscode, strings.Repeat("é", 65), false},
		{"a password of 8 characters is enough", checkPassword, "12345678", true},
		{"a password of 7 characters is not", checkPassword, "1234567", false},
		{"a password over 256 bytes is refused", checkPassword, strings.Repeat("p", 257), false},
		{"a password with invalid UTF-8 is refused", checkPassword, "pass\xffword!", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.check(tt.secret); (err == nil) != tt.ok {
				t.Fatalf("check(%q) = %v, want ok=%v", tt.secret, err, tt.ok)
			}
		})
	}
}
