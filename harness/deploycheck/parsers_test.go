package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// The parsers the deployment checks rely on are tested here on small inputs, so a check
// that passes does so because the files are right, not because a parser saw nothing.

func TestParseEnvSpecReadsTagsPrefixAndNestedStructs(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "services", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `package main

import (
	"time"

	"github.com/kelseyhightower/envconfig"
)

type Config struct {
	Addr     string        ` + "`envconfig:\"ADDR\" default:\":9000\"`" + `
	URL      string        ` + "`envconfig:\"DATABASE_URL\" required:\"true\"`" + `
	Grace    time.Duration ` + "`envconfig:\"SHUTDOWN_GRACE\" default:\"5s\"`" + `
	Both     string        ` + "`envconfig:\"BOTH\" required:\"true\" default:\"x\"`" + `
	MaxBodyBytes int       ` + "`split_words:\"true\"`" + `
	Skip     string        ` + "`ignored:\"true\"`" + `
	Redis    RedisConfig   ` + "`envconfig:\"REDIS\"`" + `
	private  string
}

type RedisConfig struct {
	Addrs []string ` + "`envconfig:\"ADDRS\" default:\"a:1,b:2\"`" + `
}

func loadConfig() (Config, error) {
	var c Config
	err := envconfig.Process("DEMO", &c)
	return c, err
}
`
	if err := os.WriteFile(filepath.Join(dir, "config.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	spec, err := ParseEnvSpec(filepath.Join(dir, "config.go"))
	if err != nil {
		t.Fatal(err)
	}
	if spec.Prefix != "DEMO" || spec.Service != "demo" {
		t.Errorf("prefix, service = %q, %q; want DEMO, demo", spec.Prefix, spec.Service)
	}
	want := map[string]EnvVar{
		"DEMO_ADDR":           {Name: "DEMO_ADDR", Field: "Addr", Type: "string", Default: ":9000", HasDefault: true},
		"DEMO_DATABASE_URL":   {Name: "DEMO_DATABASE_URL", Field: "URL", Type: "string", Required: true},
		"DEMO_SHUTDOWN_GRACE": {Name: "DEMO_SHUTDOWN_GRACE", Field: "Grace", Type: "time.Duration", Default: "5s", HasDefault: true},
		"DEMO_BOTH":           {Name: "DEMO_BOTH", Field: "Both", Type: "string", Default: "x", HasDefault: true},
		"DEMO_MAX_BODY_BYTES": {Name: "DEMO_MAX_BODY_BYTES", Field: "MaxBodyBytes", Type: "int"},
		"DEMO_REDIS_ADDRS":    {Name: "DEMO_REDIS_ADDRS", Field: "Redis.Addrs", Type: "[]string", Default: "a:1,b:2", HasDefault: true},
	}
	if !reflect.DeepEqual(spec.Vars, want) {
		t.Errorf("vars:\n got %+v\nwant %+v", spec.Vars, want)
	}

	errs := spec.CheckEnv(map[string]string{
		"DEMO_ADDR":           ":1",
		"DEMO_SHUTDOWN_GRACE": "soon",
		"DEMO_TYPO":           "1",
		"OTHER_URL":           "x",
		"GOMAXPROCS":          "2",
	})
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	joined := strings.Join(msgs, "\n")
	for _, want := range []string{"DEMO_SHUTDOWN_GRACE", "DEMO_TYPO is not a field", "OTHER_URL is not read", "DEMO_DATABASE_URL is required"} {
		if !strings.Contains(joined, want) {
			t.Errorf("CheckEnv errors lack %q:\n%s", want, joined)
		}
	}
	if len(errs) != 4 {
		t.Errorf("CheckEnv gave %d errors, want 4:\n%s", len(errs), joined)
	}
	if port, err := spec.ListenPort(nil); err != nil || port != 9000 {
		t.Errorf("ListenPort = %d, %v; want 9000", port, err)
	}
}

func TestParseDockerfileJoinsContinuationsAndTracksVariables(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG BASE=golang:1
FROM --platform=$BUILDPLATFORM ${BASE} AS build
WORKDIR /src
ENV A=1 B="two words"
ARG TARGETARCH
# a comment inside the stage
RUN --mount=type=cache,target=/x \
    # a comment inside a continuation
    GOARCH=$TARGETARCH go build -o /out/app . && cd sub && go vet
FROM scratch
COPY --from=build /out/app /app
LABEL a.b="c d" e=$UNSET
ENTRYPOINT ["/app"]
`
	df, err := ParseDockerfile(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(df.Stages) != 2 || df.Stages[0].Name != "build" || len(df.GlobalArgs) != 1 {
		t.Fatalf("stages = %+v", df.Stages)
	}
	run := df.Stages[0].Instructions[3]
	if run.Cmd != "RUN" || run.Flags["mount"][0] != "type=cache,target=/x" {
		t.Fatalf("RUN = %+v", run)
	}
	vars, err := df.NewVars(map[string]string{"TARGETARCH": "arm64"})
	if err != nil {
		t.Fatal(err)
	}
	vars.Enter()
	for _, in := range df.Stages[0].Instructions {
		if err := vars.Apply(in); err != nil {
			t.Fatal(err)
		}
	}
	if vars.Env["B"] != "two words" {
		t.Errorf("ENV B = %q", vars.Env["B"])
	}
	cmds, err := SplitCommands(run.Rest, vars.Lookup)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"GOARCH=arm64", "go", "build", "-o", "/out/app", "."}, {"cd", "sub"}, {"go", "vet"}}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("commands = %q, want %q", cmds, want)
	}
	final := df.Final()
	if got := final.Instructions[2].Exec; !reflect.DeepEqual(got, []string{"/app"}) {
		t.Errorf("ENTRYPOINT exec = %q", got)
	}
	labels, err := df.Labels(final, vars)
	if err != nil {
		t.Fatal(err)
	}
	if labels["a.b"] != "c d" || labels["e"] != "" {
		t.Errorf("labels = %q", labels)
	}
	if _, err := SplitCommands("go build | tee log", nil); err == nil {
		t.Error("a pipe was accepted")
	}
}

func TestParseNginxResolvesProxyPassVariables(t *testing.T) {
	conf := `
# comment
server {
    listen 80;
    set $gw http://gateway:8080;
    location = /ws { set $rt "http://realtime:8081"; proxy_pass $rt; }
    location / { proxy_pass $gw; }
    location = /x { return 200 "a;b"; }
}`
	ds, err := ParseNginx(conf)
	if err != nil {
		t.Fatal(err)
	}
	servers := FindNginx(ds, "server")
	if len(servers) != 1 {
		t.Fatalf("servers = %d", len(servers))
	}
	routes, err := NginxRoutes(servers[0])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range routes {
		got[r.Modifier+r.Path] = r.Upstream
	}
	want := map[string]string{"=/ws": "http://realtime:8081", "/": "http://gateway:8080", "=/x": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes = %q, want %q", got, want)
	}
	if _, err := ParseNginx("server { listen 80;"); err == nil {
		t.Error("an unclosed block was accepted")
	}
}

func TestLocalBuildSeesOnlyWhatDockerignoreLeavesInTheContext(t *testing.T) {
	ctxDir := t.TempDir()
	files := map[string]string{
		"app/go.mod":     "module example.com/app\n\ngo 1.21\n",
		"app/main.go":    "package main\n\nimport \"example.com/app/lib\"\n\nfunc main() { lib.Hello() }\n",
		"app/lib/lib.go": "package lib\n\n// Hello does nothing.\nfunc Hello() {}\n",
		"Dockerfile": "FROM golang AS build\nWORKDIR /src\nENV CGO_ENABLED=0 GOWORK=off\n" +
			"COPY app/ app/\nARG TARGETARCH\nRUN GOARCH=$TARGETARCH go build -C app -o /out/app .\n",
	}
	for name, body := range files {
		p := filepath.Join(ctxDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	df, err := ReadDockerfile(filepath.Join(ctxDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	build := func() (*LocalBuild, error) {
		b := &LocalBuild{Context: ctxDir, Root: t.TempDir(), BuildArgs: map[string]string{"TARGETARCH": runtime.GOARCH}}
		return b, b.Run(context.Background(), df, "build")
	}

	b, err := build()
	if err != nil {
		t.Fatalf("clean context: %v", err)
	}
	if _, err := os.Stat(b.HostPath("/out/app")); err != nil {
		t.Errorf("no binary at /out/app: %v", err)
	}

	// Excluding a package the build needs must break the replay, as it breaks docker build.
	if err := os.WriteFile(filepath.Join(ctxDir, ".dockerignore"), []byte("app/lib\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := build(); err == nil {
		t.Error("the replay built although .dockerignore leaves app/lib out of the context")
	}
}
