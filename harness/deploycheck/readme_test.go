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

// readmeConfigHeading matches the heading above each program's table:
// ### name (`path/to/config.go`[, more words])
var readmeConfigHeading = regexp.MustCompile("^### ([a-z]+) \\(`([^`]+)`")

// TestReadmeDocumentsEveryVariable keeps the README's configuration tables equal to the
// programs' config structs: one table per program under a heading naming its config.go,
// every variable listed once in its program's table with its default, none that no program
// reads, and a meaning for each.
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

	specs := envSpecs(t)
	vars := map[string]EnvVar{}
	for _, spec := range specs {
		for name, v := range spec.Vars {
			vars[name] = v
		}
	}
	seen := map[string]bool{}
	var under *EnvSpec // the program whose heading the rows follow
	for _, line := range strings.Split(tables, "\n") {
		if h := readmeConfigHeading.FindStringSubmatch(line); h != nil {
			under = nil
			spec, ok := specs[h[1]]
			if !ok {
				t.Errorf("README has a configuration table for %s, which has no config.go", h[1])
				continue
			}
			under = &spec
			file := filepath.FromSlash(h[2])
			if filepath.Base(file) != "config.go" || filepath.Base(filepath.Dir(file)) != h[1] || !fileExists(filepath.Join(repoRoot(t), file)) {
				t.Errorf("README's %s table names %s, which is not %s's config.go", h[1], h[2], h[1])
			}
			continue
		}
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
			t.Errorf("README lists %s, which no config.go (services/*, harness/loadgen) reads", name)
			continue
		}
		if under == nil {
			t.Errorf("README lists %s under no program's heading", name)
		} else if _, own := under.Lookup(name); !own {
			t.Errorf("README lists %s in the table of %s, which does not read it", name, under.Service)
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

func fileExists(path string) bool {
	info, err := os.Stat(path)
	return err == nil && !info.IsDir()
}
