package deploycheck

import (
	"fmt"
	"strings"
)

// Lookup returns the value of a variable and whether it is set.
type Lookup func(name string) (string, bool)

// SplitCommands splits a plain shell command line into simple commands joined by "&&" or
// ";", each a list of words after quote removal and variable expansion through lookup
// (nil leaves $-references as they are). It understands single and double quotes,
// backslash escapes and $NAME, ${NAME}, ${NAME:-word}, ${NAME-word} and ${NAME:+word}; it
// refuses pipes, redirections, command substitution and other shell syntax, so a
// Dockerfile that needs them fails its check loudly instead of being half understood.
func SplitCommands(line string, lookup Lookup) ([][]string, error) {
	var (
		cmds    [][]string
		words   []string
		cur     strings.Builder
		inWord  bool
		rs      = []rune(line)
		endWord = func() {
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		}
		endCmd = func() {
			endWord()
			if len(words) > 0 {
				cmds = append(cmds, words)
				words = nil
			}
		}
	)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			endWord()
		case r == '\\':
			if i+1 < len(rs) {
				i++
				if rs[i] != '\n' {
					cur.WriteRune(rs[i])
					inWord = true
				}
			}
		case r == '\'':
			j := i + 1
			for j < len(rs) && rs[j] != '\'' {
				j++
			}
			if j >= len(rs) {
				return nil, fmt.Errorf("unterminated single quote in %q", line)
			}
			cur.WriteString(string(rs[i+1 : j]))
			i = j
			inWord = true
		case r == '"':
			inWord = true
			i++
			for ; i < len(rs) && rs[i] != '"'; i++ {
				switch {
				case rs[i] == '\\' && i+1 < len(rs) && strings.ContainsRune("\\\"$`\n", rs[i+1]):
					i++
					if rs[i] != '\n' {
						cur.WriteRune(rs[i])
					}
				case rs[i] == '$':
					n, err := expand(rs, i, lookup, &cur)
					if err != nil {
						return nil, err
					}
					i = n
				case rs[i] == '`':
					return nil, fmt.Errorf("command substitution is not supported in %q", line)
				default:
					cur.WriteRune(rs[i])
				}
			}
			if i >= len(rs) {
				return nil, fmt.Errorf("unterminated double quote in %q", line)
			}
		case r == '$':
			n, err := expand(rs, i, lookup, &cur)
			if err != nil {
				return nil, err
			}
			i = n
			inWord = true
		case r == '&' && i+1 < len(rs) && rs[i+1] == '&':
			i++
			endCmd()
		case r == ';':
			endCmd()
		case strings.ContainsRune("|&<>`(){}", r):
			return nil, fmt.Errorf("shell syntax %q is not supported in %q", r, line)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	endCmd()
	return cmds, nil
}

// SplitWords is SplitCommands for a line that must hold exactly one command.
func SplitWords(line string, lookup Lookup) ([]string, error) {
	cmds, err := SplitCommands(line, lookup)
	if err != nil {
		return nil, err
	}
	switch len(cmds) {
	case 0:
		return nil, nil
	case 1:
		return cmds[0], nil
	default:
		return nil, fmt.Errorf("%q holds %d commands, want one", line, len(cmds))
	}
}

// expand handles the reference starting at rs[i] == '$' and returns the index of its last
// rune.
func expand(rs []rune, i int, lookup Lookup, out *strings.Builder) (int, error) {
	if i+1 >= len(rs) {
		out.WriteRune('$')
		return i, nil
	}
	if rs[i+1] == '(' {
		return 0, fmt.Errorf("command substitution is not supported in %q", string(rs))
	}
	if rs[i+1] == '{' {
		end := -1
		for j := i + 2; j < len(rs); j++ {
			if rs[j] == '}' {
				end = j
				break
			}
		}
		if end < 0 {
			return 0, fmt.Errorf("unterminated ${ in %q", string(rs))
		}
		body := string(rs[i+2 : end])
		name, op, word := body, "", ""
		for _, o := range []string{":-", ":+", "-"} {
			if k := strings.Index(body, o); k > 0 {
				name, op, word = body[:k], o, body[k+len(o):]
				break
			}
		}
		if lookup == nil {
			out.WriteString(string(rs[i : end+1]))
			return end, nil
		}
		v, set := lookup(name)
		switch op {
		case ":-":
			if v == "" {
				v = word
			}
		case "-":
			if !set {
				v = word
			}
		case ":+":
			if v != "" {
				v = word
			}
		}
		out.WriteString(v)
		return end, nil
	}
	j := i + 1
	for j < len(rs) && (rs[j] == '_' || rs[j] >= 'A' && rs[j] <= 'Z' || rs[j] >= 'a' && rs[j] <= 'z' || rs[j] >= '0' && rs[j] <= '9') {
		j++
	}
	if j == i+1 {
		out.WriteRune('$')
		return i, nil
	}
	if lookup == nil {
		out.WriteString(string(rs[i:j]))
		return j - 1, nil
	}
	v, _ := lookup(string(rs[i+1 : j]))
	out.WriteString(v)
	return j - 1, nil
}
