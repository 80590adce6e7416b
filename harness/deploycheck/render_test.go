package deploycheck

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/yaml"
)

// overlays are the kustomize overlays under k8s/overlays that the tests render.
var overlays = []string{"dev", "prod"}

// manifests is one rendered overlay, decoded into Kubernetes API types.
type manifests struct {
	overlay      string
	namespaces   []corev1.Namespace
	configMaps   map[string]corev1.ConfigMap
	secrets      map[string]corev1.Secret
	services     map[string]corev1.Service
	deployments  map[string]appsv1.Deployment
	statefulSets map[string]appsv1.StatefulSet
	jobs         map[string]batchv1.Job
	pdbs         []policyv1.PodDisruptionBudget
	hpas         []autoscalingv2.HorizontalPodAutoscaler
	ingresses    []networkingv1.Ingress
	netpols      []networkingv1.NetworkPolicy
}

// workload is any controller of pods, with what the checks need of it.
type workload struct {
	kind, name string
	replicas   *int32
	template   corev1.PodTemplateSpec
}

func (m *manifests) workloads() []workload {
	var ws []workload
	for _, d := range m.deployments {
		ws = append(ws, workload{"Deployment", d.Name, d.Spec.Replicas, d.Spec.Template})
	}
	for _, s := range m.statefulSets {
		ws = append(ws, workload{"StatefulSet", s.Name, s.Spec.Replicas, s.Spec.Template})
	}
	for _, j := range m.jobs {
		ws = append(ws, workload{"Job", j.Name, nil, j.Spec.Template})
	}
	return ws
}

// render builds the overlay with kustomize's Go API, as `kubectl apply -k` would, and
// decodes every object strictly: a field the Kubernetes types do not have fails the test,
// and so does a kind this repo does not expect. It builds from a copy of k8s/ with the
// signing key an operator generates before applying the dev overlay (k8sWithDevKey).
func render(t testing.TB, overlay string) *manifests {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "k8s", "overlays", overlay)
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(k8sWithDevKey(t), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	m := &manifests{
		overlay:      overlay,
		configMaps:   map[string]corev1.ConfigMap{},
		secrets:      map[string]corev1.Secret{},
		services:     map[string]corev1.Service{},
		deployments:  map[string]appsv1.Deployment{},
		statefulSets: map[string]appsv1.StatefulSet{},
		jobs:         map[string]batchv1.Job{},
	}
	for _, res := range resMap.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		id := res.GetGvk().ApiVersion() + "/" + res.GetKind()
		if err := m.decode(id, doc); err != nil {
			t.Errorf("%s: %s %s: %v", overlay, id, res.GetName(), err)
		}
	}
	return m
}

func (m *manifests) decode(id string, doc []byte) error {
	strict := func(into any) error { return yaml.UnmarshalStrict(doc, into) }
	switch id {
	case "v1/Namespace":
		var o corev1.Namespace
		err := strict(&o)
		m.namespaces = append(m.namespaces, o)
		return err
	case "v1/ConfigMap":
		var o corev1.ConfigMap
		err := strict(&o)
		m.configMaps[o.Name] = o
		return err
	case "v1/Secret":
		var o corev1.Secret
		err := strict(&o)
		m.secrets[o.Name] = o
		return err
	case "v1/Service":
		var o corev1.Service
		err := strict(&o)
		m.services[o.Name] = o
		return err
	case "apps/v1/Deployment":
		var o appsv1.Deployment
		err := strict(&o)
		m.deployments[o.Name] = o
		return err
	case "apps/v1/StatefulSet":
		var o appsv1.StatefulSet
		err := strict(&o)
		m.statefulSets[o.Name] = o
		return err
	case "batch/v1/Job":
		var o batchv1.Job
		err := strict(&o)
		m.jobs[o.Name] = o
		return err
	case "policy/v1/PodDisruptionBudget":
		var o policyv1.PodDisruptionBudget
		err := strict(&o)
		m.pdbs = append(m.pdbs, o)
		return err
	case "autoscaling/v2/HorizontalPodAutoscaler":
		var o autoscalingv2.HorizontalPodAutoscaler
		err := strict(&o)
		m.hpas = append(m.hpas, o)
		return err
	case "networking.k8s.io/v1/Ingress":
		var o networkingv1.Ingress
		err := strict(&o)
		m.ingresses = append(m.ingresses, o)
		return err
	case "networking.k8s.io/v1/NetworkPolicy":
		var o networkingv1.NetworkPolicy
		err := strict(&o)
		m.netpols = append(m.netpols, o)
		return err
	default:
		return fmt.Errorf("kind %s is not one the deployment checks know; add it to manifests.decode", id)
	}
}

// forEachOverlay runs check as a subtest per overlay.
func forEachOverlay(t *testing.T, check func(t *testing.T, m *manifests)) {
	t.Helper()
	for _, o := range overlays {
		t.Run(o, func(t *testing.T) {
			t.Parallel()
			check(t, render(t, o))
		})
	}
}

// selectorPicks reports whether sel selects pods labelled podLabels.
func selectorPicks(sel *metav1.LabelSelector, podLabels map[string]string) bool {
	return sel != nil && selectorMatches(sel, podLabels)
}

// serviceFor returns the Service name and port number behind host:port inside the overlay's
// namespace (host is a bare Service name), or ok=false.
func (m *manifests) serviceFor(host string, port int32) (corev1.Service, bool) {
	svc, ok := m.services[host]
	if !ok {
		return svc, false
	}
	for _, p := range svc.Spec.Ports {
		if p.Port == port {
			return svc, true
		}
	}
	return svc, false
}

// podsOf returns the workloads whose pods a selector picks.
func (m *manifests) podsOf(sel map[string]string) []workload {
	var out []workload
	for _, w := range m.workloads() {
		if len(sel) > 0 && selectorPicks(&metav1.LabelSelector{MatchLabels: sel}, w.template.Labels) {
			out = append(out, w)
		}
	}
	return out
}

// imageService returns the Quick Chat service a container image is built from
// (".../quickchat-gateway:tag" → "gateway"), or "".
func imageService(image string) string {
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, "@")
	name, _, _ = strings.Cut(name, ":")
	s, ok := strings.CutPrefix(name, "quickchat-")
	if !ok {
		return ""
	}
	return s
}

// yamlStrict decodes YAML into a Kubernetes type, failing on unknown fields.
func yamlStrict(doc []byte, into any) error { return yaml.UnmarshalStrict(doc, into) }
