package deploycheck

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/tufanbarisyildirim/gonginx/config"
	"sigs.k8s.io/yaml"
)

// loadCompose loads docker-compose.yml as `docker compose` would, with the project
// environment read from .env.example when withEnvExample is set and empty otherwise (the
// host's environment and any local .env are deliberately left out).
func loadCompose(t testing.TB, withEnvExample bool) *types.Project {
	t.Helper()
	repo := repoRoot(t)
	opts := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(repo)}
	if withEnvExample {
		opts = append(opts, cli.WithEnvFiles(filepath.Join(repo, ".env.example")), cli.WithDotEnv)
	}
	po, err := cli.NewProjectOptions([]string{filepath.Join(repo, "docker-compose.yml")}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	p, err := po.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// composeEnv is a service's environment; a variable listed without a value would be taken
// from the host running compose, which the stack must not depend on.
func composeEnv(t testing.TB, svc types.ServiceConfig) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range svc.Environment {
		if v == nil {
			t.Errorf("service %s: %s has no value and would be copied from the host", svc.Name, k)
			continue
		}
		env[k] = *v
	}
	return env
}

// composeProgram returns the program whose image svc builds: the SERVICE build arg of the
// shared Dockerfile, or "" when svc builds nothing or builds another Dockerfile.
func composeProgram(p *types.Project, svc types.ServiceConfig) string {
	if svc.Build == nil {
		return ""
	}
	df := svc.Build.Dockerfile
	if !filepath.IsAbs(df) {
		df = filepath.Join(svc.Build.Context, df)
	}
	rel, err := filepath.Rel(p.WorkingDir, df)
	if err != nil || filepath.ToSlash(rel) != sharedDockerfile {
		return ""
	}
	if v := svc.Build.Args["SERVICE"]; v != nil {
		return *v
	}
	return ""
}

func TestComposeEnvironmentMatchesEachServiceConfigStruct(t *testing.T) {
	p := loadCompose(t, true)
	specs := envSpecs(t)
	repo := repoRoot(t)
	servers := map[string][]string{} // Go service -> compose services running its server
	subcommands := map[string][]string{}
	images := map[string]program{}
	for _, prog := range programs() {
		images[prog.name] = prog
	}
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		svc := p.Services[name]
		gs := composeProgram(p, svc)
		if svc.Build != nil && gs == "" {
			t.Errorf("service %s builds %s without a SERVICE build arg; every Quick Chat image comes from %s", name, svc.Build.Dockerfile, sharedDockerfile)
			continue
		}
		if gs == "" {
			continue
		}
		spec, ok := specs[gs]
		if !ok {
			t.Errorf("service %s builds %s, which has no config.go", name, gs)
			continue
		}
		args := map[string]string{}
		for k, v := range svc.Build.Args {
			if v != nil {
				args[k] = *v
			}
		}
		if want := images[gs].buildArgs; !maps.Equal(args, want) {
			t.Errorf("service %s: build args %v; the %s image is built with %v", name, args, gs, want)
		}
		if ctx, _ := filepath.Rel(repo, svc.Build.Context); ctx != "." {
			t.Errorf("service %s: build context %q; %s needs the repository root", name, svc.Build.Context, sharedDockerfile)
		}
		if !strings.HasPrefix(svc.Image, "quickchat-"+gs+":") {
			t.Errorf("service %s: image %q; want quickchat-%s:<tag>, the image its build args select", name, svc.Image, gs)
		}
		if len(svc.Entrypoint) != 0 {
			t.Errorf("service %s overrides the image's entrypoint with %q", name, svc.Entrypoint)
		}
		switch len(svc.Command) {
		case 0:
			servers[gs] = append(servers[gs], name)
		case 1:
			if !mainHasStringLiteral(t, filepath.Join(repo, "services", gs, "main.go"), svc.Command[0]) {
				t.Errorf("service %s runs `%s %s`, a subcommand services/%s/main.go does not know", name, gs, svc.Command[0], gs)
			}
			subcommands[gs] = append(subcommands[gs], svc.Command[0])
		default:
			t.Errorf("service %s: command %q; want none or one subcommand", name, svc.Command)
		}
		if gs == "gateway" && slices.Equal(svc.Command, types.ShellCommand{"keygen"}) {
			spec = spec.withoutRequired() // keygen needs no database, only the key file's path
		}
		errorsf(t, "service "+name+" ("+gs+" config)", spec.CheckEnv(composeEnv(t, svc)))
	}
	for gs, spec := range specs {
		if spec.Serves() && len(servers[gs]) == 0 {
			t.Errorf("no compose service runs the %s server", gs)
		}
	}
	if !slices.Contains(subcommands["gateway"], "migrate") {
		t.Error("no one-shot service runs `gateway migrate`")
	}
}

