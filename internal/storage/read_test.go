package storage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadSide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	b, err := Open(ctx, "file://"+root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := range 7 {
		if err := b.WriteAll(ctx, fmt.Sprintf("run/artifacts/f%d.txt", i), []byte("0123456789"), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WriteAll(ctx, "run/artifacts/sub/deep.txt", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	page, next, err := ListPage(ctx, b, "run/artifacts", nil, 5)
	if err != nil || len(page) != 5 || page[0].Name != "f0.txt" || page[0].Size != 10 || len(next) == 0 {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, next, err = ListPage(ctx, b, "run/artifacts", next, 5)
	if err != nil || len(page) != 3 || !page[2].Dir || page[2].Name != "sub/" || len(next) != 0 {
		t.Fatalf("second page %+v, %v", page, err)
	}
	var all []string
	if done, err := Walk(ctx, b, "run", 100, func(e Entry) bool { all = append(all, e.Name); return true }); !done || err != nil || len(all) != 8 {
		t.Errorf("walk %v %v %v", all, done, err)
	}
	if _, err := ReadSmall(ctx, b, "run/artifacts/f0.txt", 5); err == nil || !strings.Contains(err.Error(), "larger than 5 bytes") {
		t.Errorf("ReadSmall over its limit = %v", err)
	}
	rc, err := ReadRange(ctx, b, "run/artifacts/f0.txt", 7, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "789" {
		t.Errorf("range read %q", got)
	}
	if _, err := ReadStarted(ctx, b, "run"); !IsNotFound(err) {
		t.Errorf("missing started.json = %v, want not found", err)
	}
	if err := os.Symlink("/etc", filepath.Join(root, "run", "link")); err != nil {
		t.Fatal(err)
	}
	for key, ok := range map[string]bool{"run/artifacts/f0.txt": true, "run/missing/x": true, "run/link/passwd": false, "run/../x": false, "run//x": false, `run\x`: false} {
		if err := CheckFileKey(root, key); (err == nil) != ok {
			t.Errorf("CheckFileKey(%q) = %v", key, err)
		}
	}
}
