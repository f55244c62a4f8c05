package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
)

// Topic is a topic as topics reports it.
type Topic struct {
	Name       string      `json:"topic"`
	Internal   bool        `json:"internal"`
	Partitions []Partition `json:"partitions"`
}

// Partition is one partition of a topic; brokers are node ids.
type Partition struct {
	Partition int   `json:"partition"`
	Leader    *int  `json:"leader"` // null while the partition has no leader
	Replicas  []int `json:"replicas"`
	ISR       []int `json:"isr"`
}

// TopicsReport is what topics prints with -o json.
type TopicsReport struct {
	Topics []Topic `json:"topics"`
}

const topicsHelp = `Lists the cluster's topics, or those --topic names: per topic the number of
partitions, the replication factor, how many partitions each broker leads
(broker:count; "none" counts partitions without a leader) and how many
partitions have fewer in-sync replicas than replicas. --partitions prints a
row per partition instead; -o json always has them.
`

func runTopics(ctx context.Context, env cli.Env, args []string) error {
	var c common
	var topics string
	var internal, partitions bool
	fs, b := c.flags("topics", "[flags]", topicsHelp)
	fs.StringVar(&topics, "topic", "", "only these `topics`, comma-separated")
	fs.BoolVar(&internal, "internal", false, "include Kafka's internal topics (__consumer_offsets, __transaction_state)")
	fs.BoolVar(&partitions, "partitions", false, "a row per partition: leader, replicas and in-sync replicas")
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
	report, err := ListTopics(ctx, a, splitList(topics), internal)
	if err != nil {
		return err
	}
	return c.write(env, report, func(w io.Writer) {
		if partitions {
			writePartitions(w, report)
		} else {
			writeTopics(w, report)
		}
	})
}

// ListTopics describes the topics called names, or every topic when names
// is empty (Kafka's internal ones only with internal).
func ListTopics(ctx context.Context, c Client, names []string, internal bool) (TopicsReport, error) {
	if len(names) == 0 {
		timeout := 30_000
		if d, ok := ctx.Deadline(); ok {
			timeout = max(1, int(time.Until(d).Milliseconds()))
		}
		md, err := c.GetMetadata(nil, true, timeout)
		if err != nil {
			return TopicsReport{}, fmt.Errorf("list topics: %w", err)
		}
		for name := range md.Topics {
			names = append(names, name)
		}
		if len(names) == 0 {
			return TopicsReport{Topics: []Topic{}}, nil
		}
	}
	res, err := c.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames(names))
	if err != nil {
		return TopicsReport{}, fmt.Errorf("describe topics %s: %w", strings.Join(names, ","), err)
	}
	report := TopicsReport{Topics: []Topic{}}
	var errs []error
	for _, d := range res.TopicDescriptions {
		if err := kafkaErr(d.Error); err != nil {
			errs = append(errs, fmt.Errorf("topic %s: %w", d.Name, err))
			continue
		}
		// Brokers do not always flag their own topics as internal; their
		// names begin with "__" (__consumer_offsets, __transaction_state).
		isInternal := d.IsInternal || strings.HasPrefix(d.Name, "__")
		if isInternal && !internal {
			continue
		}
		t := Topic{Name: d.Name, Internal: isInternal, Partitions: []Partition{}}
		for _, p := range d.Partitions {
			part := Partition{Partition: p.Partition, Replicas: nodeIDs(p.Replicas), ISR: nodeIDs(p.Isr)}
			if p.Leader != nil && p.Leader.ID >= 0 {
				id := p.Leader.ID
				part.Leader = &id
			}
			t.Partitions = append(t.Partitions, part)
		}
		slices.SortFunc(t.Partitions, func(a, b Partition) int { return a.Partition - b.Partition })
		report.Topics = append(report.Topics, t)
	}
	slices.SortFunc(report.Topics, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	return report, errors.Join(errs...)
}

func nodeIDs(nodes []kafka.Node) []int {
	ids := make([]int, 0, len(nodes))
	for _, n := range nodes {
		ids = append(ids, n.ID)
	}
	slices.Sort(ids)
	return ids
}

// ReplicationFactor is the topic's number of replicas per partition, as
// "min-max" when partitions differ.
func (t Topic) ReplicationFactor() string {
	if len(t.Partitions) == 0 {
		return "-"
	}
	lo, hi := len(t.Partitions[0].Replicas), len(t.Partitions[0].Replicas)
	for _, p := range t.Partitions {
		lo, hi = min(lo, len(p.Replicas)), max(hi, len(p.Replicas))
	}
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// Leaders counts the partitions each broker leads, as "broker:count ...",
// with "none:count" for the partitions without a leader.
func (t Topic) Leaders() string {
	counts := map[int]int{}
	none := 0
	for _, p := range t.Partitions {
		if p.Leader == nil {
			none++
			continue
		}
		counts[*p.Leader]++
	}
	var ids []int
	for id := range counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf("%d:%d", id, counts[id]))
	}
	if none > 0 {
		parts = append(parts, fmt.Sprintf("none:%d", none))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// UnderReplicated is the number of partitions with fewer in-sync replicas
// than replicas.
func (t Topic) UnderReplicated() int {
	n := 0
	for _, p := range t.Partitions {
		if len(p.ISR) < len(p.Replicas) {
			n++
		}
	}
	return n
}

func writeTopics(w io.Writer, r TopicsReport) {
	row(w, "TOPIC", "PARTITIONS", "REPLICATION", "LEADERS", "UNDER-REPLICATED")
	for _, t := range r.Topics {
		row(w, t.Name, len(t.Partitions), t.ReplicationFactor(), t.Leaders(), t.UnderReplicated())
	}
}

func writePartitions(w io.Writer, r TopicsReport) {
	row(w, "TOPIC", "PARTITION", "LEADER", "REPLICAS", "ISR")
	for _, t := range r.Topics {
		for _, p := range t.Partitions {
			row(w, t.Name, p.Partition, orDash(p.Leader), ints(p.Replicas), ints(p.ISR))
		}
	}
}

func ints(v []int) string {
	if len(v) == 0 {
		return "-"
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
