package deploycheck

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// EnvVar is one variable that a service reads through envconfig.
type EnvVar struct {
	// Name is the full variable name, prefix included (GATEWAY_DATABASE_URL).
	Name string
	// Field is the Go field path in the config struct (DatabaseURL).
	Field string
	// Type is the field's Go type as written (string, time.Duration, []string, ...).
	Type string
	// Default is the default tag, if any.
	Default string
	// HasDefault tells an empty default from none.
	HasDefault bool
	// Required is true when the variable must be set: required:"true" and no default.
	Required bool
}

// EnvSpec is the set of variables one service reads, as declared by its config struct.
type EnvSpec struct {
	// Service is the program's name: the folder holding its config.go (services/gateway,
	// harness/loadgen, ...).
	Service string
	// Prefix is the prefix passed to envconfig.Process, without the trailing underscore.
	Prefix string
	// Vars are keyed by full variable name.
	Vars map[string]EnvVar
}

// Lookup returns the variable named name.
func (s EnvSpec) Lookup(name string) (EnvVar, bool) {
	v, ok := s.Vars[name]
	return v, ok
}

// Effective returns the value the service would see for name given env: the value in env
// when set there, else the default.
func (s EnvSpec) Effective(env map[string]string, name string) string {
	if v, ok := env[name]; ok {
		return v
	}
	return s.Vars[name].Default
}

// RuntimeVars are variables a service may be given that envconfig does not read but the Go
// runtime or the C library does.
var RuntimeVars = []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG", "GOTRACEBACK", "TZ"}

// CheckEnv reports every problem with env as the environment of this service: variables
// with the service's prefix that the struct does not declare, variables of no prefix that
// the runtime does not read either (another service's variable, a typo), required variables
// missing or empty, and values that cannot parse as the field's type.
func (s EnvSpec) CheckEnv(env map[string]string) []error {
	var errs []error
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, name := range names {
		v, ok := s.Vars[name]
		switch {
		case ok:
			if err := checkValue(v, env[name]); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
		case strings.HasPrefix(name, s.Prefix+"_"):
			errs = append(errs, fmt.Errorf("%s is not a field of the %s config struct", name, s.Service))
		case !slices.Contains(RuntimeVars, name):
			errs = append(errs, fmt.Errorf("%s is not read by %s (its variables start with %s_)", name, s.Service, s.Prefix))
		}
	}
	for _, name := range s.sortedNames() {
		v := s.Vars[name]
		if v.Required && env[name] == "" {
			errs = append(errs, fmt.Errorf("%s is required by %s but not set", name, s.Service))
		}
	}
	return errs
}

