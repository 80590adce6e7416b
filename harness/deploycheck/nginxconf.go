package deploycheck

import (
	"fmt"
	"strings"
)

// NginxDirective is one directive of an nginx configuration: a name, its arguments and, for
// block directives (server, location, ...), the directives inside.
type NginxDirective struct {
	Name     string
	Args     []string
	Block    []NginxDirective
	HasBlock bool
}

// ParseNginx parses nginx configuration text into its directive tree. It handles comments,
// quotes and nesting; it does not resolve include or check directive names.
func ParseNginx(text string) ([]NginxDirective, error) {
	toks, err := nginxTokens(text)
	if err != nil {
		return nil, err
	}
	ds, rest, err := parseNginxBlock(toks, false)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("unexpected %q", rest[0])
	}
	return ds, nil
}

func nginxTokens(text string) ([]string, error) {
	var toks []string
	var cur strings.Builder
	inTok := false
	end := func() {
		if inTok {
			toks = append(toks, cur.String())
			cur.Reset()
			inTok = false
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '#':
			end()
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			end()
		case c == '{' || c == '}' || c == ';':
			end()
			toks = append(toks, string(c))
		case c == '"' || c == '\'':
			j := strings.IndexByte(text[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			cur.WriteString(text[i+1 : i+1+j])
			inTok = true
			i += j + 1
		default:
			cur.WriteByte(c)
			inTok = true
		}
	}
	end()
	return toks, nil
}

func parseNginxBlock(toks []string, nested bool) ([]NginxDirective, []string, error) {
	var out []NginxDirective
	for len(toks) > 0 {
		if toks[0] == "}" {
			if !nested {
				return nil, nil, fmt.Errorf("unbalanced }")
			}
			return out, toks[1:], nil
		}
		d := NginxDirective{Name: toks[0]}
		toks = toks[1:]
		for len(toks) > 0 && toks[0] != ";" && toks[0] != "{" && toks[0] != "}" {
			d.Args = append(d.Args, toks[0])
			toks = toks[1:]
		}
		if len(toks) == 0 {
			return nil, nil, fmt.Errorf("directive %s is not terminated", d.Name)
		}
		switch toks[0] {
		case ";":
			toks = toks[1:]
		case "{":
			inner, rest, err := parseNginxBlock(toks[1:], true)
			if err != nil {
				return nil, nil, err
			}
			d.Block, d.HasBlock, toks = inner, true, rest
		default:
			return nil, nil, fmt.Errorf("directive %s is not terminated", d.Name)
		}
		out = append(out, d)
	}
	if nested {
		return nil, nil, fmt.Errorf("missing }")
	}
	return out, nil, nil
}

// FindNginx returns the directives named name among ds (not recursive).
func FindNginx(ds []NginxDirective, name string) []NginxDirective {
	var out []NginxDirective
	for _, d := range ds {
		if d.Name == name {
			out = append(out, d)
		}
	}
	return out
}

// NginxRoute is where one location of a server sends requests.
type NginxRoute struct {
	// Modifier is the location's match modifier ("=", "^~", "" for a prefix).
	Modifier string
	// Path is the location's path.
	Path string
	// Upstream is proxy_pass's URL with $variables set in the location or server resolved;
	// empty when the location does not proxy.
	Upstream string
	// Directives are the location's own directives.
	Directives []NginxDirective
}

// NginxRoutes lists the locations of server and where each proxies to.
func NginxRoutes(server NginxDirective) ([]NginxRoute, error) {
	serverVars := nginxSets(server.Block)
	var routes []NginxRoute
	for _, loc := range FindNginx(server.Block, "location") {
		r := NginxRoute{Directives: loc.Block}
		switch len(loc.Args) {
		case 1:
			r.Path = loc.Args[0]
		case 2:
			r.Modifier, r.Path = loc.Args[0], loc.Args[1]
		default:
			return nil, fmt.Errorf("location %v", loc.Args)
		}
		vars := nginxSets(loc.Block)
		for k, v := range serverVars {
			if _, ok := vars[k]; !ok {
				vars[k] = v
			}
		}
		if pp := FindNginx(loc.Block, "proxy_pass"); len(pp) == 1 && len(pp[0].Args) == 1 {
			up := pp[0].Args[0]
			for k, v := range vars {
				up = strings.ReplaceAll(up, "$"+k, v)
			}
			r.Upstream = up
		}
		routes = append(routes, r)
	}
	return routes, nil
}

func nginxSets(ds []NginxDirective) map[string]string {
	vars := map[string]string{}
	for _, d := range FindNginx(ds, "set") {
		if len(d.Args) == 2 {
			vars[strings.TrimPrefix(d.Args[0], "$")] = d.Args[1]
		}
	}
	return vars
}
