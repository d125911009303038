package crier

import (
	"net/http"
	"strings"
	"testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// TestReportEvents: each report Crier sends is recorded as an Event on the ProwJob, read back
// from the API server as `kubectl describe prowjob` reads it; a report GitHub refuses is
// recorded as a Warning with GitHub's answer, and the retry that gets through as another report.
func TestReportEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	pj := h.job("unit", "head4")
	h.waitStatuses(1)
	h.gh.FailNext(http.StatusUnprocessableEntity) // the next call: the status of the failure
	h.set(pj, prowv1.FailureState, "https://prow.example.com/view/4")
	h.waitStatuses(2)
	got := env.Story(t, pj, "ProwJob", 3)
	want := []string{
		"crier Normal Reported: Reported triggered to GitHub as status unit on org/repo@head4.",
		"crier Warning ReportFailed: Could not report failure: status unit on org/repo@head4: ",
		"crier Normal Reported: Reported failure to GitHub as status unit on org/repo@head4.",
	}
	if len(got) != len(want) {
		t.Fatalf("Events %q, want %q", got, want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("Event %d: %q, want %q", i, got[i], want[i])
		}
	}
	if !strings.Contains(got[1], "422") || !strings.Contains(got[1], "injected failure") {
		t.Errorf("the failed report's Event does not say why: %q", got[1])
	}
}
