package admin

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
)

// PartitionOffsets are one partition's offsets and, for a group, its
// committed offset and lag.
type PartitionOffsets struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Start is the log start offset: the first record still kept.
	Start int64 `json:"start"`
	// End is the last stable offset: the end of the log as a
	// read_committed consumer, such as the pipeline's, can read it. Without
	// open transactions it is the log end offset.
	End int64 `json:"end"`
	// Committed is the group's committed offset, the next record it will
	// read; null when the group has committed none on the partition.
	Committed *int64 `json:"committed"`
	// Lag is End - Committed, the records the group has yet to process;
	// null without a committed offset.
	Lag *int64 `json:"lag"`
	// LagSeconds is how long the oldest of those records has waited (lag
	// only); null when unknown.
	LagSeconds *float64 `json:"lag_seconds,omitempty"`
	// Member is the client id of the group member the partition is
	// assigned to, empty when unassigned.
	Member string `json:"member,omitempty"`
}

// OffsetsReport is what offsets prints with -o json.
type OffsetsReport struct {
	Topic string `json:"topic"`
	// Group is the group whose offsets are shown; empty when none
	// consumes the topic.
	Group string `json:"group,omitempty"`
	// State and Members describe the group.
	State      string             `json:"state,omitempty"`
	Members    int                `json:"members"`
	Partitions []PartitionOffsets `json:"partitions"`
	// Lag is the total of the partitions' lag.
	Lag int64 `json:"lag"`
}

const offsetsHelp = `Shows each partition of --topic: the log start offset (START), the end of the
log as a read_committed consumer reads it (END: the last stable offset, which
is the log end offset unless a transaction is open), the group's committed
offset (COMMITTED: the next record the group will read; "-" when it has
committed none), LAG = END - COMMITTED, and the group member the partition is
assigned to.

Without --group, the group is the one consuming the topic: the consumer group
that has members assigned to it or offsets committed on it. When several do,
name one with --group; when none does, only the log's offsets are shown.
`

func runOffsets(ctx context.Context, env cli.Env, args []string) error {
	var c common
	var topic, group string
	fs, b := c.flags("offsets", "--topic TOPIC [--group GROUP] [flags]", offsetsHelp)
	fs.StringVar(&topic, "topic", "", "the `topic`")
	fs.StringVar(&group, "group", "", "the consumer `group` (default: the one consuming the topic)")
	if err := c.parse(fs, b, env, args); err != nil {
		return err
	}
	if topic = strings.TrimSpace(topic); topic == "" {
		return &cli.UsageError{Err: errNoTopics}
	}
	a, err := c.connect(env)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	report, err := Offsets(ctx, a, topic, group)
	if err != nil {
		return err
	}
	return c.write(env, report, func(w io.Writer) { writeOffsets(w, report) })
}

// ErrAmbiguousGroup is returned (wrapped) by Offsets when several groups
// consume the topic and none was named.
var ErrAmbiguousGroup = errors.New("several groups consume the topic")

// Offsets reports the offsets of topic's partitions and group's committed
// offsets on them. An empty group means the group consuming the topic.
func Offsets(ctx context.Context, c Client, topic, group string) (OffsetsReport, error) {
	report := OffsetsReport{Topic: topic, Partitions: []PartitionOffsets{}}
	tps, err := topicPartitions(ctx, c, topic)
	if err != nil {
		return report, err
	}
	var groups map[string]groupInfo
	var committed map[TopicPartition]int64
	if group == "" {
		group, groups, committed, err = consumingGroup(ctx, c, topic, tps)
		if err != nil {
			return report, err
		}
	} else {
		if groups, err = describeGroups(ctx, c, []string{group}); err != nil {
			return report, err
		}
		if committed, err = committedOffsets(ctx, c, group, tps); err != nil {
			return report, err
		}
	}
	report.Group = group
	gi := groups[group]
	report.State, report.Members = gi.state, gi.members
	start, end, err := logOffsets(ctx, c, tps)
	if err != nil {
		return report, err
	}
	for _, tp := range tps {
		k := keyOf(tp)
		po := PartitionOffsets{Topic: topic, Partition: tp.Partition, Start: start[k], End: end[k], Member: gi.assigned[k]}
		if off, ok := committed[k]; ok {
			po.Committed, po.Lag = &off, lag(end[k], off)
			report.Lag += *po.Lag
		}
		report.Partitions = append(report.Partitions, po)
	}
	return report, nil
}

func lag(end, committed int64) *int64 {
	l := max(0, end-committed)
	return &l
}

// topicPartitions lists the partitions of topic.
func topicPartitions(ctx context.Context, c Client, topic string) ([]kafka.TopicPartition, error) {
	res, err := c.DescribeTopics(ctx, kafka.NewTopicCollectionOfTopicNames([]string{topic}))
	if err != nil {
		return nil, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	var tps []kafka.TopicPartition
	for _, d := range res.TopicDescriptions {
		if err := kafkaErr(d.Error); err != nil {
			return nil, fmt.Errorf("topic %s: %w", topic, err)
		}
		for _, p := range d.Partitions {
			tps = append(tps, keyOf(kafka.TopicPartition{Topic: &d.Name, Partition: int32(p.Partition)}).kafka())
		}
	}
	if len(tps) == 0 {
		return nil, fmt.Errorf("topic %s: no partitions", topic)
	}
	sortPartitions(tps)
	return tps, nil
}

// groupInfo is what DescribeConsumerGroups says of a group.
type groupInfo struct {
	state    string
	members  int
	assigned map[TopicPartition]string // partition -> member's client id
}

// listGroups lists the consumer groups' ids, sorted.
func listGroups(ctx context.Context, c Client) ([]string, error) {
	res, err := c.ListConsumerGroups(ctx)
	if err != nil {
		return nil, fmt.Errorf("list consumer groups: %w", err)
	}
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("list consumer groups: %w", errors.Join(res.Errors...))
	}
	var ids []string
	for _, g := range res.Valid {
		ids = append(ids, g.GroupID)
	}
	slices.Sort(ids)
	return ids, nil
}

