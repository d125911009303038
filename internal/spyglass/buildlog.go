package spyglass

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/storage"
)

// The build log lens: lines matching the highlight expression are shown with five lines of
// context each; the stretches between are folded, and a fold opens in steps of 20 lines or whole,
// read by byte range. A log up to 10 MiB is read whole (as Prow does); a bigger one is shown from
// its end, one 256 KiB page at a time, and never read whole.

const (
	buildLogName   = "build-log.txt"
	contextLines   = 5
	minFoldLines   = 5
	foldStep       = 20
	wholeLogLimit  = 10 << 20
	logPageBytes   = 256 << 10
	highlightMaxLn = 10000
	// noMatchTail is how many last lines a log without a single match shows.
	noMatchTail = 50
)

// defaultHighlight is Prow's default highlight expression: keywords and glog error lines.
var defaultHighlight = regexp.MustCompile(`timed out|ERROR:|(FAIL|Failure \[)\b|panic\b|^E\d{4} \d\d:\d\d:\d\d\.\d\d\d]`)

// buildLogConfig is the buildlog lens' config in deck.spyglass.lenses, with Prow's keys.
type buildLogConfig struct {
	HighlightRegexes   []string `json:"highlight_regexes"`
	HideRawLog         bool     `json:"hide_raw_log,omitempty"`
	HighlightLengthMax *int     `json:"highlight_line_length_max,omitempty"`
}

// logSettings are the parsed buildlog config.
type logSettings struct {
	re      *regexp.Regexp
	maxLen  int
	showRaw bool
}

// logConfig is the first buildlog entry's config in deck.spyglass.lenses: the live log and the
// folds, which belong to no entry, use it.
func logConfig(cfg *config.Config) (logSettings, error) {
	return parseLogConfig(firstBuildLogConfig(cfg))
}

// firstBuildLogConfig is the config of the first buildlog entry, if any.
func firstBuildLogConfig(cfg *config.Config) json.RawMessage {
	entries, _ := lensEntries(cfg)
	for _, l := range entries {
		if l.Lens.Name == "buildlog" {
			return l.Lens.Config
		}
	}
	return nil
}

// parseLogConfig reads a buildlog entry's config: its highlight_regexes replace the default, as
// in Prow. A config that does not compile is an error the lens shows.
func parseLogConfig(raw json.RawMessage) (logSettings, error) {
	s := logSettings{re: defaultHighlight, maxLen: highlightMaxLn, showRaw: true}
	if len(raw) == 0 {
		return s, nil
	}
	var c buildLogConfig
	if err := json.Unmarshal(raw, &c); err != nil {
		return s, fmt.Errorf("deck.spyglass.lenses buildlog config: %w", err)
	}
	s.showRaw = !c.HideRawLog
	if c.HighlightLengthMax != nil {
		s.maxLen = *c.HighlightLengthMax
	}
	if len(c.HighlightRegexes) > 0 {
		re, err := regexp.Compile(strings.Join(c.HighlightRegexes, "|"))
		if err != nil {
			return s, fmt.Errorf("deck.spyglass.lenses buildlog highlight_regexes: %w", err)
		}
		s.re = re
	}
	return s, nil
}

// logLine is one rendered line.
type logLine struct {
	Num         int
	Anchor      string
	HTML        template.HTML
	Highlighted bool
	plain       string
	size        int64
}

// fold is a folded stretch of a log, read again by its byte range when opened.
type fold struct {
	Offset, Length int64
	// Start is the number of its first line (or, with byte anchors, its byte offset).
	Start, Count int
	Bytes        bool
}

// logGroup is shown lines or one fold.
type logGroup struct {
	Lines []logLine
	Fold  *fold
}

// logView is what the lens template shows.
type logView struct {
	Src, File, Raw, Live    string
	Groups                  []logGroup
	Size                    string
	Paged                   bool
	Older, Newer, FirstPage string
	From, To                string
	Matches                 int
}

// splitLines renders data's lines (their first number first, or byte anchors from base).
func splitLines(data []byte, first int, base int64, byteAnchors bool, s logSettings) []logLine {
	var lines []logLine
	off := base
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		raw := data
		if i >= 0 {
			raw = data[:i+1]
		}
		data = data[len(raw):]
		text := strings.ToValidUTF8(strings.TrimRight(string(raw), "\r\n"), "\uFFFD")
		plain, runs := parseANSI(text)
		var matches [][]int
		if len(plain) <= s.maxLen {
			matches = s.re.FindAllStringIndex(plain, -1)
		}
		n := first + len(lines)
		anchor := "L" + strconv.Itoa(n)
		if byteAnchors {
			anchor = "B" + strconv.FormatInt(off, 10)
		}
		lines = append(lines, logLine{Num: n, Anchor: anchor, HTML: template.HTML(renderLine(plain, runs, matches)), Highlighted: len(matches) > 0, plain: plain, size: int64(len(raw))}) //nolint:gosec // escaped by renderLine
		off += int64(len(raw))
	}
	return lines
}

