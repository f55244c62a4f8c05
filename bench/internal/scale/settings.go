package scale

import (
	"fmt"

	"github.com/kafka-scale/kafka-scale/bench/internal/report"
)

// MemoryBounds are the settings that bound each service's memory whatever
// the input's size, with their defaults: what the peak RSS target rests on.
var MemoryBounds = [][2]string{
	{"reader", "`--parallel 2` files at once, each streamed (a gzip window, one `--chunk-size 500` chunk being cut, one being compressed); librdkafka's producer queue `queue.buffering.max.kbytes` 65536 (64 MiB, ours; librdkafka's default is 1 GiB), a full queue waited out by polling"},
	{"computer", "librdkafka's fetch queue `queued.max.messages.kbytes` 65536 (64 MiB, librdkafka's default, for the consumer's one queue whatever its partitions), `fetch.max.bytes` 52428800 and `max.partition.fetch.bytes` 1048576 per request; one open transaction's results, `--batch-chunks 400` chunks' tallies; the producer's `queue.buffering.max.kbytes` 65536"},
	{"aggregator", "one tally per source and load (a month's tables: a few kilobytes, so as the number of months, not of records) and the set of chunk keys counted per source, to ignore copies (bits per chunk); the fetch queue as the computer's; snapshots of the sources changed since the last (`--snapshot-interval 2s`)"},
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
