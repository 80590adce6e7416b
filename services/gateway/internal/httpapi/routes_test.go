package httpapi_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// everyMethod is how many methods chi registers for r.Handle; such routes are "ANY".
var everyMethod = []string{"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}

// routerRoutes walks the router and returns "METHOD /path" for every route, with trailing
// slashes of mounted roots trimmed and all-method routes collapsed to "ANY".
func routerRoutes(t testing.TB, r chi.Routes) []string {
	t.Helper()
	methods := map[string][]string{}
	err := chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if len(route) > 1 {
			route = strings.TrimSuffix(route, "/")
		}
		methods[route] = append(methods[route], method)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for route, ms := range methods {
		slices.Sort(ms)
		if len(ms) >= len(everyMethod) && !slices.ContainsFunc(everyMethod, func(m string) bool { return !slices.Contains(ms, m) }) {
			out = append(out, "ANY "+route)
			continue
		}
		for _, m := range ms {
			out = append(out, m+" "+route)
		}
	}
	slices.Sort(out)
	return out
}

var docRoute = regexp.MustCompile("(?m)^### `([A-Z]+) (/[^`]*)`$")

// documentedRoutes returns "METHOD /path" for every route heading in docs/api.md.
func documentedRoutes(t testing.TB) []string {
	t.Helper()
	data, err := os.ReadFile("../../../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range docRoute.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1]+" "+m[2])
	}
	slices.Sort(out)
	return out
}

func TestEveryRouteIsDocumentedAndEveryDocumentedRouteExists(t *testing.T) {
	t.Parallel()
	e := setup(t)
	routes, docs := routerRoutes(t, e.api.Routes()), documentedRoutes(t)
	if len(routes) < 15 {
		t.Fatalf("walked only %d routes: %v", len(routes), routes)
	}
	for _, r := range routes {
		if !slices.Contains(docs, r) {
			t.Errorf("route %s is missing from docs/api.md", r)
		}
	}
	for _, d := range docs {
		if !slices.Contains(routes, d) {
			t.Errorf("docs/api.md documents %s, which the router does not serve", d)
		}
	}
}
