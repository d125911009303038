// Package decoratejobs measures building and decorating every test-infra job: the ProwJob from
// config and the Pod from the ProwJob, each encoded as the API server would receive it. The
// baseline does the least any Pod creation must: copy the job's pod spec into a Pod and encode it.
package decoratejobs

import (
	"encoding/json"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/decorate"
	"github.com/prowl-ci/prowl/internal/jobs"
)

// Corpus is the loaded config and the ProwJobs' inputs.
type Corpus struct {
	cfg  *config.Config
	jobs int
}

// Load reads test-infra's config from ../shared/testdata.
func Load(repoRoot string) (*Corpus, error) {
	root := filepath.Join(repoRoot, "..", "shared", "testdata", "prow-config", "test-infra", "config")
	c, _, err := config.Load(config.Options{ConfigPath: filepath.Join(root, "prow", "config.yaml"), JobConfigPath: filepath.Join(root, "jobs")})
	if err != nil {
		return nil, fmt.Errorf("the test-infra corpus (%s) did not load: %w", root, err)
	}
	n := len(c.Periodics)
	for _, js := range c.PresubmitsStatic {
		n += len(js)
	}
	for _, js := range c.PostsubmitsStatic {
		n += len(js)
	}
	return &Corpus{cfg: c, jobs: n}, nil
}

// Jobs is how many jobs one pass handles.
func (c *Corpus) Jobs() int { return c.jobs }

func refs(repo string) prowv1.Refs {
	i := len(repo) - 1
	for repo[i] != '/' {
		i--
	}
	return prowv1.Refs{Org: repo[:i], Repo: repo[i+1:], BaseRef: "main", BaseSHA: "0123456789abcdef", Pulls: []prowv1.Pull{{Number: 1, Author: "alice", SHA: "fedcba9876543210"}}}
}

// Prowl builds every job's ProwJob and decorated Pod and encodes both.
func (c *Corpus) Prowl() error {
	b := jobs.NewBuilder(c.cfg)
	ids, err := jobs.NewBuildIDs(1)
	if err != nil {
		return err
	}
	emit := func(pj *prowv1.ProwJob) error {
		if _, err := json.Marshal(pj); err != nil {
			return err
		}
		if pj.Spec.Agent != prowv1.KubernetesAgent {
			return nil
		}
		pod, err := decorate.Pod(pj, ids.Next())
		if err != nil {
			return err
		}
		_, err = json.Marshal(pod)
		return err
	}
	for i := range c.cfg.Periodics {
		if err := emit(b.Periodic(&c.cfg.Periodics[i])); err != nil {
			return err
		}
	}
	for repo, js := range c.cfg.PresubmitsStatic {
		for i := range js {
			if err := emit(b.Presubmit(&js[i], refs(repo))); err != nil {
				return err
			}
		}
	}
	for repo, js := range c.cfg.PostsubmitsStatic {
		r := refs(repo)
		r.Pulls = nil
		for i := range js {
			if err := emit(b.Postsubmit(&js[i], r)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Baseline copies every job's pod spec into a bare Pod and encodes it.
func (c *Corpus) Baseline() error {
	emit := func(name string, spec *corev1.PodSpec) error {
		if spec == nil {
			return nil
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: *spec.DeepCopy()}
		_, err := json.Marshal(pod)
		return err
	}
	for i := range c.cfg.Periodics {
		if err := emit(c.cfg.Periodics[i].Name, c.cfg.Periodics[i].Spec); err != nil {
			return err
		}
	}
	for _, js := range c.cfg.PresubmitsStatic {
		for i := range js {
			if err := emit(js[i].Name, js[i].Spec); err != nil {
				return err
			}
		}
	}
	for _, js := range c.cfg.PostsubmitsStatic {
		for i := range js {
			if err := emit(js[i].Name, js[i].Spec); err != nil {
				return err
			}
		}
	}
	return nil
}