// groupLines keeps each highlighted line and its context and folds the rest; a log without a
// match shows its last lines. base is the byte offset of the first line.
func groupLines(lines []logLine, base int64, byteAnchors bool) ([]logGroup, int) {
	show := make([]bool, len(lines))
	matches := 0
	for i, l := range lines {
		if !l.Highlighted {
			continue
		}
		matches++
		for d := max(0, i-contextLines); d <= min(len(lines)-1, i+contextLines); d++ {
			show[d] = true
		}
	}
	if matches == 0 {
		for i := max(0, len(lines)-noMatchTail); i < len(lines); i++ {
			show[i] = true
		}
	}
	var groups []logGroup
	off := base
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && show[j] == show[i] {
			j++
		}
		if !show[i] && j-i >= minFoldLines {
			var n int64
			for _, l := range lines[i:j] {
				n += l.size
			}
			groups = append(groups, logGroup{Fold: &fold{Offset: off, Length: n, Start: lines[i].Num, Count: j - i, Bytes: byteAnchors}})
			off += n
		} else {
			groups = append(groups, logGroup{Lines: lines[i:j]})
			for _, l := range lines[i:j] {
				off += l.size
			}
		}
		i = j
	}
	return groups, matches
}

// buildLogLens renders build-log.txt; while the run's Pod is alive, the live log instead.
// buildLogLens shows each log its config matched, build-log.txt first: followed live while the
// run's Pod runs, else from the bucket.
func (h *Handler) buildLogLens(ctx context.Context, r *http.Request, rn *run, lf lensFiles) (template.HTML, error) {
	s, err := parseLogConfig(lf.config)
	if err != nil {
		return "", err
	}
	files := append([]string(nil), lf.files...)
	sort.SliceStable(files, func(i, j int) bool { return files[i] == buildLogName && files[j] != buildLogName })
	var out strings.Builder
	for _, f := range files {
		if f == buildLogName && h.isLive(rn) {
			out.WriteString(string(h.render("buildlog-live", map[string]any{"Src": rn.loc.Src(), "Raw": "/spyglass/file/" + rn.loc.Src() + "/" + buildLogName})))
			continue
		}
		if f == buildLogName && !rn.has(buildLogName) {
			body, _ := errNothingUnless(true, "This run has no build-log.txt yet.")
			out.WriteString(string(body))
			continue
		}
		v, err := h.logView(ctx, rn, f, s, r.URL.Query())
		if err != nil {
			return template.HTML(out.String()), fmt.Errorf("%s: %w", f, err) //nolint:gosec // rendered templates
		}
		out.WriteString(string(h.render("buildlog", v)))
	}
	if out.Len() == 0 {
		return "", errNothing
	}
	return template.HTML(out.String()), nil //nolint:gosec // rendered templates
}

// errNothingUnless leaves a lens out, or when show says so, renders msg as its body.
func errNothingUnless(show bool, msg string) (template.HTML, error) {
	if !show {
		return "", errNothing
	}
	return template.HTML("<p class=\"sg-empty\">" + template.HTMLEscapeString(msg) + "</p>"), nil //nolint:gosec // escaped
}

// logView reads a log, whole or the page the query asks for (logoffset, logend; logfile names
// the log when it is not build-log.txt).
func (h *Handler) logView(ctx context.Context, rn *run, file string, s logSettings, q url.Values) (*logView, error) {
	key := path.Join(rn.loc.Key, file)
	if err := checkChild(rn.loc.join(file)); err != nil {
		return nil, err
	}
	size := rn.size(file)
	v := &logView{Src: rn.loc.Src(), File: file, Size: humanSize(size)}
	if s.showRaw {
		v.Raw = "/spyglass/file/" + rn.loc.Src() + "/" + file
	}
	if size <= wholeLogLimit {
		data, err := storage.ReadSmall(ctx, rn.bucket, key, wholeLogLimit)
		if err != nil {
			return nil, err
		}
		v.Groups, v.Matches = groupLines(splitLines(data, 1, 0, false, s), 0, false)
		return v, nil
	}
	if want := q.Get("logfile"); want != file && (want != "" || file != buildLogName) {
		q = nil // the query pages another log
	}
	end := queryInt(q, "logend", size, 0, size)
	start := queryInt(q, "logoffset", max(0, end-logPageBytes), 0, end)
	first, data, err := readLogPage(ctx, rn, key, start, end, size)
	if err != nil {
		return nil, err
	}
	v.Paged = true
	v.Groups, v.Matches = groupLines(splitLines(data, 1, first, true, s), first, true)
	last := first + int64(len(data))
	v.From, v.To = humanSize(first), humanSize(last)
	view := "/view/" + rn.loc.Src()
	if file != buildLogName {
		view += "?logfile=" + url.QueryEscape(file) + "&"
	} else {
		view += "?"
	}
	if first > 0 {
		v.Older = fmt.Sprintf("%slogoffset=%d&logend=%d#buildlog", view, max(0, first-logPageBytes), first)
		v.FirstPage = fmt.Sprintf("%slogoffset=0&logend=%d#buildlog", view, min(size, logPageBytes))
	}
	if last < size {
		v.Newer = fmt.Sprintf("%slogoffset=%d&logend=%d#buildlog", view, last, min(size, last+logPageBytes))
	}
	return v, nil
}

