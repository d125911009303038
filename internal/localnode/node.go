// Package localnode runs Pods on this machine, as a kubelet would, so that the whole system runs
// with no cluster: it registers a Node, binds the pod namespace's unscheduled Pods to it, runs
// each Pod's init containers one at a time and then its containers together, each as a process
// in a mount namespace of its own where every volume appears at its mountPath, and writes Pod
// status back. Images are not pulled: processes run on the host's filesystem.
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

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

// Node runs the Pods of one namespace on this machine.
type Node struct {
	Name      string
	Namespace string
	Client    client.Client
	// DataDir holds each Pod's volumes and logs.
	DataDir string
	// Utilities holds the pod utility binaries (clonerefs, initupload, entrypoint, sidecar) that
	// run for commands /clonerefs, /initupload, /entrypoint and /sidecar; where one is absent,
	// Self runs it (`prowl entrypoint ...`).
	Utilities string
	// Self is the prowl binary, re-run as `prowl localnode-exec` to set up a container's mounts.
	Self string
	// Log receives what the node does; discarded when unset.
	Log logr.Logger
	// Stream, when set, also receives the test container's output.
	Stream io.Writer

	mu       sync.Mutex
	running  map[types.UID]*podRun
	warned   sync.Once
	log      logr.Logger
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
}

// Setup registers the node's reconciler over the namespace's Pods.
func (n *Node) Setup(mgr ctrl.Manager) error {
	n.running = map[types.UID]*podRun{}
	n.log = n.Log
	if n.log.GetSink() == nil {
		n.log = logr.Discard()
	}
	if err := mgr.Add(n); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).Named("localnode").
		For(&corev1.Pod{}, builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == n.Namespace }))).
		Complete(n)
}

// NeedLeaderElection is false: a node runs whether or not its process leads.
func (n *Node) NeedLeaderElection() bool { return false }

// Start registers the Node and ends the Pods a previous run of this node left running: their
// processes died with it, so none may stay Running forever. They fail with the DisruptionTarget
// condition, as Pods of a lost node do, so Plank revives their jobs.
func (n *Node) Start(ctx context.Context) error {
	port, err := n.serveLogs(ctx)
	if err != nil {
		return err
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}}}
	if err := n.Client.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("register node %s: %w", n.Name, err)
	}
	if err := n.Client.Get(ctx, client.ObjectKeyFromObject(node), node); err == nil {
		node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "ProwlLocalNode", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}}
		// Where the API server finds this node's log endpoint, for `kubectl logs`.
		node.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}, {Type: corev1.NodeHostName, Address: "127.0.0.1"}}
		node.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(port)
		_ = n.Client.Status().Update(ctx, node)
	}
	var pods corev1.PodList
	if err := n.Client.List(ctx, &pods, client.InNamespace(n.Namespace)); err == nil {
		for i := range pods.Items {
			p := &pods.Items[i]
			if p.Spec.NodeName == n.Name && (p.Status.Phase == corev1.PodRunning || p.Status.Phase == corev1.PodPending) && !n.isRunning(p.UID) {
				// As for a lost node: the disruption condition tells Plank to revive the job.
				n.setStatus(ctx, p, func(s *corev1.PodStatus) {
					s.Phase, s.Reason, s.Message = corev1.PodFailed, "NodeRestarted", "The local node restarted while the Pod ran."
					s.Conditions = append(s.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
						Reason: "NodeRestarted", Message: "The local node restarted while the Pod ran.", LastTransitionTime: metav1.Now()})
				})
			}
		}
	}
	<-ctx.Done()
	// Pods stopped by this node's own shutdown keep their status: on the next start they are
	// failed as disrupted, and their jobs revived, rather than failed for the kill.
	n.stopping.Store(true)
	n.mu.Lock()
	runs := make([]*podRun, 0, len(n.running))
	for _, r := range n.running {
		runs = append(runs, r)
	}
	n.mu.Unlock()
	for _, r := range runs {
		r.cancel()
		<-r.done
	}
	return nil
}

func (n *Node) isRunning(uid types.UID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.running[uid]
	return ok
}

