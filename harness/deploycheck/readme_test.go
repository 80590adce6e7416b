package deploycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmeConfigRow matches one row of the README's configuration tables:
// | `NAME` | `default` or – [(required)] | meaning |
var readmeConfigRow = regexp.MustCompile("^\\| `([A-Z0-9_]+)` \\| (`([^`]*)`|–)( \\(required\\))? \\| (.*) \\|$")

// TestReadmeDocumentsEveryVariable keeps the README's configuration tables equal to the
// services' config structs: every variable listed once with its default, none that no
// service reads, and a meaning for each.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, tables, ok := strings.Cut(string(src), "<!-- config-tables:begin -->")
	if ok {
		tables, _, ok = strings.Cut(tables, "<!-- config-tables:end -->")
	}
	if !ok {
		t.Fatal("README.md has no <!-- config-tables:begin --> ... <!-- config-tables:end --> block")
	}

	vars := map[string]EnvVar{}
	for _, spec := range envSpecs(t) {
		for name, v := range spec.Vars {
			vars[name] = v
		}
	}
	seen := map[string]bool{}
	for _, line := range strings.Split(tables, "\n") {
		m := readmeConfigRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name, def, required, meaning := m[1], m[3], m[4] != "", strings.TrimSpace(m[5])
		if seen[name] {
			t.Errorf("README lists %s twice", name)
		}
		seen[name] = true
		v, ok := vars[name]
		if !ok {
			t.Errorf("README lists %s, which no services/*/config.go reads", name)
			continue
		}
		if m[2] == "–" && v.HasDefault && v.Default != "" {
			t.Errorf("README gives %s no default; config.go says %q", name, v.Default)
		} else if def != v.Default {
			t.Errorf("README gives %s default %q; config.go says %q", name, def, v.Default)
		}
		if required != v.Required {
			t.Errorf("README says %s required=%v; config.go says %v", name, required, v.Required)
		}
		if meaning == "" {
			t.Errorf("README gives %s no meaning", name)
		}
	}
	for name := range vars {
		if !seen[name] {
			t.Errorf("README's configuration tables miss %s", name)
		}
	}
}
