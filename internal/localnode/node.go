// Package localnode runs Pods on this machine, as a kubelet would, so that the whole system runs
// with no cluster: it registers a Node, binds the pod namespace's unscheduled Pods to it, runs
// each Pod's init containers one at a time and then its containers together, each as a process
// in a mount namespace of its own where every volume appears at its mountPath, and writes Pod
// status back. Each container runs in its image (pulled, with its layers cached and shared), or,
// with HostFilesystem, on this machine's filesystem.
package localnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/prowl-ci/prowl/internal/localnode/containerinit"
)

// Node runs the Pods of one namespace on this machine. It logs through the logger of the
// context it is given (the manager's, or RunOnce's).
type Node struct {
	Name      string
	Namespace string
	Client    client.Client
	// DataDir holds each Pod's volumes and logs.
	DataDir string
	// Utilities holds the pod utility binaries (clonerefs, initupload, entrypoint, sidecar) that
	// run for commands /clonerefs, /initupload, /entrypoint and /sidecar; where one is absent,
	// Self runs it (`prowl entrypoint ...`). The localnode-exec binary there, when present,
	// starts each container.
	Utilities string
	// Self is the prowl binary, re-run as `prowl localnode-exec` to start a container where
	// Utilities has no localnode-exec (it costs ten times as much CPU: a tenth of a second).
	Self string
	// Stream, when set, also receives the test container's output.
	Stream io.Writer
	// Clock times status timestamps, grace periods and active deadlines; the real clock when nil.
	Clock clock.WithTicker
	// HostFilesystem runs every container on this machine's filesystem, ignoring image:, as the
	// node did before it pulled images. Otherwise each container runs in its image, except those
	// of Prowl's local utility images (LocalUtilityPrefix).
	HostFilesystem bool
	// Images pulls images and caches their layers (under DataDir/images when nil).
	Images *Images

	imagesOnce  sync.Once
	overlayOnce sync.Once
	overlay     bool

	mu       sync.Mutex
	running  map[types.UID]*podRun
	warned   sync.Once
	stopping atomic.Bool
	// terminating holds the UIDs of deleted Pods being stopped.
	terminating sync.Map
	bound       sync.Map // pod UID → when this node bound it
}

type podRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	procs  map[string]*os.Process
	// terminating is set, under mu, once the Pod is being deleted: no container starts after it,
	// as the kubelet starts none in a Pod it is stopping.
	terminating bool
}

// Setup registers the node's reconciler over the namespace's Pods.
func (n *Node) Setup(mgr ctrl.Manager) error {
	n.running = map[types.UID]*podRun{}
	if err := mgr.Add(n); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("localnode").
		For(&corev1.Pod{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == n.Namespace }))).
		Complete(n)
}

// NeedLeaderElection is false: a node runs whether or not its process leads.
func (n *Node) NeedLeaderElection() bool { return false }

func (n *Node) clk() clock.WithTicker {
	if n.Clock == nil {
		return clock.RealClock{}
	}
	return n.Clock
}

// now is the node's time as an API timestamp.
func (n *Node) now() metav1.Time { return metav1.NewTime(n.clk().Now()) }

// errActiveDeadline is the cause of a Pod's context ending at its activeDeadlineSeconds.
var errActiveDeadline = errors.New("active deadline exceeded")

// withDeadline ends ctx, with errActiveDeadline as its cause, once d has passed on the node's
// clock.
func (n *Node) withDeadline(ctx context.Context, d time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	t := n.clk().NewTimer(d)
	go func() {
		select {
		case <-t.C():
			cancel(errActiveDeadline)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { t.Stop(); cancel(context.Canceled) }
}

func (n *Node) isRunning(uid types.UID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.running[uid]
	return ok
}

// start runs pod in the background, with ctx's logger but not its end: the run outlives the
// reconcile that started it and ends with the node or the Pod.
func (n *Node) start(ctx context.Context, pod *corev1.Pod) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &podRun{cancel: cancel, done: make(chan struct{}), procs: map[string]*os.Process{}}
	n.mu.Lock()
	n.running[pod.UID] = r
	n.mu.Unlock()
	go func() {
		defer close(r.done)
		defer n.bound.Delete(pod.UID)
		n.run(ctx, r, pod)
	}()
}

// stop ends a deleted Pod's processes: SIGTERM, then SIGKILL after its grace period.
func (n *Node) stop(pod *corev1.Pod) {
	n.mu.Lock()
	r, ok := n.running[pod.UID]
	n.mu.Unlock()
	if !ok {
		return
	}
	grace := 30 * time.Second
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	r.terminate()
	select {
	case <-r.done:
	case <-n.clk().After(grace):
		r.signal(syscall.SIGKILL)
		r.cancel()
		<-r.done
	}
}

// terminate marks the Pod as being deleted and sends SIGTERM to the containers running.
func (r *podRun) terminate() {
	r.mu.Lock()
	r.terminating = true
	r.mu.Unlock()
	r.signal(syscall.SIGTERM)
}

// stopping says whether the Pod is being deleted.
func (r *podRun) stopping() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.terminating
}