// Reconcile binds an unscheduled Pod, starts a bound one, and stops and removes a deleted one.
func (n *Node) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	pod := &corev1.Pod{}
	if err := n.Client.Get(ctx, req.NamespacedName, pod); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	switch {
	case pod.DeletionTimestamp != nil:
		if !n.isRunning(pod.UID) {
			return ctrl.Result{}, n.remove(ctx, pod)
		}
		// Stopping takes up to the grace period: it must not hold up the Pods behind it.
		if _, already := n.terminating.LoadOrStore(pod.UID, true); !already {
			go func() {
				defer n.terminating.Delete(pod.UID)
				n.stop(pod)
				if err := n.remove(context.Background(), pod); err != nil {
					n.log.Error(err, "remove deleted pod", "pod", pod.Name)
				}
			}()
		}
		return ctrl.Result{}, nil
	case pod.Spec.NodeName == "":
		binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, UID: pod.UID}, Target: corev1.ObjectReference{Kind: "Node", Name: n.Name}}
		if err := n.Client.SubResource("binding").Create(ctx, pod, binding); err != nil && !apierrors.IsConflict(err) {
			return ctrl.Result{}, fmt.Errorf("bind pod %s: %w", pod.Name, err)
		}
		n.bound.Store(pod.UID, time.Now())
		return ctrl.Result{}, nil
	case pod.Spec.NodeName == n.Name && (pod.Status.Phase == "" || pod.Status.Phase == corev1.PodPending) && !n.isRunning(pod.UID):
		n.warned.Do(func() {
			logr.FromContextOrDiscard(ctx).Info("the local node does not pull images: containers run on this machine's filesystem")
		})
		n.start(pod.DeepCopy())
	}
	return ctrl.Result{}, nil
}

// remove confirms a deleted Pod's deletion, as the kubelet does once its containers are gone.
func (n *Node) remove(ctx context.Context, pod *corev1.Pod) error {
	zero := int64(0)
	return client.IgnoreNotFound(n.Client.Delete(ctx, pod, &client.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}}))
}

