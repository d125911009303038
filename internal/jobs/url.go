package jobs

import (
	"bytes"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"
	"text/template"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/downwardapi"
	"github.com/prowl-ci/prowl/internal/storage"
)

// JobURL is where a person sees a job run's results, for status.url. For a decorated job with a
// URL prefix (the job's gcs_configuration.job_url_prefix, else plank.job_url_prefix_config for its
// org/repo, org, or "*") it is <prefix>/<gs|s3>/<bucket>/<job dir>; otherwise plank's
// job_url_template applied to the ProwJob; else "".
func JobURL(plank *config.Plank, pj *prowv1.ProwJob) (string, error) {
	if dc := pj.Spec.DecorationConfig; dc != nil && dc.GCSConfiguration != nil {
		if prefix := jobURLPrefix(plank, pj); prefix != "" {
			spec := downwardapi.NewJobSpec(pj.Spec, pj.Status.BuildID, pj.Name)
			dir, err := storage.JobDir(spec, dc.GCSConfiguration)
			if err != nil {
				return "", err
			}
			bucket, err := storage.ParseBucket(dc.GCSConfiguration.Bucket)
			if err != nil {
				return "", err
			}
			u, err := url.Parse(prefix)
			if err != nil {
				return "", fmt.Errorf("job URL prefix %q: %w", prefix, err)
			}
			if plank.JobURLPrefixDisableAppendStorageProvider {
				u.Path = path.Join(u.Path, bucket.Name, dir)
			} else {
				u.Path = path.Join(u.Path, bucket.Provider, bucket.Name, dir)
			}
			return u.String(), nil
		}
	}
	if plank.JobURLTemplate == "" {
		return "", nil
	}
	t, err := compiledTemplate(plank.JobURLTemplate)
	if err != nil {
		return "", fmt.Errorf("plank.job_url_template: %w", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, pj); err != nil {
		return "", fmt.Errorf("plank.job_url_template for %s: %w", pj.Name, err)
	}
	return b.String(), nil
}

// templates caches parsed job URL templates: Plank asks for a URL at every job start.
var templates sync.Map

func compiledTemplate(text string) (*template.Template, error) {
	if t, ok := templates.Load(text); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New("job_url_template").Parse(text)
	if err != nil {
		return nil, err
	}
	templates.Store(text, t)
	return t, nil
}

func jobURLPrefix(plank *config.Plank, pj *prowv1.ProwJob) string {
	if p := pj.Spec.DecorationConfig.GCSConfiguration.JobURLPrefix; p != "" {
		return p
	}
	refs := pj.Spec.Refs
	if refs == nil && len(pj.Spec.ExtraRefs) > 0 {
		refs = &pj.Spec.ExtraRefs[0]
	}
	if refs != nil {
		if p, ok := plank.JobURLPrefixConfig[refs.Org+"/"+refs.Repo]; ok {
			return p
		}
		if p, ok := plank.JobURLPrefixConfig[refs.Org]; ok {
			return p
		}
	}
	return strings.TrimSpace(plank.JobURLPrefixConfig["*"])
}
