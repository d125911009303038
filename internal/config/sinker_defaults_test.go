package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestTerminatedPodTTLDefaultsToMaxPodAge: sinker.terminated_pod_ttl, unset, is max_pod_age, as
// in Prow; set, it is kept.
func TestTerminatedPodTTLDefaultsToMaxPodAge(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want time.Duration
	}{
		{"sinker:\n  max_pod_age: 2h\n", 2 * time.Hour},
		{"sinker:\n  max_pod_age: 2h\n  terminated_pod_ttl: 30m\n", 30 * time.Minute},
		{"prowjob_namespace: default\n", DefaultMaxPodAge},
	} {
		path := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		c, _, err := Load(Options{ConfigPath: path})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Sinker.TerminatedPodTTL.Duration; got != tc.want {
			t.Errorf("%q: terminated_pod_ttl %v, want %v", tc.yaml, got, tc.want)
		}
	}
}
