package reloadfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "n")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	parse := func(b []byte) (int, error) { return strconv.Atoi(strings.TrimSpace(string(b))) }
	write("x")
	if _, err := Load("--n", path, parse); err == nil || !strings.Contains(err.Error(), "--n "+path) {
		t.Fatalf("a bad first load: %v, want an error naming the flag and file", err)
	}
	write("1")
	f, err := Load("--n", path, parse)
	if err != nil {
		t.Fatal(err)
	}
	var reported []error
	f.OnError = func(err error) { reported = append(reported, err) }
	write("22") // another size: seen as a change
	if v, err := f.Get(); v != 22 || err != nil {
		t.Errorf("after a change: %d, %v", v, err)
	}
	write("oops")
	if v, err := f.Get(); v != 22 || err != nil || len(reported) != 1 {
		t.Errorf("while the file does not parse: %d, %v, reported %v; want the last good value", v, err, reported)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if v, err := f.Get(); v != 22 || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after removal: %d, %v; want the last value and the error", v, err)
	}
}
