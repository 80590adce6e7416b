package deploycheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// dockerfile is a Dockerfile as BuildKit's own parser reads it. The instructions package
// expands variables in place, so read the file anew for each build you replay.
type dockerfile struct {
	// metaArgs are the ARG instructions before the first FROM.
	metaArgs []instructions.ArgCommand
	// stages in file order; the last one is the image.
	stages []instructions.Stage
	escape rune
}

// readDockerfile parses the Dockerfile at path. Parser warnings and BuildKit's parse-time
// lint rules (stage name casing, FROM ... AS casing, ...) fail it, as `docker build --check`
// would.
func readDockerfile(path string) (*dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseDockerfile(f)
}

func parseDockerfile(r io.Reader) (*dockerfile, error) {
	res, err := parser.Parse(r)
	if err != nil {
		return nil, err
	}
	var problems []string
	for _, w := range res.Warnings {
		problems = append(problems, w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		problems = append(problems, fmt.Sprintf("line %d: %s: %s", line(loc), rule, msg))
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if len(stages) == 0 {
		return nil, errors.New("no FROM instruction")
	}
	return &dockerfile{metaArgs: metaArgs, stages: stages, escape: res.EscapeToken}, nil
}

// line is the first line of a command's location, for messages.
func line(loc []parser.Range) int {
	if len(loc) == 0 {
		return 0
	}
	return loc[0].Start.Line
}

// stage returns the stage named name.
func (df *dockerfile) stage(name string) (*instructions.Stage, bool) {
	i, ok := instructions.HasStage(df.stages, name)
	if !ok {
		return nil, false
	}
	return &df.stages[i], true
}

// final returns the last stage, which is the image.
func (df *dockerfile) final() *instructions.Stage { return &df.stages[len(df.stages)-1] }

// buildScope tracks variables as BuildKit's dispatcher does: the global scope (the built-in
// platform args and the ARGs before the first FROM, each overridden by a build arg) expands
// FROM lines; inside a stage, ARG and ENV values expand the instructions' words and are the
// environment of RUN. Words expand with BuildKit's own shell lexer.
type buildScope struct {
	lex       *shell.Lex
	buildArgs map[string]string
	global    map[string]string
	// vars are the current stage's ARG and ENV values; env its ENV values alone.
	vars, env map[string]string
}

// newBuildScope starts the scope of df given the platform args BuildKit sets (TARGETOS,
// TARGETARCH, BUILDPLATFORM, ...) and the --build-arg values.
func newBuildScope(df *dockerfile, platform, buildArgs map[string]string) (*buildScope, error) {
	s := &buildScope{lex: shell.NewLex(df.escape), buildArgs: buildArgs, global: map[string]string{}}
	maps.Copy(s.global, platform)
	for _, arg := range df.metaArgs {
		for _, kv := range arg.Args {
			switch v, ok := buildArgs[kv.Key]; {
			case ok:
				s.global[kv.Key] = v
			case kv.Value != nil:
				v, err := s.expand(*kv.Value, s.global)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", line(arg.Location()), err)
				}
				s.global[kv.Key] = v
			}
		}
	}
	return s, nil
}

// expand substitutes variables in word. A reference to a variable that is not set is an
// error: BuildKit would silently substitute "" (and only warn, UndefinedVar), which for a
// forgotten ARG in a stage builds the wrong thing.
func (s *buildScope) expand(word string, vars map[string]string) (string, error) {
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	res, err := s.lex.ProcessWordWithMatches(word, shell.EnvsFromSlice(env))
	if err != nil {
		return "", err
	}
	if len(res.Unmatched) > 0 {
		return "", fmt.Errorf("%q uses %s, which is not set at this point", word, strings.Join(slices.Sorted(maps.Keys(res.Unmatched)), ", "))
	}
	return res.Result, nil
}

// base returns a stage's FROM image, expanded in the global scope.
func (s *buildScope) base(st *instructions.Stage) (string, error) {
	return s.expand(st.BaseName, s.global)
}

// enter starts a stage: only the global scope remains, and only for ARGs the stage declares.
func (s *buildScope) enter() {
	s.vars, s.env = map[string]string{}, map[string]string{}
}

// apply expands cmd's words in place and records what ARG and ENV set.
func (s *buildScope) apply(cmd instructions.Command) error {
	expander := func(word string) (string, error) { return s.expand(word, s.vars) }
	switch c := cmd.(type) {
	case *instructions.ArgCommand:
		// A default is expanded only when no build arg overrides it; an ARG without one
		// takes the global value of the same name.
		for _, kv := range c.Args {
			switch v, ok := s.buildArgs[kv.Key]; {
			case ok:
				s.vars[kv.Key] = v
			case kv.Value != nil:
				v, err := expander(*kv.Value)
				if err != nil {
					return fmt.Errorf("line %d: %w", line(c.Location()), err)
				}
				s.vars[kv.Key] = v
			default:
				if v, ok := s.global[kv.Key]; ok {
					s.vars[kv.Key] = v
				}
			}
		}
		return nil
	case instructions.SupportsSingleWordExpansion:
		if err := c.Expand(expander); err != nil {
			return fmt.Errorf("line %d: %w", line(cmd.Location()), err)
		}
	}
	if c, ok := cmd.(*instructions.EnvCommand); ok {
		for _, kv := range c.Env {
			s.vars[kv.Key], s.env[kv.Key] = kv.Value, kv.Value
		}
	}
	return nil
}

// localBuild replays one build stage of a Dockerfile without Docker: COPY takes what the
// build context holds after .dockerignore into root, a folder standing for the container's
// "/", and RUN runs its script in mvdan.cc/sh's POSIX shell interpreter with the stage's ARG
// and ENV values. The script may run only go and cd; any other command stops the replay, so
// it never silently differs from the image build. Cache mounts are left out: go uses this
// machine's module and build caches instead.
type localBuild struct {
	// context is the build context directory (the repository root).
	context string
	// root stands for "/" inside the build container.
	root string
	// platform holds the args BuildKit sets for every build (TARGETOS, TARGETARCH, ...).
	platform map[string]string
	// buildArgs are the --build-arg values.
	buildArgs map[string]string
	// log receives each command run; nil discards.
	log io.Writer

	// ran records the go commands run, as the container would see their words.
	ran [][]string
	// copied records what COPY took from the context (slash-separated, relative to it).
	copied []string

	ignore *patternmatcher.PatternMatcher
}

// hostPath maps a path inside the container to root.
func (b *localBuild) hostPath(p string) string {
	return filepath.Join(b.root, filepath.FromSlash(path.Clean("/"+p)))
}

// run replays the stage named stage of df.
func (b *localBuild) run(ctx context.Context, df *dockerfile, stage string) error {
	st, ok := df.stage(stage)
	if !ok {
		return fmt.Errorf("no stage named %q", stage)
	}
	if err := b.loadIgnore(); err != nil {
		return err
	}
	scope, err := newBuildScope(df, b.platform, b.buildArgs)
	if err != nil {
		return err
	}
	scope.enter()
	workdir := "/"
	for _, cmd := range st.Commands {
		if err := scope.apply(cmd); err != nil {
			return err
		}
		switch c := cmd.(type) {
		case *instructions.WorkdirCommand:
			if path.IsAbs(c.Path) {
				workdir = path.Clean(c.Path)
			} else {
				workdir = path.Join(workdir, c.Path)
			}
			err = os.MkdirAll(b.hostPath(workdir), 0o755)
		case *instructions.CopyCommand:
			err = b.copy(c, workdir)
		case *instructions.AddCommand:
			err = errors.New("ADD is not replayed; COPY from the context instead")
		case *instructions.RunCommand:
			err = b.runScript(ctx, c, scope.vars, workdir)
		case *instructions.ShellCommand:
			err = errors.New("SHELL is not replayed; RUN scripts are POSIX sh")
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", line(cmd.Location()), err)
		}
	}
	return nil
}

func (b *localBuild) loadIgnore() error {
	var patterns []string
	f, err := os.Open(filepath.Join(b.context, ".dockerignore"))
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
func (b *localBuild) ignored(rel string) (bool, error) {
	return b.ignore.MatchesOrParentMatches(rel)
}

func (b *localBuild) copy(c *instructions.CopyCommand, workdir string) error {
	switch {
	case c.From != "":
		return errors.New("COPY --from in a replayed stage is not supported")
	case len(c.SourceContents) > 0:
		return errors.New("COPY of a heredoc is not supported")
	case c.Parents || len(c.ExcludePatterns) > 0:
		return errors.New("COPY --parents and --exclude are not supported")
	}
	dest := c.DestPath
	if !path.IsAbs(dest) {
		dest = path.Join(workdir, dest)
		if strings.HasSuffix(c.DestPath, "/") {
			dest += "/"
		}
	}
	var matches []string
	for _, src := range c.SourcePaths {
		m, err := filepath.Glob(filepath.Join(b.context, filepath.FromSlash(src)))
		if err != nil {
			return err
		}
		var kept []string
		for _, p := range m {
			rel, err := filepath.Rel(b.context, p)
			if err != nil {
				return err
			}
			if skip, err := b.ignored(filepath.ToSlash(rel)); err != nil {
				return err
			} else if !skip {
				kept = append(kept, p)
				b.copied = append(b.copied, filepath.ToSlash(rel))
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
		if err := copyFile(src, b.hostPath(target)); err != nil {
			return err
		}
	}
	return nil
}

// copyDir copies the contents of dir (not dir itself, as COPY does) to dest, leaving out
// what .dockerignore excludes.
func (b *localBuild) copyDir(dir, dest string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(b.context, p)
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
		return copyFile(p, b.hostPath(path.Join(dest, filepath.ToSlash(inner))))
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

// runScript runs a RUN instruction. BuildKit passes the shell form to /bin/sh -c, so the
// script is parsed as POSIX sh; the exec form runs its words as they are.
func (b *localBuild) runScript(ctx context.Context, c *instructions.RunCommand, vars map[string]string, workdir string) error {
	if len(c.Files) > 0 {
		return errors.New("RUN heredocs are not supported")
	}
	// The stage's values are the environment, with container paths mapped to root.
	env := hostBuildEnv()
	for k, v := range vars {
		env = append(env, k+"="+b.mapArg(v))
	}
	initial := expand.ListEnviron(env...)

	script := strings.Join(c.CmdLine, " ")
	if !c.PrependShell {
		quoted := make([]string, len(c.CmdLine))
		for i, w := range c.CmdLine {
			q, err := syntax.Quote(w, syntax.LangPOSIX)
			if err != nil {
				return err
			}
			quoted[i] = q
		}
		script = strings.Join(quoted, " ")
	}
	file, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(script), "RUN")
	if err != nil {
		return err
	}
	var out bytes.Buffer
	runner, err := interp.New(
		interp.Env(initial),
		interp.Dir(b.hostPath(workdir)),
		interp.StdIO(nil, &out, &out),
		interp.CallHandler(func(ctx context.Context, args []string) ([]string, error) {
			switch args[0] {
			case "go":
				b.ran = append(b.ran, slices.Clone(args))
				if b.log != nil {
					fmt.Fprintf(b.log, "replay in %s: %s\n", workdir, strings.Join(args, " "))
				}
			case "cd":
			default:
				return nil, fmt.Errorf("only go and cd can be replayed, not %q", args[0])
			}
			mapped := make([]string, len(args))
			for i, a := range args {
				mapped[i] = b.mapArg(a)
			}
			return mapped, nil
		}),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc {
			return func(ctx context.Context, args []string) error {
				return b.exec(ctx, interp.HandlerCtx(ctx), initial, args)
			}
		}),
		interp.OpenHandler(func(context.Context, string, int, os.FileMode) (io.ReadWriteCloser, error) {
			return nil, errors.New("redirections are not replayed")
		}),
	)
	if err != nil {
		return err
	}
	if err := runner.Run(ctx, file); err != nil {
		return fmt.Errorf("%s: %w\n%s", script, err, out.String())
	}
	return nil
}

// exec runs go as the interpreter asks. Variables the script set itself (GOOS=$TARGETOS go
// build ...) may hold container paths, so they are mapped too; the interpreter's own (PWD)
// already point under root.
func (b *localBuild) exec(ctx context.Context, hc interp.HandlerContext, initial expand.Environ, args []string) error {
	cmd := exec.CommandContext(ctx, "go", args[1:]...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = hc.Dir, hc.Stdout, hc.Stderr
	for name, vr := range hc.Env.Each {
		if !vr.Exported || vr.Kind != expand.String {
			continue
		}
		v := vr.String()
		if initial.Get(name).String() != v && !strings.HasPrefix(v, b.root) {
			v = b.mapArg(v)
		}
		cmd.Env = append(cmd.Env, name+"="+v)
	}
	var exit *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exit) {
		return interp.ExitStatus(exit.ExitCode())
	} else if err != nil {
		return err
	}
	return nil
}

// mapArg rewrites absolute container paths, alone or as the value of -flag=/path or
// NAME=/path, to their place under root.
func (b *localBuild) mapArg(w string) string {
	if strings.HasPrefix(w, "/") {
		return b.hostPath(w)
	}
	if k, v, ok := strings.Cut(w, "="); ok && strings.HasPrefix(v, "/") {
		return k + "=" + b.hostPath(v)
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
