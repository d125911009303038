// Package horologiumpass measures one Horologium pass over test-infra's 1,335 periodics with
// 50,000 ProwJobs in a client-go indexer (the store behind controller-runtime's cache), looked up
// through the job-name index. The baseline is what Prow's Horologium does each pass: list every
// ProwJob and group them by job.
package horologiumpass

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/horologium"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// Setup is the config, the filled indexer and a Horologium over them.
type Setup struct {
	cfg     *config.Config
	indexer cache.Indexer
	h       *horologium.Horologium
	created int
}

type indexLister struct{ idx cache.Indexer }

func (l indexLister) ProwJobsOf(_ context.Context, job string) ([]*prowv1.ProwJob, error) {
	objs, err := l.idx.ByIndex(horologium.JobIndex, job)
	if err != nil {
		return nil, err
	}
	out := make([]*prowv1.ProwJob, len(objs))
	for i, o := range objs {
		out[i] = o.(*prowv1.ProwJob)
	}
	return out, nil
}

type counter struct{ s *Setup }

func (c counter) Create(context.Context, *prowv1.ProwJob) error { c.s.created++; return nil }
func (c counter) LatestLive(context.Context, string, string) (*prowv1.ProwJob, error) {
	return nil, nil
}

// New loads test-infra's config and fills an indexer with n ProwJobs spread over its periodics,
// each job's latest run complete a minute ago, so that the pass decides for every job and
// starts the few whose time has come.
func New(repoRoot string, n int) (*Setup, error) {
	root := filepath.Join(repoRoot, "..", "shared", "testdata", "prow-config", "test-infra", "config")
	cfg, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	if err != nil {
		return nil, fmt.Errorf("the test-infra corpus did not load: %w", err)
	}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{horologium.JobIndex: func(obj any) ([]string, error) {
		return horologium.IndexJob(obj.(*prowv1.ProwJob)), nil
	}})
	b := jobs.NewBuilder(cfg)
	b.Clock = clocktesting.NewFakeClock(now)
	for i := range n {
		p := &cfg.Periodics[i%len(cfg.Periodics)]
		pj := b.Periodic(p)
		pj.Name = fmt.Sprintf("pj-%d", i)
		age := time.Duration(n-i) * time.Second
		pj.Status.StartTime = metav1.NewTime(now.Add(-age - time.Minute))
		done := metav1.NewTime(now.Add(-age))
		pj.Status.State, pj.Status.CompletionTime = prowv1.SuccessState, &done
		if err := idx.Add(pj); err != nil {
			return nil, err
		}
	}
	s := &Setup{cfg: cfg, indexer: idx}
	s.h = &horologium.Horologium{Config: func() *config.Config { return cfg }, Lister: indexLister{idx}, Creator: counter{s}, Clock: clocktesting.NewFakeClock(now)}
	return s, nil
}

// Pass runs one Horologium pass.
func (s *Setup) Pass() error {
	_, err := s.h.Pass(context.Background())
	return err
}

// Baseline lists every ProwJob and groups them by job, as Prow's Horologium does each pass.
func (s *Setup) Baseline() error {
	byJob := map[string][]*prowv1.ProwJob{}
	for _, o := range s.indexer.List() {
		pj := o.(*prowv1.ProwJob).DeepCopy()
		byJob[pj.Spec.Job] = append(byJob[pj.Spec.Job], pj)
	}
	if len(byJob) == 0 {
		return fmt.Errorf("no jobs")
	}
	return nil
}
