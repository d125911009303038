package testutil

import (
	"context"
	"fmt"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Follow lists the objects of list's kind in namespace ns and then watches them from that
// version, calling each for every object listed and every change after it, in the API server's
// order, until ctx ends. The first list is made before Follow returns, so no change made after
// it is missed. A watch the API server closes is resumed from the last version seen; when that
// version is too old (410 Gone), the kind is listed afresh. each runs on one goroutine.
func Follow(ctx context.Context, t testing.TB, c client.WithWatch, list client.ObjectList, ns string, each func(client.Object, watch.EventType)) {
	t.Helper()
	rv, err := relist(ctx, c, list, ns, each)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ctx.Err() == nil {
			next, err := watchFrom(ctx, c, list, ns, rv, each)
			if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
				next, err = relist(ctx, c, list, ns, each)
			}
			if err != nil {
				// The API server is away for a moment: try again at a gentle pace.
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			rv = next
		}
	}()
}

// relist calls each for every object of list's kind in ns and returns the list's version.
func relist(ctx context.Context, c client.WithWatch, list client.ObjectList, ns string, each func(client.Object, watch.EventType)) (string, error) {
	if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
		return "", fmt.Errorf("list %T in %s: %w", list, ns, err)
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return "", fmt.Errorf("items of %T: %w", list, err)
	}
	for _, o := range items {
		if obj, ok := o.(client.Object); ok {
			each(obj, watch.Added)
		}
	}
	return list.GetResourceVersion(), nil
}

// watchFrom watches list's kind in ns from version rv until the watch ends, and returns the last
// version seen.
func watchFrom(ctx context.Context, c client.WithWatch, list client.ObjectList, ns, rv string, each func(client.Object, watch.EventType)) (string, error) {
	w, err := c.Watch(ctx, list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}})
	if err != nil {
		return rv, fmt.Errorf("watch %T in %s: %w", list, ns, err)
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			return rv, apierrors.FromObject(ev.Object)
		}
		obj, ok := ev.Object.(client.Object)
		if !ok {
			continue
		}
		rv = obj.GetResourceVersion()
		if ev.Type != watch.Bookmark {
			each(obj, ev.Type)
		}
	}
	return rv, nil
}
