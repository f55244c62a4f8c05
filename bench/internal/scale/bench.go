package scale

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// Config is one scale benchmark.
type Config struct {
	Root        string // the repository's top directory: bin/, scripts/
	Cache       string // of the generated months
	Work        string // run directory: brokers, logs
	Data        Data
	Months      []int // input sizes, ascending
	Runs        int   // of every size, interleaved round by round
	WarmUps     int   // unmeasured runs of the smallest size on a fresh broker
	Computers   int
	Partitions  int
	Port        int // of the single broker
	ClusterPort int // of the three-broker cluster's first node; 0: none
	// ClusterMonths is the size measured on both.
	ClusterMonths int
	ProfileDir    string
	// KafkaVersion is what the broker logged at its start.
	KafkaVersion string
	Logf         func(format string, args ...any)
}

// Validate names the first bad setting.
func (c *Config) Validate() error {
	switch {
	case len(c.Months) == 0:
		return errors.New("--months: want at least one size")
	case !slices.IsSorted(c.Months) || c.Months[0] < 1:
		return fmt.Errorf("--months %v: want sizes of at least 1, ascending", c.Months)
	case c.Runs < 1:
		return fmt.Errorf("--runs %d: want at least 1", c.Runs)
	case c.Computers < 1:
		return fmt.Errorf("--computers %d: want at least 1", c.Computers)
	case c.Partitions < c.Computers:
		return fmt.Errorf("--partitions %d: want at least --computers (%d)", c.Partitions, c.Computers)
	case c.Data.Records < 1000:
		return fmt.Errorf("--records %d: want at least 1000", c.Data.Records)
	case c.ClusterPort != 0 && !slices.Contains(c.Months, c.ClusterMonths):
		return fmt.Errorf("--cluster-months %d: want one of --months %v", c.ClusterMonths, c.Months)
	}
	return nil
}

// Measure generates (or reuses) the data, runs every size on a single
// broker, then ClusterMonths on three brokers, and returns the points. It
// stops every broker it started, whatever happens.
func (c *Config) Measure(ctx context.Context) (points []Point, cluster *Point, err error) {
	start := time.Now()
	files, generated, err := c.Data.Ensure(ctx, c.Cache, c.Months[len(c.Months)-1], 2)
	if err != nil {
		return nil, nil, err
	}
	c.Logf("data: %d months of %d records in %s (%d generated now, in %v)", len(files), c.Data.Records,
		c.Data.Dir(c.Cache), generated, time.Since(start).Round(time.Millisecond))
	records := func(months int) int { return months * c.Data.Records }

	points = make([]Point, len(c.Months))
	for i, m := range c.Months {
		points[i] = Point{Cluster: "1 broker", Months: m, Records: records(m)}
	}
	err = c.withCluster(ctx, "1 broker", func(r *Runner) error {
		for round := range c.Runs {
			for i, m := range c.Months {
				s, err := r.Run(ctx, fmt.Sprintf("m%d-r%d", m, round), files[:m], records(m))
				if err != nil {
					return err
				}
				c.logSample("1 broker", round, s)
				points[i].Samples = append(points[i].Samples, s)
			}
		}
		if c.ProfileDir == "" {
			return nil
		}
		// Profiling costs CPU and memory of its own: a run of the largest
		// size apart, not among the measured ones.
		r.ProfileDir = c.ProfileDir
		m := c.Months[len(c.Months)-1]
		s, err := r.Run(ctx, fmt.Sprintf("m%d-profiled", m), files[:m], records(m))
		if err != nil {
			return err
		}
		c.logSample("1 broker, profiled (not in the report)", 0, s)
		c.Logf("profiles in %s", c.ProfileDir)
		return nil
	})
	if err != nil || c.ClusterPort == 0 {
		return points, nil, err
	}
	cluster = &Point{Cluster: "3 brokers", Months: c.ClusterMonths, Records: records(c.ClusterMonths)}
	err = c.withCluster(ctx, "3 brokers", func(r *Runner) error {
		for round := range c.Runs {
			s, err := r.Run(ctx, fmt.Sprintf("m%d-r%d", c.ClusterMonths, round), files[:c.ClusterMonths], cluster.Records)
			if err != nil {
				return err
			}
			c.logSample("3 brokers", round, s)
			cluster.Samples = append(cluster.Samples, s)
		}
		return nil
	})
	return points, cluster, err
}

// withCluster starts a broker or the cluster, warms it up, runs f, and
// removes it.
func (c *Config) withCluster(ctx context.Context, name string, f func(*Runner) error) (err error) {
	dir := filepath.Join(c.Work, "kafka-"+strconv.Itoa(c.Port))
	start := StartBroker
	port := c.Port
	if name == "3 brokers" {
		dir, start, port = filepath.Join(c.Work, "cluster-"+strconv.Itoa(c.ClusterPort)), StartCluster, c.ClusterPort
	}
	c.Logf("starting %s on port %d", name, port)
	cl, err := start(ctx, c.Root, port, dir)
	defer func() {
		c.Logf("removing %s", name)
		if cerr := cl.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err != nil {
		return err
	}
	c.KafkaVersion = cl.Version()
	logs := filepath.Join(c.Work, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return err
	}
	prefix := "scale" + strconv.Itoa(cl.Nodes)
	r := &Runner{Cluster: cl, Bin: func(n string) string { return filepath.Join(c.Root, "bin", n) }, LogDir: logs,
		Partitions: c.Partitions, Computers: c.Computers, Prefix: prefix, Timeout: 10 * time.Minute, ProfileSeconds: 5}
	// A fresh broker's JIT compiler takes a core for its first loads: the
	// warm-up runs pay for it, unmeasured.
	files, _, err := c.Data.Ensure(ctx, c.Cache, c.Months[0], 1)
	if err != nil {
		return err
	}
	for i := range c.WarmUps {
		if _, err := r.Run(ctx, fmt.Sprintf("warmup%d", i), files, len(files)*c.Data.Records); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	return f(r)
}

func (c *Config) logSample(cluster string, round int, s Sample) {
	c.Logf("%s, %d months, run %d: %.2f s, %.0f records/s, CPU reader %.2f computer %.2f aggregator %.2f broker %.2f s (floor ×%.2f), RSS reader %d computer %d aggregator %d MB, disk +%d MB, results %.1f MB, state %.2f MB, load %.1f",
		cluster, s.Months, round, s.Wall.Seconds(), s.Rate(), s.CPU["reader"].Seconds(), s.CPU["computer"].Seconds(),
		s.CPU["aggregator"].Seconds(), s.CPU["broker"].Seconds(), s.FloorRatio(Cores),
		s.PeakRSS["reader"]>>20, s.PeakRSS["computer"]>>20, s.PeakRSS["aggregator"]>>20,
		s.BrokerDisk>>20, float64(s.ResultsBytes)/1e6, float64(s.StateBytes)/1e6, s.Load)
}
