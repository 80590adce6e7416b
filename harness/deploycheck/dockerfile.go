package deploycheck

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Dockerfile is a parsed Dockerfile: the ARGs before the first FROM and the stages.
type Dockerfile struct {
	// GlobalArgs are the ARG instructions before the first FROM.
	GlobalArgs []Instruction
	// Stages in file order; the last one is the image.
	Stages []Stage
}

// Stage is one FROM and the instructions under it.
type Stage struct {
	// From is the FROM instruction.
	From Instruction
	// Name is the stage's AS name, if any.
	Name string
	// Instructions after FROM.
	Instructions []Instruction
}

// Instruction is one Dockerfile instruction with continuation lines joined.
type Instruction struct {
	// Cmd is the instruction keyword in upper case (RUN, COPY, ...).
	Cmd string
	// Flags are the leading --name=value options (RUN --mount, COPY --from, FROM --platform).
	Flags map[string][]string
	// Rest is the text after the keyword and flags.
	Rest string
	// Exec holds the JSON array of exec form (ENTRYPOINT ["/x"]); nil for shell form.
	Exec []string
	// Line is the 1-based line the instruction starts on.
	Line int
}

// Flag returns the first value of flag name.
func (in Instruction) Flag(name string) (string, bool) {
	v, ok := in.Flags[name]
	if !ok || len(v) == 0 {
		return "", false
	}
	return v[0], true
}

// ReadDockerfile parses the Dockerfile at path.
func ReadDockerfile(path string) (*Dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	df, err := ParseDockerfile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return df, nil
}

// ParseDockerfile parses Dockerfile text with the default escape character. Heredocs are
// not supported.
func ParseDockerfile(r io.Reader) (*Dockerfile, error) {
	sc := bufio.NewScanner(r)
	df := &Dockerfile{}
	var (
		buf       strings.Builder
		startLine int
		lineNo    int
	)
	flush := func() error {
		text := strings.TrimSpace(buf.String())
		buf.Reset()
		if text == "" {
			return nil
		}
		in, err := parseInstruction(text, startLine)
		if err != nil {
			return err
		}
		switch {
		case in.Cmd == "FROM":
			st := Stage{From: in}
			words := strings.Fields(in.Rest)
			if len(words) == 3 && strings.EqualFold(words[1], "AS") {
				st.Name = words[2]
			} else if len(words) != 1 {
				return fmt.Errorf("line %d: FROM %q: want IMAGE [AS NAME]", in.Line, in.Rest)
			}
			df.Stages = append(df.Stages, st)
		case len(df.Stages) == 0:
			if in.Cmd != "ARG" {
				return fmt.Errorf("line %d: %s before the first FROM", in.Line, in.Cmd)
			}
			df.GlobalArgs = append(df.GlobalArgs, in)
		default:
			st := &df.Stages[len(df.Stages)-1]
			st.Instructions = append(st.Instructions, in)
		}
		return nil
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && buf.Len() == 0) {
			continue // comments (and parser directives) may sit inside continuations too
		}
		if buf.Len() == 0 {
			startLine = lineNo
		}
		if strings.HasSuffix(trimmed, "\\") {
			buf.WriteString(strings.TrimSuffix(trimmed, "\\"))
			buf.WriteByte(' ')
			continue
		}
		buf.WriteString(trimmed)
		if err := flush(); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if buf.Len() > 0 {
		return nil, fmt.Errorf("line %d: file ends inside a continued instruction", startLine)
	}
	if len(df.Stages) == 0 {
		return nil, fmt.Errorf("no FROM instruction")
	}
	return df, nil
}

func parseInstruction(text string, line int) (Instruction, error) {
	kw, rest, _ := strings.Cut(text, " ")
	in := Instruction{Cmd: strings.ToUpper(kw), Flags: map[string][]string{}, Line: line}
	rest = strings.TrimSpace(rest)
	if strings.Contains(rest, "<<") && (in.Cmd == "RUN" || in.Cmd == "COPY") {
		return in, fmt.Errorf("line %d: heredocs are not supported", line)
	}
	switch in.Cmd {
	case "FROM", "RUN", "COPY", "ADD":
		for strings.HasPrefix(rest, "--") {
			flag, after, _ := strings.Cut(rest, " ")
			name, value, _ := strings.Cut(strings.TrimPrefix(flag, "--"), "=")
			in.Flags[name] = append(in.Flags[name], value)
			rest = strings.TrimSpace(after)
		}
	}
	in.Rest = rest
	if strings.HasPrefix(rest, "[") {
		switch in.Cmd {
		case "RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "SHELL", "VOLUME", "HEALTHCHECK":
			var exec []string
			if err := json.Unmarshal([]byte(rest), &exec); err != nil {
				return in, fmt.Errorf("line %d: %s exec form: %w", line, in.Cmd, err)
			}
			in.Exec = exec
		}
	}
	return in, nil
}

