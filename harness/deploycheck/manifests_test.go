package deploycheck

import (
	"bytes"
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/quickchat-go/quickchat/pkg/token"
)

// writableRootAllowed lists containers that may keep a writable root file system, with the
// reason. Quick Chat's own containers are never on it.
var writableRootAllowed = map[string]string{
	"kafka": "the apache/kafka start script renders its configuration into /opt/kafka/config",
}

func TestOverlaysRenderToStrictlyValidObjects(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		if len(m.deployments) == 0 || len(m.services) == 0 {
			t.Fatalf("overlay %s rendered no Deployments or Services", m.overlay)
		}
		if len(m.namespaces) != 1 {
			t.Fatalf("overlay %s renders %d namespaces; want one", m.overlay, len(m.namespaces))
		}
		ns := m.namespaces[0]
		if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
			t.Errorf("namespace %s does not enforce the restricted Pod Security Standard", ns.Name)
		}
		for _, w := range m.workloads() {
			if w.template.Namespace != "" && w.template.Namespace != ns.Name {
				t.Errorf("%s %s pod template in namespace %q", w.kind, w.name, w.template.Namespace)
			}
		}
	})
}

func TestEveryContainerHasProbesLimitsAndARestrictedSecurityContext(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		for _, w := range m.workloads() {
			spec := w.template.Spec
			where := w.kind + " " + w.name
			if spec.HostNetwork || spec.HostPID || spec.HostIPC {
				t.Errorf("%s shares a host namespace", where)
			}
			if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
				t.Errorf("%s mounts a service account token it never uses", where)
			}
			for _, v := range spec.Volumes {
				if v.HostPath != nil {
					t.Errorf("%s mounts host path %s", where, v.HostPath.Path)
				}
			}
			if len(spec.InitContainers) > 0 {
				t.Errorf("%s has init containers; extend this test before adding them", where)
			}
			for _, c := range spec.Containers {
				where := where + " container " + c.Name
				checkContainerSecurity(t, where, spec.SecurityContext, c)
				checkResources(t, where, c)
				if w.kind != "Job" {
					checkProbes(t, where, c)
				}
				if !imagePinned(c.Image) {
					t.Errorf("%s image %q has no tag or digest (or uses latest)", where, c.Image)
				}
			}
		}
	})
}

func checkContainerSecurity(t testing.TB, where string, pod *corev1.PodSecurityContext, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("%s has no securityContext", where)
		return
	}
	nonRoot := sc.RunAsNonRoot
	uid := sc.RunAsUser
	seccomp := sc.SeccompProfile
	if pod != nil {
		if nonRoot == nil {
			nonRoot = pod.RunAsNonRoot
		}
		if uid == nil {
			uid = pod.RunAsUser
		}
		if seccomp == nil {
			seccomp = pod.SeccompProfile
		}
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("%s: runAsNonRoot is not true", where)
	}
	if uid == nil || *uid == 0 {
		t.Errorf("%s: runAsUser is unset or root", where)
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccomp profile is not RuntimeDefault", where)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("%s is privileged", where)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("%s: capabilities must drop ALL and add none", where)
	}
	readOnly := sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
	_, allowed := writableRootAllowed[c.Name]
	if !readOnly && (!allowed || imageService(c.Image) != "") {
		t.Errorf("%s: root file system is writable", where)
	}
}

func checkResources(t testing.TB, where string, c corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, hasReq := c.Resources.Requests[r]
		lim, hasLim := c.Resources.Limits[r]
		if !hasReq || !hasLim {
			t.Errorf("%s: %s request and limit must both be set", where, r)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s exceeds its limit %s", where, r, req.String(), lim.String())
		}
	}
}

