package scale

import (
	"fmt"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/malloc"
	"github.com/kafka-scale/kafka-scale/pkg/service"
)

// MemoryBounds are the settings that bound each service's memory whatever
// the input's size, with their defaults: what the peak RSS target rests on.
// The values are read from extkafka's configurations, package service and
// package malloc, which the services use.
var MemoryBounds = memoryBounds()

func memoryBounds() [][2]string {
	p := extkafka.ProducerConfig(extkafka.Config{}, nil)
	c := extkafka.ConsumerConfig(extkafka.Config{}, "g", "", nil)
	produceQueue := fmt.Sprintf("`queue.buffering.max.kbytes` %v (ours; librdkafka's default is 1 GiB)", p["queue.buffering.max.kbytes"])
	fetch := fmt.Sprintf("librdkafka's fetch queue `queued.max.messages.kbytes` %v (ours; librdkafka's default is 64 MiB; one queue for the consumer whatever its partitions), "+
		"at most `fetch.max.bytes` %v (ours; 50 MiB) and `max.partition.fetch.bytes` 1048576 (librdkafka's) per request", c["queued.max.messages.kbytes"], c["fetch.max.bytes"])
	allocator := fmt.Sprintf("Go's collector at `GOGC` %d (ours; Go's default is 100); glibc's allocator (package `malloc`): `M_ARENA_MAX` %d (glibc's default is 8 per core), `M_MMAP_THRESHOLD` %d (fixed; glibc's starts there and rises to 32 MiB)",
		service.DefaultGCPercent, malloc.ArenaMax, malloc.MmapThreshold)
	return [][2]string{
		{"reader", "`--parallel 2` files at once, each streamed (a gzip window, one `--chunk-size 500` chunk being cut, one being compressed); librdkafka's producer queue " +
			produceQueue + ", a full queue waited out until the next delivery report (at most 10 ms); " + allocator},
		{"computer", fetch + "; one open transaction's results, `--batch-chunks 400` chunks' tallies; the producer's " + produceQueue + "; " + allocator},
		{"aggregator", "one tally per source and load (a month's tables: a few kilobytes, so as the number of months, not of records) and the set of chunk keys counted per source, to ignore copies (bits per chunk); " +
			"the fetch queue as the computer's; snapshots of the sources changed since the last (`--snapshot-interval 2s`); " + allocator},
	}
}

// Settings are the report's settings: the run's and the memory bounds.
func Settings(c *Config) [][2]string {
	out := [][2]string{
		{"data", fmt.Sprintf("months generated once (`censusgen`, as `kafka-scale gen`) from January %d, %s records each, seed %d + month, cached in `%s`",
			c.Data.FirstYear, report.Num(float64(c.Data.Records)), c.Data.Seed, "<cache>/"+dirName(c.Data))},
		{"pipeline", fmt.Sprintf("bin/reader (defaults), %d bin/computer, bin/aggregator; compute topic of %d partitions; results and state topics created by the services", c.Computers, c.Partitions)},
		{"runs", fmt.Sprintf("%d of every size, round after round (%v months, then again), after %d unmeasured warm-up runs on each fresh broker; the tables give their median, min and max", c.Runs, c.Months, c.WarmUps)},
		{"machine", "shared with other work during the run (see the load averages): absolute figures are noisy, the ratios between sizes of the same run matter most"},
	}
	for _, b := range MemoryBounds {
		out = append(out, [2]string{b[0] + "'s memory", b[1]})
	}
	return out
}

func dirName(d Data) string { return fmt.Sprintf("cps-%d-r%d-s%d", d.FirstYear, d.Records, d.Seed) }
