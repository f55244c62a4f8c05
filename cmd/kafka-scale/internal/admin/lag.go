package admin

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
)

// GroupLag is one consumer group's lag.
type GroupLag struct {
	Group   string `json:"group"`
	State   string `json:"state"`
	Members int    `json:"members"`
	// Lag is the total of the partitions' lag, in records.
	Lag int64 `json:"lag"`
	// LagSeconds is the largest of the partitions' LagSeconds: how long the
	// oldest record the group has yet to process has waited. Null when it
	// could not be read.
	LagSeconds *float64           `json:"lag_seconds"`
	Partitions []PartitionOffsets `json:"partitions"`
}

// LagReport is what lag prints with -o json.
type LagReport struct {
	Groups []GroupLag `json:"groups"`
}

const lagHelp = `Shows the lag of every consumer group, or of --group: per group the total
lag in records and in seconds, then per partition the committed offset, the
end of the log as a read_committed consumer reads it (the last stable
offset), the lag in records (END - COMMITTED) and in seconds, and the member
the partition is assigned to.

Lag in seconds is how long the oldest record the group has yet to process
has been waiting: now minus the timestamp of the record at the group's
committed offset. That record is read with a throwaway consumer that joins no
group and commits nothing, one record per lagging partition. The timestamp is
the record's (its producer's clock, unless the topic uses LogAppendTime), so
skewed clocks skew the estimate. A partition without lag has 0 s; one whose
remaining offsets hold only transaction markers or aborted records also has
0 s, since nothing there waits to be processed; "-" means the record could
not be read before --timeout. The pipeline's own metric,
kafka_scale_consumer_lag_seconds, estimates the same quantity from samples
of the log end offset, without reading records.
`

// probeGroup is the group.id of the consumer that reads the records at the
// committed offsets. confluent-kafka-go requires one; the consumer only
// assigns partitions, so it never joins the group nor commits to it.
const probeGroup = "kafka-scale-lag-probe"

func runLag(ctx context.Context, env cli.Env, args []string) error {
	var c common
	var group string
	fs, b := c.flags("lag", "[--group GROUP] [flags]", lagHelp)
	fs.StringVar(&group, "group", "", "only this consumer `group`")
	if err := c.parse(fs, b, env, args); err != nil {
		return err
	}
	a, err := c.connect(env)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	probe := func(ctx context.Context, at map[TopicPartition]int64) (map[TopicPartition]time.Time, error) {
		return ReadTimestamps(ctx, c.kafka, c.logger(env), at)
	}
	var groups []string
	if group != "" {
		groups = []string{group}
	}
	report, err := Lag(ctx, a, groups, probe, time.Now)
	if err != nil {
		return err
	}
	return c.write(env, report, func(w io.Writer) { writeLag(w, report) })
}

// Probe returns the timestamp of the first record at or after each offset
// of at that it could read; a partition it reached the end of maps to the
// zero time.
type Probe func(ctx context.Context, at map[TopicPartition]int64) (map[TopicPartition]time.Time, error)