func checkProbes(t testing.TB, where string, c corev1.Container) {
	t.Helper()
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Errorf("%s needs readiness and liveness probes", where)
		return
	}
	for kind, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe, "startup": c.StartupProbe} {
		if p == nil {
			continue
		}
		var port *intstr.IntOrString
		switch {
		case p.HTTPGet != nil:
			port = &p.HTTPGet.Port
		case p.TCPSocket != nil:
			port = &p.TCPSocket.Port
		case p.Exec != nil && len(p.Exec.Command) > 0:
		default:
			t.Errorf("%s: %s probe has no handler", where, kind)
		}
		if port != nil && containerPort(c, *port) == 0 {
			t.Errorf("%s: %s probe targets port %s, which the container does not declare", where, kind, port.String())
		}
	}
	if c.ReadinessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet != nil &&
		c.ReadinessProbe.HTTPGet.Path == c.LivenessProbe.HTTPGet.Path && imageService(c.Image) != "" {
		t.Errorf("%s: liveness and readiness probe the same path; liveness must not fail with a dependency", where)
	}
}

// containerPort resolves a named or numeric port against c's declared ports (0 if absent).
func containerPort(c corev1.Container, port intstr.IntOrString) int32 {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return p.ContainerPort
		}
	}
	return 0
}

func imagePinned(image string) bool {
	if strings.Contains(image, "@sha256:") {
		return true
	}
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	_, tag, ok := strings.Cut(name, ":")
	return ok && tag != "" && tag != "latest"
}

// containerEnv resolves what a container's process sees: env values (from literals,
// ConfigMaps, Secrets or the downward API) and envFrom sources, all of which must exist.
func containerEnv(t testing.TB, m *manifests, where string, c corev1.Container) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, ok := m.configMaps[from.ConfigMapRef.Name]
			if !ok {
				t.Errorf("%s: envFrom ConfigMap %s does not exist", where, from.ConfigMapRef.Name)
			}
			for k, v := range cm.Data {
				env[from.Prefix+k] = v
			}
		case from.SecretRef != nil:
			s, ok := m.secrets[from.SecretRef.Name]
			if !ok {
				t.Errorf("%s: envFrom Secret %s does not exist", where, from.SecretRef.Name)
			}
			for k, v := range s.Data {
				env[from.Prefix+k] = string(v)
			}
		}
	}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			v, ok := m.configMaps[ref.Name].Data[ref.Key]
			if !ok {
				t.Errorf("%s: %s refers to missing ConfigMap key %s/%s", where, e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = v
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := m.secrets[ref.Name].Data[ref.Key]
			if !ok {
				t.Errorf("%s: %s refers to missing Secret key %s/%s", where, e.Name, ref.Name, ref.Key)
			}
			env[e.Name] = string(v)
		case e.ValueFrom.FieldRef != nil:
			env[e.Name] = "<" + e.ValueFrom.FieldRef.FieldPath + ">"
		case e.ValueFrom.ResourceFieldRef != nil:
			env[e.Name] = "1"
		}
	}
	return env
}

// quickchatContainer is a container running one of the Quick Chat binaries.
type quickchatContainer struct {
	w       workload
	c       corev1.Container
	service string
	env     map[string]string
}

func quickchatContainers(t testing.TB, m *manifests) []quickchatContainer {
	t.Helper()
	var out []quickchatContainer
	for _, w := range m.workloads() {
		for _, c := range w.template.Spec.Containers {
			if s := imageService(c.Image); s != "" {
				out = append(out, quickchatContainer{w, c, s, containerEnv(t, m, w.kind+" "+w.name, c)})
			}
		}
	}
	return out
}

