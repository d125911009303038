package storage

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"gocloud.dev/blob"
)

// tempFileBucket is a file bucket in a temporary directory, closed when the test ends.
func tempFileBucket(t *testing.T) (string, *blob.Bucket) {
	t.Helper()
	root := t.TempDir()
	b, err := Open(context.Background(), "file://"+root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return root, b
}

// listEvery pages through dir with list and returns every entry and the number of pages.
func listEvery(t *testing.T, list func(token []byte) ([]Entry, []byte, error)) ([]Entry, int) {
	t.Helper()
	var all []Entry
	var token []byte
	for pages := 1; ; pages++ {
		entries, next, err := list(token)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, entries...)
		if len(next) == 0 {
			return all, pages
		}
		token = next
	}
}

// ListFilePage lists what fileblob lists, in the same order and pages, with the same sizes;
// a directory holding a name fileblob escaped is listed through fileblob.
func TestListFilePageMatchesFileblob(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root, b := tempFileBucket(t)
	keys := []string{"run/a-b.txt", "run/a/x.txt", "run/a/y/z.txt", "run/b.txt", "run/c/d.txt", "run/started.json"}
	for i := range 12 {
		keys = append(keys, fmt.Sprintf("run/f%02d.log", i))
	}
	for i, k := range keys {
		if err := b.WriteAll(ctx, k, make([]byte, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, size := range []int{1, 3, 5, 100} {
		want, _ := listEvery(t, func(tok []byte) ([]Entry, []byte, error) { return ListPage(ctx, b, "run", tok, size) })
		got, pages := listEvery(t, func(tok []byte) ([]Entry, []byte, error) { return ListFilePage(ctx, b, root, "run", tok, size) })
		for i := range want {
			want[i].Modified = got[i].Modified // fileblob and lstat agree to the second only on some filesystems
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("page size %d: ListFilePage\n%+v\nfileblob\n%+v", size, got, want)
		}
		if wantPages := (len(want) + size - 1) / size; pages != wantPages {
			t.Errorf("page size %d: %d pages, want %d", size, pages, wantPages)
		}
	}
	if got, _, err := ListFilePage(ctx, b, root, "missing", nil, 10); err != nil || len(got) != 0 {
		t.Errorf("missing directory: %v %v", got, err)
	}
	if err := b.WriteAll(ctx, "esc/a//b", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	want, _, _ := ListPage(ctx, b, "esc/a", nil, 10)
	got, _, err := ListFilePage(ctx, b, root, "esc/a", nil, 10)
	if err != nil || len(got) != 1 || got[0].Key != want[0].Key {
		t.Errorf("escaped name: %+v %v, want %+v", got, err, want)
	}
}

// WalkFile visits what Walk visits, stops where fn says, and reports a cut at the limit.
func TestWalkFileMatchesWalk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root, b := tempFileBucket(t)
	for i, k := range []string{"run/a.txt", "run/artifacts/junit_1.xml", "run/artifacts/x/junit_2.xml", "run/artifacts/x/y/z.log", "run/b.txt"} {
		if err := b.WriteAll(ctx, k, make([]byte, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	collect := func(walk func(string, int, func(Entry) bool) (bool, error), limit int) ([]string, bool) {
		var got []string
		done, err := walk("run", limit, func(e Entry) bool { got = append(got, fmt.Sprintf("%s %s %d", e.Key, e.Name, e.Size)); return true })
		if err != nil {
			t.Fatal(err)
		}
		return got, done
	}
	fileWalk := func(d string, l int, fn func(Entry) bool) (bool, error) { return WalkFile(ctx, b, root, d, l, fn) }
	bucketWalk := func(d string, l int, fn func(Entry) bool) (bool, error) { return Walk(ctx, b, d, l, fn) }
	for _, limit := range []int{100, 3} {
		got, gotDone := collect(fileWalk, limit)
		want, wantDone := collect(bucketWalk, limit)
		if !reflect.DeepEqual(got, want) || gotDone != wantDone {
			t.Errorf("limit %d: WalkFile %v %v, Walk %v %v", limit, got, gotDone, want, wantDone)
		}
	}
	if done, err := WalkFile(ctx, b, root, "missing", 10, func(Entry) bool { return true }); !done || err != nil {
		t.Errorf("missing directory: %v %v", done, err)
	}
}
