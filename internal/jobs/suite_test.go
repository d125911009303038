package jobs

import (
	"fmt"
	"os"
	"testing"

	"github.com/prowl-ci/prowl/internal/testutil"
)

// env is the one control plane that this package's tests share.
var env *testutil.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testutil.StartEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}
