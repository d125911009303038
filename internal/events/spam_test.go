package events

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
)

// counting is a recorder that counts what reaches it.
type counting struct {
	recorder.EventRecorder
	n     int
	notes []string
}

func (c *counting) Eventf(_ runtime.Object, _ runtime.Object, _, _, _, note string, args ...any) {
	c.n++
	c.notes = append(c.notes, args[0].(string))
}

type provider struct{ c *counting }

func (p provider) GetEventRecorder(string) recorder.EventRecorder { return p.c }

// TestSpamFilter: a job that loops gets a burst of 25 Events, then one per five minutes; another
// job is not held up by it.
func TestSpamFilter(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1700000000, 0))
	c := &counting{}
	r := New(provider{c}, "plank", clk)
	loop := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "loop", Namespace: "ns", UID: "1"}}
	for range 100 {
		r.Normal(loop, ReasonStateChanged, "ChangeState", "again")
	}
	if c.n != SpamBurst {
		t.Fatalf("%d Events of 100 went through, want the burst of %d", c.n, SpamBurst)
	}
	other := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", UID: "2"}}
	r.Normal(other, ReasonCreated, "Create", "once")
	if c.n != SpamBurst+1 {
		t.Error("another job's Event was held up")
	}
	clk.Step(5 * time.Minute)
	r.Normal(loop, ReasonStateChanged, "ChangeState", "again")
	r.Normal(loop, ReasonStateChanged, "ChangeState", "again")
	if c.n != SpamBurst+2 {
		t.Errorf("after five minutes %d went through, want one more", c.n-SpamBurst-1)
	}
}

// TestNilRecorder: components whose callers set no recorder record nothing and do not fail.
func TestNilRecorder(t *testing.T) {
	var r *Recorder
	pj := &prowv1.ProwJob{}
	r.Created(pj, "why")
	r.PodCreated(pj, "pod", "")
	r.StateChanged(pj, pj)
	r.Aborted(pj, "why")
	r.Reported(pj, "GitHub")
	r.ReportFailed(pj, nil)
}

// TestLongNoteIsCut keeps notes within events.k8s.io/v1's 1024 bytes.
func TestLongNoteIsCut(t *testing.T) {
	c := &counting{}
	r := New(provider{c}, "crier", nil)
	long := make([]byte, 2000)
	for i := range long {
		long[i] = 'x'
	}
	r.Warning(&prowv1.ProwJob{}, ReasonReportFailed, "Report", "%s", string(long))
	if len(c.notes) != 1 || len(c.notes[0]) != 1024 {
		t.Errorf("note of %d bytes", len(c.notes[0]))
	}
}
