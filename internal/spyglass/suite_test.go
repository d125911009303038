package spyglass

import (
	"os"
	"testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// env is the package's control plane: the live log follows a Pod's log through it.
var env *testutil.Env

func TestMain(m *testing.M) { os.Exit(testutil.RunWithEnv(m, &env)) }
