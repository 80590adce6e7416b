package deploycheck

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// dockerfilePath is where each service's Dockerfile lives.
func dockerfilePath(repo, service string) string {
	return filepath.Join(repo, "services", service, "Dockerfile")
}

// TestDockerfilesBuildStaticNonRootImages checks every service's Dockerfile, and replays its
// build stage as a plain go build (same flags, same GOWORK, same files as the build context
// would hold after .dockerignore) so a broken image build fails here without Docker.
func TestDockerfilesBuildStaticNonRootImages(t *testing.T) {
	repo := repoRoot(t)
	for name, spec := range envSpecs(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			df, err := ReadDockerfile(dockerfilePath(repo, name))
			if err != nil {
				t.Fatalf("every service needs services/%s/Dockerfile: %v", name, err)
			}
			img := checkRuntimeStage(t, df, spec)

			b := &LocalBuild{
				Context: repo,
				Root:    t.TempDir(),
				// BuildKit sets these for the target platform; the image is linux.
				BuildArgs: map[string]string{"TARGETOS": "linux", "TARGETARCH": runtime.GOARCH, "TARGETPLATFORM": "linux/" + runtime.GOARCH},
			}
			if testing.Verbose() {
				b.Log = testWriter{t}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if err := b.Run(ctx, df, img.fromStage); err != nil {
				t.Fatalf("replaying stage %q of services/%s/Dockerfile: %v", img.fromStage, name, err)
			}
			checkBuildFlags(t, b.Ran, img.copySource)
			checkBinary(t, b.HostPath(img.copySource), name)
		})
	}
}

// runtimeImage is what the final stage of a service Dockerfile ships.
type runtimeImage struct {
	fromStage  string // the stage the binary is copied from
	copySource string // the binary's path in that stage
	entrypoint string
}

func checkRuntimeStage(t testing.TB, df *Dockerfile, spec EnvSpec) runtimeImage {
	t.Helper()
	name := spec.Service
	vars, err := df.NewVars(nil)
	if err != nil {
		t.Fatal(err)
	}
	final := df.Final()
	base, err := SplitWords(final.From.Rest, vars.GlobalLookup)
	if err != nil || len(base) == 0 {
		t.Fatalf("final FROM %q: %v", final.From.Rest, err)
	}
	if !strings.HasPrefix(base[0], "gcr.io/distroless/static") && base[0] != "scratch" {
		t.Errorf("runtime base is %q; want distroless static or scratch", base[0])
	}

	var img runtimeImage
	var user, expose string
	copies := 0
	for _, in := range final.Instructions {
		switch in.Cmd {
		case "COPY":
			copies++
			from, ok := in.Flag("from")
			words := strings.Fields(in.Rest)
			if !ok || len(words) != 2 {
				t.Errorf("line %d: the runtime stage may only COPY --from=<build stage> one binary", in.Line)
				continue
			}
			img.fromStage, img.copySource = from, words[0]
			if strings.HasSuffix(words[1], "/") {
				t.Errorf("line %d: copy the binary to a file path, not into a folder", in.Line)
			}
			img.entrypoint = words[1]
		case "USER":
			user = in.Rest
		case "EXPOSE":
			expose = in.Rest
		case "ENTRYPOINT":
			if len(in.Exec) != 1 {
				t.Errorf("line %d: ENTRYPOINT must be the exec form of the binary alone, got %q", in.Line, in.Rest)
			} else if in.Exec[0] != img.entrypoint {
				t.Errorf("ENTRYPOINT %q is not the copied binary %q", in.Exec[0], img.entrypoint)
			}
		case "RUN", "ADD":
			t.Errorf("line %d: %s in the runtime stage; it should hold only the binary", in.Line, in.Cmd)
		}
	}
	if copies != 1 {
		t.Errorf("runtime stage has %d COPY instructions; want exactly one (the binary)", copies)
	}
	if filepath.Base(img.entrypoint) != name {
		t.Errorf("the image runs %q; want the %s binary", img.entrypoint, name)
	}
	if _, ok := df.Stage(img.fromStage); !ok {
		t.Fatalf("binary copied from %q, which is not a stage of this file", img.fromStage)
	}

	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("USER %q: want a numeric non-root uid (Kubernetes runAsNonRoot can only verify numbers)", user)
	}
	if spec.Serves() {
		port, err := spec.ListenPort(nil)
		if err != nil {
			t.Fatal(err)
		}
		if expose != strconv.Itoa(port) && expose != strconv.Itoa(port)+"/tcp" {
			t.Errorf("EXPOSE %q; %s listens on %d by default", expose, name, port)
		}
	} else if expose != "" {
		t.Errorf("EXPOSE %q; %s is a tool and listens on no port", expose, name)
	}

	labels, err := df.Labels(final, vars)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"title", "description", "source", "version", "revision"} {
		if labels["org.opencontainers.image."+k] == "" {
			t.Errorf("missing OCI label org.opencontainers.image.%s", k)
		}
	}
	if got := labels["org.opencontainers.image.title"]; got != "quickchat-"+name {
		t.Errorf("image title %q; want quickchat-%s", got, name)
	}

	// The build stage must not depend on the checkout's go.work: the context is slim.
	build, _ := df.Stage(img.fromStage)
	bvars, _ := df.NewVars(nil)
	bvars.Enter()
	for _, in := range build.Instructions {
		if err := bvars.Apply(in); err != nil {
			t.Fatal(err)
		}
	}
	if bvars.Env["GOWORK"] != "off" || bvars.Env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage ENV GOWORK=%q CGO_ENABLED=%q; want off and 0", bvars.Env["GOWORK"], bvars.Env["CGO_ENABLED"])
	}
	return img
}

// checkBinary asserts the replayed build produced a static, trimmed linux binary of the
// service's main package.
func checkBinary(t testing.TB, path, service string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("the build produced no ELF binary at %s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked; distroless static needs a static binary", service)
		}
	}
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/quickchat-go/quickchat/services/" + service; bi.Path != want {
		t.Errorf("binary's main package is %s; want %s", bi.Path, want)
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
	if info, err := os.Stat(path); err == nil && info.Size() == 0 {
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
		for _, want := range []string{"-buildid="} {
			if !slices.Contains(ldflags, want) {
				t.Errorf("go build -ldflags %q lacks %s (reproducible builds)", ldflags, want)
			}
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
