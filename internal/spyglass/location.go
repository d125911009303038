package spyglass

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"

	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/storage"
)

// location is a key in a bucket, parsed from the part of a URL after /view/, /job-history/ or
// /spyglass/file/: <gs|s3>/<bucket>/<key> as Prow spells it ("gcs" is Prow's old name for gs),
// or file/<directory>/<key> for a file bucket, whose directory is the longest configured file
// bucket that the path starts with (file:///srv/artifacts + logs/j/1 is file/srv/artifacts/logs/j/1).
type location struct {
	// Provider is gs, s3 or file.
	Provider string
	// Bucket is the bucket as the config spells it, for the opener.
	Bucket string
	// Name is the bucket's name, or a file bucket's directory.
	Name string
	// Key is the path inside the bucket, without leading or trailing slash.
	Key string
}

// Src is the location as a URL path: provider/name/key.
func (l location) Src() string {
	return strings.TrimSuffix(path.Join(l.Provider, strings.TrimPrefix(l.Name, "/"), l.Key), "/")
}

// URL is the location as a bucket URL, as people and Prow's pointer files write it.
func (l location) URL() string {
	return storage.Bucket{Provider: l.Provider, Name: l.Name}.URL() + "/" + l.Key
}

// join is a location below l.
func (l location) join(rel string) location {
	l.Key = strings.TrimPrefix(path.Join(l.Key, rel), "/")
	return l
}

// allowedBuckets are the readable buckets by provider and name.
func allowedBuckets(cfg *config.Config) (map[string]string, bool) {
	skip := false
	if d, err := cfg.DeckSpyglass(); err == nil && d.SkipStoragePathValidation != nil {
		skip = *d.SkipStoragePathValidation
	}
	out := map[string]string{}
	for _, b := range cfg.AllKnownStorageBuckets() {
		p, err := storage.ParseBucket(b)
		if err != nil {
			continue
		}
		if p.Provider == "file" {
			p.Name = filepath.Clean(p.Name)
		}
		out[p.Provider+"/"+p.Name] = b
	}
	return out, skip
}

// locate parses src (provider/bucket/key) and checks that the bucket is one the config names
// and that the key stays inside it.
func (h *Handler) locate(src string) (location, error) {
	cfg := h.o.Config()
	src = strings.Trim(src, "/")
	provider, rest, _ := strings.Cut(src, "/")
	if provider == "gcs" {
		provider = "gs"
	}
	if rest != "" {
		if err := storage.CheckKey(rest); err != nil {
			return location{}, badRequest("%v", err)
		}
	}
	allowed, skip := allowedBuckets(cfg)
	switch provider {
	case "gs", "s3":
		name, key, _ := strings.Cut(rest, "/")
		if name == "" {
			return location{}, badRequest("path %q names no bucket: expected %s/<bucket>/<path>", src, provider)
		}
		if provider == "gs" {
			if d, err := cfg.DeckSpyglass(); err == nil && d.Spyglass.BucketAliases[name] != "" {
				name = d.Spyglass.BucketAliases[name]
			}
		}
		bucket, ok := allowed[provider+"/"+name]
		if !ok && !skip {
			return location{}, notFound("Bucket %s://%s is not one this Prowl reads: it is not the bucket of any job's decoration config nor in deck.additional_allowed_buckets.", provider, name)
		}
		if !ok {
			bucket = provider + "://" + name
		}
		return location{Provider: provider, Bucket: bucket, Name: name, Key: key}, nil
	case "file":
		return locateFile(allowed, "/"+rest)
	}
	return location{}, notFound("Unknown storage %q in %q: use gs/, s3/ or file/ (or prowjob/ in /view/).", provider, src)
}

// locateFile finds the configured file bucket that p is in, longest first.
func locateFile(allowed map[string]string, p string) (location, error) {
	best := ""
	for k := range allowed {
		dir, ok := strings.CutPrefix(k, "file/")
		if !ok {
			continue
		}
		if (p == dir || strings.HasPrefix(p, strings.TrimSuffix(dir, "/")+"/")) && len(dir) > len(best) {
			best = dir
		}
	}
	if best == "" {
		return location{}, notFound("%s is in no file bucket this Prowl reads: no job's decoration config uploads to a file:// bucket containing it.", p)
	}
	key := strings.TrimPrefix(strings.TrimPrefix(p, best), "/")
	if err := storage.CheckFileKey(best, key); err != nil {
		return location{}, badRequest("%v", err)
	}
	return location{Provider: "file", Bucket: allowed["file/"+best], Name: best, Key: key}, nil
}

// checkChild checks, for a file bucket, a key read below a location that was already checked.
func checkChild(l location) error {
	if l.Provider != "file" {
		return storage.CheckKey(l.Key)
	}
	return storage.CheckFileKey(l.Name, l.Key)
}

// pointerLimit bounds a pointer file (pr-logs/directory/<job>/<build>.txt): Prow's 4 kB.
const pointerLimit = 4095

// resolvePointer follows <key>.txt when it exists, as Prow's Spyglass does for presubmit runs
// listed under pr-logs/directory: the file holds the run's real bucket URL.
func (h *Handler) resolvePointer(ctx context.Context, loc location) (location, error) {
	if loc.Key == "" {
		return loc, nil
	}
	b, err := h.bucket(ctx, loc)
	if err != nil {
		return loc, err
	}
	ptr := loc.Key + ".txt"
	if loc.Provider == "file" {
		if err := storage.CheckFileKey(loc.Name, ptr); err != nil {
			return loc, badRequest("%v", err)
		}
	}
	data, err := storage.ReadSmall(ctx, b, ptr, pointerLimit)
	if storage.IsNotFound(err) {
		return loc, nil
	}
	if err != nil {
		return loc, err
	}
	return h.locateURL(strings.TrimSpace(string(data)))
}

// locateURL is locate for a bucket URL (gs://bucket/key, file:///dir/key).
func (h *Handler) locateURL(raw string) (location, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return location{}, fmt.Errorf("pointer %q is not a bucket URL", raw)
	}
	if u.Scheme == "file" {
		return h.locate("file/" + strings.TrimPrefix(u.Path, "/"))
	}
	return h.locate(u.Scheme + "/" + u.Host + u.Path)
}
