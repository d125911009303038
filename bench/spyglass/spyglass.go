// Package spyglassbench measures Spyglass on the cases Prow's was slow at: the first screen of a
// 100 MB build log (and the server's memory for it), a directory of 45,000 artifacts, and a job
// history page from a bucket holding 1,000 runs of the job, each against the raw bucket client
// reading the same bytes or listing the same keys.
package spyglassbench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"gocloud.dev/blob"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/spyglass"
	"github.com/prowl-ci/prowl/internal/storage"
)

// Sizes of the workloads.
const (
	LogBytes  = 100 << 20
	Artifacts = 45000
	Runs      = 1000
)

// Env is a file bucket and an in-process fake GCS holding the workloads, and Spyglass serving
// both over real HTTP.
type Env struct {
	FileBucket, GCSBucket string
	srv, gcsSrv           *httptest.Server
	h                     *spyglass.Handler
	open                  spyglass.BucketOpener
}

// Setup writes the workloads under dir and starts the servers.
func Setup(dir string) (*Env, error) {
	e := &Env{FileBucket: "file://" + dir, GCSBucket: "gs://bench"}
	if err := writeFileWorkloads(dir); err != nil {
		return nil, err
	}
	var handler http.Handler
	e.gcsSrv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true, PublicHost: e.gcsSrv.Listener.Addr().String()})
	if err != nil {
		return nil, err
	}
	handler = fake.HTTPHandler()
	e.gcsSrv.Start()
	fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "bench"})
	gcsObjects(fake)
	endpoint := e.gcsSrv.URL + "/storage/v1/"
	e.open = func(ctx context.Context, b string) (*blob.Bucket, error) {
		return storage.Open(ctx, b, storage.Options{GCSEndpoint: endpoint})
	}
	cfg := &config.Config{}
	cfg.Deck = json.RawMessage(fmt.Sprintf(`{"additional_allowed_buckets":[%q,%q]}`, e.FileBucket, e.GCSBucket))
	if e.h, err = spyglass.New(spyglass.Options{Config: func() *config.Config { return cfg }, OpenBucket: e.open}); err != nil {
		return nil, err
	}
	e.srv = httptest.NewServer(e.h)
	return e, nil
}

// Close stops the servers.
func (e *Env) Close() {
	e.srv.Close()
	_ = e.h.Close()
	e.gcsSrv.Close()
}

func writeFile(p string, fill func(w *bufio.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := fill(w); err != nil {
		_ = f.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

func text(s string) func(w *bufio.Writer) error {
	return func(w *bufio.Writer) error { _, err := w.WriteString(s); return err }
}

func runFiles(build int) (string, string) {
	return fmt.Sprintf(`{"timestamp":%d,"repo-commit":"abc"}`, 1700000000+build*60), fmt.Sprintf(`{"timestamp":%d,"passed":true,"result":"SUCCESS"}`, 1700000000+build*60+90)
}

// writeFileWorkloads writes, streaming (the bench's own memory stays small), the 100 MB log, the
// 45,000 artifacts and the 1,000 runs.
func writeFileWorkloads(dir string) error {
	big := filepath.Join(dir, "logs/big/1")
	started, finished := runFiles(1)
	for name, fill := range map[string]func(*bufio.Writer) error{
		"started.json": text(started), "finished.json": text(finished),
		"build-log.txt": func(w *bufio.Writer) error {
			for n, i := 0, 0; n < LogBytes; i++ {
				k, err := fmt.Fprintf(w, "I1202 00:00:00.000000 step %09d: compiling package widgets/internal/thing%d\n", i, i%97)
				if err != nil {
					return err
				}
				n += k
			}
			_, err := w.WriteString("ERROR: the last step failed\n")
			return err
		},
	} {
		if err := writeFile(filepath.Join(big, name), fill); err != nil {
			return err
		}
	}
	for i := range Artifacts {
		if err := writeFile(filepath.Join(dir, "logs/arts/1/artifacts", fmt.Sprintf("file-%05d.txt", i)), text("x")); err != nil {
			return err
		}
	}
	for i := 1; i <= Runs; i++ {
		s, f := runFiles(i)
		d := filepath.Join(dir, "logs/hist", strconv.Itoa(100000+i))
		if err := writeFile(filepath.Join(d, "started.json"), text(s)); err != nil {
			return err
		}
		if err := writeFile(filepath.Join(d, "finished.json"), text(f)); err != nil {
			return err
		}
	}
	return writeFile(filepath.Join(dir, "logs/hist/latest-build.txt"), text(strconv.Itoa(100000+Runs)))
}

// gcsObjects puts the 1,000 runs into fake-gcs-server. The 45,000 artifacts stay on the file
// bucket: fake-gcs-server's memory backend finds each object by a linear scan, so loading
// 45,000 objects takes minutes and a listing measures the fake, not Spyglass.
func gcsObjects(fake *fakestorage.Server) {
	put := func(name, content string) {
		fake.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: "bench", Name: name, ContentType: "text/plain"}, Content: []byte(content)})
	}
	for i := 1; i <= Runs; i++ {
		s, f := runFiles(i)
		put(fmt.Sprintf("logs/hist/%d/started.json", 100000+i), s)
		put(fmt.Sprintf("logs/hist/%d/finished.json", 100000+i), f)
	}
	put("logs/hist/latest-build.txt", strconv.Itoa(100000+Runs))
}

