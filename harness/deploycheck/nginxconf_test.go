package deploycheck

import (
	"os"
	"strings"

	"github.com/tufanbarisyildirim/gonginx/config"
	"github.com/tufanbarisyildirim/gonginx/parser"
)

// readNginx parses an nginx configuration file.
func readNginx(path string) (*config.Config, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseNginx(string(text))
}

// parseNginx parses nginx configuration text with gonginx, which also rejects directive
// names nginx does not know.
func parseNginx(text string) (*config.Config, error) {
	return parser.NewStringParser(text).Parse()
}

// nginxDirectives returns the directives named name directly inside block (gonginx's own
// FindDirectives also searches nested blocks).
func nginxDirectives(block config.IBlock, name string) []config.IDirective {
	var out []config.IDirective
	if block == nil {
		return nil
	}
	for _, d := range block.GetDirectives() {
		if d.GetName() == name {
			out = append(out, d)
		}
	}
	return out
}

// nginxArgs returns a directive's parameters with their quotes removed, as nginx reads them.
func nginxArgs(d config.IDirective) []string {
	var out []string
	for _, p := range d.GetParameters() {
		v := p.GetValue()
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		out = append(out, v)
	}
	return out
}

// nginxRoute is where one location of a server sends requests.
type nginxRoute struct {
	// modifier is the location's match modifier ("=", "~", "^~", "" for a prefix).
	modifier string
	// path is the location's path or pattern.
	path string
	// upstream is proxy_pass's URL with the $variables set in the location or the server
	// resolved; empty when the location does not proxy.
	upstream string
	// block holds the location's own directives.
	block config.IBlock
}

// nginxRoutes lists the locations of server and where each proxies to.
func nginxRoutes(server config.IDirective) []nginxRoute {
	serverVars := nginxSets(server.GetBlock())
	var routes []nginxRoute
	for _, d := range nginxDirectives(server.GetBlock(), "location") {
		loc, ok := d.(*config.Location)
		if !ok {
			continue
		}
		r := nginxRoute{modifier: loc.Modifier, path: loc.Match, block: loc.GetBlock()}
		vars := nginxSets(r.block)
		for k, v := range serverVars {
			if _, ok := vars[k]; !ok {
				vars[k] = v
			}
		}
		if pp := nginxDirectives(r.block, "proxy_pass"); len(pp) == 1 && len(nginxArgs(pp[0])) == 1 {
			up := nginxArgs(pp[0])[0]
			for k, v := range vars {
				up = strings.ReplaceAll(up, "$"+k, v)
			}
			r.upstream = up
		}
		routes = append(routes, r)
	}
	return routes
}

// nginxSets returns the variables the set directives directly inside block assign.
func nginxSets(block config.IBlock) map[string]string {
	vars := map[string]string{}
	for _, d := range nginxDirectives(block, "set") {
		if args := nginxArgs(d); len(args) == 2 {
			vars[strings.TrimPrefix(args[0], "$")] = args[1]
		}
	}
	return vars
}