func TestQuickChatContainersMatchTheirConfigStructs(t *testing.T) {
	specs := envSpecs(t)
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		servers := map[string]int{}
		for _, qc := range quickchatContainers(t, m) {
			where := qc.w.kind + " " + qc.w.name
			spec, ok := specs[qc.service]
			if !ok {
				t.Errorf("%s runs image %s of no known service", where, qc.c.Image)
				continue
			}
			errorsf(t, where, spec.CheckEnv(qc.env))
			if len(qc.c.Command) > 0 {
				t.Errorf("%s overrides the image's entrypoint", where)
			}
			if qc.w.kind == "Job" {
				if !slices.Equal(qc.c.Args, []string{"migrate"}) || qc.service != "gateway" {
					t.Errorf("%s runs %s %q; the migration Job runs `gateway migrate`", where, qc.service, qc.c.Args)
				}
				continue
			}
			if len(qc.c.Args) > 0 {
				t.Errorf("%s passes args %q to the %s server", where, qc.c.Args, qc.service)
			}
			servers[qc.service]++
			if spec.HasPublicListener() {
				port, err := spec.ListenPort(qc.env)
				if err != nil {
					t.Fatal(err)
				}
				if containerPort(qc.c, intstr.FromString("http")) != int32(port) {
					t.Errorf("%s: container port http is not %d, where %s listens", where, port, qc.service)
				}
			}
			opsPort, err := spec.OpsPort(qc.env)
			if err != nil {
				t.Fatal(err)
			}
			if containerPort(qc.c, intstr.FromString("ops")) != int32(opsPort) {
				t.Errorf("%s: container port ops is not %d, where %s serves its ops endpoints", where, opsPort, qc.service)
			}
			grace, err := time.ParseDuration(spec.Effective(qc.env, spec.Prefix+"_SHUTDOWN_GRACE"))
			if err != nil {
				t.Fatal(err)
			}
			preStop := time.Duration(0)
			if l := qc.c.Lifecycle; l != nil && l.PreStop != nil && l.PreStop.Sleep != nil {
				preStop = time.Duration(l.PreStop.Sleep.Seconds) * time.Second
			}
			// Margin for closing the server and flushing producers after the drain.
			const margin = 10 * time.Second
			tgp := 30 * time.Second
			if s := qc.w.template.Spec.TerminationGracePeriodSeconds; s != nil {
				tgp = time.Duration(*s) * time.Second
			}
			if tgp < preStop+grace+margin {
				t.Errorf("%s: terminationGracePeriodSeconds %v < preStop %v + %s_SHUTDOWN_GRACE %v + %v: Kubernetes would kill it mid-drain",
					where, tgp, preStop, spec.Prefix, grace, margin)
			}
		}
		for name, spec := range specs {
			if spec.Serves() && servers[name] == 0 {
				t.Errorf("no Deployment runs the %s server", name)
			}
		}
		if len(m.jobs) != 1 {
			t.Errorf("want exactly one Job (the migration), got %d", len(m.jobs))
		}
	})
}

func TestRealtimeScalesOnItsOwn(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		rt, ok := m.deployments["realtime"]
		if !ok {
			t.Fatal("no realtime Deployment")
		}
		if rt.Spec.Replicas != nil {
			t.Errorf("the realtime Deployment sets replicas=%d; the HPA owns the count and each apply would reset it", *rt.Spec.Replicas)
		}
		var hpa *autoscalingv2.HorizontalPodAutoscaler
		for i, h := range m.hpas {
			if h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == "realtime" && h.Spec.ScaleTargetRef.APIVersion == "apps/v1" {
				hpa = &m.hpas[i]
			}
		}
		if hpa == nil {
			t.Fatal("no HorizontalPodAutoscaler targets the realtime Deployment")
		}
		if len(m.hpas) != 1 {
			t.Errorf("%d HPAs; only realtime autoscales", len(m.hpas))
		}
		if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas <= *hpa.Spec.MinReplicas {
			t.Errorf("HPA replicas min %v max %d; want min >= 2 for availability and room above it", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
		}
		var cpu, conns bool
		for _, metric := range hpa.Spec.Metrics {
			switch {
			case metric.Type == autoscalingv2.ResourceMetricSourceType && metric.Resource != nil && metric.Resource.Name == corev1.ResourceCPU:
				cpu = metric.Resource.Target.AverageUtilization != nil
			case metric.Type == autoscalingv2.PodsMetricSourceType && metric.Pods != nil && metric.Pods.Metric.Name == "quickchat_realtime_connections":
				conns = metric.Pods.Target.Type == autoscalingv2.AverageValueMetricType && metric.Pods.Target.AverageValue != nil
			}
		}
		if !cpu || !conns {
			t.Errorf("HPA metrics: cpu utilization %v, quickchat_realtime_connections per pod %v; want both", cpu, conns)
		}
		if b := hpa.Spec.Behavior; b == nil || b.ScaleDown == nil || b.ScaleDown.StabilizationWindowSeconds == nil || *b.ScaleDown.StabilizationWindowSeconds < 300 {
			t.Error("HPA scale-down needs a stabilization window of at least 5 minutes: each removed pod drops its clients")
		}
		if s := rt.Spec.Strategy.RollingUpdate; s == nil || s.MaxUnavailable == nil || s.MaxUnavailable.IntValue() != 0 {
			t.Error("realtime rolls out with maxUnavailable 0, so capacity never dips while clients reconnect")
		}
	})
}

