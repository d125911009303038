// Command localnode-exec starts each container of the local node (`prowl up`, `prowl node`,
// `prowl run`): in the namespaces the node made for it, it mounts the container's volumes and
// becomes the container's command. It is small (the standard library and filepath-securejoin), so
// that starting a container costs a few milliseconds; where it is absent the node runs `prowl
// localnode-exec`, the same code in the prowl binary. It is not for people.
package main

import (
	"os"

	"github.com/prowl-ci/prowl/internal/localnode/containerinit"
)

func main() { os.Exit(containerinit.Exec()) }
