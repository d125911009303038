package options

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadNamesTheKeyAndTakesFlags(t *testing.T) {
	var o InitUpload
	err := LoadFrom([]string{"--options", `{"bucket":"b","dry_run":"yes"}`}, InitUploadEnv, &o)
	if err == nil || !strings.Contains(err.Error(), `--options: key "dry_run"`) {
		t.Errorf("got %v, want an error naming dry_run", err)
	}
	err = LoadFrom([]string{"--options", `{"bucket":"b","bukket":"c"}`}, InitUploadEnv, &o)
	if err == nil || !strings.Contains(err.Error(), `unknown field "bukket"`) {
		t.Errorf("got %v, want an error naming bukket", err)
	}
	file := filepath.Join(t.TempDir(), "opts.json")
	if err := os.WriteFile(file, []byte(`{"bucket":"gs://b","path_strategy":"explicit","log":"/logs/clone.json"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := LoadFrom([]string{"--options=@" + file}, InitUploadEnv, &o); err != nil || o.Bucket != "gs://b" || o.Log != "/logs/clone.json" {
		t.Errorf("from a file: %+v %v", o, err)
	}
	t.Setenv(SidecarEnv, `{"gcs_options":{"bucket":"b","dry_run":false},"entries":[{"args":["x"],"process_log":"p","marker_file":"m","metadata_file":"d"}]}`)
	var s Sidecar
	if err := LoadFrom(nil, SidecarEnv, &s); err != nil || s.GCSOptions.Bucket != "b" || s.Entries[0].Args[0] != "x" {
		t.Errorf("from the env: %+v %v", s, err)
	}
	var c CloneRefs
	if err := LoadFrom([]string{"--src-root=/home/prow/go", "--log", "/logs/clone.json", "--refs", `[{"org":"o","repo":"r","base_ref":"main"}]`}, CloneRefsEnv, &c); err != nil ||
		c.SrcRoot != "/home/prow/go" || c.Log != "/logs/clone.json" || len(c.GitRefs) != 1 || c.GitRefs[0].Org != "o" {
		t.Errorf("from one flag per key: %+v %v", c, err)
	}
	if err := LoadFrom([]string{"--max-parallel-workers=many"}, CloneRefsEnv, &c); err == nil || !strings.Contains(err.Error(), `--max-parallel-workers: key "max_parallel_workers"`) {
		t.Errorf("a bad flag value: %v, want an error naming the flag and the key", err)
	}
	if err := LoadFrom(nil, CloneRefsEnv, &CloneRefs{}); err == nil || !strings.Contains(err.Error(), "$CLONEREFS_OPTIONS is not set") {
		t.Errorf("missing: %v", err)
	}
}
