package spyglass

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBigLogFromItsEnd: a log over 10 MiB shows its last page, read by range (the bucket
// server sends about one page, not the log), with an earlier page a link away.
func TestBigLogFromItsEnd(t *testing.T) {
	be := gcsBackend(t)
	dir := makeRun(t, be, testRun{spec: periodic("huge", "1"), log: "small\n"})
	var b strings.Builder
	for i := 0; b.Len() < 12<<20; i++ {
		fmt.Fprintf(&b, "line %08d of a very long log, padding padding padding padding\n", i)
	}
	b.WriteString("FAIL: the very last line\n")
	put(t, be, dir+"/build-log.txt", b.String())
	s := newServer(t, be, testConfig(be.bucket, ""), Options{})
	before := be.served.Load()
	code, body := s.get(t, "/view/"+src(be, dir))
	served := be.served.Load() - before
	if code != 200 || !strings.Contains(body, `<span class="hl">FAIL</span>: the very last line`) {
		i := strings.Index(body, "buildlog")
		t.Fatalf("big log page = %d, lacks its last line: %.3000s", code, body[i:])
	}
	if served > 3<<20 {
		t.Errorf("the bucket sent %d bytes for one page of a 12 MiB log", served)
	}
	if strings.Contains(body, "line 00000000 ") {
		t.Error("the first line is on the last page")
	}
	older := regexp.MustCompile(`href="([^"]+)" class="sg-older"`).FindStringSubmatch(body)
	if older == nil {
		t.Fatal("no earlier page link")
	}
	_, earlier := s.get(t, strings.ReplaceAll(older[1], "&amp;", "&"))
	if !strings.Contains(earlier, "sg-newer") || strings.Contains(earlier, "the very last line") {
		t.Error("the earlier page is not the one before")
	}
	// The pages meet: the last line of the earlier page is the line before the first of the last.
	m := foldRE.FindStringSubmatch(body)
	_, opened := s.get(t, fmt.Sprintf("/spyglass/fold/%s?file=build-log.txt&offset=%s&length=%s&start=1&bytes=1&take=top", src(be, dir), m[1], m[2]))
	lastPageFirst := regexp.MustCompile(`line (\d{8}) of`).FindStringSubmatch(opened)
	all := regexp.MustCompile(`line (\d{8}) of`).FindAllStringSubmatch(earlier, -1)
	first, _ := strconv.Atoi(lastPageFirst[1])
	last, _ := strconv.Atoi(all[len(all)-1][1])
	if last+1 != first {
		t.Errorf("earlier page ends at line %d, the last page begins at %d", last, first)
	}
}

func TestANSI(t *testing.T) {
	for in, want := range map[string]string{
		"plain <b>":                       "plain &lt;b&gt;",
		"\x1b[1;32mok\x1b[0m done":        `<span class="a-green a-bold">ok</span> done`,
		"\x1b[38;5;196mred\x1b[m":         `<span style="color:rgb(255,0,0)">red</span>`,
		"\x1b[38;2;1;2;3mrgb\x1b[39m x":   `<span style="color:rgb(1,2,3)">rgb</span> x`,
		"\x1b[2K\x1b]0;title\x07progress": "progress",
		"\x1b[41mERROR: x":                `<span class="a-bg-red hl">ERROR:</span><span class="a-bg-red"> x</span>`,
	} {
		plain, runs := parseANSI(in)
		if got := renderLine(plain, runs, defaultHighlight.FindAllStringIndex(plain, -1)); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}
