package scale

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/bench/internal/machine"
	"github.com/kafka-scale/kafka-scale/bench/internal/proc"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// Cluster is a local broker or three-broker cluster started with the
// repository's scripts, with what the benchmark reads of it: its
// processes' CPU time and its data directories' size.
type Cluster struct {
	Name      string // "1 broker", "3 brokers"
	Bootstrap string
	Nodes     int
	Admin     *extkafka.Admin

	script string
	env    []string
	dirs   []string // each node's directory (kafka.pid, data/)
}

// StartBroker starts one broker with scripts/kafka-local.sh on port, in dir.
func StartBroker(ctx context.Context, root string, port int, dir string) (*Cluster, error) {
	c := &Cluster{Name: "1 broker", Nodes: 1, script: filepath.Join(root, "scripts", "kafka-local.sh"),
		env: []string{"KAFKA_PORT=" + strconv.Itoa(port), "KAFKA_LOCAL_DIR=" + dir}, dirs: []string{dir}}
	return c, c.start(ctx)
}

// StartCluster starts three brokers with scripts/kafka-cluster.sh, node 1
// on port (replication factor 3, min.insync.replicas 2), in dir.
func StartCluster(ctx context.Context, root string, port int, dir string) (*Cluster, error) {
	c := &Cluster{Name: "3 brokers", Nodes: 3, script: filepath.Join(root, "scripts", "kafka-cluster.sh"),
		env: []string{"KAFKA_CLUSTER_PORT=" + strconv.Itoa(port), "KAFKA_CLUSTER_DIR=" + dir}}
	for n := 1; n <= 3; n++ {
		c.dirs = append(c.dirs, filepath.Join(dir, fmt.Sprintf("node-%d", n)))
	}
	return c, c.start(ctx)
}

// start runs the script's start and connects an admin client. On error the
// caller still calls Close, which removes whatever was started.
func (c *Cluster) start(ctx context.Context) error {
	out, err := c.run(ctx, "start")
	if err != nil {
		return fmt.Errorf("start %s: %w: %s", c.Name, err, out)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	if len(lines) == 0 {
		return fmt.Errorf("start %s: no bootstrap address printed", c.Name)
	}
	c.Bootstrap = lines[len(lines)-1]
	c.Admin, err = extkafka.NewAdmin(extkafka.AdminConfig(extkafka.Config{BootstrapServers: c.Bootstrap}), zap.NewNop())
	if err != nil {
		return fmt.Errorf("%s: %w", c.Name, err)
	}
	return nil
}

func (c *Cluster) run(ctx context.Context, args ...string) ([]byte, error) {
	return proc.Script(ctx, c.script, c.env, args...)
}

// Close stops the brokers and deletes their directories.
func (c *Cluster) Close() error {
	if c.Admin != nil {
		c.Admin.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := c.run(ctx, "clean"); err != nil {
		return fmt.Errorf("clean %s: %w: %s", c.Name, err, out)
	}
	return nil
}

// PIDs are the brokers' process ids.
func (c *Cluster) PIDs() ([]int, error) {
	var pids []int
	for _, d := range c.dirs {
		b, err := os.ReadFile(filepath.Join(d, "kafka.pid"))
		if err != nil {
			return nil, fmt.Errorf("%s: broker pid: %w", c.Name, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, fmt.Errorf("%s: broker pid %q: %w", c.Name, b, err)
		}
		pids = append(pids, pid)
	}
	return pids, nil
}

// CPU is the brokers' CPU time so far, all nodes together.
func (c *Cluster) CPU() (time.Duration, error) {
	pids, err := c.PIDs()
	if err != nil {
		return 0, err
	}
	var sum time.Duration
	for _, pid := range pids {
		d, err := proc.CPUOf(pid)
		if err != nil {
			return 0, fmt.Errorf("%s: CPU of pid %d: %w", c.Name, pid, err)
		}
		sum += d
	}
	return sum, nil
}

// DiskBytes is the disk space the topics' partition directories take on
// every node, replicas and indexes included: allocated blocks, so the
// sparse preallocated index files count for what they hold.
func (c *Cluster) DiskBytes(topics ...string) int64 {
	var n int64
	for _, d := range c.dirs {
		for _, t := range topics {
			for _, p := range partitionDirs(d, t) {
				_ = filepath.WalkDir(p, func(_ string, e fs.DirEntry, err error) error {
					if err != nil || e.IsDir() {
						return nil //nolint:nilerr // a segment deleted meanwhile counts for nothing
					}
					n += allocated(e)
					return nil
				})
			}
		}
	}
	return n
}

// TopicBytes is the size of a topic's log segments on every node, replicas
// included (the index files are left out).
func (c *Cluster) TopicBytes(topic string) int64 {
	var n int64
	for _, d := range c.dirs {
		for _, dir := range partitionDirs(d, topic) {
			paths, _ := filepath.Glob(filepath.Join(dir, "*.log"))
			for _, p := range paths {
				if st, err := os.Stat(p); err == nil {
					n += st.Size()
				}
			}
		}
	}
	return n
}

// Version is the Kafka version the first broker logged at its start.
func (c *Cluster) Version() string {
	return machine.KafkaVersion(filepath.Join(c.dirs[0], "kafka.log"))
}

// partitionDirs are a topic's partition directories in a node's data
// directory, <topic>-<partition>: not another topic's whose name it
// begins (results-aggregator-state-0 for results), nor a deleted one's
// (<topic>-<partition>.<id>-delete).
func partitionDirs(node, topic string) []string {
	paths, _ := filepath.Glob(filepath.Join(node, "data", topic+"-*"))
	var out []string
	for _, p := range paths {
		if isPartition(filepath.Base(p), topic) {
			out = append(out, p)
		}
	}
	return out
}

func isPartition(dir, topic string) bool {
	n, ok := strings.CutPrefix(dir, topic+"-")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.ParseUint(n, 10, 32)
	return err == nil
}