func TestEveryDeploymentHasADisruptionBudgetAndAService(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		for _, d := range m.deployments {
			labels := d.Spec.Template.Labels
			if !selectorPicks(d.Spec.Selector, labels) {
				t.Errorf("Deployment %s does not select its own pods", d.Name)
			}
			var pdbs int
			for _, p := range m.pdbs {
				if !selectorPicks(p.Spec.Selector, labels) {
					continue
				}
				pdbs++
				if p.Spec.MinAvailable != nil && d.Spec.Replicas != nil && p.Spec.MinAvailable.IntValue() >= int(*d.Spec.Replicas) {
					t.Errorf("PDB %s needs %d of %d %s pods: no node could ever be drained", p.Name, p.Spec.MinAvailable.IntValue(), *d.Spec.Replicas, d.Name)
				}
				if p.Spec.MaxUnavailable != nil && p.Spec.MaxUnavailable.IntValue() == 0 && p.Spec.MaxUnavailable.Type == intstr.Int {
					t.Errorf("PDB %s allows no disruption at all", p.Name)
				}
			}
			if pdbs != 1 {
				t.Errorf("Deployment %s is covered by %d PodDisruptionBudgets; want one", d.Name, pdbs)
			}
		}
		for _, s := range m.services {
			ws := m.podsOf(s.Spec.Selector)
			if len(ws) == 0 {
				t.Errorf("Service %s selects no pods", s.Name)
				continue
			}
			for _, p := range s.Spec.Ports {
				for _, w := range ws {
					found := false
					for _, c := range w.template.Spec.Containers {
						if containerPort(c, p.TargetPort) != 0 {
							found = true
						}
					}
					if !found {
						t.Errorf("Service %s port %s targets %s, which %s %s does not declare", s.Name, p.Name, p.TargetPort.String(), w.kind, w.name)
					}
				}
			}
		}
	})
}

func TestIngressRoutesWebSocketsToRealtimeAndTheRestToGateway(t *testing.T) {
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		if len(m.ingresses) != 1 {
			t.Fatalf("want one Ingress, got %d", len(m.ingresses))
		}
		ing := m.ingresses[0]
		want := map[string]string{"/ws": "realtime", "/api": "gateway", "/.well-known": "gateway", "/": "gateway"}
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			got := map[string]string{}
			for _, p := range rule.HTTP.Paths {
				if p.PathType == nil || *p.PathType == "ImplementationSpecific" {
					t.Errorf("path %s: pathType must be Prefix or Exact to mean the same on every controller", p.Path)
				}
				b := p.Backend.Service
				if b == nil {
					t.Errorf("path %s has no Service backend", p.Path)
					continue
				}
				svc, ok := m.services[b.Name]
				if !ok {
					t.Errorf("path %s goes to missing Service %s", p.Path, b.Name)
					continue
				}
				portOK := false
				for _, sp := range svc.Spec.Ports {
					if (b.Port.Name != "" && sp.Name == b.Port.Name) || (b.Port.Number != 0 && sp.Port == b.Port.Number) {
						portOK = true
					}
				}
				if !portOK {
					t.Errorf("path %s: Service %s has no port %v", p.Path, b.Name, b.Port)
				}
				for _, w := range m.podsOf(svc.Spec.Selector) {
					got[p.Path] = w.name
				}
			}
			for path, to := range want {
				if got[path] != to {
					t.Errorf("host %s: %s goes to %q; want %s", rule.Host, path, got[path], to)
				}
			}
		}
	})
}

