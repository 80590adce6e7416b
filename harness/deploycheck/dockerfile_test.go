package deploycheck

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

// sharedDockerfile builds every Quick Chat image; build args pick the program.
const sharedDockerfile = "services/Dockerfile"

// program is one image built from the shared Dockerfile.
type program struct {
	// name is the program's: its image is quickchat-<name>, its config.go lies in a folder
	// of that name.
	name string
	// pkg is the import path of its main package.
	pkg string
	// buildArgs select it: what docker-compose.yml and the docs pass.
	buildArgs map[string]string
	// service marks the product services: their images take nothing but the shared product
	// modules and their own folder from the build context.
	service bool
}

// programs are the images of the shared Dockerfile.
func programs() []program {
	var ps []program
	for _, s := range []string{"gateway", "realtime", "persister"} {
		ps = append(ps, program{
			name:      s,
			pkg:       "github.com/quickchat-go/quickchat/services/" + s,
			buildArgs: map[string]string{"SERVICE": s},
			service:   true,
		})
	}
	return append(ps, program{
		name:      "loadgen",
		pkg:       "github.com/quickchat-go/quickchat/harness/loadgen",
		buildArgs: map[string]string{"SERVICE": "loadgen", "MODULE": "harness", "MAIN": "harness/loadgen"},
	})
}

// platformArgs are the args BuildKit sets in every build, here for a linux image of this
// machine's architecture.
func platformArgs() map[string]string {
	p := "linux/" + runtime.GOARCH
	return map[string]string{
		"BUILDPLATFORM": p, "BUILDOS": "linux", "BUILDARCH": runtime.GOARCH,
		"TARGETPLATFORM": p, "TARGETOS": "linux", "TARGETARCH": runtime.GOARCH,
	}
}

// readSharedDockerfile parses services/Dockerfile anew (expansion rewrites the parsed
// instructions, so each build needs its own copy).
func readSharedDockerfile(t testing.TB) *dockerfile {
	t.Helper()
	df, err := readDockerfile(filepath.Join(repoRoot(t), filepath.FromSlash(sharedDockerfile)))
	if err != nil {
		t.Fatalf("%s: %v", sharedDockerfile, err)
	}
	return df
}

func TestEveryProgramWithAConfigHasAnImage(t *testing.T) {
	var names []string
	for _, p := range programs() {
		names = append(names, p.name)
	}
	slices.Sort(names)
	if got := slices.Sorted(maps.Keys(envSpecs(t))); !slices.Equal(got, names) {
		t.Errorf("programs with a config.go: %q; images of %s: %q", got, sharedDockerfile, names)
	}
}

