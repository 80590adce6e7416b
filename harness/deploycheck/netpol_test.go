package deploycheck

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// outsiders are pods of other namespaces that the policies name, plus two they must not let
// in: any pod of another namespace, and an unknown pod in Quick Chat's own namespace.
func outsiders(ns string) []Endpoint {
	nsLabels := func(name string) map[string]string { return map[string]string{"kubernetes.io/metadata.name": name} }
	return []Endpoint{
		{Name: "ingress-nginx", Namespace: "ingress-nginx", NamespaceLabels: nsLabels("ingress-nginx"),
			Labels: map[string]string{"app.kubernetes.io/name": "ingress-nginx"}, NamedPorts: map[string]int32{"http": 80}},
		{Name: "prometheus", Namespace: "monitoring", NamespaceLabels: nsLabels("monitoring"),
			Labels: map[string]string{"app.kubernetes.io/name": "prometheus"}, NamedPorts: map[string]int32{"web": 9090}},
		{Name: "kube-dns", Namespace: "kube-system", NamespaceLabels: nsLabels("kube-system"),
			Labels: map[string]string{"k8s-app": "kube-dns"}, NamedPorts: map[string]int32{"dns": 53}},
		{Name: "other-namespace", Namespace: "default", NamespaceLabels: nsLabels("default"),
			Labels: map[string]string{"app.kubernetes.io/name": "gateway"}, NamedPorts: map[string]int32{"http": 8080}},
		{Name: "stray-pod", Namespace: ns, NamespaceLabels: nsLabels(ns),
			Labels: map[string]string{"app.kubernetes.io/name": "debug"}, NamedPorts: map[string]int32{"http": 8000}},
	}
}

// endpointPorts are the flows worth probing on an endpoint: its declared ports, and DNS.
func endpointPorts(ep Endpoint) []Flow {
	var flows []Flow
	for _, p := range ep.NamedPorts {
		flows = append(flows, Flow{corev1.ProtocolTCP, p})
		if p == 53 {
			flows = append(flows, Flow{corev1.ProtocolUDP, p})
		}
	}
	return flows
}

// workloadEndpoint is a pod of w in namespace ns, with the ports its containers declare.
func workloadEndpoint(ns string, w workload) Endpoint {
	ep := Endpoint{Name: w.name, Namespace: ns, NamespaceLabels: map[string]string{"kubernetes.io/metadata.name": ns},
		Labels: w.template.Labels, NamedPorts: map[string]int32{}}
	for _, c := range w.template.Spec.Containers {
		for _, p := range c.Ports {
			ep.NamedPorts[p.Name] = p.ContainerPort
		}
	}
	return ep
}

// flowsFrom evaluates every flow from or to the overlay's namespace among its pods and the
// outsiders, as "src -> dst:port/proto" strings: the flows both sides allow, and those
// that one side (the egress policies of a pod of the namespace, or the ingress policies of
// one) would let through if the other side did not stop them. The last two catch a
// loosened policy that the other direction happens to hide.
func flowsFrom(m *manifests) (allowed, egressOnly, ingressOnly []string) {
	ns := m.namespaces[0].Name
	var eps []Endpoint
	for _, w := range m.workloads() {
		eps = append(eps, workloadEndpoint(ns, w))
	}
	eps = append(eps, outsiders(ns)...)
	for _, src := range eps {
		for _, dst := range eps {
			if src.Name == dst.Name || (src.Namespace != ns && dst.Namespace != ns) {
				continue // traffic between other namespaces is not these policies' business
			}
			for _, f := range endpointPorts(dst) {
				s := fmt.Sprintf("%s -> %s:%d/%s", src.Name, dst.Name, f.Port, f.Protocol)
				e, i := EgressAllows(m.netpols, src, dst, f), IngressAllows(m.netpols, src, dst, f)
				if e && i {
					allowed = append(allowed, s)
				}
				if e && src.Namespace == ns {
					egressOnly = append(egressOnly, s)
				}
				if i && dst.Namespace == ns {
					ingressOnly = append(ingressOnly, s)
				}
			}
		}
	}
	for _, l := range []*[]string{&allowed, &egressOnly, &ingressOnly} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
	return allowed, egressOnly, ingressOnly
}

