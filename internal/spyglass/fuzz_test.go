package spyglass

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLocateFile: whatever path a URL names, a location found in a file bucket stays inside that
// bucket's directory, and so does any key joined below it that passes checkChild.
func FuzzLocateFile(f *testing.F) {
	for _, s := range [][2]string{{"/srv/artifacts/logs/j/1/build-log.txt", "artifacts"}, {"/srv/artifacts/../etc/passwd", ".."},
		{"/srv/artifacts-other/x", "../../x"}, {"/srv/artifacts", "a/./b"}, {"/srv", ""}} {
		f.Add(s[0], s[1])
	}
	allowed := map[string]string{"file//srv/artifacts": "file:///srv/artifacts", "file//srv/artifacts/nested": "file:///srv/artifacts/nested"}
	f.Fuzz(func(t *testing.T, p, rel string) {
		l, err := locateFile(allowed, p)
		if err != nil {
			return
		}
		inside := func(l location) bool {
			full := filepath.Join(l.Name, l.Key)
			return full == l.Name || strings.HasPrefix(full, l.Name+"/")
		}
		if !inside(l) || allowed["file/"+l.Name] != l.Bucket {
			t.Fatalf("%q located as %+v: outside its bucket", p, l)
		}
		if child := l.join(rel); checkChild(child) == nil && !inside(child) {
			t.Fatalf("%q joined with %q is %+v: outside its bucket", p, rel, child)
		}
	})
}