// TestDockerfileBuildsStaticNonRootImages checks the image of every program, and replays
// its build stage as a plain go build (same flags, same GOWORK, same files as the build
// context would hold after .dockerignore) so a broken image build fails here without Docker.
func TestDockerfileBuildsStaticNonRootImages(t *testing.T) {
	repo := repoRoot(t)
	for _, p := range programs() {
		// One after the other: parallel cold builds would compile the shared dependencies
		// once each instead of once for all.
		t.Run(p.name, func(t *testing.T) {
			img := checkRuntimeStage(t, readSharedDockerfile(t), p)

			b := &localBuild{context: repo, root: t.TempDir(), platform: platformArgs(), buildArgs: p.buildArgs}
			if testing.Verbose() {
				b.log = testWriter{t}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := b.run(ctx, readSharedDockerfile(t), img.fromStage); err != nil {
				t.Fatalf("replaying stage %q of %s for %s: %v", img.fromStage, sharedDockerfile, p.name, err)
			}
			checkBuildFlags(t, b.ran, img.copySource)
			checkBinary(t, b.hostPath(img.copySource), p.pkg)
			if p.service {
				checkProductContext(t, b.copied, p.name)
			}
		})
	}
}

func TestDockerfileRefusesToBuildWithoutAService(t *testing.T) {
	df := readSharedDockerfile(t)
	scope, err := newBuildScope(df, platformArgs(), nil)
	if err != nil {
		t.Fatal(err)
	}
	build, ok := df.stage("build")
	if !ok {
		t.Fatal("no build stage")
	}
	scope.enter()
	for _, cmd := range build.Commands {
		if err = scope.apply(cmd); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "SERVICE") {
		t.Errorf("a build without --build-arg SERVICE got past the build stage's ARGs (error %v); it must stop and name SERVICE", err)
	}
}

// TestDockerBuildCommandsInK8sCommentsBuildTheImagesTheyTag follows every `docker build` a
// comment under k8s/ tells the reader to run: it must build from the repository root with
// the shared Dockerfile and the build args of the image it tags, and every image must be
// shown being built.
func TestDockerBuildCommandsInK8sCommentsBuildTheImagesTheyTag(t *testing.T) {
	repo := repoRoot(t)
	images := map[string]program{}
	for _, p := range programs() {
		images["quickchat-"+p.name] = p
	}
	built := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(repo, "k8s"), func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(file) != ".yaml" {
			return err
		}
		rel, _ := filepath.Rel(repo, file)
		cmds, err := commentedDockerBuilds(file)
		if err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		for _, words := range cmds {
			flags := parseDockerBuild(words)
			name, _, _ := strings.Cut(flags.tag, ":")
			p, ok := images[name]
			switch {
			case !ok:
				t.Errorf("%s: `%s` tags %q, not a Quick Chat image", rel, strings.Join(words, " "), flags.tag)
			case flags.file != sharedDockerfile || flags.context != ".":
				t.Errorf("%s: `%s` builds %s in context %q; want -f %s from the repository root", rel, strings.Join(words, " "), flags.file, flags.context, sharedDockerfile)
			case !maps.Equal(flags.args, p.buildArgs):
				t.Errorf("%s: `%s` passes build args %v; %s is built with %v", rel, strings.Join(words, " "), flags.args, name, p.buildArgs)
			default:
				built[p.name] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range programs() {
		if !built[p.name] {
			t.Errorf("no comment under k8s/ shows how to build quickchat-%s", p.name)
		}
	}
}

// commentedDockerBuilds returns the words of each `docker build` command in the comments of
// a YAML file, continuation lines joined, split as sh would split them.
func commentedDockerBuilds(file string) ([][]string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var cmds [][]string
	var pending string
	for _, l := range strings.Split(string(data), "\n") {
		text, ok := strings.CutPrefix(strings.TrimSpace(l), "#")
		if !ok {
			pending = ""
			continue
		}
		text = pending + strings.TrimSpace(text)
		if cont, ok := strings.CutSuffix(text, "\\"); ok {
			pending = cont
			continue
		}
		pending = ""
		if !strings.HasPrefix(text, "docker build ") {
			continue
		}
		f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(text), "")
		if err != nil {
			return nil, err
		}
		call, ok := f.Stmts[0].Cmd.(*syntax.CallExpr)
		if len(f.Stmts) != 1 || !ok {
			return nil, fmt.Errorf("%q is not one simple command", text)
		}
		var words []string
		for _, w := range call.Args {
			lit, err := expand.Literal(nil, w)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", text, err)
			}
			words = append(words, lit)
		}
		cmds = append(cmds, words)
	}
	return cmds, nil
}

// dockerBuild is what a `docker build` command line asks for.
type dockerBuild struct {
	file, tag, context string
	args               map[string]string
}

// parseDockerBuild reads the flags of `docker build` that the images depend on.
func parseDockerBuild(words []string) dockerBuild {
	b := dockerBuild{file: "Dockerfile", args: map[string]string{}}
	for i := 2; i < len(words); i++ {
		w := words[i]
		name, value, inline := strings.Cut(w, "=")
		if !strings.HasPrefix(w, "-") {
			b.context = w
			continue
		}
		switch name {
		case "-f", "--file", "-t", "--tag", "--build-arg", "--target", "--platform":
			if !inline && i+1 < len(words) {
				i++
				value = words[i]
			}
		}
		switch name {
		case "-f", "--file":
			b.file = value
		case "-t", "--tag":
			b.tag = value
		case "--build-arg":
			k, v, _ := strings.Cut(value, "=")
			b.args[k] = v
		}
	}
	return b
}

// runtimeImage is what the final stage of the Dockerfile ships.
type runtimeImage struct {
	fromStage  string // the stage the binary is copied from
	copySource string // the binary's path in that stage
	entrypoint string
}

func checkRuntimeStage(t testing.TB, df *dockerfile, p program) runtimeImage {
	t.Helper()
	scope, err := newBuildScope(df, platformArgs(), p.buildArgs)
	if err != nil {
		t.Fatal(err)
	}
	final := df.final()
	base, err := scope.base(final)
	if err != nil {
		t.Fatalf("final FROM %q: %v", final.BaseName, err)
	}
	if !strings.HasPrefix(base, "gcr.io/distroless/static") && base != "scratch" {
		t.Errorf("runtime base is %q; want distroless static or scratch", base)
	}

	var img runtimeImage
	var user string
	labels := map[string]string{}
	copies := 0
	scope.enter()
	for _, cmd := range final.Commands {
		if err := scope.apply(cmd); err != nil {
			t.Fatal(err)
		}
		at := line(cmd.Location())
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			copies++
			if c.From == "" || len(c.SourcePaths) != 1 {
				t.Errorf("line %d: the runtime stage may only COPY --from=<build stage> one binary", at)
				continue
			}
			img.fromStage, img.copySource, img.entrypoint = c.From, c.SourcePaths[0], c.DestPath
			if strings.HasSuffix(c.DestPath, "/") {
				t.Errorf("line %d: copy the binary to a file path, not into a folder", at)
			}
		case *instructions.UserCommand:
			user = c.User
		case *instructions.LabelCommand:
			for _, kv := range c.Labels {
				labels[kv.Key] = kv.Value
			}
		case *instructions.EntrypointCommand:
			if c.PrependShell || len(c.CmdLine) != 1 {
				t.Errorf("line %d: ENTRYPOINT must be the exec form of the binary alone, got %q", at, c.CmdLine)
			} else if c.CmdLine[0] != img.entrypoint {
				t.Errorf("ENTRYPOINT %q is not the copied binary %q", c.CmdLine[0], img.entrypoint)
			}
		case *instructions.ExposeCommand:
			// One runtime stage serves every program: a port would be right for one of them
			// only. The Deployments and compose declare the ports, checked against config.
			t.Errorf("line %d: EXPOSE %q in the shared runtime stage", at, c.Ports)
		case *instructions.CmdCommand:
			t.Errorf("line %d: CMD %q in the shared runtime stage would be the default arguments of every program", at, c.CmdLine)
		case *instructions.RunCommand, *instructions.AddCommand:
			t.Errorf("line %d: %s in the runtime stage; it should hold only the binary", at, cmd.Name())
		}
	}
	if copies != 1 {
		t.Errorf("runtime stage has %d COPY instructions; want exactly one (the binary)", copies)
	}
	if want := "/out/" + p.name; img.copySource != want {
		t.Errorf("the image takes %q from the build stage; want the %s binary %s", img.copySource, p.name, want)
	}
	if _, ok := df.stage(img.fromStage); !ok {
		t.Fatalf("binary copied from %q, which is not a stage of this file", img.fromStage)
	}

	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: want a numeric non-root uid (Kubernetes runAsNonRoot can only verify numbers)", user)
	}
	for _, k := range []string{"title", "description", "source", "version", "revision"} {
		if labels["org.opencontainers.image."+k] == "" {
			t.Errorf("missing OCI label org.opencontainers.image.%s", k)
		}
	}
	if got := labels["org.opencontainers.image.title"]; got != "quickchat-"+p.name {
		t.Errorf("image title %q; want quickchat-%s", got, p.name)
	}

	// The build stage must not depend on the checkout's go.work: the context is slim.
	build, _ := df.stage(img.fromStage)
	scope.enter()
	for _, cmd := range build.Commands {
		if err := scope.apply(cmd); err != nil {
			t.Fatal(err)
		}
	}
	if scope.env["GOWORK"] != "off" || scope.env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage ENV GOWORK=%q CGO_ENABLED=%q; want off and 0", scope.env["GOWORK"], scope.env["CGO_ENABLED"])
	}
	return img
}