func (r *podRun) signal(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.procs {
		_ = syscall.Kill(-p.Pid, sig)
	}
}

// run runs the Pod to its end, records its status and returns its phase.
func (n *Node) run(ctx context.Context, r *podRun, pod *corev1.Pod) corev1.PodPhase {
	defer func() {
		n.mu.Lock()
		delete(n.running, pod.UID)
		n.mu.Unlock()
	}()
	dir := filepath.Join(n.DataDir, "pods", string(pod.UID))
	started := n.now()
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		// Past its deadline the Pod's processes are killed and it fails, as the kubelet does.
		var stop func()
		ctx, stop = n.withDeadline(ctx, time.Duration(*d)*time.Second)
		defer stop()
	}
	deadlineExceeded := func() bool { return errors.Is(context.Cause(ctx), errActiveDeadline) }
	volumes, err := n.volumes(ctx, pod, dir)
	if err != nil {
		n.setStatus(context.WithoutCancel(ctx), pod, func(s *corev1.PodStatus) {
			s.Phase, s.Reason, s.Message, s.StartTime = corev1.PodFailed, "VolumeError", err.Error(), &started
		})
		ctrl.LoggerFrom(ctx).Error(err, "cannot make the Pod's volumes", "pod", pod.Name)
		return corev1.PodFailed
	}
	n.setStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.Phase, s.StartTime = corev1.PodPending, &started
		s.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: started}}
	})
	imgs, release, err := n.pullImages(ctx, pod)
	defer release()
	if err != nil {
		n.failPull(ctx, pod, err)
		return corev1.PodFailed
	}
	var initStatuses []corev1.ContainerStatus
	for _, c := range pod.Spec.InitContainers {
		if r.stopping() {
			return corev1.PodFailed // deleted: the next container does not start, the Pod goes
		}
		st := n.runContainer(ctx, r, pod, c, imgs[c.Name], volumes, dir)
		initStatuses = append(initStatuses, st)
		if st.State.Terminated.ExitCode != 0 {
			n.setStatus(context.WithoutCancel(ctx), pod, func(s *corev1.PodStatus) {
				s.Phase, s.InitContainerStatuses = corev1.PodFailed, initStatuses
				if deadlineExceeded() {
					s.Reason, s.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
				}
			})
			return corev1.PodFailed
		}
		n.setStatus(ctx, pod, func(s *corev1.PodStatus) { s.InitContainerStatuses = initStatuses })
	}
	if r.stopping() {
		return corev1.PodFailed
	}
	n.setStatus(ctx, pod, func(s *corev1.PodStatus) { s.Phase = corev1.PodRunning })
	statuses := make([]corev1.ContainerStatus, len(pod.Spec.Containers))
	var wg sync.WaitGroup
	for i, c := range pod.Spec.Containers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = n.runContainer(ctx, r, pod, c, imgs[c.Name], volumes, dir)
		}()
	}
	wg.Wait()
	phase := corev1.PodSucceeded
	for _, s := range statuses {
		if s.State.Terminated.ExitCode != 0 {
			phase = corev1.PodFailed
		}
	}
	if deadlineExceeded() {
		phase = corev1.PodFailed
	}
	n.setStatus(context.WithoutCancel(ctx), pod, func(s *corev1.PodStatus) {
		s.Phase, s.ContainerStatuses = phase, statuses
		if deadlineExceeded() {
			s.Reason, s.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
		}
	})
	return phase
}

