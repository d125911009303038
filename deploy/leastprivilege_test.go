package deploy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/deploy"
	"github.com/prowl-ci/prowl/internal/cli"
	"github.com/prowl-ci/prowl/internal/config"
	"github.com/prowl-ci/prowl/internal/github"
	"github.com/prowl-ci/prowl/internal/github/githubtest"
	"github.com/prowl-ci/prowl/internal/plugins"
	"github.com/prowl-ci/prowl/internal/testutil"
	"github.com/prowl-ci/prowl/internal/trigger"
)

const (
	prowNS = "prow"
	podNS  = "test-pods"
)

var installOnce sync.Once

// install applies deploy/base for real, except what would run (Deployments, Services): the
// namespaces, CRD, policy, ServiceAccounts, Roles, RoleBindings and ConfigMaps.
func install(t *testing.T) {
	t.Helper()
	installOnce.Do(func() {
		objs, err := deploy.Kustomize(dir("base"))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			if o.GetKind() == "Deployment" || o.GetKind() == "Service" {
				continue
			}
			//nolint:staticcheck // Patch with client.Apply is the unstructured form of server-side apply.
			if err := env.Client.Patch(context.Background(), o, client.Apply, client.FieldOwner("prowl-deploy-test"), client.ForceOwnership); err != nil {
				t.Fatalf("apply %s %s: %v", o.GetKind(), o.GetName(), err)
			}
		}
	})
}

// tokenKubeconfig gets a token for the ServiceAccount prow/<sa> (TokenRequest) and writes a
// kubeconfig that authenticates with it alone.
func tokenKubeconfig(t *testing.T, sa string) (string, client.Client) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts(prowNS).CreateToken(context.Background(), sa, &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s: %v", sa, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos[sa] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts[sa] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: sa}
	kc.CurrentContext = sa
	path := filepath.Join(t.TempDir(), sa+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path, testutil.KubeconfigClient(t, path)
}

// runProwl runs `prowl args...` in this process until the test ends, as its Pod would.
func runProwl(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() { done <- cli.Execute(ctx, args, &syncBuffer{}, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Logf("prowl %s exited %d:\n%s", args[0], code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("prowl %s did not stop within 30s of its context ending", args[0])
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// waitFor polls until ok holds (bounded: a minute).
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) { return ok(), nil })
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// refused fails unless err is the API server's 403.
func refused(t *testing.T, action string, err error) {
	t.Helper()
	if !apierrors.IsForbidden(err) {
		t.Errorf("%s: want 403 Forbidden, got %v", action, err)
	}
}

func deployConfigArgs() []string {
	return []string{"--config-path=" + dir("base/config/config.yaml"), "--job-config-path=" + dir("base/config/jobs"), "--metrics-bind-address=0", "--health-probe-bind-address=0"}
}

func prowJobs(t *testing.T) []prowv1.ProwJob {
	t.Helper()
	var list prowv1.ProwJobList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(prowNS)); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

func job(t *testing.T, name string) *prowv1.ProwJob {
	t.Helper()
	for _, pj := range prowJobs(t) {
		if pj.Spec.Job == name {
			return &pj
		}
	}
	return nil
}

// TestLeastPrivilegeHorologiumAndPlank runs Horologium and Plank from deploy/'s config under their
// own ServiceAccounts' tokens, with leader election: Horologium creates the periodic, Plank takes
// it to pending (its Pod) and, once this test as the kubelet says the Pod succeeded, to success.
// Then each is refused one thing outside its role.
func TestLeastPrivilegeHorologiumAndPlank(t *testing.T) {
	install(t)
	horologiumKC, horologium := tokenKubeconfig(t, "prowl-horologium")
	plankKC, plank := tokenKubeconfig(t, "prowl-plank")
	runProwl(t, append([]string{"horologium", "--kubeconfig=" + horologiumKC}, deployConfigArgs()...)...)
	runProwl(t, append([]string{"controller-manager", "--kubeconfig=" + plankKC}, deployConfigArgs()...)...)

	waitFor(t, "Horologium's prowl-echo", func() bool { return job(t, "prowl-echo") != nil })
	waitFor(t, "prowl-echo pending with its Pod", func() bool {
		pj := job(t, "prowl-echo")
		return pj.Status.State == prowv1.PendingState && pj.Status.PodName != ""
	})
	pj := job(t, "prowl-echo")
	// Play the kubelet: the Pod succeeded. The artifact completer adds its finalizer to the Pod
	// meanwhile, so the write is retried on a conflict, as a kubelet's is.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod := &corev1.Pod{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: podNS, Name: pj.Status.PodName}, pod); err != nil {
			return err
		}
		now := metav1.Now()
		pod.Status.Phase = corev1.PodSucceeded
		for _, c := range pod.Spec.Containers {
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now}}})
		}
		return env.Client.Status().Update(context.Background(), pod)
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "prowl-echo success", func() bool { return job(t, "prowl-echo").Status.State == prowv1.SuccessState })

	refused(t, "Plank deleting a ProwJob", plank.Delete(context.Background(), pj.DeepCopy()))
	refused(t, "Plank reading Secrets in kube-system", plank.List(context.Background(), &corev1.SecretList{}, client.InNamespace("kube-system")))
	refused(t, "Horologium deleting a ProwJob", horologium.Delete(context.Background(), pj.DeepCopy()))
	refused(t, "Horologium creating a Pod", horologium.Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: podNS}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}))
}