func (s EnvSpec) sortedNames() []string {
	names := make([]string, 0, len(s.Vars))
	for k := range s.Vars {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// checkValue parses value as envconfig would for the common scalar types; types it does not
// know (custom decoders) are accepted as they are.
func checkValue(v EnvVar, value string) error {
	var err error
	switch v.Type {
	case "time.Duration":
		_, err = time.ParseDuration(value)
	case "bool":
		_, err = strconv.ParseBool(value)
	case "int", "int64":
		_, err = strconv.ParseInt(value, 0, 64)
	case "int32":
		_, err = strconv.ParseInt(value, 0, 32)
	case "int16":
		_, err = strconv.ParseInt(value, 0, 16)
	case "int8":
		_, err = strconv.ParseInt(value, 0, 8)
	case "uint", "uint64":
		_, err = strconv.ParseUint(value, 0, 64)
	case "uint32":
		_, err = strconv.ParseUint(value, 0, 32)
	case "uint16":
		_, err = strconv.ParseUint(value, 0, 16)
	case "uint8":
		_, err = strconv.ParseUint(value, 0, 8)
	case "float64", "float32":
		_, err = strconv.ParseFloat(value, 64)
	}
	if err != nil {
		return fmt.Errorf("%q is not a valid %s", value, v.Type)
	}
	return nil
}

// Serves reports whether the service is a long-running server (it has a listen address,
// <PREFIX>_OPS_ADDR, and most also a public <PREFIX>_ADDR) rather than a tool such as the
// load generator, which is run on demand and so needs an image but no Deployment or
// compose service.
func (s EnvSpec) Serves() bool {
	return s.HasPublicListener() || s.hasVar(s.Prefix+"_OPS_ADDR")
}

// HasPublicListener reports whether the service serves clients (<PREFIX>_ADDR); the
// persister serves only its ops endpoints.
func (s EnvSpec) HasPublicListener() bool { return s.hasVar(s.Prefix + "_ADDR") }

func (s EnvSpec) hasVar(name string) bool {
	_, ok := s.Vars[name]
	return ok
}

// ListenPort returns the port of the service's public listen address: the Addr variable's
// effective value given env (":8080" → 8080).
func (s EnvSpec) ListenPort(env map[string]string) (int, error) {
	return s.port(env, s.Prefix+"_ADDR")
}

// OpsPort returns the port of the service's ops listen address (/healthz, /readyz,
// /metrics): the OpsAddr variable's effective value given env.
func (s EnvSpec) OpsPort(env map[string]string) (int, error) {
	return s.port(env, s.Prefix+"_OPS_ADDR")
}

func (s EnvSpec) port(env map[string]string, name string) (int, error) {
	if !s.hasVar(name) {
		return 0, fmt.Errorf("%s reads no %s", s.Service, name)
	}
	addr := s.Effective(env, name)
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", name, addr, err)
	}
	return strconv.Atoi(port)
}

// LoadEnvSpecs reads every services/*/config.go under repo, and the load generator's
// harness/loadgen/config.go: every program that ships as an image.
func LoadEnvSpecs(repo string) (map[string]EnvSpec, error) {
	files, err := filepath.Glob(filepath.Join(repo, "services", "*", "config.go"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no services/*/config.go under %s", repo)
	}
	files = append(files, filepath.Join(repo, "harness", "loadgen", "config.go"))
	specs := map[string]EnvSpec{}
	for _, f := range files {
		spec, err := ParseEnvSpec(f)
		if err != nil {
			return nil, err
		}
		specs[spec.Service] = spec
	}
	return specs, nil
}

// ParseEnvSpec reads a service's config.go: it finds the envconfig.Process(prefix, &v) call,
// the struct type of v, and every field's envconfig, default and required tags. Fields
// whose type is another struct of the same file, or a struct of a package of this
// repository (kafka.Settings), are flattened with their own key as a further prefix, as
// envconfig does.
func ParseEnvSpec(path string) (EnvSpec, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return EnvSpec{}, err
	}
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return EnvSpec{}, err
	}
	spec := EnvSpec{Service: filepath.Base(filepath.Dir(path)), Vars: map[string]EnvVar{}}

	structs := map[string]*ast.StructType{}
	ast.Inspect(file, func(n ast.Node) bool {
		if ts, ok := n.(*ast.TypeSpec); ok {
			if st, ok := ts.Type.(*ast.StructType); ok {
				structs[ts.Name.Name] = st
			}
		}
		return true
	})

	var typeName string
	for _, fn := range file.Decls {
		fd, ok := fn.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		varTypes := localVarTypes(fd)
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || !isSelector(call.Fun, "envconfig", "Process") || len(call.Args) != 2 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			spec.Prefix, _ = strconv.Unquote(lit.Value)
			if u, ok := call.Args[1].(*ast.UnaryExpr); ok && u.Op == token.AND {
				switch x := u.X.(type) {
				case *ast.Ident:
					typeName = varTypes[x.Name]
				case *ast.CompositeLit:
					if id, ok := x.Type.(*ast.Ident); ok {
						typeName = id.Name
					}
				}
			}
			return false
		})
	}
	if spec.Prefix == "" || typeName == "" {
		return spec, fmt.Errorf("%s: no envconfig.Process(\"PREFIX\", &cfg) call with a struct of this file", path)
	}
	st, ok := structs[typeName]
	if !ok {
		return spec, fmt.Errorf("%s: envconfig reads type %s, which is not a struct of this file", path, typeName)
	}
	scope := typeScope{structs: structs, decoders: map[string]bool{}, imports: fileImports(file), root: findRepoRoot(filepath.Dir(path))}
	fileDecoders(file, scope.decoders)
	if err := addFields(&spec, scope, st, spec.Prefix, "", map[string]bool{typeName: true}); err != nil {
		return spec, fmt.Errorf("%s: %w", path, err)
	}
	return spec, nil
}

// localVarTypes maps variables declared as `var c T` in fd to T.
func localVarTypes(fd *ast.FuncDecl) map[string]string {
	types := map[string]string{}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || vs.Type == nil {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); ok {
			for _, name := range vs.Names {
				types[name.Name] = id.Name
			}
		}
		return true
	})
	return types
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// modulePrefix starts the import path of every package of this repository; the rest of
// the path is the package's folder.
const modulePrefix = "github.com/quickchat-go/quickchat/"

// typeScope is where the struct types a config names are looked up: the structs of one
// file or package and the packages it imports.
type typeScope struct {
	structs map[string]*ast.StructType
	// decoders are the types that decode themselves (Decode, Set, UnmarshalText or
	// UnmarshalBinary), which envconfig reads as one variable even when they are structs.
	decoders map[string]bool
	imports  map[string]string // package name → import path
	root     string            // the repository root ("" when not found)
}

// decoderMethods are the methods that make envconfig read a type as one value.
var decoderMethods = map[string]bool{"Decode": true, "Set": true, "UnmarshalText": true, "UnmarshalBinary": true}

// fileDecoders adds to out the types of file with a decoder method.
func fileDecoders(file *ast.File, out map[string]bool) {
	for _, d := range file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil || len(fd.Recv.List) != 1 || !decoderMethods[fd.Name.Name] {
			continue
		}
		t := fd.Recv.List[0].Type
		if star, ok := t.(*ast.StarExpr); ok {
			t = star.X
		}
		if id, ok := t.(*ast.Ident); ok {
			out[id.Name] = true
		}
	}
}

// lookup finds the struct type e names: a struct of the scope, or pkg.Type of a package of
// this repository, with the scope its own fields are read in. ok is false for any other
// type, which is then a variable of its own.
func (sc typeScope) lookup(e ast.Expr) (st *ast.StructType, in typeScope, name string, ok bool, err error) {
	switch x := e.(type) {
	case *ast.Ident:
		st, ok = sc.structs[x.Name]
		return st, sc, x.Name, ok && !sc.decoders[x.Name], nil
	case *ast.SelectorExpr:
		pkg, isIdent := x.X.(*ast.Ident)
		if !isIdent {
			return nil, sc, "", false, nil
		}
		path, local := strings.CutPrefix(sc.imports[pkg.Name], modulePrefix)
		if !local || sc.root == "" {
			return nil, sc, "", false, nil
		}
		in, err = parsePackage(filepath.Join(sc.root, filepath.FromSlash(path)))
		if err != nil {
			return nil, sc, "", false, err
		}
		st, ok = in.structs[x.Sel.Name]
		return st, in, pkg.Name + "." + x.Sel.Name, ok && !in.decoders[x.Sel.Name], nil
	}
	return nil, sc, "", false, nil
}

// parsePackage reads the struct types and imports of a package's non-test files.
func parsePackage(dir string) (typeScope, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return typeScope{}, err
	}
	sc := typeScope{structs: map[string]*ast.StructType{}, decoders: map[string]bool{}, imports: map[string]string{}, root: findRepoRoot(dir)}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.SkipObjectResolution)
		if err != nil {
			return sc, err
		}
		for k, v := range fileImports(file) {
			sc.imports[k] = v
		}
		fileDecoders(file, sc.decoders)
		ast.Inspect(file, func(n ast.Node) bool {
			if ts, ok := n.(*ast.TypeSpec); ok {
				if st, ok := ts.Type.(*ast.StructType); ok {
					sc.structs[ts.Name.Name] = st
				}
			}
			return true
		})
	}
	return sc, nil
}

// fileImports maps the package names a file uses to their import paths (the last path
// element unless renamed).
func fileImports(file *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range file.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = path
	}
	return out
}

// findRepoRoot returns the folder above dir holding go.work, or "".
func findRepoRoot(dir string) string {
	for {
		if fileExists(filepath.Join(dir, "go.work")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func addFields(spec *EnvSpec, scope typeScope, st *ast.StructType, prefix, fieldPath string, seen map[string]bool) error {
	for _, f := range st.Fields.List {
		var tag reflect.StructTag
		if f.Tag != nil {
			raw, err := strconv.Unquote(f.Tag.Value)
			if err != nil {
				return err
			}
			tag = reflect.StructTag(raw)
		}
		if tag.Get("ignored") == "true" {
			continue
		}
		names := f.Names
		if len(names) == 0 { // embedded: envconfig flattens it without a prefix of its own
			inner, in, name, ok, err := scope.lookup(f.Type)
			if err != nil {
				return err
			}
			if !ok || seen[name] {
				return fmt.Errorf("embedded field %s is not a struct of this repository", exprString(f.Type))
			}
			if err := addFields(spec, in, inner, prefix, fieldPath, with(seen, name)); err != nil {
				return err
			}
			continue
		}
		for _, n := range names {
			if !n.IsExported() {
				continue
			}
			key := tag.Get("envconfig")
			if key == "" {
				key = n.Name
				if tag.Get("split_words") == "true" {
					key = splitWords(n.Name)
				}
			}
			key = strings.ToUpper(key)
			full := prefix + "_" + key
			path := n.Name
			if fieldPath != "" {
				path = fieldPath + "." + n.Name
			}
			inner, in, name, ok, err := scope.lookup(f.Type)
			if err != nil {
				return err
			}
			if ok && !seen[name] {
				if err := addFields(spec, in, inner, full, path, with(seen, name)); err != nil {
					return err
				}
				continue
			}
			def, hasDef := tag.Lookup("default")
			if _, dup := spec.Vars[full]; dup {
				return errors.New("two fields read " + full)
			}
			spec.Vars[full] = EnvVar{
				Name: full, Field: path, Type: exprString(f.Type),
				Default: def, HasDefault: hasDef,
				Required: tag.Get("required") == "true" && !hasDef,
			}
		}
	}
	return nil
}

func with(seen map[string]bool, name string) map[string]bool {
	out := make(map[string]bool, len(seen)+1)
	for k, v := range seen {
		out[k] = v
	}
	out[name] = true
	return out
}

// splitWords turns a Go field name into envconfig's split_words key: MaxBodyBytes → MAX_BODY_BYTES.
func splitWords(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.ArrayType:
		return "[]" + exprString(x.Elt)
	case *ast.StarExpr:
		return "*" + exprString(x.X)
	case *ast.MapType:
		return "map[" + exprString(x.Key) + "]" + exprString(x.Value)
	default:
		return fmt.Sprintf("%T", e)
	}
}
