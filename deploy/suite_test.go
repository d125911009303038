package deploy_test

import (
	"os"
	"testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// env is the one control plane that this package's tests share.
var env *testutil.Env

func TestMain(m *testing.M) { os.Exit(testutil.RunWithEnv(m, &env)) }
