package deploycheck

import (
	"net"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Endpoint is a pod as NetworkPolicy sees it.
type Endpoint struct {
	// Name identifies the endpoint in test messages.
	Name string
	// Namespace and NamespaceLabels locate the pod for namespaceSelector.
	Namespace       string
	NamespaceLabels map[string]string
	// Labels are the pod's labels.
	Labels map[string]string
	// NamedPorts maps container port names to numbers, for policies that name ports.
	NamedPorts map[string]int32
}

// Flow is traffic to one port.
type Flow struct {
	Protocol corev1.Protocol
	Port     int32
}

// PodToPod reports whether policies let src open a connection to dst on flow: the egress
// policies that select src and the ingress policies that select dst must both allow it (a
// pod selected by no policy of a direction is open in that direction).
func PodToPod(policies []networkingv1.NetworkPolicy, src, dst Endpoint, flow Flow) bool {
	return EgressAllows(policies, src, dst, flow) && IngressAllows(policies, src, dst, flow)
}

// EgressAllows reports whether the egress side (policies selecting src) lets src reach dst.
func EgressAllows(policies []networkingv1.NetworkPolicy, src, dst Endpoint, flow Flow) bool {
	return egressAllows(policies, src, func(peer networkingv1.NetworkPolicyPeer, ns string) bool {
		return peerMatchesPod(peer, ns, dst)
	}, dst, flow)
}

// IngressAllows reports whether the ingress side (policies selecting dst) admits src.
func IngressAllows(policies []networkingv1.NetworkPolicy, src, dst Endpoint, flow Flow) bool {
	return ingressAllows(policies, dst, src, flow)
}

// PodToIP reports whether the egress policies selecting src let it reach ip on flow, as for
// a managed service outside the cluster.
func PodToIP(policies []networkingv1.NetworkPolicy, src Endpoint, ip net.IP, flow Flow) bool {
	return egressAllows(policies, src, func(peer networkingv1.NetworkPolicyPeer, _ string) bool {
		return peerMatchesIP(peer, ip)
	}, Endpoint{}, flow)
}

func hasType(p networkingv1.NetworkPolicy, t networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 {
		return t == networkingv1.PolicyTypeIngress || (t == networkingv1.PolicyTypeEgress && len(p.Spec.Egress) > 0)
	}
	for _, pt := range p.Spec.PolicyTypes {
		if pt == t {
			return true
		}
	}
	return false
}

func selects(p networkingv1.NetworkPolicy, ep Endpoint) bool {
	return p.Namespace == ep.Namespace && selectorMatches(&p.Spec.PodSelector, ep.Labels)
}

func egressAllows(policies []networkingv1.NetworkPolicy, src Endpoint, peerOK func(networkingv1.NetworkPolicyPeer, string) bool, dst Endpoint, flow Flow) bool {
	isolated := false
	for _, p := range policies {
		if !hasType(p, networkingv1.PolicyTypeEgress) || !selects(p, src) {
			continue
		}
		isolated = true
		for _, rule := range p.Spec.Egress {
			if !portsMatch(rule.Ports, dst, flow) {
				continue
			}
			if len(rule.To) == 0 {
				return true
			}
			for _, peer := range rule.To {
				if peerOK(peer, p.Namespace) {
					return true
				}
			}
		}
	}
	return !isolated
}

func ingressAllows(policies []networkingv1.NetworkPolicy, dst, src Endpoint, flow Flow) bool {
	isolated := false
	for _, p := range policies {
		if !hasType(p, networkingv1.PolicyTypeIngress) || !selects(p, dst) {
			continue
		}
		isolated = true
		for _, rule := range p.Spec.Ingress {
			if !portsMatch(rule.Ports, dst, flow) {
				continue
			}
			if len(rule.From) == 0 {
				return true
			}
			for _, peer := range rule.From {
				if peerMatchesPod(peer, p.Namespace, src) {
					return true
				}
			}
		}
	}
	return !isolated
}

// peerMatchesPod matches a peer of a policy in namespace ns against a pod.
func peerMatchesPod(peer networkingv1.NetworkPolicyPeer, ns string, ep Endpoint) bool {
	if peer.IPBlock != nil {
		return false // ipBlock is for traffic leaving the cluster; pod IPs are not modelled
	}
	if peer.NamespaceSelector != nil {
		if !selectorMatches(peer.NamespaceSelector, ep.NamespaceLabels) {
			return false
		}
	} else if ep.Namespace != ns {
		return false
	}
	return peer.PodSelector == nil || selectorMatches(peer.PodSelector, ep.Labels)
}

func peerMatchesIP(peer networkingv1.NetworkPolicyPeer, ip net.IP) bool {
	if peer.IPBlock == nil {
		return false
	}
	_, cidr, err := net.ParseCIDR(peer.IPBlock.CIDR)
	if err != nil || !cidr.Contains(ip) {
		return false
	}
	for _, ex := range peer.IPBlock.Except {
		if _, c, err := net.ParseCIDR(ex); err == nil && c.Contains(ip) {
			return false
		}
	}
	return true
}

func portsMatch(ports []networkingv1.NetworkPolicyPort, dst Endpoint, flow Flow) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		proto := corev1.ProtocolTCP
		if p.Protocol != nil {
			proto = *p.Protocol
		}
		if proto != flow.Protocol {
			continue
		}
		if p.Port == nil {
			return true
		}
		var num int32
		if p.Port.Type == intstr.String { // a named port of the destination pod
			n, ok := dst.NamedPorts[p.Port.StrVal]
			if !ok {
				continue
			}
			num = n
		} else {
			num = p.Port.IntVal
		}
		end := num
		if p.EndPort != nil {
			end = *p.EndPort
		}
		if flow.Port >= num && flow.Port <= end {
			return true
		}
	}
	return false
}

func selectorMatches(sel *metav1.LabelSelector, set map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(set))
}
