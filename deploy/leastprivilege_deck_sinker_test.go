package deploy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	prowv1 "github.com/prowl-ci/prowl/api/v1"
	"github.com/prowl-ci/prowl/internal/cli"
)

// TestLeastPrivilegeDeck runs `prowl deck` from deploy/'s config under prowl-deck's token and
// uses it as a user on this machine would (--local: loopback may rerun and abort): POST /rerun
// creates a new run of the periodic prowl-echo, POST /abort aborts it, both through Deck's HTTP
// endpoints with its CSRF token. Then Deck's token is refused deleting a ProwJob.
func TestLeastPrivilegeDeck(t *testing.T) {
	install(t)
	ctx := context.Background()
	deckKC, deck := tokenKubeconfig(t, "prowl-deck")
	source := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "deck-rerun-source", Namespace: prowNS},
		Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: "prowl-echo", Agent: prowv1.KubernetesAgent}}
	if err := env.Client.Create(ctx, source); err != nil {
		t.Fatal(err)
	}
	// The runs of prowl-echo made here go when the test ends: Horologium's test looks for its own.
	t.Cleanup(func() {
		for _, pj := range prowJobs(t) {
			if pj.Spec.Job == "prowl-echo" {
				_ = env.Client.Delete(ctx, &pj)
			}
		}
	})
	port := freePort(t)
	runProwl(t, append([]string{"deck", "--kubeconfig=" + deckKC, fmt.Sprintf("--port=%d", port), "--rerun-creates-job", "--local", "--allow-insecure"}, deployConfigArgs()[:2]...)...)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	user := deckUser(t)
	waitFor(t, "Deck to see the ProwJob", func() bool { return status(user, base+"/prowjob?prowjob="+source.Name) == http.StatusOK })
	token := csrfToken(t, user, base)

	post(t, user, base+"/rerun?prowjob="+source.Name, token)
	var rerun *prowv1.ProwJob
	waitFor(t, "Deck's rerun", func() bool {
		for _, pj := range prowJobs(t) {
			if pj.Spec.Job == "prowl-echo" && strings.Contains(pj.Status.Description, "reran "+source.Name) {
				rerun = &pj
				return true
			}
		}
		return false
	})
	waitFor(t, "Deck to see the rerun", func() bool { return status(user, base+"/prowjob?prowjob="+rerun.Name) == http.StatusOK })
	post(t, user, base+"/abort?prowjob="+rerun.Name, token)
	waitFor(t, "Deck's abort", func() bool {
		pj := &prowv1.ProwJob{}
		return env.Client.Get(ctx, client.ObjectKeyFromObject(rerun), pj) == nil && pj.Status.State == prowv1.AbortedState
	})
	refused(t, "Deck deleting a ProwJob", deck.Delete(ctx, rerun.DeepCopy()))
}

// TestLeastPrivilegeSinker runs one pass of `prowl sinker` with deploy/'s arguments under
// prowl-sinker's token: it deletes a ProwJob that completed eight days ago and its Pod. Then
// Sinker's token is refused creating a ProwJob.
func TestLeastPrivilegeSinker(t *testing.T) {
	install(t)
	ctx := context.Background()
	sinkerKC, sinker := tokenKubeconfig(t, "prowl-sinker")
	old := metav1.NewTime(time.Now().Add(-8 * 24 * time.Hour))
	pj := &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "sinker-old", Namespace: prowNS},
		Spec: prowv1.ProwJobSpec{Type: prowv1.PeriodicJob, Job: "sinker-old", Agent: prowv1.KubernetesAgent}}
	if err := env.Client.Create(ctx, pj); err != nil {
		t.Fatal(err)
	}
	pj.Status = prowv1.ProwJobStatus{State: prowv1.SuccessState, StartTime: old, CompletionTime: &old}
	if err := env.Client.Status().Update(ctx, pj); err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "sinker-old", Namespace: podNS, Labels: map[string]string{prowv1.CreatedByProw: "true"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "test", Image: "alpine"}}}}
	if err := env.Client.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	args := append([]string{"sinker", "--kubeconfig=" + sinkerKC, "--run-once", "--dry-run=false", "--leader-elect=true"}, deployConfigArgs()...)
	if code := cli.Execute(ctx, args, io.Discard, &stderr); code != cli.ExitOK {
		t.Fatalf("prowl sinker --run-once under prowl-sinker's token exited %d:\n%s", code, stderr.String())
	}
	for _, obj := range []client.Object{pj, pod} {
		err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if !apierrors.IsNotFound(err) && obj.GetDeletionTimestamp() == nil {
			t.Errorf("Sinker did not delete %T %s: %v", obj, obj.GetName(), err)
		}
	}
	refused(t, "Sinker creating a ProwJob", sinker.Create(ctx, &prowv1.ProwJob{ObjectMeta: metav1.ObjectMeta{Name: "y", Namespace: prowNS}}))
}

// freePort is a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// deckUser is a browser: it keeps Deck's cookies.
func deckUser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// status is the HTTP status of GET url, 0 when Deck does not answer yet.
func status(c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

var csrfMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// csrfToken is the token Deck's list page gives the user's forms.
func csrfToken(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := csrfMeta.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on Deck's page (%d)", resp.StatusCode)
	}
	return string(m[1])
}

// post POSTs to url with the CSRF token and fails unless Deck answers 200.
func post(t *testing.T, c *http.Client, url, token string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-CSRF-Token", token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, body)
	}
}
