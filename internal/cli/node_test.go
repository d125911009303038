package cli

import (
	"strconv"
	"testing"

	"github.com/spf13/cobra"
)

// TestHostFilesystemFlag: --host-filesystem is nil unless given (the node then chooses from the
// config), and true or false as given.
func TestHostFilesystemFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "unset"},
		{[]string{"--host-filesystem"}, "true"},
		{[]string{"--host-filesystem=false"}, "false"},
	} {
		cmd := &cobra.Command{}
		addHostFilesystemFlag(cmd, "run containers")
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		got := "unset"
		if v := hostFilesystem(cmd); v != nil {
			got = strconv.FormatBool(*v)
		}
		if got != tc.want {
			t.Errorf("%v: %s, want %s", tc.args, got, tc.want)
		}
	}
}
