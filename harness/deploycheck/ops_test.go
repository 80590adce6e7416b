package deploycheck

import (
	"maps"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// opsPaths are what each service serves on its ops port only; none may be reachable
// through the Ingress or the compose proxy.
var opsPaths = []string{"/metrics", "/healthz", "/readyz", "/debug/pprof/"}

// Regression: issue 13 L7 — the Ingress exposed the gateway's /metrics and /readyz. Every
// service now serves its ops endpoints on an ops port of its own: the kubelet probes it and
// Prometheus scrapes it, only the monitoring namespace may reach it, and no Ingress path
// leads to it.
func TestOpsPortsAreProbedAndScrapedButNeverRouted(t *testing.T) {
	specs := envSpecs(t)
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		ns := m.namespaces[0].Name
		var prometheus, ingressNginx Endpoint
		for _, o := range outsiders(ns) {
			switch o.Name {
			case "prometheus":
				prometheus = o
			case "ingress-nginx":
				ingressNginx = o
			}
		}
		opsPorts := map[string]int32{} // workload name -> its ops port
		probed := map[string]bool{}    // Quick Chat servers seen
		for _, qc := range quickchatContainers(t, m) {
			if qc.w.kind != "Deployment" {
				continue
			}
			where := qc.w.kind + " " + qc.w.name
			spec := specs[qc.service]
			p, err := spec.OpsPort(qc.env)
			if err != nil {
				t.Fatal(err)
			}
			opsPort := int32(p)
			opsPorts[qc.w.name] = opsPort
			probed[qc.service] = true
			if containerPort(qc.c, intstr.FromString("ops")) != opsPort {
				t.Errorf("%s declares no container port ops = %d, where %s serves /healthz, /readyz and /metrics", where, opsPort, qc.service)
			}
			for kind, probe := range map[string]*corev1.Probe{"startup": qc.c.StartupProbe, "readiness": qc.c.ReadinessProbe, "liveness": qc.c.LivenessProbe} {
				switch {
				case probe == nil && kind == "startup":
				case probe == nil || probe.HTTPGet == nil:
					t.Errorf("%s: no HTTP %s probe", where, kind)
				case containerPort(qc.c, probe.HTTPGet.Port) != opsPort:
					t.Errorf("%s: %s probe goes to port %s, not the ops port %d (the public port answers 404 for %s)", where, kind, probe.HTTPGet.Port.String(), opsPort, probe.HTTPGet.Path)
				case probe.HTTPGet.Path != "/healthz" && probe.HTTPGet.Path != "/readyz":
					t.Errorf("%s: %s probe path %s is neither /healthz nor /readyz", where, kind, probe.HTTPGet.Path)
				}
			}
			a := qc.w.template.Annotations
			if a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != strconv.Itoa(int(opsPort)) || a["prometheus.io/path"] != "/metrics" {
				t.Errorf("%s: scrape annotations %v; want /metrics on the ops port %d", where, a, opsPort)
			}

			pod := workloadEndpoint(ns, qc.w)
			tcp := func(port int32) Flow { return Flow{corev1.ProtocolTCP, port} }
			if !PodToPod(m.netpols, prometheus, pod, tcp(opsPort)) {
				t.Errorf("%s: Prometheus cannot reach the ops port %d", where, opsPort)
			}
			if PodToPod(m.netpols, ingressNginx, pod, tcp(opsPort)) {
				t.Errorf("%s: the ingress controller may reach the ops port %d", where, opsPort)
			}
			if spec.HasPublicListener() {
				public, err := spec.ListenPort(qc.env)
				if err != nil {
					t.Fatal(err)
				}
				if int32(public) == opsPort {
					t.Errorf("%s serves its ops endpoints on its public port %d", where, public)
				}
				if PodToPod(m.netpols, prometheus, pod, tcp(int32(public))) {
					t.Errorf("%s: Prometheus may reach the public port %d; it scrapes the ops port", where, public)
				}
			}
		}
		for name, spec := range specs {
			if spec.Serves() && !probed[name] {
				t.Errorf("no Deployment runs the %s server; found %v", name, slices.Sorted(maps.Keys(probed)))
			}
		}

		for _, ing := range m.ingresses {
			for _, rule := range ing.Spec.Rules {
				if rule.HTTP == nil {
					continue
				}
				for _, p := range rule.HTTP.Paths {
					b := p.Backend.Service
					if b == nil {
						continue
					}
					svc := m.services[b.Name]
					for _, sp := range svc.Spec.Ports {
						if (b.Port.Name == "" || sp.Name != b.Port.Name) && (b.Port.Number == 0 || sp.Port != b.Port.Number) {
							continue
						}
						for _, w := range m.podsOf(svc.Spec.Selector) {
							for _, c := range w.template.Spec.Containers {
								if port := containerPort(c, sp.TargetPort); port != 0 && port == opsPorts[w.name] {
									t.Errorf("Ingress %s: %s%s leads to %s's ops port %d", ing.Name, rule.Host, p.Path, w.name, port)
								}
							}
						}
					}
				}
			}
		}
	})
}