func TestNetworkPoliciesAllowOnlyTheFlowsTheDesignNeeds(t *testing.T) {
	// Public ports (8080, 8081) take the ingress controller; ops ports (8090, 8091, 8092)
	// take Prometheus, and nothing takes both.
	appFlows := []string{
		"ingress-nginx -> gateway:8080/TCP",
		"ingress-nginx -> realtime:8081/TCP",
		"prometheus -> gateway:8090/TCP",
		"prometheus -> realtime:8091/TCP",
		"prometheus -> persister:8092/TCP",
		"realtime -> gateway:8080/TCP",
	}
	dnsFlows := func(pods ...string) []string {
		var out []string
		for _, p := range pods {
			out = append(out, p+" -> kube-dns:53/TCP", p+" -> kube-dns:53/UDP")
		}
		return out
	}
	want := map[string][]string{
		"dev": concat(appFlows,
			dnsFlows("gateway", "realtime", "persister", "migrate", "postgres", "redis", "kafka", "stray-pod"),
			[]string{
				"gateway -> postgres:5432/TCP",
				"persister -> postgres:5432/TCP",
				"migrate -> postgres:5432/TCP",
				"realtime -> redis:6379/TCP",
				"gateway -> redis:6379/TCP",
				"realtime -> kafka:9092/TCP",
				"persister -> kafka:9092/TCP",
			}),
		"prod": concat(appFlows, dnsFlows("gateway", "realtime", "persister", "migrate", "stray-pod")),
	}
	// Egress to managed services outside the cluster, by port.
	wantExternal := map[string]map[string][]int32{
		"dev": {},
		"prod": {
			"gateway":   {5432, 6379},
			"migrate":   {5432},
			"persister": {5432, 9092},
			"realtime":  {6379, 9092},
		},
	}
	forEachOverlay(t, func(t *testing.T, m *manifests) {
		if !hasDefaultDeny(m.netpols) {
			t.Fatal("no default-deny NetworkPolicy for both directions")
		}
		got, egress, ingress := flowsFrom(m)
		exp := slices.Sorted(slices.Values(want[m.overlay]))
		for _, f := range exp {
			if !slices.Contains(got, f) {
				t.Errorf("needed flow is blocked: %s", f)
			}
		}
		for _, f := range got {
			if !slices.Contains(exp, f) {
				t.Errorf("flow allowed that the design does not need: %s", f)
			}
		}
		for _, f := range egress {
			if !slices.Contains(exp, f) {
				t.Errorf("egress policies let out a flow the design does not need: %s", f)
			}
		}
		for _, f := range ingress {
			if !slices.Contains(exp, f) {
				t.Errorf("ingress policies admit a flow the design does not need: %s", f)
			}
		}

		external := map[string][]int32{}
		for _, w := range m.workloads() {
			src := Endpoint{Name: w.name, Namespace: m.namespaces[0].Name, Labels: w.template.Labels}
			for _, cidr := range ipBlocks(m.netpols) {
				ip, ipnet, err := net.ParseCIDR(cidr)
				if err != nil {
					t.Fatalf("ipBlock %q: %v", cidr, err)
				}
				if ones, _ := ipnet.Mask.Size(); ones == 0 {
					t.Errorf("an ipBlock opens egress to every address (%s)", cidr)
				}
				for _, port := range []int32{53, 80, 443, 5432, 6379, 9092} {
					if PodToIP(m.netpols, src, ip, Flow{corev1.ProtocolTCP, port}) && !slices.Contains(external[w.name], port) {
						external[w.name] = append(external[w.name], port)
					}
				}
			}
		}
		for name, ports := range external {
			slices.Sort(ports)
			if !slices.Equal(ports, wantExternal[m.overlay][name]) {
				t.Errorf("%s may leave the cluster on ports %v; want %v", name, ports, wantExternal[m.overlay][name])
			}
		}
		for name, ports := range wantExternal[m.overlay] {
			if _, ok := external[name]; !ok {
				t.Errorf("%s cannot reach its managed services on ports %v", name, ports)
			}
		}
	})
}

