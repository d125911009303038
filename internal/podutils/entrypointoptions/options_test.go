package entrypointoptions

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDecodeNamesTheKey(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		`{"timeout":"1h","args":["x"],"process_log":"p","marker_file":"m"}`: `key "timeout"`,
		`{"args":["x"],"process_log":"p","marker_file":"m","bogus":1}`:      `unknown field "bogus"`,
		`{"args":[],"process_log":"p","marker_file":"m"}`:                   `key "args"`,
		`{"args":["x"],"marker_file":"m"}`:                                  `key "process_log"`,
	} {
		if _, err := Decode(raw); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Decode(%s) = %v, want an error naming %s", raw, err, want)
		}
	}
	o, err := Decode(`{"timeout":7200000000000,"grace_period":10000000000,"artifact_dir":"/logs/artifacts","args":["/bin/date"],"process_log":"/logs/process-log.txt","marker_file":"/logs/marker-file.txt","metadata_file":"/logs/artifacts/metadata.json"}`)
	if err != nil || o.Timeout != 2*time.Hour || o.GracePeriod != 10*time.Second || o.Args[0] != "/bin/date" {
		t.Errorf("seed's options: %+v %v", o, err)
	}
}

// TestImports: the entrypoint links only the standard library and its three small packages, and
// neither decoration nor the sidecar links the entrypoint's runner.
func TestImports(t *testing.T) {
	t.Parallel()
	const mod = "github.com/prowl-ci/prowl/"
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	allowed := map[string]bool{mod + "internal/podutils/entrypoint": true, mod + "internal/podutils/entrypointoptions": true,
		mod + "internal/podutils/wrapper": true, mod + "internal/podutils/flagjson": true, mod + "cmd/entrypoint": true}
	for _, d := range deps("cmd/entrypoint") {
		if first, _, _ := strings.Cut(d, "/"); strings.Contains(first, ".") && !allowed[d] {
			t.Errorf("the entrypoint links %s", d)
		}
	}
	for _, pkg := range []string{"internal/decorate", "internal/podutils/sidecar"} {
		if slices.Contains(deps(pkg), mod+"internal/podutils/entrypoint") {
			t.Errorf("%s links the entrypoint's runner", pkg)
		}
	}
}