func TestServicesFindEachOther(t *testing.T) {
	specs := envSpecs(t)
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		env := map[string]map[string]string{}
		for _, qc := range quickchatContainers(t, m) {
			if qc.w.kind == "Deployment" {
				env[qc.service] = qc.env
			}
		}
		gw, rt, ps := env["gateway"], env["realtime"], env["persister"]

		// realtime -> gateway JWKS through the gateway Service.
		u, err := url.Parse(rt["REALTIME_JWKS_URL"])
		if err != nil || u.Path != "/.well-known/jwks.json" {
			t.Fatalf("REALTIME_JWKS_URL %q", rt["REALTIME_JWKS_URL"])
		}
		port, _ := strconv.Atoi(u.Port())
		svc, ok := m.serviceFor(u.Hostname(), int32(port))
		if !ok {
			t.Errorf("REALTIME_JWKS_URL %q names no Service port", rt["REALTIME_JWKS_URL"])
		} else if ws := m.podsOf(svc.Spec.Selector); len(ws) != 1 || ws[0].name != "gateway" {
			t.Errorf("REALTIME_JWKS_URL reaches %v, not the gateway", ws)
		}

		// Data store addresses: in-cluster Services where the overlay runs the store, an
		// external DNS name otherwise.
		checkAddr := func(what, hostport, store string) {
			host, p, err := net.SplitHostPort(hostport)
			if err != nil {
				t.Errorf("%s %q: %v", what, hostport, err)
				return
			}
			n, _ := strconv.Atoi(p)
			if svc, ok := m.serviceFor(host, int32(n)); ok {
				if ws := m.podsOf(svc.Spec.Selector); len(ws) != 1 || ws[0].name != store {
					t.Errorf("%s %q reaches %v, not %s", what, hostport, ws, store)
				}
			} else if !strings.Contains(host, ".") {
				t.Errorf("%s %q is neither a Service of the overlay nor an external name", what, hostport)
			}
		}
		for _, a := range strings.Split(rt["REALTIME_REDIS_ADDRS"], ",") {
			checkAddr("REALTIME_REDIS_ADDRS", a, "redis")
		}
		for _, a := range strings.Split(rt["REALTIME_KAFKA_BROKERS"], ",") {
			checkAddr("REALTIME_KAFKA_BROKERS", a, "kafka")
		}
		for _, a := range strings.Split(ps["PERSISTER_KAFKA_BROKERS"], ",") {
			checkAddr("PERSISTER_KAFKA_BROKERS", a, "kafka")
		}
		for name, raw := range map[string]string{"GATEWAY_DATABASE_URL": gw["GATEWAY_DATABASE_URL"], "PERSISTER_DATABASE_URL": ps["PERSISTER_DATABASE_URL"]} {
			u, err := url.Parse(raw)
			if err != nil || u.Port() == "" {
				t.Errorf("%s is not a postgres URL with a port", name)
				continue
			}
			checkAddr(name, u.Host, "postgres")
			if pg, ok := m.secrets["postgres"]; ok { // the in-cluster database's credentials
				pass, _ := u.User.Password()
				if u.User.Username() != string(pg.Data["POSTGRES_USER"]) || pass != string(pg.Data["POSTGRES_PASSWORD"]) || strings.TrimPrefix(u.Path, "/") != string(pg.Data["POSTGRES_DB"]) {
					t.Errorf("%s does not match the in-cluster PostgreSQL's user, password and database", name)
				}
			}
		}

		// One topic, written by realtime and read by the persister.
		for _, k := range []string{"KAFKA_TOPIC", "KAFKA_TOPIC_PARTITIONS"} {
			r := specs["realtime"].Effective(rt, "REALTIME_"+k)
			p := specs["persister"].Effective(ps, "PERSISTER_"+k)
			if r != p {
				t.Errorf("REALTIME_%s=%q but PERSISTER_%s=%q", k, r, k, p)
			}
		}
		partitions, _ := strconv.Atoi(specs["persister"].Effective(ps, "PERSISTER_KAFKA_TOPIC_PARTITIONS"))
		if d := m.deployments["persister"]; d.Spec.Replicas == nil || int(*d.Spec.Replicas) > partitions {
			t.Errorf("persister replicas %v exceed the %d partitions; the extra ones would idle", d.Spec.Replicas, partitions)
		}

		// The gateway's key file is where the signing key Secret is mounted.
		checkSigningKeys(t, m, gw["GATEWAY_SIGNING_KEY_FILE"])

		checkPublicURL(t, m, gw["GATEWAY_PUBLIC_REALTIME_URL"], rt["REALTIME_ALLOWED_ORIGINS"])
	})
}

