package localnode

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestSeekLastLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		content string
		n       int
		want    string
	}{
		{"a\nb\nc\n", 1, "c\n"},
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc", 1, "c"}, // a partial last line counts as a line
		{"a\nb\nc", 2, "b\nc"},
		{"a\n", 0, ""},
		{"", 3, ""},
	} {
		p := filepath.Join(t.TempDir(), "log")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := seekLastLines(f, tc.n); err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(f)
		_ = f.Close()
		if string(got) != tc.want {
			t.Errorf("last %d lines of %q: %q, want %q", tc.n, tc.content, got, tc.want)
		}
	}
}