func (n *Node) start(pod *corev1.Pod) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &podRun{cancel: cancel, done: make(chan struct{}), procs: map[string]*os.Process{}}
	n.mu.Lock()
	n.running[pod.UID] = r
	n.mu.Unlock()
	go func() {
		defer close(r.done)
		defer n.bound.Delete(pod.UID)
		n.run(logr.NewContext(ctx, n.log), r, pod)
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
	r.signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(grace):
		r.signal(syscall.SIGKILL)
		r.cancel()
		<-r.done
	}
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
	started := metav1.Now()
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil {
		// Past its deadline the Pod's processes are killed and it fails, as the kubelet does.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, started.Add(time.Duration(*d)*time.Second))
		defer cancel()
	}
	deadlineExceeded := func() bool { return errors.Is(ctx.Err(), context.DeadlineExceeded) }
	volumes, err := n.volumes(ctx, pod, dir)
	if err != nil {
		n.setStatus(context.Background(), pod, func(s *corev1.PodStatus) {
			s.Phase, s.Reason, s.Message, s.StartTime = corev1.PodFailed, "VolumeError", err.Error(), &started
		})
		n.log.Error(err, "cannot make the Pod's volumes", "pod", pod.Name)
		return corev1.PodFailed
	}
	n.setStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.Phase, s.StartTime = corev1.PodPending, &started
		s.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: started}}
	})
	var initStatuses []corev1.ContainerStatus
	for _, c := range pod.Spec.InitContainers {
		st := n.runContainer(ctx, r, pod, c, volumes, dir)
		initStatuses = append(initStatuses, st)
		if st.State.Terminated.ExitCode != 0 {
			n.setStatus(context.Background(), pod, func(s *corev1.PodStatus) {
				s.Phase, s.InitContainerStatuses = corev1.PodFailed, initStatuses
				if deadlineExceeded() {
					s.Reason, s.Message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
				}
			})
			return corev1.PodFailed
		}
		n.setStatus(ctx, pod, func(s *corev1.PodStatus) { s.InitContainerStatuses = initStatuses })
	}
	n.setStatus(ctx, pod, func(s *corev1.PodStatus) { s.Phase = corev1.PodRunning })
	statuses := make([]corev1.ContainerStatus, len(pod.Spec.Containers))
	var wg sync.WaitGroup
	for i, c := range pod.Spec.Containers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = n.runContainer(ctx, r, pod, c, volumes, dir)
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
	n.setStatus(context.Background(), pod, func(s *corev1.PodStatus) {
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
	if n.log.GetSink() == nil {
		n.log = n.Log
		if n.log.GetSink() == nil {
			n.log = logr.Discard()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &podRun{cancel: cancel, done: make(chan struct{}), procs: map[string]*os.Process{}}
	return n.run(ctx, r, pod)
}

// runContainer runs one container to its end through the mount helper, its output to a log file.
func (n *Node) runContainer(ctx context.Context, r *podRun, pod *corev1.Pod, c corev1.Container, volumes map[string]string, dir string) corev1.ContainerStatus {
	started := metav1.Now()
	status := func(code int32, reason, message string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: c.Name, Image: c.Image, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: code, Reason: reason, Message: message, StartedAt: started, FinishedAt: metav1.Now()}}}
	}
	argv := append(append([]string{}, c.Command...), c.Args...)
	if len(argv) == 0 {
		return status(127, "NoCommand", "the local node does not pull images, so a container needs a command")
	}
	if name := filepath.Base(argv[0]); argv[0] == "/"+name {
		if p := filepath.Join(n.Utilities, name); fileExists(p) {
			argv[0] = p // a pod utility, built from this repository
		} else if n.Self != "" && isPodUtility(name) {
			argv = append([]string{n.Self, name}, argv[1:]...) // prowl carries them: `prowl entrypoint ...`
		}
	}
	l := launch{WorkDir: c.WorkingDir, Argv: argv}
	for _, m := range c.VolumeMounts {
		src, ok := volumes[m.Name]
		if !ok {
			return status(127, "VolumeError", "no volume "+m.Name)
		}
		l.Mounts = append(l.Mounts, mount{Source: filepath.Join(src, m.SubPath), Target: m.MountPath, ReadOnly: m.ReadOnly})
	}
	env, err := n.env(ctx, pod, c)
	if err != nil {
		return status(127, "EnvError", err.Error())
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
	cmd := exec.Command(n.Self, "localnode-exec")
	cmd.Env = append(env, ExecEnv+"="+string(spec))
	var out io.Writer = logFile
	if n.Stream != nil && c.Name == "test" {
		out = io.MultiWriter(logFile, n.Stream)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return status(127, "StartError", fmt.Sprintf("start the container in a mount namespace (needs Linux and root): %v", err))
	}
	r.mu.Lock()
	r.procs[c.Name] = cmd.Process
	r.mu.Unlock()
	if t, ok := n.bound.Load(pod.UID); ok && c.Name == "test" {
		// What the node adds before a job's own command runs: binding to start, volumes, the init
		// containers (initupload, place-entrypoint, clonerefs) and the mount helper.
		logr.FromContextOrDiscard(ctx).Info("test container started", "pod", pod.Name, "sinceBoundMicros", time.Since(t.(time.Time)).Microseconds())
	}
	waited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		r.mu.Lock()
		delete(r.procs, c.Name)
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
	delete(r.procs, c.Name)
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
	reason := "Completed"
	if code != 0 {
		reason = "Error"
	}
	return status(code, reason, "")
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

// setStatus writes the Pod's status as the kubelet does, retrying conflicts with a fresh read.
func (n *Node) setStatus(ctx context.Context, pod *corev1.Pod, mutate func(*corev1.PodStatus)) {
	if n.Client == nil || n.stopping.Load() {
		return // prowl run has no API server; a stopping node leaves its Pods for the next start
	}
	for range 5 {
		current := &corev1.Pod{}
		if err := n.Client.Get(ctx, client.ObjectKeyFromObject(pod), current); err != nil {
			return
		}
		mutate(&current.Status)
		err := n.Client.Status().Update(ctx, current)
		if err == nil || !apierrors.IsConflict(err) {
			return
		}
	}
}
