package deck

import (
	"crypto/sha256"
	"encoding/json"
	"runtime"
	"sync"
	"weak"

	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// NewTransform is the transform Deck's informer cache stores ProwJobs through (cache.Options
// DefaultTransform): it drops managedFields, which Deck never serves, and makes the jobs of one
// config share what they have in common, which Deck serves whole and so cannot drop. Every run of
// a job carries the same pod spec, decoration config, reporter and rerun config and defaults;
// decoded, each run had its own copy, and 50,000 copies of test-infra's pod specs were most of
// Deck's memory. Equal values (by their JSON) become one pointer, and the short strings that
// repeat from job to job (label keys and values, job names, repositories) one string.
//
// The cache's objects are read-only (the cache's readers deep-copy, Deck's index only reads), so
// sharing is safe. A shared value is held weakly: once no cached job points at it, it is freed.
func NewTransform() toolscache.TransformFunc {
	t := &transform{}
	return t.apply
}

type transform struct {
	podSpecs   sharer[corev1.PodSpec]
	decoration sharer[prowv1.DecorationConfig]
	reporter   sharer[prowv1.ReporterConfig]
	rerunAuth  sharer[prowv1.RerunAuthConfig]
	defaults   sharer[prowv1.ProwJobDefault]
	strings    interner
}

// stripManagedFields is the transform for what is not a ProwJob.
var stripManagedFields = cache.TransformStripManagedFields()

func (t *transform) apply(obj any) (any, error) {
	pj, ok := obj.(*prowv1.ProwJob)
	if !ok {
		return stripManagedFields(obj)
	}
	pj.ManagedFields = nil
	s := &t.strings
	pj.Namespace = s.intern(pj.Namespace)
	pj.Labels = s.internMap(pj.Labels)
	pj.Annotations = s.internMap(pj.Annotations)
	spec := &pj.Spec
	spec.Type = prowv1.ProwJobType(s.intern(string(spec.Type)))
	spec.Agent = prowv1.ProwJobAgent(s.intern(string(spec.Agent)))
	spec.Cluster = s.intern(spec.Cluster)
	spec.Namespace = s.intern(spec.Namespace)
	spec.Job = s.intern(spec.Job)
	spec.Context = s.intern(spec.Context)
	spec.RerunCommand = s.intern(spec.RerunCommand)
	spec.JobQueueName = s.intern(spec.JobQueueName)
	if spec.Refs != nil {
		s.internRefs(spec.Refs)
	}
	for i := range spec.ExtraRefs {
		s.internRefs(&spec.ExtraRefs[i])
	}
	spec.PodSpec = t.podSpecs.share(spec.PodSpec)
	spec.DecorationConfig = t.decoration.share(spec.DecorationConfig)
	spec.ReporterConfig = t.reporter.share(spec.ReporterConfig)
	spec.RerunAuthConfig = t.rerunAuth.share(spec.RerunAuthConfig)
	spec.ProwJobDefault = t.defaults.share(spec.ProwJobDefault)
	st := &pj.Status
	st.State = prowv1.ProwJobState(s.intern(string(st.State)))
	st.Description = s.intern(st.Description)
	st.PodName = s.intern(st.PodName)
	return pj, nil
}

// internRefs interns what repeats between runs of a repository's jobs; SHAs and titles vary.
func (s *interner) internRefs(r *prowv1.Refs) {
	r.Org, r.Repo, r.RepoLink = s.intern(r.Org), s.intern(r.Repo), s.intern(r.RepoLink)
	r.BaseRef, r.BaseLink = s.intern(r.BaseRef), s.intern(r.BaseLink)
	r.PathAlias, r.CloneURI = s.intern(r.PathAlias), s.intern(r.CloneURI)
	for i := range r.Pulls {
		r.Pulls[i].Author, r.Pulls[i].AuthorLink = s.intern(r.Pulls[i].Author), s.intern(r.Pulls[i].AuthorLink)
	}
}

// sharer hands out one pointer per distinct value (equal JSON), held weakly: the first value
// seen is the one kept, and its entry goes when the last job using it is freed.
type sharer[T any] struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]weak.Pointer[T]
}

// share is v, or an equal value already shared. A value that does not encode is not shared.
func (s *sharer[T]) share(v *T) *T {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return v
	}
	key := sha256.Sum256(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.m[key].Value(); p != nil {
		return p
	}
	if s.m == nil {
		s.m = map[[sha256.Size]byte]weak.Pointer[T]{}
	}
	s.m[key] = weak.Make(v)
	runtime.AddCleanup(v, s.forget, key)
	return v
}

// forget drops key's entry once its value is freed, unless an equal value has taken its place.
func (s *sharer[T]) forget(key [sha256.Size]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m[key].Value() == nil {
		delete(s.m, key)
	}
}

// maxInterned bounds the interner: past it, the table starts again (strings already handed out
// stay shared), so values that never repeat cannot grow it without end.
const maxInterned = 100_000

// interner makes equal strings one string.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *interner) intern(v string) string {
	if v == "" {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.m[v]; ok {
		return c
	}
	if s.m == nil || len(s.m) >= maxInterned {
		s.m = map[string]string{}
	}
	s.m[v] = v
	return v
}

// internMap interns m's keys and values in place.
func (s *interner) internMap(m map[string]string) map[string]string {
	for k, v := range m {
		m[s.intern(k)] = s.intern(v)
	}
	return m
}