// Stage returns the stage named name.
func (df *Dockerfile) Stage(name string) (*Stage, bool) {
	for i := range df.Stages {
		if df.Stages[i].Name == name {
			return &df.Stages[i], true
		}
	}
	return nil, false
}

// Final returns the last stage, which is the image.
func (df *Dockerfile) Final() *Stage { return &df.Stages[len(df.Stages)-1] }

// Vars tracks ARG and ENV values while walking a stage, as BuildKit substitutes them.
type Vars struct {
	buildArgs map[string]string
	global    map[string]string
	values    map[string]string
	// Env holds only ENV values: what a RUN command sees besides its ARGs.
	Env map[string]string
}

// NewVars starts variable tracking for a Dockerfile given --build-arg values. Call Enter
// at each FROM.
func (df *Dockerfile) NewVars(buildArgs map[string]string) (*Vars, error) {
	v := &Vars{buildArgs: buildArgs, global: map[string]string{}}
	for _, in := range df.GlobalArgs {
		for _, word := range strings.Fields(in.Rest) {
			name, def, hasDef := strings.Cut(word, "=")
			if b, ok := buildArgs[name]; ok {
				v.global[name] = b
			} else if hasDef {
				v.global[name] = strings.Trim(def, `"`)
			}
		}
	}
	return v, nil
}

// Enter resets the stage scope: only global ARGs and build args remain.
func (v *Vars) Enter() {
	v.values = map[string]string{}
	v.Env = map[string]string{}
}

// Lookup resolves a name in the current stage scope.
func (v *Vars) Lookup(name string) (string, bool) {
	val, ok := v.values[name]
	return val, ok
}

// GlobalLookup resolves a name in the global scope (for FROM lines).
func (v *Vars) GlobalLookup(name string) (string, bool) {
	if val, ok := v.global[name]; ok {
		return val, true
	}
	val, ok := v.buildArgs[name]
	return val, ok
}

// Apply records the effect of an ARG or ENV instruction; other instructions are ignored.
func (v *Vars) Apply(in Instruction) error {
	switch in.Cmd {
	case "ARG":
		for _, word := range strings.Fields(in.Rest) {
			name, def, hasDef := strings.Cut(word, "=")
			switch b, ok := v.buildArgs[name]; {
			case ok:
				v.values[name] = b
			case hasDef:
				w, err := SplitWords(def, v.Lookup)
				if err != nil {
					return err
				}
				v.values[name] = strings.Join(w, " ")
			default:
				if g, ok := v.global[name]; ok {
					v.values[name] = g
				}
			}
		}
	case "ENV":
		words, err := SplitWords(in.Rest, v.Lookup)
		if err != nil {
			return fmt.Errorf("line %d: %w", in.Line, err)
		}
		if len(words) > 0 && !strings.Contains(words[0], "=") { // legacy ENV NAME value
			v.values[words[0]] = strings.Join(words[1:], " ")
			v.Env[words[0]] = v.values[words[0]]
			return nil
		}
		for _, w := range words {
			name, val, ok := strings.Cut(w, "=")
			if !ok {
				return fmt.Errorf("line %d: ENV word %q has no =", in.Line, w)
			}
			v.values[name] = val
			v.Env[name] = val
		}
	}
	return nil
}

// Labels collects the LABEL key=value pairs of a stage after substitution.
func (df *Dockerfile) Labels(st *Stage, v *Vars) (map[string]string, error) {
	labels := map[string]string{}
	v.Enter()
	for _, in := range st.Instructions {
		if err := v.Apply(in); err != nil {
			return nil, err
		}
		if in.Cmd != "LABEL" {
			continue
		}
		words, err := SplitWords(in.Rest, v.Lookup)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", in.Line, err)
		}
		for _, w := range words {
			k, val, ok := strings.Cut(w, "=")
			if !ok {
				return nil, fmt.Errorf("line %d: LABEL word %q has no =", in.Line, w)
			}
			labels[k] = val
		}
	}
	return labels, nil
}
