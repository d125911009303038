package sinker

import (
	"fmt"
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// env is the control plane that holds the ProwJobs and the "default" build cluster; east is a
// second, real API server: the build cluster "east".
var env, east *testutil.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	os.Exit(testutil.RunWithEnv(m2{m}, &env))
}

// m2 starts the second control plane inside the first's run.
type m2 struct{ m *testing.M }

func (w m2) Run() int {
	e, err := testutil.StartEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "second control plane:", err)
		return 1
	}
	east = e
	defer func() { _ = e.Stop() }()
	return w.m.Run()
}
