package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Problem is one thing wrong (or, as a warning, odd) in the config: where it is, which job and
// field, and what to do about it.
type Problem struct {
	File  string
	Line  int
	Job   string
	Field string
	Msg   string
	// Warning names the kind of a warning (WarnUnknownFields, or one of Prow's checkconfig
	// warning names); empty for errors found by the loader's own rules.
	Warning string

	// occurrence is which job of this name in File the problem is about (0 for the first), so
	// that a duplicate's problem points at the duplicate.
	occurrence int
}

func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Job != "" {
		fmt.Fprintf(&b, "job %q: ", p.Job)
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Errors is every problem that makes a config invalid, in file order. Loading collects them all
// instead of stopping at the first.
type Errors []*Problem

func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, p := range e {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by file, line, job and message so that output is stable across the
// parallel load.
func sortProblems(ps []*Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Job != b.Job {
			return a.Job < b.Job
		}
		return a.Error() < b.Error()
	})
}

// locator finds line numbers for problems found after decoding, when the YAML decoder no longer
// knows them: it searches the file's text once per problem, so valid configs pay nothing.
type locator struct{ files map[string][]string }

func (l *locator) lines(file string) []string {
	if l.files == nil {
		l.files = map[string][]string{}
	}
	if ls, ok := l.files[file]; ok {
		return ls
	}
	raw, err := readFile(file)
	if err != nil {
		l.files[file] = nil
		return nil
	}
	ls := strings.Split(string(raw), "\n")
	l.files[file] = ls
	return ls
}

// find returns the first line (1-based) at or after from matching re, or 0.
func (l *locator) find(file string, from int, re *regexp.Regexp) int {
	ls := l.lines(file)
	for i := max(from-1, 0); i < len(ls); i++ {
		if re.MatchString(ls[i]) {
			return i + 1
		}
	}
	return 0
}

// locate fills in the line of a job problem: the job's `name:` line, or the field's key after it.
func (l *locator) locate(p *Problem) {
	if p.Line > 0 || p.File == "" {
		return
	}
	if p.Job == "" && p.Field != "" {
		// Follow the field's path, one key after another.
		from := 1
		for _, key := range strings.Split(p.Field, ".") {
			if i := strings.Index(key, "["); i > 0 {
				key = key[:i]
			}
			n := l.find(p.File, from, regexp.MustCompile(`^\s*(-\s+)?["']?`+regexp.QuoteMeta(key)+`["']?:`))
			if n == 0 {
				break
			}
			p.Line, from = n, n
		}
		return
	}
	from := 1
	if p.Job != "" {
		re := regexp.MustCompile(`^\s*(-\s+)?name:\s*["']?` + regexp.QuoteMeta(p.Job) + `["']?\s*(#.*)?$`)
		for n := 0; n <= p.occurrence; n++ {
			if from = l.find(p.File, from, re); from == 0 {
				return
			}
			if n < p.occurrence {
				from++
			}
		}
		p.Line = from
	}
	if p.Field == "" {
		return
	}
	ls := l.lines(p.File)
	keys := strings.Split(p.Field, ".")
	for i, k := range keys {
		if j := strings.Index(k, "["); j >= 0 {
			keys[i] = k[:j]
		}
	}
	// The job's block ends where a line starts left of its keys, or a new list item starts; the
	// field's keys are found one after another inside it.
	indent := strings.Index(ls[from-1], "name:")
	for i := from - 1; i < len(ls) && len(keys) > 0; i++ {
		line := ls[i]
		if i > from-1 {
			trimmed := strings.TrimLeft(line, " ")
			col := len(line) - len(trimmed)
			if trimmed != "" && !strings.HasPrefix(trimmed, "#") && (col < indent-2 || (col <= indent-2 && strings.HasPrefix(trimmed, "-")) || (col < indent && !strings.HasPrefix(trimmed, "-"))) {
				return
			}
		}
		if regexp.MustCompile(`^\s*(-\s+)?` + regexp.QuoteMeta(keys[0]) + `:`).MatchString(line) {
			p.Line = i + 1
			keys = keys[1:]
		}
	}
}
