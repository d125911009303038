package jobs

import (
	"fmt"
	"hash/fnv"
	"os"

	"github.com/bwmarrin/snowflake"
)

// BuildIDs hands out build IDs: decimal, unique and increasing. They are snowflakes, as Prow's are
// (the seed's 1131381475451604992 decodes to 2019-05-23T02:13Z): milliseconds since Twitter's epoch
// in the high 41 bits, a node number in the next 10, a per-millisecond sequence in the low 12.
// Within one process they strictly increase. Across restarts they stay unique because time moves
// on (a wall clock set back past the last ID would break that). Across replicas they stay unique
// while each has its own node number: pass one, or let NewBuildIDs derive it from the hostname
// (a Pod's name), which two replicas share with probability 1/1024; with leader election only one
// replica hands out IDs at a time anyway.
type BuildIDs struct{ node *snowflake.Node }

// NewBuildIDs returns a generator for node (0–1023), or, for node < 0, one derived from the host.
func NewBuildIDs(node int64) (*BuildIDs, error) {
	if node < 0 {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("derive build ID node from hostname: %w", err)
		}
		h := fnv.New32a()
		_, _ = h.Write([]byte(host))
		node = int64(h.Sum32() % 1024)
	}
	n, err := snowflake.NewNode(node)
	if err != nil {
		return nil, fmt.Errorf("build ID node %d: %w", node, err)
	}
	return &BuildIDs{node: n}, nil
}

// Next returns a new build ID.
func (b *BuildIDs) Next() string { return b.node.Generate().String() }