func describeGroups(ctx context.Context, c Client, groups []string) (map[string]groupInfo, error) {
	out := map[string]groupInfo{}
	if len(groups) == 0 {
		return out, nil
	}
	res, err := c.DescribeConsumerGroups(ctx, groups)
	if err != nil {
		return nil, fmt.Errorf("describe consumer groups %s: %w", strings.Join(groups, ","), err)
	}
	for _, d := range res.ConsumerGroupDescriptions {
		if err := kafkaErr(d.Error); err != nil {
			return nil, fmt.Errorf("describe consumer group %s: %w", d.GroupID, err)
		}
		gi := groupInfo{state: d.State.String(), members: len(d.Members), assigned: map[TopicPartition]string{}}
		for _, m := range d.Members {
			for _, tp := range m.Assignment.TopicPartitions {
				gi.assigned[keyOf(tp)] = m.ClientID
			}
		}
		out[d.GroupID] = gi
	}
	return out, nil
}

// committedOffsets are group's committed offsets on tps, or on every
// partition it has committed on when tps is nil. Partitions without a
// committed offset are left out.
func committedOffsets(ctx context.Context, c Client, group string, tps []kafka.TopicPartition) (map[TopicPartition]int64, error) {
	res, err := c.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: group, Partitions: tps}})
	if err != nil {
		return nil, fmt.Errorf("committed offsets of group %s: %w", group, err)
	}
	out := map[TopicPartition]int64{}
	for _, g := range res.ConsumerGroupsTopicPartitions {
		for _, tp := range g.Partitions {
			if tp.Error != nil {
				return nil, fmt.Errorf("committed offset of group %s on %s/%d: %w", group, *tp.Topic, tp.Partition, tp.Error)
			}
			if tp.Offset >= 0 {
				out[keyOf(tp)] = int64(tp.Offset)
			}
		}
	}
	return out, nil
}

// consumingGroup finds the one group that consumes topic: members assigned
// to its partitions or offsets committed on them. It returns "" when no
// group does.
func consumingGroup(ctx context.Context, c Client, topic string, tps []kafka.TopicPartition) (string, map[string]groupInfo, map[TopicPartition]int64, error) {
	ids, err := listGroups(ctx, c)
	if err != nil {
		return "", nil, nil, err
	}
	groups, err := describeGroups(ctx, c, ids)
	if err != nil {
		return "", nil, nil, err
	}
	var found []string
	var committed map[TopicPartition]int64
	for _, id := range ids {
		offs, err := committedOffsets(ctx, c, id, tps)
		if err != nil {
			return "", nil, nil, err
		}
		assigned := false
		for k := range groups[id].assigned {
			assigned = assigned || k.Topic == topic
		}
		if len(offs) > 0 || assigned {
			found, committed = append(found, id), offs
		}
	}
	switch len(found) {
	case 0:
		return "", groups, nil, nil
	case 1:
		return found[0], groups, committed, nil
	}
	return "", nil, nil, &cli.UsageError{Err: fmt.Errorf("%w %s: %s; name one with --group", ErrAmbiguousGroup, topic, strings.Join(found, ", "))}
}

// logOffsets are the log start offsets and the last stable offsets of tps.
func logOffsets(ctx context.Context, c Client, tps []kafka.TopicPartition) (start, end map[TopicPartition]int64, err error) {
	if start, err = listOffsets(ctx, c, tps, kafka.EarliestOffsetSpec); err != nil {
		return nil, nil, err
	}
	if end, err = listOffsets(ctx, c, tps, kafka.LatestOffsetSpec); err != nil {
		return nil, nil, err
	}
	return start, end, nil
}

func listOffsets(ctx context.Context, c Client, tps []kafka.TopicPartition, spec kafka.OffsetSpec) (map[TopicPartition]int64, error) {
	out := map[TopicPartition]int64{}
	if len(tps) == 0 {
		return out, nil
	}
	req := map[kafka.TopicPartition]kafka.OffsetSpec{}
	for _, tp := range tps {
		req[tp] = spec
	}
	res, err := c.ListOffsets(ctx, req, kafka.SetAdminIsolationLevel(kafka.IsolationLevelReadCommitted))
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	for tp, info := range res.ResultInfos {
		if err := kafkaErr(info.Error); err != nil {
			return nil, fmt.Errorf("list offsets of %s/%d: %w", *tp.Topic, tp.Partition, err)
		}
		out[keyOf(tp)] = int64(info.Offset)
	}
	for _, tp := range tps {
		if _, ok := out[keyOf(tp)]; !ok {
			return nil, fmt.Errorf("list offsets: no answer for %s/%d", *tp.Topic, tp.Partition)
		}
	}
	return out, nil
}

func writeOffsets(w io.Writer, r OffsetsReport) {
	if r.Group == "" {
		fmt.Fprintf(w, "Topic %s: no consumer group consumes it.\n\n", r.Topic)
	} else {
		fmt.Fprintf(w, "Topic %s, group %s (%s, %s): lag %d\n\n", r.Topic, r.Group, r.State, plural(r.Members, "member"), r.Lag)
	}
	row(w, "PARTITION", "START", "END", "COMMITTED", "LAG", "MEMBER")
	for _, p := range r.Partitions {
		row(w, p.Partition, p.Start, p.End, orDash(p.Committed), orDash(p.Lag), cmp.Or(p.Member, "-"))
	}
}

// plural is "1 member", "2 members".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
