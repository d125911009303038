package localnode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
)

// DefaultImageCacheBytes is the unpacked size the layer cache keeps before it evicts the layers
// used least recently.
const DefaultImageCacheBytes int64 = 20 << 30

// Images pulls images and keeps their layers unpacked under Dir, content-addressed by each
// layer's uncompressed digest (its diffID), so that every Pod of the node shares them and each
// layer is unpacked once. Layers are unpacked in overlayfs' format: a deleted file is a 0/0
// character device and an opaque directory carries trusted.overlay.opaque=y.
type Images struct {
	// Dir holds layers/<diffID hex>/ (unpacked), layers/<hex>.size, and refs/<key>.json (what a
	// reference resolved to when it was last pulled).
	Dir string
	// MaxBytes is the cache's size limit (DefaultImageCacheBytes when 0).
	MaxBytes int64
	// Transport reaches registries (http.DefaultTransport when nil).
	Transport http.RoundTripper
	// Clock times pulls and dates layer use for eviction (the real clock when nil).
	Clock clock.PassiveClock

	mu        sync.Mutex
	unpacking map[string]chan struct{} // diffID hex → closed when its unpack ends
	inUse     map[string]int           // diffID hex → containers using it
}

// Image is a pulled image: its digest, its config and its layers' directories, bottom first.
type Image struct {
	Ref    string    `json:"ref"`
	Digest string    `json:"digest"`
	Config v1.Config `json:"config"`
	Layers []string  `json:"layers"` // diffID hex, bottom first
}

// PullError is why an image is not there: Reason is the kubelet's (ErrImagePull or
// ErrImageNeverPull), Message says why in the registry's words.
type PullError struct {
	Reason, Message string
}

func (e *PullError) Error() string { return e.Message }

// Pull makes image present as policy says (the kubelet's defaults when policy is empty: Always
// for :latest and untagged, IfNotPresent otherwise), with the keychain's credentials, and marks
// its layers in use until Release.
func (im *Images) Pull(ctx context.Context, image string, policy corev1.PullPolicy, kc authn.Keychain) (*Image, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return nil, &PullError{Reason: "InvalidImageName", Message: fmt.Sprintf("Failed to apply default image tag %q: %v", image, err)}
	}
	if policy == "" {
		policy = DefaultPullPolicy(image)
	}
	cached := im.cached(ref)
	switch {
	case policy == corev1.PullNever && cached == nil:
		return nil, &PullError{Reason: "ErrImageNeverPull", Message: fmt.Sprintf("Container image %q is not present with pull policy of Never", image)}
	case cached != nil && policy != corev1.PullAlways:
		return im.use(cached), nil
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(kc),
		remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH})}
	if im.Transport != nil {
		opts = append(opts, remote.WithTransport(im.Transport))
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, &PullError{Reason: "ErrImagePull", Message: fmt.Sprintf("failed to pull image %q: %v", image, err)}
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, &PullError{Reason: "ErrImagePull", Message: fmt.Sprintf("failed to pull image %q: %v", image, err)}
	}
	if cached != nil && cached.Digest == digest.String() {
		return im.use(cached), nil // Always, and the registry still has what is cached
	}
	rec, err := im.fetch(ctx, image, img)
	if err != nil {
		return nil, &PullError{Reason: "ErrImagePull", Message: fmt.Sprintf("failed to pull and unpack image %q: %v", image, err)}
	}
	if err := writeJSON(im.refPath(ref), rec); err != nil {
		return nil, err
	}
	im.evict(ctx)
	return rec, nil
}