// Lag reports the lag of groups, or of every consumer group when groups is
// empty. probe reads the timestamps of the records at the committed
// offsets of lagging partitions; now is the clock.
func Lag(ctx context.Context, c Client, groups []string, probe Probe, now func() time.Time) (LagReport, error) {
	report := LagReport{Groups: []GroupLag{}}
	if len(groups) == 0 {
		var err error
		if groups, err = listGroups(ctx, c); err != nil {
			return report, err
		}
	}
	infos, err := describeGroups(ctx, c, groups)
	if err != nil {
		return report, err
	}
	at := map[TopicPartition]int64{} // committed offsets of lagging partitions
	for _, g := range groups {
		gi := infos[g]
		committed, err := committedOffsets(ctx, c, g, nil)
		if err != nil {
			return report, err
		}
		var tps []kafka.TopicPartition
		for k := range committed {
			tps = append(tps, k.kafka())
		}
		for k := range gi.assigned {
			if _, ok := committed[k]; !ok {
				tps = append(tps, k.kafka())
			}
		}
		sortPartitions(tps)
		start, end, err := logOffsets(ctx, c, tps)
		if err != nil {
			return report, err
		}
		gl := GroupLag{Group: g, State: gi.state, Members: gi.members, Partitions: []PartitionOffsets{}}
		for _, tp := range tps {
			k := keyOf(tp)
			po := PartitionOffsets{Topic: k.Topic, Partition: k.Partition, Start: start[k], End: end[k], Member: gi.assigned[k]}
			if off, ok := committed[k]; ok {
				po.Committed, po.Lag = &off, lag(end[k], off)
				gl.Lag += *po.Lag
				if *po.Lag > 0 {
					at[k] = off
				}
			}
			gl.Partitions = append(gl.Partitions, po)
		}
		report.Groups = append(report.Groups, gl)
	}
	stamps := map[TopicPartition]time.Time{}
	if len(at) > 0 {
		if stamps, err = probe(ctx, at); err != nil {
			return report, err
		}
	}
	t := now()
	for i := range report.Groups {
		gl := &report.Groups[i]
		known := true
		for j := range gl.Partitions {
			p := &gl.Partitions[j]
			if p.Lag == nil {
				continue
			}
			var s float64
			if *p.Lag > 0 {
				ts, ok := stamps[TopicPartition{p.Topic, p.Partition}]
				if !ok {
					known = false
					continue
				}
				if !ts.IsZero() {
					// Record timestamps are in milliseconds.
					s = max(0, t.Sub(ts).Round(time.Millisecond).Seconds())
				}
			}
			p.LagSeconds = &s
			if gl.LagSeconds == nil || s > *gl.LagSeconds {
				gl.LagSeconds = &s
			}
		}
		if !known {
			gl.LagSeconds = nil // the oldest record may be the one not read
		}
	}
	return report, nil
}

// ReadTimestamps reads, with a consumer that only assigns partitions, the
// first record at or after each offset of at, and returns their
// timestamps; a partition whose end it reached first maps to the zero time.
// Partitions it has no answer for when ctx ends are left out.
func ReadTimestamps(ctx context.Context, cfg extkafka.Config, log *zap.Logger, at map[TopicPartition]int64) (map[TopicPartition]time.Time, error) {
	cfg.StatsInterval = 0
	cm := extkafka.ConsumerConfig(cfg, probeGroup, extkafka.GroupProtocolClassic, kafka.ConfigMap{
		"enable.partition.eof": true,
		// One record per partition is all it needs.
		"fetch.max.bytes":           1 << 20,
		"max.partition.fetch.bytes": 64 << 10,
	})
	cons, err := extkafka.NewConsumer(cm, log, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = cons.Close() }()
	var tps []kafka.TopicPartition
	for k, off := range at {
		tp := k.kafka()
		tp.Offset = kafka.Offset(off)
		tps = append(tps, tp)
	}
	if err := cons.Assign(tps); err != nil {
		return nil, fmt.Errorf("assign %d partitions: %w", len(tps), err)
	}
	out := map[TopicPartition]time.Time{}
	for len(out) < len(at) && ctx.Err() == nil {
		switch e := cons.Poll(100).(type) {
		case *kafka.Message:
			if e.TopicPartition.Error != nil {
				return nil, fmt.Errorf("read %s/%d: %w", *e.TopicPartition.Topic, e.TopicPartition.Partition, e.TopicPartition.Error)
			}
			k := keyOf(e.TopicPartition)
			if _, done := out[k]; !done {
				out[k] = e.Timestamp
				_ = cons.Pause([]kafka.TopicPartition{k.kafka()})
			}
		case kafka.PartitionEOF:
			k := keyOf(kafka.TopicPartition(e))
			if _, done := out[k]; !done {
				out[k] = time.Time{}
			}
		case kafka.Error:
			if e.IsFatal() {
				return nil, fmt.Errorf("read records at committed offsets: %w", e)
			}
			// Others, such as a broker going away, librdkafka retries.
		}
	}
	return out, nil
}

func writeLag(w io.Writer, r LagReport) {
	row(w, "GROUP", "STATE", "MEMBERS", "LAG", "LAG-SECONDS")
	for _, g := range r.Groups {
		row(w, g.Group, g.State, g.Members, g.Lag, seconds(g.LagSeconds))
	}
	row(w)
	row(w, "GROUP", "TOPIC", "PARTITION", "COMMITTED", "END", "LAG", "LAG-SECONDS", "MEMBER")
	for _, g := range r.Groups {
		for _, p := range g.Partitions {
			row(w, g.Group, p.Topic, p.Partition, orDash(p.Committed), p.End, orDash(p.Lag), seconds(p.LagSeconds), cmp.Or(p.Member, "-"))
		}
	}
}