func hasDefaultDeny(ps []networkingv1.NetworkPolicy) bool {
	for _, p := range ps {
		sel := p.Spec.PodSelector
		if len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0 && len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 &&
			hasType(p, networkingv1.PolicyTypeIngress) && hasType(p, networkingv1.PolicyTypeEgress) {
			return true
		}
	}
	return false
}

func ipBlocks(ps []networkingv1.NetworkPolicy) []string {
	var out []string
	for _, p := range ps {
		for _, r := range p.Spec.Egress {
			for _, peer := range r.To {
				if peer.IPBlock != nil {
					out = append(out, peer.IPBlock.CIDR)
				}
			}
		}
	}
	return out
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// TestNetworkPolicyEvaluatorFollowsTheAPIRules pins the evaluator the flow test relies on
// to the documented semantics, so a permissive bug there cannot hide an open flow.
func TestNetworkPolicyEvaluatorFollowsTheAPIRules(t *testing.T) {
	const doc = `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: a}
spec: {podSelector: {}, policyTypes: [Ingress, Egress]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: a}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Ingress]
  ingress:
    - from:
        - podSelector: {matchLabels: {app: client}}
        - namespaceSelector: {matchLabels: {team: ops}}
          podSelector: {matchLabels: {app: probe}}
      ports: [{port: http}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client, namespace: a}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: {app: web}}}]
      ports: [{port: 8080, protocol: TCP}]
    - to: [{ipBlock: {cidr: 192.0.2.0/24, except: [192.0.2.128/25]}}]
`
	var ps []networkingv1.NetworkPolicy
	for _, d := range strings.Split(doc, "---") {
		var p networkingv1.NetworkPolicy
		if err := yamlStrict([]byte(d), &p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	web := Endpoint{Name: "web", Namespace: "a", Labels: map[string]string{"app": "web"}, NamedPorts: map[string]int32{"http": 8080}}
	client := Endpoint{Name: "client", Namespace: "a", Labels: map[string]string{"app": "client"}}
	probeOps := Endpoint{Name: "probe", Namespace: "b", NamespaceLabels: map[string]string{"team": "ops"}, Labels: map[string]string{"app": "probe"}}
	probeDev := Endpoint{Name: "probe", Namespace: "c", NamespaceLabels: map[string]string{"team": "dev"}, Labels: map[string]string{"app": "probe"}}
	clientElsewhere := Endpoint{Name: "client", Namespace: "b", NamespaceLabels: map[string]string{"team": "ops"}, Labels: map[string]string{"app": "client"}}
	tcp := func(p int32) Flow { return Flow{corev1.ProtocolTCP, p} }
	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"a client reaches web on its named port", PodToPod(ps, client, web, tcp(8080)), true},
		{"a client cannot reach web on another port", PodToPod(ps, client, web, tcp(9090)), false},
		{"web cannot reach the client (default deny both ways)", PodToPod(ps, web, client, tcp(8080)), false},
		{"a probe in an ops namespace reaches web (unisolated egress)", PodToPod(ps, probeOps, web, tcp(8080)), true},
		{"a probe in a dev namespace does not", PodToPod(ps, probeDev, web, tcp(8080)), false},
		{"a pod selector without a namespace selector means the policy's namespace", PodToPod(ps, clientElsewhere, web, tcp(8080)), false},
		{"the client reaches an address in its ipBlock", PodToIP(ps, client, net.ParseIP("192.0.2.10"), tcp(5432)), true},
		{"but not one in the block's exception", PodToIP(ps, client, net.ParseIP("192.0.2.200"), tcp(5432)), false},
		{"web has no egress outside", PodToIP(ps, web, net.ParseIP("192.0.2.10"), tcp(5432)), false},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
}
