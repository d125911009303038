package testutil

import (
	"context"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Story is the Events of obj (of kind, "ProwJob"), read back from the API server as `kubectl
// describe` reads them: core/v1 Events selected by involvedObject's kind, namespace, name and
// uid (the events.k8s.io/v1 Events the components record, seen through core/v1, where regarding
// is involvedObject). Each is "reportingController Type Reason: note", oldest first. It waits
// until there are at least n, and fails the test when there never are.
func (e *Env) Story(t testing.TB, obj client.Object, kind string, n int) []string {
	t.Helper()
	var out []string
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		var list corev1.EventList
		if err := e.Client.List(ctx, &list, client.InNamespace(obj.GetNamespace()), client.MatchingFields{
			"involvedObject.kind": kind, "involvedObject.namespace": obj.GetNamespace(),
			"involvedObject.name": obj.GetName(), "involvedObject.uid": string(obj.GetUID()),
		}); err != nil {
			return false, err
		}
		sort.SliceStable(list.Items, func(i, j int) bool { return eventTime(&list.Items[i]).Before(eventTime(&list.Items[j])) })
		out = out[:0]
		for _, ev := range list.Items {
			out = append(out, ev.ReportingController+" "+ev.Type+" "+ev.Reason+": "+ev.Message)
		}
		return len(out) >= n, nil
	})
	if err != nil {
		t.Fatalf("%s %s has %d Events, want %d: %q (%v)", kind, obj.GetName(), len(out), n, out, err)
	}
	return out
}

// eventTime is when an Event happened: its eventTime (events.k8s.io/v1), else its first timestamp.
func eventTime(ev *corev1.Event) time.Time {
	if !ev.EventTime.IsZero() {
		return ev.EventTime.Time
	}
	return ev.FirstTimestamp.Time
}
