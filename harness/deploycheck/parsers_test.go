package deploycheck

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
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

func TestBuildScopeExpandsVariablesAsBuildKitDoes(t *testing.T) {
	src := `# syntax=docker/dockerfile:1
ARG BASE=golang:1
ARG NAME
ARG UNUSED=x
FROM --platform=$BUILDPLATFORM ${BASE} AS build
ARG NAME
ARG DIR="cmd/${NAME:?set it}"
ARG UNUSED
WORKDIR /src
ENV A=1 B="two words"
ENV C=$A
ARG TARGETARCH
# a comment inside the stage
RUN --mount=type=cache,target=/x \
    # a comment inside a continuation
    GOARCH=$TARGETARCH go build -o /out/app . && cd sub && go vet
FROM scratch
ARG NAME
COPY --from=build /out/${NAME} /app
LABEL a.b="c d" e=$NAME
ENTRYPOINT ["/app"]
`
	parse := func() *dockerfile {
		df, err := parseDockerfile(strings.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		return df
	}
	df := parse()
	if len(df.stages) != 2 || df.stages[0].Name != "build" || len(df.metaArgs) != 3 {
		t.Fatalf("stages %d, first named %q, meta args %d; want 2, build, 3", len(df.stages), df.stages[0].Name, len(df.metaArgs))
	}
	run, ok := df.stages[0].Commands[7].(*instructions.RunCommand)
	if !ok || !run.PrependShell || !strings.Contains(run.CmdLine[0], "&& cd sub && go vet") {
		t.Fatalf("command 7 = %#v; want the shell-form RUN with its continuation joined", df.stages[0].Commands[7])
	}

	scope, err := newBuildScope(df, map[string]string{"BUILDPLATFORM": "linux/amd64", "TARGETARCH": "arm64"}, map[string]string{"NAME": "app"})
	if err != nil {
		t.Fatal(err)
	}
	if base, err := scope.base(&df.stages[0]); err != nil || base != "golang:1" {
		t.Errorf("build stage base = %q, %v; want golang:1", base, err)
	}
	scope.enter()
	for _, cmd := range df.stages[0].Commands {
		if err := scope.apply(cmd); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{"NAME": "app", "DIR": "cmd/app", "UNUSED": "x", "A": "1", "B": "two words", "C": "1", "TARGETARCH": "arm64"}
	if !reflect.DeepEqual(scope.vars, want) {
		t.Errorf("build stage variables = %q, want %q", scope.vars, want)
	}
	if want := map[string]string{"A": "1", "B": "two words", "C": "1"}; !reflect.DeepEqual(scope.env, want) {
		t.Errorf("build stage ENV = %q, want %q", scope.env, want)
	}

	scope.enter()
	var labels map[string]string
	for _, cmd := range df.final().Commands {
		if err := scope.apply(cmd); err != nil {
			t.Fatal(err)
		}
		switch c := cmd.(type) {
		case *instructions.CopyCommand:
			if c.SourcePaths[0] != "/out/app" {
				t.Errorf("COPY source = %q, want /out/app", c.SourcePaths[0])
			}
		case *instructions.LabelCommand:
			labels = map[string]string{}
			for _, kv := range c.Labels {
				labels[kv.Key] = kv.Value
			}
		}
	}
	if want := map[string]string{"a.b": "c d", "e": "app"}; !reflect.DeepEqual(labels, want) {
		t.Errorf("labels = %q, want %q", labels, want)
	}

	// Without NAME the ${NAME:?} default stops the build; a stage that never declared an ARG
	// does not see it, and using it anyway is an error rather than an empty word.
	df = parse()
	scope, err = newBuildScope(df, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	scope.enter()
	if err := scope.apply(df.stages[0].Commands[0]); err != nil {
		t.Fatal(err)
	}
	if err := scope.apply(df.stages[0].Commands[1]); err == nil || !strings.Contains(err.Error(), "NAME: set it") {
		t.Errorf("ARG DIR without NAME: %v; want the ${NAME:?} message", err)
	}
	if _, err := scope.expand("$UNUSED", scope.vars); err == nil {
		t.Error("a variable the stage never declared expanded without an error")
	}
}

func TestParseDockerfileRejectsWhatBuildKitWarnsAbout(t *testing.T) {
	for name, src := range map[string]string{
		"a stage name in capitals":       "FROM scratch AS Build\n",
		"an empty continuation line":     "FROM scratch\nLABEL a=b \\\n\n  c=d\n",
		"an instruction before any FROM": "LABEL a=b\nFROM scratch\n",
		"no FROM at all":                 "ARG A=1\n",
		"an unknown COPY flag":           "FROM scratch\nCOPY --nope a b\n",
		"FROM ... as in lower case":      "FROM scratch as build\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := parseDockerfile(strings.NewReader(src)); err == nil {
				t.Errorf("accepted:\n%s", src)
			}
		})
	}
}

