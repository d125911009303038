package crd_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/config/crd"
	"github.com/prowl-ci/prowl/internal/testutil"
)

// newNamespace gives each test a namespace of its own so that tests run in parallel.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "crd-"}}
	if err := env.Client.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// seedProwJob is the seed's ProwJob without what the API server sets.
func seedProwJob(t *testing.T, ns string) *prowv1.ProwJob {
	t.Helper()
	raw, err := os.ReadFile(testutil.Seed("prowjob.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pj := &prowv1.ProwJob{}
	if err := yaml.UnmarshalStrict(raw, pj); err != nil {
		t.Fatal(err)
	}
	pj.Namespace = ns
	pj.ResourceVersion, pj.UID, pj.SelfLink, pj.Generation = "", "", "", 0 //nolint:staticcheck // SelfLink is in the seed
	pj.CreationTimestamp = metav1.Time{}
	return pj
}

func TestCRDHasTheSeedsColumnsAndStatusSubresource(t *testing.T) {
	t.Parallel()
	c, err := crd.ProwJobs()
	if err != nil {
		t.Fatal(err)
	}
	if c.Spec.Group != "prow.k8s.io" || c.Spec.Names.Plural != "prowjobs" || c.Spec.Names.Kind != "ProwJob" || c.Spec.Scope != "Namespaced" {
		t.Errorf("names: %+v %s", c.Spec.Names, c.Spec.Scope)
	}
	if len(c.Spec.Versions) != 1 || c.Spec.Versions[0].Subresources == nil || c.Spec.Versions[0].Subresources.Status == nil {
		t.Fatal("status is not a subresource")
	}
	if n := len(crd.ProwJobsYAML()); n > 100_000 {
		t.Errorf("the CRD is %d bytes; keep pod_spec schemaless so it stays small", n)
	}
}

// TestTableViewMatchesSeed asks the real API server for the table that `kubectl get prowjobs` prints
// and checks the seed's columns, in order, and the row's values.
func TestTableViewMatchesSeed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	pj := seedProwJob(t, ns)
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatalf("create the seed's ProwJob: %v", err)
	}
	if pj.Status.State != "" {
		t.Errorf("status survived create: %+v; status is a subresource and create must drop it", pj.Status)
	}
	start := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	done := metav1.NewTime(time.Now().Truncate(time.Second))
	pj.Status = prowv1.ProwJobStatus{State: prowv1.SuccessState, BuildID: "1131321077402701824", StartTime: start, CompletionTime: &done}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		t.Fatalf("update status: %v", err)
	}

	table := getTable(t, ns)
	wantHeader := strings.Fields(seedHeader(t))[1:] // NAME is metadata, not a printer column
	var got []string
	for _, col := range table.ColumnDefinitions[1:] {
		got = append(got, strings.ToUpper(col.Name))
	}
	if diff := cmp.Diff(wantHeader, got); diff != "" {
		t.Errorf("columns differ from the seed's (-seed +server):\n%s", diff)
	}
	if len(table.Rows) != 1 {
		t.Fatalf("got %d rows, want 1", len(table.Rows))
	}
	cells := table.Rows[0].Cells
	want := map[int]any{0: pj.Name, 1: "echo-test", 2: "1131321077402701824", 3: "periodic", 4: nil, 5: nil, 6: nil, 9: "success"}
	for i, v := range want {
		if v == nil {
			if cells[i] != nil && cells[i] != "" {
				t.Errorf("column %s = %v, want empty", table.ColumnDefinitions[i].Name, cells[i])
			}
			continue
		}
		if cells[i] != v {
			t.Errorf("column %s = %v, want %v", table.ColumnDefinitions[i].Name, cells[i], v)
		}
	}
	if cells[7] == nil || cells[8] == nil {
		t.Errorf("StartTime %v, CompletionTime %v: want both set", cells[7], cells[8])
	}
}

func seedHeader(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(testutil.Seed("kubectl-get-prowjobs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(string(raw), "\n")[1]
}

func getTable(t *testing.T, ns string) *metav1.Table {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	cfg.GroupVersion = &prowv1.SchemeGroupVersion
	cfg.APIPath = "/apis"
	cfg.NegotiatedSerializer = serializer.NewCodecFactory(env.Scheme).WithoutConversion()
	rc, err := rest.RESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rc.Get().Namespace(ns).Resource(prowv1.Resource).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
	if err != nil {
		t.Fatalf("get table: %v", err)
	}
	table := &metav1.Table{}
	if err := json.Unmarshal(raw, table); err != nil {
		t.Fatal(err)
	}
	return table
}

// TestKubectlGetProwJobsPrintsSeedHeader runs the real kubectl against the control plane.
func TestKubectlGetProwJobsPrintsSeedHeader(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	if err := env.Client.Create(context.Background(), seedProwJob(t, ns)); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := env.Kubeconfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(env.Assets, "kubectl"), "--kubeconfig", kubeconfig, "-n", ns, "get", "prowjobs").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl get prowjobs: %v\n%s", err, out)
	}
	header := strings.Split(string(out), "\n")[0]
	if got, want := strings.Fields(header), strings.Fields(seedHeader(t)); !cmp.Equal(got, want) {
		t.Errorf("kubectl printed header\n%s\nwant the seed's\n%s", header, seedHeader(t))
	}
}

