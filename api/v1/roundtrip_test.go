package v1_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestRoundTrip decodes real ProwJobs into api/v1 and encodes them back: compared as generic maps,
// no field may be lost, renamed or reformatted.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	files := []string{testutil.Seed("prowjob.yaml")}
	if _, err := os.Stat(testutil.SharedTestdataPath()); err == nil {
		matches, err := filepath.Glob(filepath.Join(testutil.SharedTestdata(t, "prow", "prowjobs"), "valid*.yaml"))
		if err != nil || len(matches) == 0 {
			t.Fatalf("no valid*.yaml fixtures found: %v", err)
		}
		files = append(files, matches...)
	} else {
		t.Log("../shared/testdata is absent: checking the seed's ProwJob only")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := yaml.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			var pj prowv1.ProwJob
			if err := yaml.UnmarshalStrict(raw, &pj); err != nil {
				t.Fatalf("decode %s strictly (an unknown field is a missing one): %v", f, err)
			}
			out, err := json.Marshal(&pj)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s changed in a round trip through api/v1 (-file +encoded):\n%s", f, diff)
			}
		})
	}
}

// TestDurationsAreGoStrings checks that timeout and grace_period read and write as Go duration
// strings, as the seed shows ("4h0m0s", "10s").
func TestDurationsAreGoStrings(t *testing.T) {
	t.Parallel()
	var dc prowv1.DecorationConfig
	if err := yaml.Unmarshal([]byte("timeout: 240m\ngrace_period: 10000ms\n"), &dc); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(&dc)
	if err != nil {
		t.Fatal(err)
	}
	if want := "grace_period: 10s\ntimeout: 4h0m0s\n"; string(out) != want {
		t.Errorf("encoded %q, want %q", out, want)
	}
	if err := yaml.Unmarshal([]byte("timeout: 4 hours\n"), &dc); err == nil {
		t.Error("timeout: 4 hours decoded without error; want a parse error")
	}
	// Prow also reads a whole number of nanoseconds, and writes it back as the string.
	var ns prowv1.DecorationConfig
	if err := yaml.Unmarshal([]byte("timeout: 7200000000000\ngrace_period: 15000000000\n"), &ns); err != nil {
		t.Fatalf("nanoseconds: %v", err)
	}
	if out, _ := yaml.Marshal(&ns); string(out) != "grace_period: 15s\ntimeout: 2h0m0s\n" {
		t.Errorf("nanoseconds encoded as %q", out)
	}
}
