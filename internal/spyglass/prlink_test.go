package spyglass

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// TestPresubmitRunFromItsJobURL opens a presubmit's run page from its status.url, the link
// Crier sends to GitHub: <deck>/view/file/<dir>/pr-logs/pull/<org>_<repo>/<pr>/<job>/<build>.
// Its ProwJob is made as Trigger makes it and started as Plank starts it (status.buildID set,
// no build ID label: that label is the Pod's). The page shows the run whose files are in the
// bucket, and the run still pending with only its ProwJob.
func TestPresubmitRunFromItsJobURL(t *testing.T) {
	for _, tc := range []struct {
		name     string
		uploaded bool
		want     []string
	}{
		{name: "uploaded", uploaded: true, want: []string{`<h1>pull-widgets-unit</h1>`, "build-log.txt", "compiling widgets"}},
		{name: "pending", want: []string{`<h1>pull-widgets-unit</h1>`, "pending"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			be := fileBackend(t)
			pjNS := env.Namespace(t, "prowjobs")
			cfg := testConfig(be.bucket, "")
			cfg.ProwJobNamespace = pjNS
			s := newServer(t, be, cfg, Options{ProwJobs: env.Client})

			gcs := &prowv1.GCSConfiguration{Bucket: be.bucket, PathStrategy: "explicit"}
			b := jobs.Builder{Namespace: pjNS, Clock: clocktesting.NewFakePassiveClock(time.Unix(1700000000, 0)), NewName: func() string { return "pr-" + tc.name }}
			spec := presubmit("pull-widgets-unit", "1700000000000000042", 42, "c0ffee")
			pj := b.Presubmit(&config.Presubmit{JobBase: config.JobBase{Name: spec.Job, Agent: "kubernetes", UtilityConfig: config.UtilityConfig{DecorationConfig: &prowv1.DecorationConfig{GCSConfiguration: gcs}}}}, *spec.Refs)
			if err := env.Client.Create(ctx, pj); err != nil {
				t.Fatal(err)
			}
			pj.Status.State, pj.Status.BuildID, pj.Status.PodName = prowv1.PendingState, spec.BuildID, pj.Name
			pj.Status.PendingTime = &metav1.Time{Time: time.Unix(1700000001, 0)}
			if err := env.Client.Status().Update(ctx, pj); err != nil {
				t.Fatal(err)
			}
			if tc.uploaded {
				makeRun(t, be, testRun{spec: spec, log: "compiling widgets\n"})
			}

			link, err := jobs.JobURL(&config.Plank{JobURLPrefixConfig: map[string]string{"*": s.URL + "/view/"}}, pj)
			if err != nil {
				t.Fatal(err)
			}
			p, ok := strings.CutPrefix(link, s.URL)
			if !ok || !strings.Contains(p, "/pr-logs/pull/acme_widgets/42/pull-widgets-unit/"+spec.BuildID) {
				t.Fatalf("status.url %q is not a pr-logs run page on %s", link, s.URL)
			}
			code, body := s.get(t, p)
			if code != http.StatusOK {
				t.Fatalf("GET %s = %d:\n%s", p, code, body)
			}
			for _, want := range append(tc.want, "/prowjob?prowjob="+pj.Name) {
				if !strings.Contains(body, want) {
					t.Errorf("run page lacks %q", want)
				}
			}
		})
	}
}