func queryInt(q url.Values, name string, def, lo, hi int64) int64 {
	n, err := strconv.ParseInt(q.Get(name), 10, 64)
	if err != nil {
		return def
	}
	return max(lo, min(n, hi))
}

// readLogPage reads [start, end) of a log, widened to whole lines: it begins at the first line
// that starts at or after start and stops after the last line that ends by end (or at the end
// of the log). It returns the offset of the first byte it kept.
func readLogPage(ctx context.Context, rn *run, key string, start, end, size int64) (int64, []byte, error) {
	from := max(0, start-1)
	rc, err := storage.ReadRange(ctx, rn.bucket, key, from, end-from)
	if err != nil {
		return 0, nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", key, err)
	}
	first := from
	if start > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return start, nil, nil
		}
		data, first = data[i+1:], from+int64(i+1)
	}
	if end < size {
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			data = data[:i+1]
		}
	}
	return first, data, nil
}

// serveFold answers a fold's button with its lines: the first or last 20 (and the fold that
// is left) or all of them, read by byte range from the bucket.
func (h *Handler) serveFold(w http.ResponseWriter, r *http.Request, src string) {
	q := r.URL.Query()
	loc, err := h.locate(src)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	file := loc.join(q.Get("file"))
	if q.Get("file") == "" || checkChild(file) != nil || storage.CheckKey(q.Get("file")) != nil {
		h.fail(w, r, badRequest("fold: file must name a log in the run directory"))
		return
	}
	offset, length := queryInt(q, "offset", -1, -1, 1<<50), queryInt(q, "length", -1, -1, wholeLogLimit)
	if offset < 0 || length <= 0 {
		h.fail(w, r, badRequest("fold: offset and length (at most %d) are required", wholeLogLimit))
		return
	}
	s, err := logConfig(h.o.Config())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := h.bucket(r.Context(), loc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rc, err := storage.ReadRange(r.Context(), b, file.Key, offset, length)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data, err := io.ReadAll(rc)
	_ = rc.Close()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	byteAnchors := q.Get("bytes") == "1"
	lines := splitLines(data, int(queryInt(q, "start", 1, 0, 1<<40)), offset, byteAnchors, s)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, max-age=300")
	_ = h.tmpl.ExecuteTemplate(w, "loggroups", map[string]any{"Src": loc.Src(), "File": q.Get("file"), "Groups": foldSplit(lines, offset, byteAnchors, q.Get("take"))})
}

// foldSplit is the groups a fold opens into: take=top shows the first 20 lines and folds the
// rest, take=bottom the last 20, anything else all of them.
func foldSplit(lines []logLine, offset int64, byteAnchors bool, take string) []logGroup {
	if len(lines) <= foldStep || (take != "top" && take != "bottom") {
		return []logGroup{{Lines: lines}}
	}
	size := func(ls []logLine) int64 {
		var n int64
		for _, l := range ls {
			n += l.size
		}
		return n
	}
	if take == "top" {
		shown, rest := lines[:foldStep], lines[foldStep:]
		f := &fold{Offset: offset + size(shown), Length: size(rest), Start: rest[0].Num, Count: len(rest), Bytes: byteAnchors}
		return []logGroup{{Lines: shown}, {Fold: f}}
	}
	rest, shown := lines[:len(lines)-foldStep], lines[len(lines)-foldStep:]
	f := &fold{Offset: offset, Length: size(rest), Start: rest[0].Num, Count: len(rest), Bytes: byteAnchors}
	return []logGroup{{Fold: f}, {Lines: shown}}
}