func TestParseNginxResolvesProxyPassVariables(t *testing.T) {
	conf, err := parseNginx(`
# comment
server {
    listen 80;
    set $gw http://gateway:8080;
    location = /ws { set $rt "http://realtime:8081"; proxy_pass $rt; }
    location / { proxy_pass $gw; }
    location = /x { return 200 "a;b"; }
}`)
	if err != nil {
		t.Fatal(err)
	}
	servers := conf.FindDirectives("server")
	if len(servers) != 1 {
		t.Fatalf("servers = %d", len(servers))
	}
	got := map[string]string{}
	for _, r := range nginxRoutes(servers[0]) {
		got[r.modifier+r.path] = r.upstream
	}
	want := map[string]string{"=/ws": "http://realtime:8081", "/": "http://gateway:8080", "=/x": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes = %q, want %q", got, want)
	}
	for _, bad := range []string{"server { listen 80;", "server { listne 80; }"} {
		if _, err := parseNginx(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// writeContext lays out files (path → content) under a new build context directory.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// appContext is a small Go program and a Dockerfile whose build stage ends with run.
func appContext(t *testing.T, run string) string {
	t.Helper()
	return writeContext(t, map[string]string{
		"app/go.mod":     "module example.com/app\n\ngo 1.21\n",
		"app/main.go":    "package main\n\nimport \"example.com/app/lib\"\n\nfunc main() { lib.Hello() }\n",
		"app/lib/lib.go": "package lib\n\n// Hello does nothing.\nfunc Hello() {}\n",
		"Dockerfile": "FROM golang AS build\nWORKDIR /src\nENV CGO_ENABLED=0 GOWORK=off\n" +
			"COPY app/ app/\nARG TARGETARCH\n" + run + "\n",
	})
}

// replay runs the build stage of the Dockerfile in ctxDir.
func replay(t *testing.T, ctxDir string) (*localBuild, error) {
	t.Helper()
	df, err := readDockerfile(filepath.Join(ctxDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	b := &localBuild{context: ctxDir, root: t.TempDir(), platform: map[string]string{"TARGETARCH": runtime.GOARCH}}
	return b, b.run(context.Background(), df, "build")
}

func TestLocalBuildSeesOnlyWhatDockerignoreLeavesInTheContext(t *testing.T) {
	ctxDir := appContext(t, "RUN GOARCH=$TARGETARCH go build -C app -o /out/app .")
	b, err := replay(t, ctxDir)
	if err != nil {
		t.Fatalf("clean context: %v", err)
	}
	if _, err := os.Stat(b.hostPath("/out/app")); err != nil {
		t.Errorf("no binary at /out/app: %v", err)
	}
	if want := [][]string{{"go", "build", "-C", "app", "-o", "/out/app", "."}}; !reflect.DeepEqual(b.ran, want) {
		t.Errorf("ran %q, want %q", b.ran, want)
	}
	if want := []string{"app"}; !reflect.DeepEqual(b.copied, want) {
		t.Errorf("copied %q, want %q", b.copied, want)
	}

	// Excluding a package the build needs must break the replay, as it breaks docker build.
	if err := os.WriteFile(filepath.Join(ctxDir, ".dockerignore"), []byte("app/lib\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := replay(t, ctxDir); err == nil {
		t.Error("the replay built although .dockerignore leaves app/lib out of the context")
	}
}

func TestLocalBuildRunsShellScriptsLikeSh(t *testing.T) {
	cases := []struct {
		name, run string
		// fails is part of the error the replay must stop with; "" when it must succeed.
		fails string
	}{
		{"an exec-form RUN runs its words", `RUN ["go", "build", "-C", "app", "-o", "/out/app", "."]`, ""},
		{"cd changes the folder of the commands after it", "RUN cd app && go vet ./... && go build -o /out/app .", ""},
		{"an || alternative runs when the first command fails", "RUN go build -C nowhere . || go build -C app -o /out/app .", ""},
		{"a failing command fails the RUN", "RUN go build -C app -o /out/app . && go build -C nowhere .", "exit status 1"},
		{"a command other than go or cd is refused", "RUN go build -C app -o /out/app . && strip /out/app", `not "strip"`},
		{"a redirection is refused", "RUN go build -C app -o /out/app . > /out/log", "redirections"},
		{"an undeclared ARG is not set in the script", "RUN go build -C app -o /out/app${SERVICE:?} .", "SERVICE"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := replay(t, appContext(t, c.run))
			switch {
			case c.fails == "" && err != nil:
				t.Errorf("%s: %v", c.run, err)
			case c.fails != "" && (err == nil || !strings.Contains(err.Error(), c.fails)):
				t.Errorf("%s: replay error %v; want one saying %q", c.run, err, c.fails)
			}
		})
	}
}

func TestParseEnvSpecFlattensSettingsOfOtherPackagesButNotDecoders(t *testing.T) {
	specs := envSpecs(t)
	tests := []struct {
		name    string
		service string
		v       EnvVar
	}{
		{"realtime reads Kafka's TLS switch from pkg/kafka's settings", "realtime",
			EnvVar{Name: "REALTIME_KAFKA_TLS", Field: "Kafka.TLS", Type: "bool", Default: "false", HasDefault: true}},
		{"the persister reads the same settings under its own prefix", "persister",
			EnvVar{Name: "PERSISTER_KAFKA_SASL_MECHANISM", Field: "Kafka.SASLMechanism", Type: "string"}},
		{"an untagged field takes its name", "gateway",
			EnvVar{Name: "GATEWAY_REDIS_USERNAME", Field: "Redis.Username", Type: "string"}},
		{"a struct that decodes itself is one variable", "gateway",
			EnvVar{Name: "GATEWAY_RATE_LOGIN_PER_IP", Field: "RateLoginPerIP", Type: "ratelimit.Rule", Default: "20/1m", HasDefault: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := specs[tt.service].Lookup(tt.v.Name)
			if !ok || got != tt.v {
				t.Fatalf("%s = %+v (found %v), want %+v", tt.v.Name, got, ok, tt.v)
			}
		})
	}
}