func TestServerRejectsBogusEnums(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)

	bogusType := seedProwJob(t, ns)
	bogusType.Spec.Type = "bogus"
	err := env.Client.Create(ctx, bogusType)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.type") {
		t.Errorf("create with type bogus: got %v, want Invalid naming spec.type", err)
	}

	pj := seedProwJob(t, ns)
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	pj.Status.State = "bogus"
	err = env.Client.Status().Update(ctx, pj)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "status.state") {
		t.Errorf("status with state bogus: got %v, want Invalid naming status.state", err)
	}

	pj.Status.State = prowv1.FailureState
	err = env.Client.Status().Update(ctx, pj)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "completionTime") {
		t.Errorf("final state without completionTime: got %v, want Invalid naming completionTime", err)
	}
}

// TestStatusWritesOnlyThroughSubresource: a write of the main resource cannot change status, so
// spec writers and status writers never race.
func TestStatusWritesOnlyThroughSubresource(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	pj := seedProwJob(t, ns)
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	pj.Status = prowv1.ProwJobStatus{State: prowv1.PendingState, StartTime: metav1.Now()}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		t.Fatal(err)
	}
	pj.Status.State = prowv1.AbortedState
	pj.Spec.Context = "changed"
	if err := env.Client.Update(ctx, pj); err != nil {
		t.Fatal(err)
	}
	got := &prowv1.ProwJob{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pj), got); err != nil {
		t.Fatal(err)
	}
	if got.Status.State != prowv1.PendingState {
		t.Errorf("state = %q after a main-resource write; want it unchanged (pending)", got.Status.State)
	}
	if got.Spec.Context != "changed" {
		t.Errorf("spec write lost: context = %q", got.Spec.Context)
	}
}

// TestPodSpecRoundTripsThroughServer: the schemaless pod_spec keeps every field the seed sets.
func TestPodSpecRoundTripsThroughServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ns := newNamespace(t)
	pj := seedProwJob(t, ns)
	pj.Spec.PodSpec.Containers[0].Env = []corev1.EnvVar{{Name: "A", Value: "b"}}
	pj.Spec.PodSpec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
	want := pj.Spec.DeepCopy()
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	got := &prowv1.ProwJob{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(pj), got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &got.Spec); diff != "" {
		t.Errorf("spec changed through the API server (-sent +stored):\n%s", diff)
	}
}

// TestInvalidProwJobIsRejected: Prow's invalid_prowjob.yaml names a build cluster that is not
// configured; the admission policy rejects it, and accepts Prow's valid ones.
func TestInvalidProwJobIsRejected(t *testing.T) {
	t.Parallel()
	dir := testutil.SharedTestdata(t, "prow", "prowjobs")
	ctx := context.Background()
	ns := newNamespace(t)
	clusters := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: crd.BuildClustersConfigMap, Namespace: ns},
		Data:       map[string]string{"default": "", "build-east": ""},
	}
	if err := env.Client.Create(ctx, clusters); err != nil {
		t.Fatal(err)
	}
	load := func(name string) *prowv1.ProwJob {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		pj := &prowv1.ProwJob{}
		if err := yaml.UnmarshalStrict(raw, pj); err != nil {
			t.Fatal(err)
		}
		pj.Namespace, pj.ResourceVersion, pj.UID = ns, "", ""
		return pj
	}

	// The policy's informers start asynchronously: poll with a dry run until it is in force.
	var err error
	pollErr := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		err = env.Client.Create(ctx, load("invalid_prowjob.yaml"), client.DryRunAll)
		return err != nil, nil
	})
	if pollErr != nil {
		t.Fatalf("invalid_prowjob.yaml was accepted: %v", err)
	}
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `build cluster "k8s-infra-prow-build" is not known`) {
		t.Errorf("rejection %v; want Invalid naming the unknown cluster", err)
	}
	for _, name := range []string{"valid_prowjob.yaml", "valid_bare_prowjob.yaml"} {
		if err := env.Client.Create(ctx, load(name)); err != nil {
			t.Errorf("%s rejected: %v", name, err)
		}
	}
	ok := load("invalid_prowjob.yaml")
	ok.Spec.Cluster = "build-east"
	if err := env.Client.Create(ctx, ok); err != nil {
		t.Errorf("a ProwJob on a known cluster was rejected: %v", err)
	}
}