// checkProductContext asserts a service's image build took from the context only the shared
// product modules and the service's own folder: no harness, no other service.
func checkProductContext(t testing.TB, copied []string, service string) {
	t.Helper()
	own := "services/" + service
	for _, rel := range copied {
		top, _, _ := strings.Cut(rel, "/")
		if !slices.Contains([]string{"pkg", "db", "proto"}, top) && rel != own && !strings.HasPrefix(rel, own+"/") {
			t.Errorf("the %s image copies %s from the build context; a service needs only pkg/, db/, proto/ and %s/", service, rel, own)
		}
	}
	if !slices.ContainsFunc(copied, func(rel string) bool { return path.Clean(rel) == own }) {
		t.Errorf("the %s image does not copy %s/ (copied %q)", service, own, copied)
	}
}

// checkBinary asserts the replayed build produced a static, trimmed linux binary of the
// main package pkg.
func checkBinary(t testing.TB, file, pkg string) {
	t.Helper()
	f, err := elf.Open(file)
	if err != nil {
		t.Fatalf("the build produced no ELF binary at %s: %v", file, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked; distroless static needs a static binary", pkg)
		}
	}
	bi, err := buildinfo.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bi.Path != pkg {
		t.Errorf("binary's main package is %s; want %s", bi.Path, pkg)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, want := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true", "GOOS": "linux"} {
		if settings[k] != want {
			t.Errorf("binary built with %s=%q; want %q", k, settings[k], want)
		}
	}
	if info, err := os.Stat(file); err == nil && info.Size() == 0 {
		t.Error("empty binary")
	}
}

// checkBuildFlags finds the go build that wrote the binary and checks the flags that make
// the image reproducible (go records no -ldflags in a -trimpath binary, so they are read
// from the command).
func checkBuildFlags(t testing.TB, ran [][]string, binary string) {
	t.Helper()
	for _, words := range ran {
		if len(words) < 2 || words[1] != "build" {
			continue
		}
		out := ""
		for i, w := range words {
			if w == "-o" && i+1 < len(words) {
				out = words[i+1]
			} else if v, ok := strings.CutPrefix(w, "-o="); ok {
				out = v
			}
		}
		if out != binary {
			continue
		}
		var ldflags []string
		for _, w := range words {
			if v, ok := strings.CutPrefix(w, "-ldflags="); ok {
				ldflags = strings.Fields(v)
			}
		}
		if !slices.Contains(ldflags, "-buildid=") {
			t.Errorf("go build -ldflags %q lacks -buildid= (reproducible builds)", ldflags)
		}
		for _, want := range []string{"-trimpath", "-buildvcs=false"} {
			if !slices.Contains(words, want) {
				t.Errorf("go build lacks %s (reproducible builds): %q", want, words)
			}
		}
		return
	}
	t.Errorf("no go build -o %s among the build stage's commands %q", binary, ran)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
