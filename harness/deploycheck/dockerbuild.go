package deploycheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// LocalBuild replays one Dockerfile build stage without Docker: it copies what the stage's
// COPY instructions take from the build context (honouring .dockerignore) into Root, a
// directory that stands for the container's file system, and runs the stage's RUN commands
// there as local processes with the stage's ARG and ENV values. Only go commands, cd and
// variable assignments may appear in those RUN lines; anything else is an error, so the
// replay never silently differs from the image build.
type LocalBuild struct {
	// Context is the build context directory (the repository root).
	Context string
	// Root stands for "/" inside the build container.
	Root string
	// BuildArgs are --build-arg values, e.g. TARGETOS and TARGETARCH that BuildKit sets.
	BuildArgs map[string]string
	// Log receives each command run; nil discards.
	Log io.Writer
	// Ran records the commands run (words after expansion, before path mapping).
	Ran [][]string

	ignore *patternmatcher.PatternMatcher
}

// HostPath maps a path inside the container to Root.
func (b *LocalBuild) HostPath(p string) string {
	return filepath.Join(b.Root, filepath.FromSlash(path.Clean("/"+p)))
}

// Run replays the stage named stage of df.
func (b *LocalBuild) Run(ctx context.Context, df *Dockerfile, stage string) error {
	st, ok := df.Stage(stage)
	if !ok {
		return fmt.Errorf("no stage named %q", stage)
	}
	if err := b.loadIgnore(); err != nil {
		return err
	}
	vars, err := df.NewVars(b.BuildArgs)
	if err != nil {
		return err
	}
	vars.Enter()
	workdir := "/"
	for _, in := range st.Instructions {
		if err := vars.Apply(in); err != nil {
			return err
		}
		switch in.Cmd {
		case "WORKDIR":
			w, err := SplitWords(in.Rest, vars.Lookup)
			if err != nil || len(w) != 1 {
				return fmt.Errorf("line %d: WORKDIR %q", in.Line, in.Rest)
			}
			workdir = path.Join(workdir, w[0])
			if err := os.MkdirAll(b.HostPath(workdir), 0o755); err != nil {
				return err
			}
		case "COPY", "ADD":
			if err := b.copy(in, vars, workdir); err != nil {
				return fmt.Errorf("line %d: %w", in.Line, err)
			}
		case "RUN":
			if err := b.run(ctx, in, vars, workdir); err != nil {
				return fmt.Errorf("line %d: %w", in.Line, err)
			}
		}
	}
	return nil
}

func (b *LocalBuild) loadIgnore() error {
	var patterns []string
	f, err := os.Open(filepath.Join(b.Context, ".dockerignore"))
	switch {
	case err == nil:
		defer f.Close()
		if patterns, err = ignorefile.ReadAll(f); err != nil {
			return fmt.Errorf(".dockerignore: %w", err)
		}
	case !os.IsNotExist(err):
		return err
	}
	b.ignore, err = patternmatcher.New(patterns)
	return err
}

// ignored reports whether .dockerignore keeps rel (slash-separated, relative to the
// context) out of the build context.
func (b *LocalBuild) ignored(rel string) (bool, error) {
	return b.ignore.MatchesOrParentMatches(rel)
}