// checkPublicURL follows the WebSocket URL the gateway hands to browsers: it must be a host
// of the Ingress, at /ws, with wss where the Ingress terminates TLS, and realtime must accept
// pages from that host as an Origin.
func checkPublicURL(t testing.TB, m *manifests, publicURL, origins string) {
	t.Helper()
	u, err := url.Parse(publicURL)
	if err != nil || u.Path != "/ws" {
		t.Errorf("GATEWAY_PUBLIC_REALTIME_URL %q: want <scheme>://<ingress host>/ws", publicURL)
		return
	}
	var hosts, tlsHosts []string
	for _, ing := range m.ingresses {
		for _, r := range ing.Spec.Rules {
			hosts = append(hosts, r.Host)
		}
		for _, tl := range ing.Spec.TLS {
			tlsHosts = append(tlsHosts, tl.Hosts...)
		}
	}
	if !slices.Contains(hosts, u.Host) {
		t.Errorf("GATEWAY_PUBLIC_REALTIME_URL host %q is not an Ingress host %v", u.Host, hosts)
	}
	if want := map[bool]string{true: "wss", false: "ws"}[slices.Contains(tlsHosts, u.Host)]; u.Scheme != want {
		t.Errorf("GATEWAY_PUBLIC_REALTIME_URL scheme %q; the Ingress serves %s with %s", u.Scheme, u.Host, want)
	}
	allowed := false
	for _, p := range strings.Split(origins, ",") {
		if ok, _ := path.Match(strings.TrimSpace(p), u.Host); ok {
			allowed = true
		}
	}
	if !allowed {
		t.Errorf("REALTIME_ALLOWED_ORIGINS %q rejects pages from %s", origins, u.Host)
	}
}

// checkSigningKeys finds the Secret mounted at the gateway's key file. Dev must hold the
// key the operator generated (render puts a fresh one where it goes), never one of the
// repository; prod must hold no key at all, so a real one comes from the secret manager.
func checkSigningKeys(t testing.TB, m *manifests, keyFile string) {
	t.Helper()
	d := m.deployments["gateway"]
	var data []byte
	found := false
	for _, c := range d.Spec.Template.Spec.Containers {
		for _, vm := range c.VolumeMounts {
			rel, ok := strings.CutPrefix(keyFile, strings.TrimSuffix(vm.MountPath, "/")+"/")
			if !ok {
				continue
			}
			for _, v := range d.Spec.Template.Spec.Volumes {
				if v.Name == vm.Name && v.Secret != nil {
					s, ok := m.secrets[v.Secret.SecretName]
					if !ok {
						t.Fatalf("signing key Secret %s is missing", v.Secret.SecretName)
					}
					data, found = s.Data[rel], true
				}
			}
		}
	}
	if !found {
		t.Fatalf("GATEWAY_SIGNING_KEY_FILE %q is not in a mounted Secret", keyFile)
	}
	keys, err := parseSigningKeys(data)
	switch m.overlay {
	case "prod":
		if err == nil {
			t.Error("the prod overlay ships a private signing key; production keys come from the operator's secret store")
		}
	default:
		if err != nil {
			t.Errorf("signing key file: %v", err)
		}
		for _, k := range keys {
			if where, published := token.Published(&k.PublicKey); published {
				t.Errorf("the %s overlay signs with a key committed to the repository (%s)", m.overlay, where)
			}
		}
		if !bytes.Equal(data, devSigningKey(t)) {
			t.Errorf("the %s overlay's signing key is not the one generated into %s", m.overlay, devKeyFile)
		}
	}
}
