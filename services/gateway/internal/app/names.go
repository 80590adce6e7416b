package app

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// maxDisplayNameLen bounds a display name in characters (runes), after normalisation.
const maxDisplayNameLen = 40

// invisibleLetters are characters of the letter and symbol categories that render as
// nothing (Hangul fillers, the blank Braille pattern); a name of them alone looks empty.
var invisibleLetters = map[rune]bool{0x115F: true, 0x1160: true, 0x3164: true, 0xFFA0: true, 0x2800: true}

// displayName checks and normalises a display name: NFKC (so look-alike compatibility
// forms such as full-width letters become the plain ones), spaces trimmed and runs of
// them made one, 1 to 40 characters with at least one visible one, and no control,
// format (zero-width, bidi override or isolate, soft hyphen), private-use, unassigned
// or line-separator characters, which could hide or reorder text. It returns the name
// and its key, the form in which names are compared.
func displayName(raw string) (name, key string, err error) {
	if !utf8.ValidString(raw) {
		return "", "", apperr.New(apperr.Invalid, "name must be valid UTF-8")
	}
	var b strings.Builder
	visible, space := false, false
	for _, r := range norm.NFKC.String(raw) {
		switch {
		case r == ' ' || unicode.Is(unicode.Zs, r):
			space = b.Len() > 0
			continue
		case !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S):
			return "", "", apperr.New(apperr.Invalid,
				"name must not contain control, zero-width, direction-changing or other invisible characters")
		case !invisibleLetters[r] && unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S):
			visible = true
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	name = b.String()
	if n := utf8.RuneCountInString(name); n == 0 || n > maxDisplayNameLen || !visible {
		return "", "", apperr.New(apperr.Invalid, "name must be 1 to %d characters, at least one of them visible", maxDisplayNameLen)
	}
	return name, nameKey(name), nil
}

// nameKey is the form in which display names are compared: NFKC with case folded (full
// folding, so "STRASSE" and "straße" are one name) and spaces as displayName leaves
// them. Names that differ only in case or compatibility form share a key.
func nameKey(name string) string {
	folded := cases.Fold().String(norm.NFKC.String(name))
	return strings.Join(strings.Fields(norm.NFKC.String(folded)), " ")
}
