package artifacts

import (
	"os"
	"testing"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// env is the one control plane that this package's tests share.
var env *testutil.Env

func TestMain(m *testing.M) {
	ctrl.SetLogger(logr.Discard())
	os.Exit(testutil.RunWithEnv(m, &env))
}