func (b *LocalBuild) copy(in Instruction, vars *Vars, workdir string) error {
	if _, ok := in.Flag("from"); ok {
		return fmt.Errorf("COPY --from in a replayed stage is not supported")
	}
	words := in.Exec
	if words == nil {
		var err error
		if words, err = SplitWords(in.Rest, vars.Lookup); err != nil {
			return err
		}
	}
	if len(words) < 2 {
		return fmt.Errorf("COPY needs a source and a destination")
	}
	srcs, dest := words[:len(words)-1], words[len(words)-1]
	if !path.IsAbs(dest) {
		if strings.HasSuffix(dest, "/") {
			dest = path.Join(workdir, dest) + "/"
		} else {
			dest = path.Join(workdir, dest)
		}
	}
	var matches []string
	for _, src := range srcs {
		m, err := filepath.Glob(filepath.Join(b.Context, filepath.FromSlash(src)))
		if err != nil {
			return err
		}
		var kept []string
		for _, p := range m {
			rel, err := filepath.Rel(b.Context, p)
			if err != nil {
				return err
			}
			if skip, err := b.ignored(filepath.ToSlash(rel)); err != nil {
				return err
			} else if !skip {
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			return fmt.Errorf("COPY source %q is not in the build context (missing or excluded by .dockerignore)", src)
		}
		matches = append(matches, kept...)
	}
	intoDir := strings.HasSuffix(dest, "/") || len(matches) > 1
	for _, src := range matches {
		info, err := os.Stat(src)
		if err != nil {
			return err
		}
		if info.IsDir() {
			if err := b.copyDir(src, dest); err != nil {
				return err
			}
			continue
		}
		target := dest
		if intoDir {
			target = path.Join(dest, filepath.Base(src))
		}
		if err := copyFile(src, b.HostPath(target)); err != nil {
			return err
		}
	}
	return nil
}

// copyDir copies the contents of dir (not dir itself, as COPY does) to dest, leaving out
// what .dockerignore excludes.
func (b *LocalBuild) copyDir(dir, dest string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(b.Context, p)
		if err != nil {
			return err
		}
		skip, err := b.ignored(filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		if skip {
			// A later !pattern may re-include files below an excluded directory, so only
			// plain files are skipped here and directories are walked.
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		inner, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		return copyFile(p, b.HostPath(path.Join(dest, filepath.ToSlash(inner))))
	})
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

func (b *LocalBuild) run(ctx context.Context, in Instruction, vars *Vars, workdir string) error {
	if in.Exec != nil {
		return b.exec(ctx, in.Exec, nil, vars, workdir)
	}
	cmds, err := SplitCommands(in.Rest, vars.Lookup)
	if err != nil {
		return err
	}
	for _, words := range cmds {
		var assign []string
		for len(words) > 0 && isAssignment(words[0]) {
			assign = append(assign, words[0])
			words = words[1:]
		}
		if len(words) == 0 {
			return fmt.Errorf("bare assignments %v are not supported", assign)
		}
		if words[0] == "cd" && len(words) == 2 {
			workdir = path.Join(workdir, words[1])
			continue
		}
		if err := b.exec(ctx, words, assign, vars, workdir); err != nil {
			return err
		}
	}
	return nil
}

func isAssignment(w string) bool {
	name, _, ok := strings.Cut(w, "=")
	if !ok || name == "" {
		return false
	}
	for i, r := range name {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (b *LocalBuild) exec(ctx context.Context, words, assign []string, vars *Vars, workdir string) error {
	if words[0] != "go" {
		return fmt.Errorf("only go commands can be replayed, not %q", words[0])
	}
	args := make([]string, 0, len(words)-1)
	for _, w := range words[1:] {
		args = append(args, b.mapArg(w))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = b.HostPath(workdir)
	env := hostBuildEnv()
	for k, v := range vars.values { // BuildKit exposes ARG and ENV values to RUN
		env = append(env, k+"="+b.mapArg(v))
	}
	for _, a := range assign {
		env = append(env, b.mapArg(a))
	}
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	b.Ran = append(b.Ran, words)
	if b.Log != nil {
		fmt.Fprintf(b.Log, "replay in %s: %s %s\n", workdir, strings.Join(assign, " "), strings.Join(words, " "))
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(words, " "), err, out.String())
	}
	return nil
}

// mapArg rewrites absolute container paths, alone or as the value of -flag=/path or
// NAME=/path, to their place under Root.
func (b *LocalBuild) mapArg(w string) string {
	if strings.HasPrefix(w, "/") {
		return b.HostPath(w)
	}
	if k, v, ok := strings.Cut(w, "="); ok && strings.HasPrefix(v, "/") {
		return k + "=" + b.HostPath(v)
	}
	return w
}

// hostBuildEnv is this process's environment without the variables that change what go
// build does (GOFLAGS, GOWORK, GOOS, CGO_ENABLED, ...): inside the golang image those are
// unset unless the Dockerfile sets them. Caches, proxy and module settings stay.
func hostBuildEnv() []string {
	keep := map[string]bool{
		"GOPATH": true, "GOMODCACHE": true, "GOCACHE": true, "GOROOT": true, "GOPROXY": true,
		"GOSUMDB": true, "GONOSUMDB": true, "GONOPROXY": true, "GOPRIVATE": true, "GOINSECURE": true,
		"GOTMPDIR": true,
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(k, "GO") || strings.HasPrefix(k, "CGO_")) && !keep[k] {
			continue
		}
		env = append(env, kv)
	}
	return env
}
