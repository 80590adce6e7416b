package app

import (
	"strings"
	"testing"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

func TestDisplayNames(t *testing.T) {
	accepted := []struct {
		name, raw, want string
	}{
		{"a plain name is kept", "Ada Lovelace", "Ada Lovelace"},
		{"spaces around are trimmed and runs inside made one", "  Ada \u00a0\u3000 Lovelace ", "Ada Lovelace"},
		{"full-width letters become plain ones (NFKC)", "\uff21\uff44\uff41", "Ada"},
		{"ligatures and compatibility forms are unfolded (NFKC)", "\ufb01ona", "fiona"},
		{"a combining accent is composed (NFKC)", "Jose\u0301", "Jos\u00e9"},
		{"letters of any script are welcome", "Ελένη 李雷", "Ελένη 李雷"},
		{"emoji are symbols and welcome", "Ada 🚀", "Ada 🚀"},
		{"forty characters are allowed", strings.Repeat("é", 40), strings.Repeat("é", 40)},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := displayName(tt.raw)
			if err != nil || got != tt.want {
				t.Fatalf("displayName(%q) = %q, %v; want %q", tt.raw, got, err, tt.want)
			}
		})
	}
	refused := []struct {
		name, raw string
	}{
		{"an empty name", ""},
		{"a name of spaces", " \u3000 "},
		{"forty-one characters", strings.Repeat("a", 41)},
		{"a control character", "Ada\x07"},
		{"a tab", "Ada\tL"},
		{"a new line", "Ada\nL"},
		{"a zero-width space", "Ad\u200ba"},
		{"a zero-width joiner", "Ad\u200da"},
		{"a zero-width non-joiner", "Ad\u200ca"},
		{"a word joiner", "Ad\u2060a"},
		{"a byte order mark", "\ufeffAda"},
		{"a soft hyphen", "Ad\u00ada"},
		{"a right-to-left override", "Ada\u202egnp.exe"},
		{"a left-to-right embedding", "\u202aAda"},
		{"a right-to-left isolate", "\u2067Ada\u2069"},
		{"a right-to-left mark", "Ada\u200f"},
		{"an Arabic letter mark", "Ada\u061c"},
		{"a line separator", "Ada\u2028L"},
		{"a private-use character", "Ada\ue000"},
		{"an unassigned code point", "Ada\U000e0080"},
		{"a name of Hangul fillers only", "\u3164\u3164"},
		{"a name of combining marks only", "\u0301\u0302"},
		{"invalid UTF-8", "Ada\xff"},
	}
	for _, tt := range refused {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			got, _, err := displayName(tt.raw)
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("displayName(%q) = %q, %v; want an invalid error", tt.raw, got, err)
			}
		})
	}
	same := []struct {
		name, a, b string
	}{
		{"names differing in case share a key", "ALICE", "alice"},
		{"full case folding makes ß and SS one", "Straße", "STRASSE"},
		{"compatibility forms share a key with the plain name", "\uff21lice", "alice"},
		{"a final sigma and a sigma share a key", "ΟΔΟΣ", "οδος"},
	}
	for _, tt := range same {
		t.Run(tt.name, func(t *testing.T) {
			_, ka, errA := displayName(tt.a)
			_, kb, errB := displayName(tt.b)
			if errA != nil || errB != nil || ka != kb {
				t.Fatalf("keys %q (%v) and %q (%v) differ", ka, errA, kb, errB)
			}
		})
	}
	t.Run("different names have different keys", func(t *testing.T) {
		_, ka, _ := displayName("Alice")
		_, kb, _ := displayName("Alicia")
		if ka == kb {
			t.Fatalf("Alice and Alicia share the key %q", ka)
		}
	})
}
