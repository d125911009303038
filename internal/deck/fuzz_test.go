package deck

import (
	"errors"
	"net/url"
	"testing"
)

// FuzzQuery: any query string gives a filter or a 400 naming the parameter, never a panic; a
// filter written back as a query reads back the same, and a cursor printed reads back the same.
func FuzzQuery(f *testing.F) {
	for _, s := range []string{"", "type=presubmit&repo=o/r&pull=7&author=a&job=pull-*&state=failure&cluster=default",
		"repo=o", "pull=-1", "job=[", "type=periodic&type=batch", "state=%ff", "cursor=2025-01-02T03:04:05.123Z_abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if c, ok := parseCursor(q.Get("cursor")); ok {
			back, ok := parseCursor(c.String())
			if !ok || !back.start.Equal(c.start) || back.name != c.name {
				t.Fatalf("cursor %q printed as %q reads back as %+v", q.Get("cursor"), c.String(), back)
			}
		}
		fl, err := parseFilter(q)
		if err != nil {
			if bp := (badParam{}); !errors.As(err, &bp) {
				t.Fatalf("%q: an error that is not a badParam: %v", raw, err)
			}
			return
		}
		back, err := parseFilter(fl.query())
		if err != nil || back != fl {
			t.Fatalf("%q: filter %+v written as %q reads back as %+v, %v", raw, fl, fl.query().Encode(), back, err)
		}
	})
}
