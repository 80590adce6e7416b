package deploycheck

import (
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// loadtestOverlay is the dev overlay plus components/loadgen. It is not in overlays: its
// second Job breaks the checks that expect the migration Job alone, so the tests below
// check the load generator Job itself and that the component adds it without changing
// anything of dev.
const loadtestOverlay = "dev-loadtest"

// loadgenAdds are the objects components/loadgen adds besides its generated ConfigMap.
var loadgenAdds = map[string][]string{
	"Job":           {"loadgen"},
	"NetworkPolicy": {"loadgen-egress", "gateway-ingress-loadgen", "realtime-ingress-loadgen"},
}

// loadtest is what the load generator tests need: both renderings, the Job, its one
// container and the environment that container sees.
type loadtest struct {
	m, dev *manifests
	job    batchv1.Job
	c      corev1.Container
	env    map[string]string
}

func setupLoadtest(t *testing.T) loadtest {
	t.Helper()
	m := render(t, loadtestOverlay)
	job, ok := m.jobs["loadgen"]
	if !ok {
		t.Fatalf("%s renders no Job loadgen", loadtestOverlay)
	}
	cs := job.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("Job loadgen has %d containers; want one", len(cs))
	}
	return loadtest{m: m, dev: render(t, "dev"), job: job, c: cs[0], env: containerEnv(t, m, "Job loadgen", cs[0])}
}

func TestLoadgenJobRunsTheLoadGeneratorOnce(t *testing.T) {
	lt := setupLoadtest(t)
	job, c, spec := lt.job, lt.c, lt.job.Spec.Template.Spec

	if imageService(c.Image) != "loadgen" || len(c.Command) > 0 || !slices.Equal(c.Args, []string{"run"}) {
		t.Errorf("Job loadgen runs %s %q (command %q); want the quickchat-loadgen image's entrypoint with args [run]", c.Image, c.Args, c.Command)
	}
	// The image comes from where the overlay's other images come from, with the same tag.
	gwPod := lt.m.deployments["gateway"].Spec.Template.Spec
	if len(gwPod.Containers) == 0 {
		t.Fatal("no gateway Deployment to compare images with")
	}
	gw := gwPod.Containers[0].Image
	if want := strings.Replace(gw, "quickchat-gateway", "quickchat-loadgen", 1); c.Image != want {
		t.Errorf("Job loadgen runs image %q; the gateway runs %q, so want %q", c.Image, gw, want)
	}

	loadgen, ok := envSpecs(t)["loadgen"]
	if !ok {
		t.Fatal("no harness/loadgen/config.go spec")
	}
	errorsf(t, "Job loadgen", loadgen.CheckEnv(lt.env))
	for _, name := range []string{"LOADGEN_GATEWAY_URL", "LOADGEN_REALTIME_URLS"} {
		if lt.env[name] == "" {
			t.Errorf("%s is not set; `loadgen run` refuses to start without it", name)
		}
	}
	if got := loadgen.Effective(lt.env, "LOADGEN_LOCAL_IPS"); got != "none" {
		t.Errorf("LOADGEN_LOCAL_IPS %q: in a pod only the kernel's choice of source address routes", got)
	}
	if got := loadgen.Effective(lt.env, "LOADGEN_DATABASE_URL"); got != "" {
		t.Errorf("LOADGEN_DATABASE_URL is set, but the NetworkPolicies keep loadgen away from PostgreSQL")
	}

	if b := job.Spec.BackoffLimit; b == nil || *b != 0 {
		t.Error("backoffLimit is not 0: a failed load test is read, not repeated")
	}
	if job.Spec.ActiveDeadlineSeconds == nil || *job.Spec.ActiveDeadlineSeconds <= 0 {
		t.Error("Job loadgen has no activeDeadlineSeconds; a stuck run would hold its pod forever")
	}
	if job.Spec.TTLSecondsAfterFinished == nil {
		t.Error("Job loadgen has no ttlSecondsAfterFinished; a forgotten one would stay forever")
	}
	if spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q; want Never, so a failed run is not started again in place", spec.RestartPolicy)
	}

	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("Job loadgen mounts a service account token it never uses")
	}
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		t.Error("Job loadgen shares a host namespace")
	}
	checkContainerSecurity(t, "Job loadgen", spec.SecurityContext, c)
	checkResources(t, "Job loadgen", c)

	for where, labels := range map[string]map[string]string{"Job": job.Labels, "pod template": job.Spec.Template.Labels} {
		if labels["app.kubernetes.io/name"] != "loadgen" || labels["app.kubernetes.io/part-of"] != "quickchat" {
			t.Errorf("loadgen %s labels %v; want app.kubernetes.io/name=loadgen and part-of=quickchat like the base", where, labels)
		}
	}
}