// mainHasStringLiteral reports whether the Go file at path holds the string literal s, as
// main.go does for each subcommand it dispatches on.
func mainHasStringLiteral(t testing.TB, path, s string) bool {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if v, err := strconv.Unquote(lit.Value); err == nil && v == s {
				found = true
			}
		}
		return !found
	})
	return found
}

func TestComposeDefaultsAreTheEnvExample(t *testing.T) {
	repo := repoRoot(t)
	example, err := dotenv.Read(filepath.Join(repo, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(repo, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(string(raw), -1) {
		used[m[1]] = true
	}
	for name := range used {
		if _, ok := example[name]; !ok {
			t.Errorf("docker-compose.yml uses ${%s}, which .env.example does not document", name)
		}
	}
	for name := range example {
		if !used[name] {
			t.Errorf(".env.example sets %s, which docker-compose.yml never uses", name)
		}
	}

	// `docker compose up` without a .env must give the same stack as with .env.example.
	with, without := loadCompose(t, true), loadCompose(t, false)
	a, err := yaml.Marshal(with)
	if err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(without)
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Errorf("the defaults in docker-compose.yml differ from .env.example:\n--- with .env.example\n%s\n--- without\n%s", a, b)
	}
}

func TestComposeStartsTheStackInDependencyOrder(t *testing.T) {
	p := loadCompose(t, true)
	specs := envSpecs(t)

	for _, infra := range []string{"postgres", "redis", "kafka"} {
		svc, ok := p.Services[infra]
		if !ok {
			t.Errorf("no %s service", infra)
			continue
		}
		if svc.HealthCheck == nil || svc.HealthCheck.Disable || len(svc.HealthCheck.Test) == 0 {
			t.Errorf("%s has no health check, so nothing can wait for it to be ready", infra)
		}
	}
	kafka := p.Services["kafka"]
	if !strings.HasPrefix(kafka.Image, "apache/kafka:") {
		t.Errorf("kafka image %q; want the official apache/kafka", kafka.Image)
	}
	kenv := composeEnv(t, kafka)
	if !strings.Contains(kenv["KAFKA_PROCESS_ROLES"], "controller") || kenv["CLUSTER_ID"] == "" {
		t.Errorf("kafka is not a KRaft controller: roles %q, cluster id %q", kenv["KAFKA_PROCESS_ROLES"], kenv["CLUSTER_ID"])
	}
	for name, svc := range p.Services {
		if strings.Contains(svc.Image, "zookeeper") || composeEnv(t, svc)["KAFKA_ZOOKEEPER_CONNECT"] != "" {
			t.Errorf("service %s uses ZooKeeper; Kafka runs in KRaft mode", name)
		}
	}

	for name, svc := range p.Services {
		for dep, d := range svc.DependsOn {
			target, ok := p.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			want := types.ServiceConditionStarted
			switch {
			case target.HealthCheck != nil && !target.HealthCheck.Disable:
				want = types.ServiceConditionHealthy
			case target.Restart == "no" || target.Restart == "":
				want = types.ServiceConditionCompletedSuccessfully
			}
			if d.Condition != want {
				t.Errorf("%s depends on %s with %q; want %q", name, dep, d.Condition, want)
			}
		}
	}
	for _, name := range []string{"gateway", "persister"} {
		if _, ok := p.Services[name].DependsOn["migrate"]; !ok {
			t.Errorf("%s does not wait for the migrations", name)
		}
	}

	rt := p.Services["realtime"]
	if rt.Deploy == nil || rt.Deploy.Replicas == nil || *rt.Deploy.Replicas < 2 {
		t.Error("realtime must run at least two replicas behind the proxy")
	}
	for name, svc := range p.Services {
		if len(svc.Ports) > 0 && name != "proxy" {
			t.Errorf("%s publishes ports; only the proxy faces the host", name)
		}
	}

	// Each service gets longer than its own drain before Docker sends SIGKILL.
	for gs, svcName := range map[string]string{"gateway": "gateway", "realtime": "realtime", "persister": "persister"} {
		svc := p.Services[svcName]
		grace, err := time.ParseDuration(specs[gs].Effective(composeEnv(t, svc), specs[gs].Prefix+"_SHUTDOWN_GRACE"))
		if err != nil {
			t.Fatal(err)
		}
		if svc.StopGracePeriod == nil || time.Duration(*svc.StopGracePeriod) <= grace {
			t.Errorf("%s stop_grace_period %v does not exceed its shutdown grace %v", svcName, svc.StopGracePeriod, grace)
		}
	}

	checkComposeWiring(t, p, specs)
}

// checkComposeWiring follows every address one service gives another.
func checkComposeWiring(t testing.TB, p *types.Project, specs map[string]EnvSpec) {
	t.Helper()
	gw, rt, ps := composeEnv(t, p.Services["gateway"]), composeEnv(t, p.Services["realtime"]), composeEnv(t, p.Services["persister"])
	gwPort, err := specs["gateway"].ListenPort(gw)
	if err != nil {
		t.Fatal(err)
	}

	jwks, err := url.Parse(rt["REALTIME_JWKS_URL"])
	if err != nil || jwks.Hostname() != "gateway" || jwks.Port() != strconv.Itoa(gwPort) || jwks.Path != "/.well-known/jwks.json" {
		t.Errorf("REALTIME_JWKS_URL %q; want http://gateway:%d/.well-known/jwks.json", rt["REALTIME_JWKS_URL"], gwPort)
	}

	hostIsService := func(what, hostport string) {
		host, _, err := net.SplitHostPort(hostport)
		if err != nil {
			t.Errorf("%s %q: %v", what, hostport, err)
			return
		}
		if _, ok := p.Services[host]; !ok {
			t.Errorf("%s %q names no compose service", what, hostport)
		}
	}
	hostIsService("REALTIME_REDIS_ADDRS", rt["REALTIME_REDIS_ADDRS"])
	hostIsService("REALTIME_KAFKA_BROKERS", rt["REALTIME_KAFKA_BROKERS"])
	hostIsService("PERSISTER_KAFKA_BROKERS", ps["PERSISTER_KAFKA_BROKERS"])

	pg := composeEnv(t, p.Services["postgres"])
	for _, v := range []struct{ name, value string }{
		{"GATEWAY_DATABASE_URL", gw["GATEWAY_DATABASE_URL"]},
		{"PERSISTER_DATABASE_URL", ps["PERSISTER_DATABASE_URL"]},
		{"migrate GATEWAY_DATABASE_URL", composeEnv(t, p.Services["migrate"])["GATEWAY_DATABASE_URL"]},
	} {
		u, err := url.Parse(v.value)
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		pass, _ := u.User.Password()
		if u.Hostname() != "postgres" || u.User.Username() != pg["POSTGRES_USER"] || pass != pg["POSTGRES_PASSWORD"] || strings.TrimPrefix(u.Path, "/") != pg["POSTGRES_DB"] {
			t.Errorf("%s %q does not match the postgres service's user, password and database", v.name, v.value)
		}
	}

	for _, k := range []string{"KAFKA_TOPIC", "KAFKA_TOPIC_PARTITIONS"} {
		r := specs["realtime"].Effective(rt, "REALTIME_"+k)
		s := specs["persister"].Effective(ps, "PERSISTER_"+k)
		if r != s {
			t.Errorf("REALTIME_%s=%q but PERSISTER_%s=%q: the persister must read the topic realtime writes", k, r, k, s)
		}
	}

	// The signing key's wiring (generated by keygen into a volume the gateway reads) is
	// checked by TestComposeGeneratesItsSigningKeyAndListensOnLoopback.
}

func TestComposeProxyRoutesWebSocketsToRealtimeAndTheRestToGateway(t *testing.T) {
	p := loadCompose(t, true)
	specs := envSpecs(t)
	proxy, ok := p.Services["proxy"]
	if !ok {
		t.Fatal("no proxy service")
	}
	if len(proxy.Ports) != 1 {
		t.Fatalf("proxy publishes %d ports; want one", len(proxy.Ports))
	}
	var confPath string
	for _, v := range proxy.Volumes {
		if v.Type == types.VolumeTypeBind && strings.HasPrefix(v.Target, "/etc/nginx/") {
			confPath = v.Source
		}
	}
	if confPath == "" {
		t.Fatal("the proxy mounts no nginx configuration")
	}
	conf, err := readNginx(confPath)
	if err != nil {
		t.Fatalf("%s: %v", confPath, err)
	}
	var server config.IDirective
	for _, s := range conf.FindDirectives("server") {
		for _, l := range nginxDirectives(s.GetBlock(), "listen") {
			if args := nginxArgs(l); len(args) > 0 && args[0] == strconv.Itoa(int(proxy.Ports[0].Target)) {
				server = s
			}
		}
	}
	if server == nil {
		t.Fatalf("no server in %s listens on the published port %d", confPath, proxy.Ports[0].Target)
	}
	routes := nginxRoutes(server)
	upstream := func(svc string) string {
		port, err := specs[svc].ListenPort(composeEnv(t, p.Services[svc]))
		if err != nil {
			t.Fatal(err)
		}
		return "http://" + svc + ":" + strconv.Itoa(port)
	}
	got := map[string]nginxRoute{}
	for _, r := range routes {
		got[r.path] = r
	}
	ws, ok := got["/ws"]
	if !ok || ws.upstream != upstream("realtime") {
		t.Errorf("/ws goes to %q; want %s", ws.upstream, upstream("realtime"))
	}
	var upgrades bool
	for _, h := range nginxDirectives(ws.block, "proxy_set_header") {
		if args := nginxArgs(h); len(args) == 2 && args[0] == "Upgrade" {
			upgrades = true
		}
	}
	if !upgrades {
		t.Error("/ws does not pass the Upgrade header, so WebSockets cannot connect")
	}
	if root := got["/"]; root.upstream != upstream("gateway") {
		t.Errorf("/ goes to %q; want %s", root.upstream, upstream("gateway"))
	}
	// Every location sets the forwarding headers itself: nginx drops inherited
	// proxy_set_header directives from any location that sets one.
	for path, r := range got {
		if r.upstream == "" {
			continue
		}
		var headers []string
		for _, h := range nginxDirectives(r.block, "proxy_set_header") {
			if args := nginxArgs(h); len(args) > 0 {
				headers = append(headers, args[0])
			}
		}
		if !slices.Contains(headers, "X-Forwarded-For") {
			t.Errorf("location %s does not set X-Forwarded-For; the gateway's per-IP limits would see the proxy", path)
		}
	}
	if !reflect.DeepEqual(proxy.DependsOn["realtime"].Condition, types.ServiceConditionStarted) {
		t.Errorf("proxy should start after realtime")
	}
}

func TestComposeAndTheDevOverlayRunTheSameDataStores(t *testing.T) {
	p := loadCompose(t, true)
	m := render(t, "dev")
	for _, store := range []string{"postgres", "redis", "kafka"} {
		ss, ok := m.statefulSets[store]
		if !ok || len(ss.Spec.Template.Spec.Containers) == 0 {
			t.Errorf("the dev overlay runs no %s StatefulSet", store)
			continue
		}
		if got, want := ss.Spec.Template.Spec.Containers[0].Image, p.Services[store].Image; got != want {
			t.Errorf("%s: dev overlay runs %s, docker-compose.yml %s; keep them on one version", store, got, want)
		}
	}
}

// TestComposeProxyConfigPassesNginxSyntaxCheck runs `nginx -t` on the proxy configuration
// when nginx is installed (it is optional on developer machines and CI).
func TestComposeProxyConfigPassesNginxSyntaxCheck(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed")
	}
	dir := t.TempDir()
	conf := filepath.Join(repoRoot(t), "k8s", "compose", "nginx.conf")
	// The file is a conf.d include: wrap it in the http block of the image's nginx.conf.
	main := "pid " + filepath.Join(dir, "nginx.pid") + ";\nerror_log " + filepath.Join(dir, "error.log") + ";\n" +
		"events {}\nhttp {\n  access_log off;\n  include " + conf + ";\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nginx, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput()
	if err != nil {
		t.Errorf("nginx -t rejects %s: %v\n%s", conf, err, out)
	}
}
