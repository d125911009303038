package spyglass

import (
	"fmt"
	"html"
	"sort"
	"strconv"
	"strings"
)

// ANSI colours in logs: a line's SGR escape sequences (ESC [ ... m) become styled spans; other
// control sequences are dropped. Written by hand: the libraries that do this render whole
// terminals, not one line at a time with search highlights laid over it.

// style is the SGR state of a stretch of text.
type style struct {
	fg, bg                         string
	bold, faint, italic, underline bool
}

// styled is a stretch [start, end) of a line's plain text in one style.
type styled struct {
	start, end int
	st         style
}

// parseANSI strips escape sequences from line and says which stretches of the rest are styled.
func parseANSI(line string) (string, []styled) {
	if !strings.ContainsRune(line, '\x1b') {
		return line, nil
	}
	var b strings.Builder
	var runs []styled
	var cur style
	runStart := 0
	flush := func() {
		if b.Len() > runStart && cur != (style{}) {
			runs = append(runs, styled{runStart, b.Len(), cur})
		}
		runStart = b.Len()
	}
	for i := 0; i < len(line); {
		if line[i] != '\x1b' {
			b.WriteByte(line[i])
			i++
			continue
		}
		n, params, final := escape(line[i:])
		i += n
		if final == 'm' {
			flush()
			cur = applySGR(cur, params)
		}
	}
	flush()
	return b.String(), runs
}

// escape measures the escape sequence at the start of s: its length, parameters and final byte.
func escape(s string) (int, string, byte) {
	if len(s) < 2 {
		return len(s), "", 0
	}
	switch s[1] {
	case '[':
		for j := 2; j < len(s); j++ {
			if s[j] >= 0x40 && s[j] <= 0x7e {
				return j + 1, s[2:j], s[j]
			}
		}
		return len(s), "", 0
	case ']':
		if j := strings.IndexAny(s, "\x07"); j > 0 {
			return j + 1, "", 0
		}
		if j := strings.Index(s, "\x1b\\"); j > 0 {
			return j + 2, "", 0
		}
		return len(s), "", 0
	}
	return 2, "", 0
}

var basicColours = [...]string{"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"}

func applySGR(st style, params string) style {
	if params == "" {
		return style{}
	}
	codes := strings.Split(params, ";")
	for i := 0; i < len(codes); i++ {
		c, err := strconv.Atoi(codes[i])
		if err != nil {
			continue
		}
		switch {
		case c == 0:
			st = style{}
		case c == 1:
			st.bold = true
		case c == 2:
			st.faint = true
		case c == 3:
			st.italic = true
		case c == 4:
			st.underline = true
		case c == 22:
			st.bold, st.faint = false, false
		case c == 23:
			st.italic = false
		case c == 24:
			st.underline = false
		case c >= 30 && c <= 37:
			st.fg = "a-" + basicColours[c-30]
		case c == 39:
			st.fg = ""
		case c >= 40 && c <= 47:
			st.bg = "a-bg-" + basicColours[c-40]
		case c == 49:
			st.bg = ""
		case c >= 90 && c <= 97:
			st.fg = "a-bright-" + basicColours[c-90]
		case c >= 100 && c <= 107:
			st.bg = "a-bg-bright-" + basicColours[c-100]
		case (c == 38 || c == 48) && i+1 < len(codes):
			var colour string
			colour, i = extendedColour(codes, i)
			if c == 38 {
				st.fg = colour
			} else {
				st.bg = colour
			}
		}
	}
	return st
}

// extendedColour reads 38;5;n or 38;2;r;g;b at codes[i] as an rgb() value; it returns the index
// of the last code it used.
func extendedColour(codes []string, i int) (string, int) {
	num := func(j int) int {
		if j >= len(codes) {
			return 0
		}
		n, _ := strconv.Atoi(codes[j])
		return max(0, min(n, 255))
	}
	switch codes[i+1] {
	case "5":
		return "rgb:" + xterm256(num(i+2)), i + 2
	case "2":
		return fmt.Sprintf("rgb:rgb(%d,%d,%d)", num(i+2), num(i+3), num(i+4)), i + 4
	}
	return "", i + 1
}

// xterm256 is the rgb() of an xterm 256-colour index.
func xterm256(n int) string {
	if n < 16 {
		std := [16][3]int{{0, 0, 0}, {205, 49, 49}, {13, 188, 121}, {229, 229, 16}, {36, 114, 200}, {188, 63, 188}, {17, 168, 205}, {229, 229, 229},
			{102, 102, 102}, {241, 76, 76}, {35, 209, 139}, {245, 245, 67}, {59, 142, 234}, {214, 112, 214}, {41, 184, 219}, {255, 255, 255}}
		c := std[n]
		return fmt.Sprintf("rgb(%d,%d,%d)", c[0], c[1], c[2])
	}
	if n < 232 {
		n -= 16
		lv := func(v int) int {
			if v == 0 {
				return 0
			}
			return 55 + v*40
		}
		return fmt.Sprintf("rgb(%d,%d,%d)", lv(n/36), lv(n/6%6), lv(n%6))
	}
	g := 8 + (n-232)*10
	return fmt.Sprintf("rgb(%d,%d,%d)", g, g, g)
}

// attrs is the class and style attributes of a stretch: its colours and whether it is a match.
func (st style) attrs(match bool) string {
	var classes, css []string
	for _, c := range []string{st.fg, st.bg} {
		if v, ok := strings.CutPrefix(c, "rgb:"); ok {
			prop := "color"
			if c == st.bg {
				prop = "background-color"
			}
			css = append(css, prop+":"+v)
		} else if c != "" {
			classes = append(classes, c)
		}
	}
	if st.bold {
		classes = append(classes, "a-bold")
	}
	if st.faint {
		classes = append(classes, "a-faint")
	}
	if st.italic {
		classes = append(classes, "a-italic")
	}
	if st.underline {
		classes = append(classes, "a-underline")
	}
	if match {
		classes = append(classes, "hl")
	}
	out := ""
	if len(classes) > 0 {
		out += ` class="` + strings.Join(classes, " ") + `"`
	}
	if len(css) > 0 {
		out += ` style="` + strings.Join(css, ";") + `"`
	}
	return out
}

// renderLine is a log line as HTML: escaped text, ANSI styles as spans, matches of the
// highlight expression marked.
func renderLine(plain string, runs []styled, matches [][]int) string {
	if len(runs) == 0 && len(matches) == 0 {
		return html.EscapeString(plain)
	}
	cuts := []int{0, len(plain)}
	for _, r := range runs {
		cuts = append(cuts, r.start, r.end)
	}
	for _, m := range matches {
		cuts = append(cuts, m[0], m[1])
	}
	sort.Ints(cuts)
	var b strings.Builder
	for i := 0; i+1 < len(cuts); i++ {
		from, to := cuts[i], cuts[i+1]
		if from == to {
			continue
		}
		st, match := styleAt(runs, from), inMatch(matches, from)
		text := html.EscapeString(plain[from:to])
		if a := st.attrs(match); a != "" {
			b.WriteString("<span" + a + ">" + text + "</span>")
		} else {
			b.WriteString(text)
		}
	}
	return b.String()
}

func styleAt(runs []styled, pos int) style {
	for _, r := range runs {
		if pos >= r.start && pos < r.end {
			return r.st
		}
	}
	return style{}
}

func inMatch(matches [][]int, pos int) bool {
	for _, m := range matches {
		if pos >= m[0] && pos < m[1] {
			return true
		}
	}
	return false
}