// Regression: issue 13 L7 — in the compose stack the ops ports are neither published on
// the host's interfaces nor named by the proxy, and the proxy answers the ops paths
// itself instead of passing them on.
func TestComposeNeverPublishesOrProxiesOpsPorts(t *testing.T) {
	p := loadCompose(t, true)
	specs := envSpecs(t)
	ops := map[string]int{} // compose service -> its ops port
	for name, svc := range p.Services {
		prog := composeProgram(p, svc)
		if prog == "" || len(svc.Command) > 0 || !specs[prog].Serves() {
			continue
		}
		port, err := specs[prog].OpsPort(composeEnv(t, svc))
		if err != nil {
			t.Fatal(err)
		}
		ops[name] = port
	}
	if len(ops) != 3 {
		t.Fatalf("ops ports for %v; want the gateway, realtime and the persister", ops)
	}
	for name, svc := range p.Services {
		for _, pc := range svc.Ports {
			if port, ok := ops[name]; ok && int(pc.Target) == port && !loopback(pc.HostIP) {
				t.Errorf("%s publishes its ops port %d on %q; bind it to 127.0.0.1 if operators need it on the host", name, port, pc.HostIP)
			}
		}
	}

	proxy := p.Services["proxy"]
	var confPath string
	for _, v := range proxy.Volumes {
		if v.Type == types.VolumeTypeBind && strings.HasPrefix(v.Target, "/etc/nginx/") {
			confPath = v.Source
		}
	}
	conf, err := readNginx(confPath)
	if err != nil {
		t.Fatalf("proxy configuration %q: %v", confPath, err)
	}
	for _, server := range conf.FindDirectives("server") {
		routes := nginxRoutes(server)
		for _, r := range routes {
			if r.upstream == "" {
				continue
			}
			host, port := upstreamHostPort(r.upstream)
			if op, ok := ops[host]; ok && port == strconv.Itoa(op) {
				t.Errorf("location %s proxies to %s, the ops port of %s", r.path, r.upstream, host)
			}
		}
		for _, path := range opsPaths {
			if r := nginxPick(routes, path); r != nil && r.upstream != "" {
				t.Errorf("the proxy passes %s to %s (location %s %s); it must answer it itself", path, r.upstream, r.modifier, r.path)
			}
		}
	}
}

func TestNginxPickFollowsNginxLocationOrder(t *testing.T) {
	conf, err := parseNginx(`server {
		location = /exact { return 200; }
		location ^~ /static/ { return 200; }
		location ~ ^/(metrics|readyz)$ { return 404; }
		location ~* \.PNG$ { return 200; }
		location /api { proxy_pass http://gateway:8080; }
		location / { proxy_pass http://gateway:8080; }
	}`)
	if err != nil {
		t.Fatal(err)
	}
	routes := nginxRoutes(conf.FindDirectives("server")[0])
	tests := []struct{ uri, want string }{
		{"/exact", "= /exact"},
		{"/exact/more", " /"},
		{"/static/a.png", "^~ /static/"},
		{"/metrics", "~ ^/(metrics|readyz)$"},
		{"/metrics/x", " /"},
		{"/api/x.png", `~* \.PNG$`},
		{"/api/users", " /api"},
		{"/", " /"},
	}
	for _, tt := range tests {
		r := nginxPick(routes, tt.uri)
		if got := r.modifier + " " + r.path; r == nil || got != tt.want {
			t.Errorf("%s goes to location %q, want %q", tt.uri, got, tt.want)
		}
	}
}

// nginxPick returns the location of routes that nginx chooses for uri: an exact match;
// else the longest prefix if it is ^~; else the first regular expression that matches, in
// order; else the longest prefix (nil if none).
func nginxPick(routes []nginxRoute, uri string) *nginxRoute {
	var longest *nginxRoute
	for i, r := range routes {
		switch r.modifier {
		case "=":
			if r.path == uri {
				return &routes[i]
			}
		case "", "^~":
			if strings.HasPrefix(uri, r.path) && (longest == nil || len(r.path) > len(longest.path)) {
				longest = &routes[i]
			}
		}
	}
	if longest != nil && longest.modifier == "^~" {
		return longest
	}
	for i, r := range routes {
		pattern := r.path
		switch r.modifier {
		case "~":
		case "~*":
			pattern = "(?i)" + pattern
		default:
			continue
		}
		if re, err := regexp.Compile(pattern); err == nil && re.MatchString(uri) {
			return &routes[i]
		}
	}
	return longest
}

// upstreamHostPort splits a proxy_pass URL's host and port ("http://gateway:8080" →
// "gateway", "8080"; port "80" when none is given).
func upstreamHostPort(upstream string) (string, string) {
	rest := upstream
	if _, after, ok := strings.Cut(rest, "://"); ok {
		rest = after
	}
	rest, _, _ = strings.Cut(rest, "/")
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return rest, "80"
	}
	return host, port
}

func loopback(hostIP string) bool {
	ip := net.ParseIP(hostIP)
	return ip != nil && ip.IsLoopback()
}