// RunOnce runs one Pod here and now with no API server (`prowl run`): its volumes may not come
// from secrets or configMaps. The test container's output also goes to Stream.
func (n *Node) RunOnce(ctx context.Context, pod *corev1.Pod) corev1.PodPhase {
	n.running = map[types.UID]*podRun{}
	if pod.UID == "" {
		pod.UID = types.UID(pod.Name) // no API server gave it one; its files go under this name
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &podRun{cancel: cancel, done: make(chan struct{}), procs: map[string]*os.Process{}}
	defer n.removeLayers(string(pod.UID))
	return n.run(ctx, r, pod)
}

// runContainer runs one container to its end through the mount helper, its output to a log file:
// in img when it has one, else on this machine's filesystem.
func (n *Node) runContainer(ctx context.Context, r *podRun, pod *corev1.Pod, c corev1.Container, img *Image, volumes map[string]string, dir string) corev1.ContainerStatus {
	started := n.now()
	status := func(code int32, reason, message string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, Message: message, StartedAt: started, FinishedAt: n.now()}}}
	}
	l, env, reason, err := n.containerLaunch(ctx, pod, c, img, volumes, dir)
	if err != nil {
		return status(127, reason, err.Error())
	}
	spec, err := json.Marshal(l)
	if err != nil {
		return status(127, "LaunchError", err.Error())
	}
	logPath := n.logPath(pod.UID, c.Name)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return status(127, "LogError", err.Error())
	}
	logFile, err := os.Create(logPath)
	if err != nil {
		return status(127, "LogError", err.Error())
	}
	defer logFile.Close()
	cmd := n.helper()
	cmd.Env = append(env, containerinit.Env+"="+string(spec))
	var out io.Writer = logFile
	if n.Stream != nil && c.Name == "test" {
		out = io.MultiWriter(logFile, n.Stream)
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A container dies with the node (SIGKILLed, or crashed): a node started again cannot follow
	// it, fails its Pod as disrupted and Plank runs the job again, so a container left running
	// would write into the run's directory beside the new one. (The entrypoint likewise kills the
	// job's command when it dies.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if l.Root != nil {
		// In its image a container has its own PIDs (its command is PID 1) and hostname.
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS
	}
	if err := cmd.Start(); err != nil {
		return status(127, "StartError", fmt.Sprintf("start the container in a mount namespace (needs Linux and root): %v", err))
	}
	r.mu.Lock()
	r.procs[c.Name] = cmd.Process
	if r.terminating {
		// The Pod's deletion began as this container started: it gets the SIGTERM the others got.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	r.mu.Unlock()
	if t, ok := n.bound.Load(pod.UID); ok && c.Name == "test" {
		// What the node adds before a job's own command runs: binding to start, volumes, the init
		// containers (initupload, place-entrypoint, clonerefs) and the mount helper.
		ctrl.LoggerFrom(ctx).Info("test container started", "pod", pod.Name, "sinceBoundMicros", n.clk().Since(t.(time.Time)).Microseconds())
	}
	code := waitProcess(ctx, r, c.Name, cmd)
	reason = "Completed"
	if code != 0 {
		reason = "Error"
	}
	return status(code, reason, "")
}

// waitProcess waits for a started container's process to end, killing its process group when ctx ends
// first, and returns its exit code (128 + the signal when a signal ended it).
func waitProcess(ctx context.Context, r *podRun, name string, cmd *exec.Cmd) int32 {
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		r.mu.Lock()
		delete(r.procs, name)
		r.mu.Unlock()
		waited <- err
	}()
	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		werr = <-waited
	}
	r.mu.Lock()
	delete(r.procs, name)
	r.mu.Unlock()
	code := int32(0)
	if werr != nil {
		code = 1
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			code = int32(ee.ExitCode())
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				code = 128 + int32(ws.Signal())
			}
		}
	}
	return code
}

// helper is the command that starts a container: localnode-exec beside prowl, else prowl itself.
func (n *Node) helper() *exec.Cmd {
	if p := filepath.Join(n.Utilities, "localnode-exec"); n.Utilities != "" && fileExists(p) {
		return exec.Command(p)
	}
	return exec.Command(n.Self, "localnode-exec")
}

// isPodUtility says whether name is one of the four pod utilities, which prowl also runs.
func isPodUtility(name string) bool {
	switch name {
	case "clonerefs", "initupload", "entrypoint", "sidecar":
		return true
	}
	return false
}

func fileExists(p string) bool {
	info, err := os.Stat(p)
	return err == nil && !info.IsDir()
}