// DefaultPullPolicy is the API server's default for a container's imagePullPolicy: Always for
// :latest or no tag, IfNotPresent otherwise (a digest counts as a tag).
func DefaultPullPolicy(image string) corev1.PullPolicy {
	ref, err := name.ParseReference(image)
	if err != nil {
		return corev1.PullIfNotPresent
	}
	if tag, ok := ref.(name.Tag); ok && tag.TagStr() == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// fetch downloads and unpacks every layer of img not yet unpacked, logging progress, and returns
// the image marked in use.
func (im *Images) fetch(ctx context.Context, image string, img v1.Image) (*Image, error) {
	log := ctrl.LoggerFrom(ctx).WithValues("image", image)
	start := im.clk().Now()
	log.Info("pulling image")
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	digest, _ := img.Digest()
	rec := &Image{Ref: image, Digest: digest.String(), Config: cfg.Config}
	im.mu.Lock()
	for _, l := range layers {
		d, err := l.DiffID()
		if err != nil {
			im.mu.Unlock()
			return nil, fmt.Errorf("layer diffID: %w", err)
		}
		rec.Layers = append(rec.Layers, d.Hex)
	}
	im.acquire(rec) // no eviction may take a layer while it is unpacked or used
	im.mu.Unlock()
	var total int64
	for i, l := range layers {
		size, err := im.unpackOnce(ctx, rec.Layers[i], l)
		if err != nil {
			im.Release(rec)
			return nil, err
		}
		total += size
		log.V(1).Info("layer ready", "layer", i+1, "of", len(layers), "diffID", rec.Layers[i], "bytes", size)
	}
	log.Info("pulled image", "digest", rec.Digest, "layers", len(layers), "bytes", total, "seconds", im.clk().Since(start).Seconds())
	return rec, nil
}

// unpackOnce unpacks one layer unless it is there already or another Pod is unpacking it, in
// which case it waits for that one. It returns the layer's unpacked size.
func (im *Images) unpackOnce(ctx context.Context, hex string, l v1.Layer) (int64, error) {
	dir := im.layerDir(hex)
	for {
		im.mu.Lock()
		if size, ok := im.layerSize(hex); ok {
			im.mu.Unlock()
			return size, nil
		}
		wait, busy := im.unpacking[hex]
		if !busy {
			if im.unpacking == nil {
				im.unpacking = map[string]chan struct{}{}
			}
			wait = make(chan struct{})
			im.unpacking[hex] = wait
		}
		im.mu.Unlock()
		if busy {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		size, err := unpackLayer(ctx, l, dir)
		if err == nil {
			ctrl.LoggerFrom(ctx).Info("unpacked layer", "diffID", hex, "bytes", size)
		}
		im.mu.Lock()
		delete(im.unpacking, hex)
		close(wait)
		im.mu.Unlock()
		return size, err
	}
}

// cached is what ref resolved to when last pulled, if all its layers are still unpacked.
func (im *Images) cached(ref name.Reference) *Image {
	raw, err := os.ReadFile(im.refPath(ref))
	if err != nil {
		return nil
	}
	var rec Image
	if json.Unmarshal(raw, &rec) != nil {
		return nil
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, l := range rec.Layers {
		if _, ok := im.layerSize(l); !ok {
			return nil
		}
	}
	return &rec
}

// use marks a cached image's layers in use and recently used.
func (im *Images) use(rec *Image) *Image {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.acquire(rec)
	return rec
}

// acquire counts rec's layers in use and touches them for the LRU order; im.mu is held.
func (im *Images) acquire(rec *Image) {
	if im.inUse == nil {
		im.inUse = map[string]int{}
	}
	now := im.clk().Now()
	for _, l := range rec.Layers {
		im.inUse[l]++
		_ = os.Chtimes(im.layerDir(l)+".size", now, now)
	}
}

func (im *Images) clk() clock.PassiveClock {
	if im.Clock == nil {
		return clock.RealClock{}
	}
	return im.Clock
}

// Release ends a container's use of rec's layers.
func (im *Images) Release(rec *Image) {
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, l := range rec.Layers {
		if im.inUse[l]--; im.inUse[l] <= 0 {
			delete(im.inUse, l)
		}
	}
}

// LayerDir is where a layer is unpacked.
func (im *Images) layerDir(hex string) string { return filepath.Join(im.Dir, "layers", hex) }

// layerSize reads the size a finished unpack recorded; im.mu is held.
func (im *Images) layerSize(hex string) (int64, bool) {
	raw, err := os.ReadFile(im.layerDir(hex) + ".size")
	if err != nil {
		return 0, false
	}
	var n int64
	_, err = fmt.Sscan(string(raw), &n)
	return n, err == nil
}

func (im *Images) refPath(ref name.Reference) string {
	sum := sha256.Sum256([]byte(ref.Name()))
	return filepath.Join(im.Dir, "refs", hex.EncodeToString(sum[:])+".json")
}

// evict removes the least recently used layers no container uses until the cache is within
// MaxBytes; references to a removed layer are then pulled again.
func (im *Images) evict(ctx context.Context) {
	limit := im.MaxBytes
	if limit == 0 {
		limit = DefaultImageCacheBytes
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	marks, _ := filepath.Glob(filepath.Join(im.Dir, "layers", "*.size"))
	type entry struct {
		hex  string
		size int64
		used time.Time
	}
	var all []entry
	var total int64
	for _, m := range marks {
		hex := strings.TrimSuffix(filepath.Base(m), ".size")
		size, ok := im.layerSize(hex)
		info, err := os.Stat(m)
		if !ok || err != nil {
			continue
		}
		all = append(all, entry{hex, size, info.ModTime()})
		total += size
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, e := range all {
		if total <= limit {
			return
		}
		if im.inUse[e.hex] > 0 {
			continue
		}
		if err := os.Remove(im.layerDir(e.hex) + ".size"); err != nil {
			continue
		}
		_ = os.RemoveAll(im.layerDir(e.hex))
		total -= e.size
		ctrl.LoggerFrom(ctx).Info("evicted image layer", "diffID", e.hex, "bytes", e.size, "cacheBytes", total, "limit", limit)
	}
}

func writeJSON(path string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	// A temporary file of its own: two Pods may record the same reference at once.
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// isPullError says whether err is a PullError, and which.
func isPullError(err error) (*PullError, bool) {
	var pe *PullError
	ok := errors.As(err, &pe)
	return pe, ok
}