// webhook is a GitHub payload from the shared testdata with edits at dotted paths.
func webhook(t *testing.T, rel string, edits map[string]any) []byte {
	t.Helper()
	raw, err := os.ReadFile(testutil.SharedTestdata(t, "webhooks", rel))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range edits {
		keys := strings.Split(path, ".")
		cur := m
		for _, k := range keys[:len(keys)-1] {
			cur = cur[k].(map[string]any)
		}
		cur[keys[len(keys)-1]] = v
	}
	out, _ := json.Marshal(m)
	return out
}

const hookJobs = `presubmits:
  Codertocat/Hello-World:
  - name: pull-unit
    always_run: true
    spec: {containers: [{image: alpine, command: ["true"]}]}
`

// TestLeastPrivilegeHookAndCrier runs Hook's Trigger under prowl-hook's token (a pull request
// starts a presubmit; a push to it starts a new run and aborts the old) and `prowl crier` under
// prowl-crier's (it reports the job to GitHub and records that in the status); then each is
// refused one thing outside its role.
func TestLeastPrivilegeHookAndCrier(t *testing.T) {
	install(t)
	tmp := t.TempDir()
	cfgPath, jobsPath, tokenPath := filepath.Join(tmp, "config.yaml"), filepath.Join(tmp, "jobs.yaml"), filepath.Join(tmp, "token")
	for p, v := range map[string]string{cfgPath: "prowjob_namespace: prow\npod_namespace: test-pods\n", jobsPath: hookJobs, tokenPath: "bot-token"} {
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gh := githubtest.New(t)
	gh.AddToken("bot-token")
	gh.AddMember("Codertocat", "Codertocat")
	gh.SetPullRequest("Codertocat/Hello-World", githubtest.PullRequest{Number: 2, Author: "Codertocat", HeadSHA: "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
		HeadRef: "changes", BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Files: []string{"README.md"}})
	agent, _, err := config.NewAgent(config.Options{ConfigPath: cfgPath, JobConfigPath: jobsPath})
	if err != nil {
		t.Fatal(err)
	}
	ghc, err := github.New(github.Options{Endpoint: gh.URL, TokenPath: tokenPath, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, hook := tokenKubeconfig(t, "prowl-hook")
	pc := &plugins.Config{Plugins: map[string]plugins.OrgPlugins{"Codertocat": {Plugins: []string{"trigger"}}}}
	trig := &trigger.Trigger{GitHub: ghc, Client: hook, Config: agent.Config, Plugins: func() *plugins.Config { return pc }}
	ctx := context.Background()
	if err := trig.Handle(ctx, "pull_request", "d1", webhook(t, "octokit/pull_request/opened_1.json", nil)); err != nil {
		t.Fatalf("Trigger under prowl-hook's token: %v", err)
	}
	waitFor(t, "pull-unit created", func() bool { return job(t, "pull-unit") != nil })
	first := job(t, "pull-unit")
	newSHA := "1111111111111111111111111111111111111111"
	gh.SetPullRequest("Codertocat/Hello-World", githubtest.PullRequest{Number: 2, Author: "Codertocat", HeadSHA: newSHA,
		HeadRef: "changes", BaseRef: "master", BaseSHA: "f95f852bd8fca8fcc58a9a2d6c842781e32a215e", Files: []string{"README.md"}})
	if err := trig.Handle(ctx, "pull_request", "d2", webhook(t, "octokit/pull_request/synchronize_1.json", map[string]any{"pull_request.head.sha": newSHA})); err != nil {
		t.Fatalf("Trigger's second run under prowl-hook's token: %v", err)
	}
	waitFor(t, "the first run aborted", func() bool {
		old := &prowv1.ProwJob{}
		return env.Client.Get(ctx, client.ObjectKeyFromObject(first), old) == nil && old.Status.State == prowv1.AbortedState
	})

	crierKC, crier := tokenKubeconfig(t, "prowl-crier")
	runProwl(t, "crier", "--kubeconfig="+crierKC, "--config-path="+cfgPath, "--job-config-path="+jobsPath,
		"--github-endpoint="+gh.URL, "--github-token-path="+tokenPath, "--metrics-bind-address=0", "--health-probe-bind-address=0")
	waitFor(t, "Crier's report of the aborted run", func() bool {
		old := &prowv1.ProwJob{}
		return env.Client.Get(ctx, client.ObjectKeyFromObject(first), old) == nil && old.Status.PrevReportStates["github-reporter"] == prowv1.AbortedState
	})
	if len(gh.Statuses("Codertocat/Hello-World")) == 0 {
		t.Error("Crier sent no commit status")
	}

	refused(t, "Hook deleting a ProwJob", hook.Delete(ctx, first.DeepCopy()))
	refused(t, "Hook reading Secrets in prow", hook.List(ctx, &corev1.SecretList{}, client.InNamespace(prowNS)))
	refused(t, "Crier creating a ProwJob", crier.Create(ctx, &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: prowNS}}))
	refused(t, "Crier reading Secrets in kube-system", crier.List(ctx, &corev1.SecretList{}, client.InNamespace("kube-system")))
}
