package app

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/quickchat-go/quickchat/pkg/apperr"
)

// Bounds of what people type. Names and titles count characters; passwords and passcodes
// count characters from below and bytes from above, so a hash never gets a huge input.
const (
	minPasswordLen = 8
	maxPasswordLen = 256
	minPasscodeLen = 8
	maxPasscodeLen = 128
	// minPasscodeDistinct rules out passcodes such as "aaaaaaaa" or "12121212".
	minPasscodeDistinct = 5
	maxNameLen          = 100
)

// normalizeEmail trims and lower-cases a bare address such as "ada@example.com".
func normalizeEmail(raw string) (string, error) {
	addr, err := mail.ParseAddress(strings.TrimSpace(raw))
	if err != nil || addr.Name != "" || len(addr.Address) > 254 || strings.ContainsAny(addr.Address, "<> ") {
		return "", apperr.New(apperr.Invalid, "email is not a valid address")
	}
	return strings.ToLower(addr.Address), nil
}

func checkPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < minPasswordLen || len(p) > maxPasswordLen || !utf8.ValidString(p) {
		return apperr.New(apperr.Invalid, "password must be %d to %d characters", minPasswordLen, maxPasswordLen)
	}
	return nil
}

// checkPasscode holds new and changed passcodes to a minimum that online guessing cannot
// reach under the join limits and back-offs (docs/security.md has the arithmetic).
// Passcodes stored before the minimum rose keep working.
func checkPasscode(p string) error {
	if n := utf8.RuneCountInString(p); n < minPasscodeLen || len(p) > maxPasscodeLen || !utf8.ValidString(p) {
		return apperr.New(apperr.Invalid, "passcode must be %d to %d characters", minPasscodeLen, maxPasscodeLen)
	}
	seen := map[rune]bool{}
	for _, r := range p {
		seen[r] = true
	}
	if len(seen) < minPasscodeDistinct {
		return apperr.New(apperr.Invalid, "passcode must have at least %d different characters", minPasscodeDistinct)
	}
	return nil
}

// cleanName trims a display name or title and checks its length and encoding; field
// names it in the error.
func cleanName(raw, field string) (string, error) {
	name := strings.TrimSpace(raw)
	if !utf8.ValidString(name) {
		return "", apperr.New(apperr.Invalid, "%s must be valid UTF-8", field)
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > maxNameLen {
		return "", apperr.New(apperr.Invalid, "%s must be 1 to %d characters", field, maxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", apperr.New(apperr.Invalid, "%s must not contain control characters", field)
		}
	}
	return name, nil
}