func TestLoadgenTargetsTheGatewayAndRealtimeServices(t *testing.T) {
	lt := setupLoadtest(t)
	specs := envSpecs(t)
	listen := map[string]int32{}
	for _, qc := range quickchatContainers(t, lt.m) {
		if qc.w.kind == "Deployment" && specs[qc.service].HasPublicListener() {
			port, err := specs[qc.service].ListenPort(qc.env)
			if err != nil {
				t.Fatal(err)
			}
			listen[qc.service] = int32(port)
		}
	}

	lt.checkTarget(t, "LOADGEN_GATEWAY_URL", lt.env["LOADGEN_GATEWAY_URL"], "http", "", "gateway", listen["gateway"])
	urls := strings.Split(lt.env["LOADGEN_REALTIME_URLS"], ",")
	for _, u := range urls {
		// Realtime serves WebSockets at /ws (services/realtime/run.go), as the Ingress routes.
		lt.checkTarget(t, "LOADGEN_REALTIME_URLS", strings.TrimSpace(u), "ws", "/ws", "realtime", listen["realtime"])
	}
}

// checkTarget follows a URL of the loadgen config to the server behind it: its host must be
// a Service of the overlay with the URL's port, selecting the server's pods alone and
// forwarding to the port the server listens on.
func (lt loadtest) checkTarget(t *testing.T, name, raw, scheme, path, server string, listen int32) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != scheme || u.Path != path || u.Port() == "" {
		t.Errorf("%s %q: want %s://<Service>:<port>%s", name, raw, scheme, path)
		return
	}
	port, _ := strconv.Atoi(u.Port())
	svc, ok := lt.m.serviceFor(u.Hostname(), int32(port))
	if !ok {
		t.Errorf("%s %q: the overlay has no Service %s with port %d", name, raw, u.Hostname(), port)
		return
	}
	ws := lt.m.podsOf(svc.Spec.Selector)
	if len(ws) != 1 || ws[0].name != server {
		var names []string
		for _, w := range ws {
			names = append(names, w.kind+" "+w.name)
		}
		t.Errorf("%s %q reaches %v, not the %s alone", name, raw, names, server)
		return
	}
	for _, sp := range svc.Spec.Ports {
		if sp.Port != int32(port) {
			continue
		}
		for _, c := range ws[0].template.Spec.Containers {
			if containerPort(c, sp.TargetPort) == listen {
				return
			}
		}
		t.Errorf("%s %q: Service %s port %d forwards to %s, not to port %d where %s listens", name, raw, svc.Name, port, sp.TargetPort.String(), listen, server)
	}
}

func TestLoadgenReachesTheGatewayAndRealtimeAndNothingElse(t *testing.T) {
	lt := setupLoadtest(t)
	ns := lt.m.namespaces[0].Name
	eps := map[string]Endpoint{}
	for _, w := range lt.m.workloads() {
		eps[w.name] = workloadEndpoint(ns, w)
	}
	for _, o := range outsiders(ns) {
		eps[o.Name] = o
	}
	tcp := func(p int32) Flow { return Flow{corev1.ProtocolTCP, p} }
	cases := []struct {
		name     string
		src, dst string
		flow     Flow
		want     bool
	}{
		{"loadgen reaches the gateway's API", "loadgen", "gateway", tcp(8080), true},
		{"loadgen reaches realtime's WebSockets", "loadgen", "realtime", tcp(8081), true},
		{"loadgen resolves names over UDP", "loadgen", "kube-dns", Flow{corev1.ProtocolUDP, 53}, true},
		{"loadgen resolves names over TCP", "loadgen", "kube-dns", tcp(53), true},
		{"loadgen cannot reach PostgreSQL", "loadgen", "postgres", tcp(5432), false},
		{"loadgen cannot reach Redis", "loadgen", "redis", tcp(6379), false},
		{"loadgen cannot reach Kafka", "loadgen", "kafka", tcp(9092), false},
		{"loadgen cannot reach the persister", "loadgen", "persister", tcp(8092), false},
		{"loadgen cannot reach the gateway on another port", "loadgen", "gateway", tcp(8081), false},
		{"the gateway cannot reach the loadgen pod", "gateway", "loadgen", tcp(8080), false},
		{"a stray pod still cannot reach the gateway", "stray-pod", "gateway", tcp(8080), false},
		{"a stray pod still cannot reach realtime", "stray-pod", "realtime", tcp(8081), false},
	}
	for _, c := range cases {
		src, okSrc := eps[c.src]
		dst, okDst := eps[c.dst]
		if !okSrc || !okDst {
			t.Fatalf("%s: no pod %s or %s in %s", c.name, c.src, c.dst, loadtestOverlay)
		}
		// A needed flow needs both sides; a forbidden one must be stopped by each side on
		// its own, so a loosened policy cannot hide behind the other direction.
		e, i := EgressAllows(lt.m.netpols, src, dst, c.flow), IngressAllows(lt.m.netpols, src, dst, c.flow)
		switch {
		case c.want && !(e && i):
			t.Errorf("%s: blocked (egress side allows %v, ingress side %v)", c.name, e, i)
		case !c.want && (e || i):
			t.Errorf("%s: let through (egress side allows %v, ingress side %v)", c.name, e, i)
		}
	}

	// Every other flow is as in dev, in both directions and on each side alone.
	devAllowed, _, _ := flowsFrom(lt.dev)
	want := slices.Sorted(slices.Values(concat(devAllowed, []string{
		"loadgen -> gateway:8080/TCP",
		"loadgen -> realtime:8081/TCP",
		"loadgen -> kube-dns:53/TCP",
		"loadgen -> kube-dns:53/UDP",
	})))
	got, egress, ingress := flowsFrom(lt.m)
	for _, f := range want {
		if !slices.Contains(got, f) {
			t.Errorf("flow of dev or loadgen is blocked: %s", f)
		}
	}
	for what, flows := range map[string][]string{"both sides allow": got, "egress policies let out": egress, "ingress policies admit": ingress} {
		for _, f := range flows {
			if !slices.Contains(want, f) {
				t.Errorf("%s a flow neither dev nor loadgen needs: %s", what, f)
			}
		}
	}
}