func (e *Env) src(gcs bool, key string) string {
	if gcs {
		return "gs/bench/" + key
	}
	return "file/" + strings.TrimPrefix(strings.TrimPrefix(e.FileBucket, "file://"), "/") + "/" + key
}

// body GETs p from Spyglass and returns the page; anything but 200 is an error.
func (e *Env) body(p string) (string, error) {
	resp, err := http.Get(e.srv.URL + p)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s = %d", p, resp.StatusCode)
	}
	return string(body), nil
}

func (e *Env) get(p, want string) error {
	body, err := e.body(p)
	if err != nil {
		return err
	}
	if !strings.Contains(body, want) {
		return fmt.Errorf("GET %s lacks %q", p, want)
	}
	return nil
}

// FirstScreen loads the run page of the 100 MB log: it shows the log's last page.
func (e *Env) FirstScreen() error {
	return e.get("/view/"+e.src(false, "logs/big/1"), "the last step failed")
}

// RawTail is the baseline: the raw client reading the same last 1 MiB.
func (e *Env) RawTail() error {
	ctx := context.Background()
	b, err := e.open(ctx, e.FileBucket)
	if err != nil {
		return err
	}
	defer b.Close()
	r, err := b.NewRangeReader(ctx, "logs/big/1/build-log.txt", LogBytes-(1<<20), -1, nil)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(io.Discard, r)
	return err
}

// RSSGrowthMB is how much the process's peak RSS grows while serving the big log's page.
func (e *Env) RSSGrowthMB() (float64, error) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, fmt.Errorf("reset peak RSS: %w", err)
	}
	before := status("VmRSS:")
	if err := e.FirstScreen(); err != nil {
		return 0, err
	}
	return float64(status("VmHWM:")-before) / 1000, nil
}

func status(key string) int64 {
	raw, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// nextPage is the artifacts page's link to its next page.
var nextPage = regexp.MustCompile(`<a href="([^"]+)" class="sg-next">`)

// ArtifactsListing is Spyglass listing the whole 45,000-file directory as a user pages
// through it: every page over HTTP, each following the previous page's next link.
func (e *Env) ArtifactsListing(gcs bool) error {
	p := "/spyglass/artifacts/" + e.src(gcs, "logs/arts/1") + "?dir=artifacts/"
	n := 0
	for p != "" {
		body, err := e.body(p)
		if err != nil {
			return err
		}
		n += strings.Count(body, `<td><a href="/spyglass/file/`)
		p = ""
		if m := nextPage.FindStringSubmatch(body); m != nil {
			p = html.UnescapeString(m[1])
		}
	}
	if n != Artifacts {
		return fmt.Errorf("spyglass listed %d artifacts, want %d", n, Artifacts)
	}
	return nil
}

// RawListing lists the same directory with the raw client, every key.
func (e *Env) RawListing(gcs bool) error {
	bucket := e.FileBucket
	if gcs {
		bucket = e.GCSBucket
	}
	ctx := context.Background()
	b, err := e.open(ctx, bucket)
	if err != nil {
		return err
	}
	defer b.Close()
	it := b.List(&blob.ListOptions{Prefix: "logs/arts/1/artifacts/", Delimiter: "/"})
	n := 0
	for {
		_, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	if n != Artifacts {
		return fmt.Errorf("raw listing found %d keys, want %d", n, Artifacts)
	}
	return nil
}

// History is the first page of the job's history.
func (e *Env) History(gcs bool) error {
	return e.get("/job-history/"+e.src(gcs, "logs/hist"), ">101000<")
}

// RawHistory is the baseline: the raw client listing the job's runs and reading the newest 20
// runs' started.json and finished.json, one after another.
func (e *Env) RawHistory(gcs bool) error {
	bucket := e.FileBucket
	if gcs {
		bucket = e.GCSBucket
	}
	ctx := context.Background()
	b, err := e.open(ctx, bucket)
	if err != nil {
		return err
	}
	defer b.Close()
	entries, err := listAll(ctx, b, "logs/hist/")
	if err != nil {
		return err
	}
	for _, k := range entries[max(0, len(entries)-21) : len(entries)-1] {
		for _, f := range []string{"started.json", "finished.json"} {
			if _, err := b.ReadAll(ctx, k+f); err != nil {
				return err
			}
		}
	}
	return nil
}

func listAll(ctx context.Context, b *blob.Bucket, prefix string) ([]string, error) {
	var keys []string
	it := b.List(&blob.ListOptions{Prefix: prefix, Delimiter: "/"})
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return keys, nil
		}
		if err != nil {
			return nil, err
		}
		keys = append(keys, o.Key)
	}
}

// Latencies runs f n times and returns its p50 and p99.
func Latencies(n int, f func() error) (time.Duration, time.Duration, error) {
	ts := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return 0, 0, err
		}
		ts = append(ts, time.Since(start))
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts[n/2], ts[min(n-1, n*99/100)], nil
}
