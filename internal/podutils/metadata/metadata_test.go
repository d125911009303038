package metadata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// TestFixturesRoundTrip: Prow's podutils started.json and finished.json decode into these types
// and encode back field for field. The one difference: the old started.json's "Pending": false,
// a field TestGrid's type no longer has, which Prow's pod utilities do not write today.
func TestFixturesRoundTrip(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedTestdata(t, "prow", "metadata")
	for file, v := range map[string]any{"started-podutils.json": &Started{}, "finished-podutils.json": &Finished{}} {
		raw, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]any
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		delete(want, "Pending")
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatal(err)
		}
		out, _ := json.Marshal(v)
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-prow +prowl):\n%s", file, diff)
		}
	}
}
