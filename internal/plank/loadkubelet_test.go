package plank

import (
	"context"
	"hash/fnv"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// loadMaxRun is the longest a load Pod runs when no limit it counts against is full: the job's
// own run time, which the load simulates (not a wait for anything).
const loadMaxRun = time.Second

// loadKubelet runs TestPlankLoad's Pods: it marks each new Pod running and ends it, succeeded,
// as soon as a limit the Pod counts against is full of running Pods, or once it has run for
// loadMaxRun. It writes Pod status through the API server, each Pod's writes in order, on a few
// writers.
type loadKubelet struct {
	t     *testing.T
	ctx   context.Context
	lim   loadLimits
	specs map[string]loadSpec

	mu      sync.Mutex
	seen    map[string]bool
	held    []heldPod // running, in the order they came
	writers []chan podWrite
	wg      sync.WaitGroup
}

type heldPod struct {
	pod   *corev1.Pod // as created
	since time.Time
}

// podWrite is a status for a Pod: running, or succeeded.
type podWrite struct {
	heldPod
	phase corev1.PodPhase
}

func startLoadKubelet(ctx context.Context, t *testing.T, lim loadLimits, specs map[string]loadSpec) *loadKubelet {
	k := &loadKubelet{t: t, ctx: ctx, lim: lim, specs: specs, seen: map[string]bool{}}
	for range 4 {
		ch := make(chan podWrite, 2*len(specs)) // never full: at most two writes a Pod
		k.writers = append(k.writers, ch)
		k.wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case w := <-ch:
					k.write(w)
				}
			}
		})
	}
	k.wg.Go(func() {
		tick := time.NewTicker(loadMaxRun / 10) // the simulated run time's resolution
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				k.expire(now)
			}
		}
	})
	return k
}

// stop waits for the writers, once the kubelet's context has ended.
func (k *loadKubelet) stop() { k.wg.Wait() }

// saw takes a new Pod: it runs it, and ends the oldest Pods of each limit it fills.
func (k *loadKubelet) saw(obj client.Object, ev watch.EventType) {
	pod := obj.(*corev1.Pod)
	s, ok := k.specs[pod.Name]
	if ev != watch.Added || !ok {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seen[pod.Name] || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return
	}
	k.seen[pod.Name] = true
	h := heldPod{pod: pod.DeepCopy(), since: time.Now()}
	k.held = append(k.held, h)
	k.send(podWrite{h, corev1.PodRunning})
	k.finishWhileFull(func(loadSpec) bool { return true }, k.lim.global)
	if s.queue != "" {
		k.finishWhileFull(func(o loadSpec) bool { return o.queue == s.queue }, k.lim.queue)
	}
	if s.limited {
		k.finishWhileFull(func(o loadSpec) bool { return o.limited && o.job == s.job }, k.lim.perJob)
	}
}

// finishWhileFull ends the oldest running Pods of a limit (those in it) while it is full.
func (k *loadKubelet) finishWhileFull(in func(loadSpec) bool, limit int) {
	for {
		var of []int
		for i, h := range k.held {
			if in(k.specs[h.pod.Name]) {
				of = append(of, i)
			}
		}
		if len(of) < limit {
			return
		}
		k.finish(of[0])
	}
}

func (k *loadKubelet) finish(i int) {
	h := k.held[i]
	k.held = slices.Delete(k.held, i, i+1)
	k.send(podWrite{h, corev1.PodSucceeded})
}

// expire ends the Pods that have run for loadMaxRun.
func (k *loadKubelet) expire(now time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := 0; i < len(k.held); {
		if now.Sub(k.held[i].since) >= loadMaxRun {
			k.finish(i)
			continue
		}
		i++
	}
}

// send queues a write on the Pod's own writer, after its earlier ones.
func (k *loadKubelet) send(w podWrite) {
	f := fnv.New32a()
	_, _ = f.Write([]byte(w.pod.Name))
	k.writers[int(f.Sum32())%len(k.writers)] <- w
}

// write patches the Pod's status: running since it came, and then succeeded with every
// container exited 0.
func (k *loadKubelet) write(w podWrite) {
	p := w.pod.DeepCopy()
	since := metav1.NewTime(w.since)
	p.Status.Phase, p.Status.StartTime = corev1.PodRunning, &since
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: since}}
	if w.phase == corev1.PodSucceeded {
		p.Status.Phase = corev1.PodSucceeded
		p.Status.ContainerStatuses = terminated(containerNames(p), 0, "Completed")
	}
	if err := env.Client.Status().Patch(k.ctx, p, client.MergeFrom(w.pod)); err != nil && k.ctx.Err() == nil {
		k.t.Errorf("kubelet: set pod %s %s: %v", p.Name, w.phase, err)
	}
}
