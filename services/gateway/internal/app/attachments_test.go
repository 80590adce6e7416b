package app

import (
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

func TestCleanFileName(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"a plain name is kept", "holiday.png", "holiday.png", true},
		{"a path keeps its last element", "../../etc/passwd", "passwd", true},
		{"a Windows path keeps its last element", `C:\Users\ada\report.pdf`, "report.pdf", true},
		{"spaces around the name are trimmed", "  notes.txt ", "notes.txt", true},
		{"non-Latin letters are kept", "写真 2026.jpg", "写真 2026.jpg", true},
		{"an empty name is refused", "", "", false},
		{"a name that is only a directory is refused", "photos/", "", false},
		{"dot-dot is refused", "..", "", false},
		{"a right-to-left override is refused", "photo\u202egnp.exe", "", false},
		{"a zero-width joiner is refused", "a\u200db.png", "", false},
		{"a newline is refused", "a\nb.png", "", false},
		{"invalid UTF-8 is refused", "a\xffb.png", "", false},
		{"256 characters are refused", strings.Repeat("é", 256), "", false},
		{"255 characters are kept", strings.Repeat("é", 255), strings.Repeat("é", 255), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanFileName(tt.in)
			if tt.ok != (err == nil) || got != tt.want {
				t.Fatalf("cleanFileName(%q) = %q, %v", tt.in, got, err)
			}
			if err != nil && !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("refusal %v is not invalid", err)
			}
		})
	}
}

func TestAllowedTypesIgnoreParametersAndCase(t *testing.T) {
	a := &Attachments{cfg: AttachmentSettings{Types: []string{"image/png", "text/plain"}}}
	for in, want := range map[string]string{"image/png": "image/png", "IMAGE/PNG": "image/png", "text/plain; charset=utf-8": "text/plain"} {
		if got, err := a.allowedType(in); err != nil || got != want {
			t.Errorf("allowedType(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"image/svg+xml", "text/html", "", "image/png;;;", "image"} {
		if _, err := a.allowedType(in); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("allowedType(%q) = %v; want invalid", in, err)
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{300: "300 bytes", 2048: "2 KiB", 25 << 20: "25 MiB", 26214401: "25.0 MiB", 1536 << 10: "1.5 MiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