func TestLoadgenComponentOnlyAddsToTheOverlay(t *testing.T) {
	lt := setupLoadtest(t)
	var configMaps []string
	for _, from := range lt.c.EnvFrom {
		if from.ConfigMapRef != nil && strings.HasPrefix(from.ConfigMapRef.Name, "loadgen-config") {
			configMaps = append(configMaps, from.ConfigMapRef.Name)
		}
	}
	if len(configMaps) != 1 {
		t.Errorf("Job loadgen takes its environment from ConfigMaps %v; want the generated loadgen-config", configMaps)
	}

	m, dev := lt.m, lt.dev
	compareObjects(t, "Namespace", named(dev.namespaces), named(m.namespaces), nil)
	compareObjects(t, "ConfigMap", dev.configMaps, m.configMaps, configMaps)
	compareObjects(t, "Secret", dev.secrets, m.secrets, nil)
	compareObjects(t, "Service", dev.services, m.services, nil)
	compareObjects(t, "Deployment", dev.deployments, m.deployments, nil)
	compareObjects(t, "StatefulSet", dev.statefulSets, m.statefulSets, nil)
	compareObjects(t, "Job", dev.jobs, m.jobs, loadgenAdds["Job"])
	compareObjects(t, "PodDisruptionBudget", named(dev.pdbs), named(m.pdbs), nil)
	compareObjects(t, "HorizontalPodAutoscaler", named(dev.hpas), named(m.hpas), nil)
	compareObjects(t, "Ingress", named(dev.ingresses), named(m.ingresses), nil)
	compareObjects(t, "NetworkPolicy", named(dev.netpols), named(m.netpols), loadgenAdds["NetworkPolicy"])

	// What the component adds lives in the overlay's namespace.
	ns := dev.namespaces[0].Name
	added := []metav1.Object{&lt.job}
	for _, name := range configMaps {
		cm := m.configMaps[name]
		added = append(added, &cm)
	}
	for i, p := range m.netpols {
		if slices.Contains(loadgenAdds["NetworkPolicy"], p.Name) {
			added = append(added, &m.netpols[i])
		}
	}
	for _, o := range added {
		if o.GetNamespace() != ns {
			t.Errorf("%s is in namespace %q, not the overlay's %s", o.GetName(), o.GetNamespace(), ns)
		}
	}
}

// named keys objects by name.
func named[T any, P interface {
	*T
	metav1.Object
}](objs []T) map[string]T {
	out := make(map[string]T, len(objs))
	for i := range objs {
		out[P(&objs[i]).GetName()] = objs[i]
	}
	return out
}

// compareObjects reports objects of dev that the load-test overlay drops or renders
// differently, objects it adds other than added, and objects of added it lacks.
func compareObjects[T any](t *testing.T, kind string, dev, lt map[string]T, added []string) {
	t.Helper()
	for name, o := range dev {
		got, ok := lt[name]
		switch {
		case !ok:
			t.Errorf("%s %s of dev is missing from %s", kind, name, loadtestOverlay)
		case !reflect.DeepEqual(o, got):
			t.Errorf("%s %s renders differently in %s than in dev; the component must only add", kind, name, loadtestOverlay)
		}
	}
	for name := range lt {
		if _, ok := dev[name]; !ok && !slices.Contains(added, name) {
			t.Errorf("%s adds %s %s, which the component does not declare", loadtestOverlay, kind, name)
		}
	}
	for _, name := range added {
		if _, ok := lt[name]; !ok {
			t.Errorf("%s has no %s %s", loadtestOverlay, kind, name)
		}
	}
}
