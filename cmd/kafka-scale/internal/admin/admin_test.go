package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fake is a cluster in memory.
type fake struct {
	topics map[string][]kafka.TopicPartitionInfo
	groups map[string]fakeGroup
	start  map[TopicPartition]int64
	end    map[TopicPartition]int64
	// deleteErr fails the deletion of a topic.
	deleteErr map[string]kafka.Error
	deleted   []string
}

type fakeGroup struct {
	state     kafka.ConsumerGroupState
	members   []kafka.MemberDescription
	committed map[TopicPartition]int64
}

var _ Client = (*fake)(nil)

func (f *fake) GetMetadata(_ *string, _ bool, _ int) (*kafka.Metadata, error) {
	md := &kafka.Metadata{Topics: map[string]kafka.TopicMetadata{}}
	for name := range f.topics {
		md.Topics[name] = kafka.TopicMetadata{Topic: name}
	}
	md.Topics["__consumer_offsets"] = kafka.TopicMetadata{Topic: "__consumer_offsets"}
	return md, nil
}

func (f *fake) DescribeTopics(_ context.Context, tc kafka.TopicCollection, _ ...kafka.DescribeTopicsAdminOption) (kafka.DescribeTopicsResult, error) {
	var res kafka.DescribeTopicsResult
	for _, name := range topicNames(tc) {
		if name == "__consumer_offsets" {
			res.TopicDescriptions = append(res.TopicDescriptions, kafka.TopicDescription{Name: name, // not flagged internal, as Kafka 4 answers
				Partitions: []kafka.TopicPartitionInfo{{Partition: 0, Leader: &kafka.Node{ID: 1}, Replicas: []kafka.Node{{ID: 1}}, Isr: []kafka.Node{{ID: 1}}}}})
			continue
		}
		parts, ok := f.topics[name]
		d := kafka.TopicDescription{Name: name, Partitions: parts}
		if !ok {
			d.Error = kafka.NewError(kafka.ErrUnknownTopicOrPart, "Broker: Unknown topic or partition", false)
		}
		res.TopicDescriptions = append(res.TopicDescriptions, d)
	}
	return res, nil
}

// topicNames gets at a TopicCollection's names, which it keeps to itself.
func topicNames(tc kafka.TopicCollection) []string {
	v := reflect.ValueOf(tc).FieldByName("topicNames")
	names := make([]string, v.Len())
	for i := range names {
		names[i] = v.Index(i).String()
	}
	return names
}

func (f *fake) ListConsumerGroups(context.Context, ...kafka.ListConsumerGroupsAdminOption) (kafka.ListConsumerGroupsResult, error) {
	var res kafka.ListConsumerGroupsResult
	for id, g := range f.groups {
		res.Valid = append(res.Valid, kafka.ConsumerGroupListing{GroupID: id, State: g.state})
	}
	return res, nil
}

func (f *fake) DescribeConsumerGroups(_ context.Context, groups []string, _ ...kafka.DescribeConsumerGroupsAdminOption) (kafka.DescribeConsumerGroupsResult, error) {
	var res kafka.DescribeConsumerGroupsResult
	for _, id := range groups {
		g, ok := f.groups[id]
		if !ok { // as Kafka describes a group it does not know
			g.state = kafka.ConsumerGroupStateDead
		}
		res.ConsumerGroupDescriptions = append(res.ConsumerGroupDescriptions, kafka.ConsumerGroupDescription{GroupID: id, State: g.state, Members: g.members})
	}
	return res, nil
}

func (f *fake) ListConsumerGroupOffsets(_ context.Context, req []kafka.ConsumerGroupTopicPartitions, _ ...kafka.ListConsumerGroupOffsetsAdminOption) (kafka.ListConsumerGroupOffsetsResult, error) {
	g := f.groups[req[0].Group]
	out := kafka.ConsumerGroupTopicPartitions{Group: req[0].Group}
	if req[0].Partitions == nil {
		for k, off := range g.committed {
			tp := k.kafka()
			tp.Offset = kafka.Offset(off)
			out.Partitions = append(out.Partitions, tp)
		}
	}
	for _, tp := range req[0].Partitions {
		tp.Offset = kafka.OffsetInvalid
		if off, ok := g.committed[keyOf(tp)]; ok {
			tp.Offset = kafka.Offset(off)
		}
		out.Partitions = append(out.Partitions, tp)
	}
	return kafka.ListConsumerGroupOffsetsResult{ConsumerGroupsTopicPartitions: []kafka.ConsumerGroupTopicPartitions{out}}, nil
}

func (f *fake) ListOffsets(_ context.Context, req map[kafka.TopicPartition]kafka.OffsetSpec, _ ...kafka.ListOffsetsAdminOption) (kafka.ListOffsetsResult, error) {
	res := kafka.ListOffsetsResult{ResultInfos: map[kafka.TopicPartition]kafka.ListOffsetsResultInfo{}}
	for tp, spec := range req {
		off := f.end[keyOf(tp)]
		if spec == kafka.EarliestOffsetSpec {
			off = f.start[keyOf(tp)]
		}
		res.ResultInfos[tp] = kafka.ListOffsetsResultInfo{Offset: kafka.Offset(off)}
	}
	return res, nil
}

func (f *fake) DeleteTopics(_ context.Context, topics []string, _ ...kafka.DeleteTopicsAdminOption) ([]kafka.TopicResult, error) {
	var res []kafka.TopicResult
	for _, t := range topics {
		r := kafka.TopicResult{Topic: t}
		if err, ok := f.deleteErr[t]; ok {
			r.Error = err
		} else {
			f.deleted = append(f.deleted, t)
		}
		res = append(res, r)
	}
	return res, nil
}

func partitions(n int, leader func(i int) int, replicas, isr []int) []kafka.TopicPartitionInfo {
	nodes := func(ids []int) []kafka.Node {
		var out []kafka.Node
		for _, id := range ids {
			out = append(out, kafka.Node{ID: id})
		}
		return out
	}
	var out []kafka.TopicPartitionInfo
	for i := range n {
		p := kafka.TopicPartitionInfo{Partition: i, Replicas: nodes(replicas), Isr: nodes(isr)}
		if id := leader(i); id >= 0 {
			p.Leader = &kafka.Node{ID: id}
		}
		out = append(out, p)
	}
	return out
}

func member(client string, tps ...TopicPartition) kafka.MemberDescription {
	m := kafka.MemberDescription{ClientID: client}
	for _, k := range tps {
		m.Assignment.TopicPartitions = append(m.Assignment.TopicPartitions, k.kafka())
	}
	return m
}

// cluster: census has 3 partitions on brokers 1-3, one leaderless and one
// under-replicated; results has 1. The computer group consumes census and
// lags on partitions 0 and 2; the aggregator group consumes results.
func cluster() *fake {
	census := func(p int32) TopicPartition { return TopicPartition{"census", p} }
	results := TopicPartition{"results", 0}
	censusParts := partitions(3, func(i int) int { return []int{1, 2, -1}[i] }, []int{1, 2, 3}, []int{1, 2, 3})
	censusParts[1].Isr = censusParts[1].Isr[:2]
	return &fake{
		topics: map[string][]kafka.TopicPartitionInfo{
			"census":  censusParts,
			"results": partitions(1, func(int) int { return 3 }, []int{3}, []int{3}),
		},
		groups: map[string]fakeGroup{
			"computer": {state: kafka.ConsumerGroupStateStable,
				members:   []kafka.MemberDescription{member("computer-a", census(0), census(1)), member("computer-b", census(2))},
				committed: map[TopicPartition]int64{census(0): 90, census(1): 50, census(2): 10}},
			"aggregator": {state: kafka.ConsumerGroupStateEmpty,
				committed: map[TopicPartition]int64{results: 7}},
		},
		start: map[TopicPartition]int64{census(0): 0, census(1): 0, census(2): 5, results: 0},
		end:   map[TopicPartition]int64{census(0): 100, census(1): 50, census(2): 40, results: 7},
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test -update to create it")
	require.Equal(t, string(want), string(got))
}

func TestTopics(t *testing.T) {
	ctx := t.Context()
	r, err := ListTopics(ctx, cluster(), nil, false)
	require.NoError(t, err)
	require.Equal(t, []string{"census", "results"}, []string{r.Topics[0].Name, r.Topics[1].Name})
	golden(t, "topics.txt", table(t, func(w io.Writer) { writeTopics(w, r) }))
	golden(t, "topics-partitions.txt", table(t, func(w io.Writer) { writePartitions(w, r) }))
	golden(t, "topics.json", jsonOf(t, r))

	r, err = ListTopics(ctx, cluster(), nil, true)
	require.NoError(t, err)
	require.Len(t, r.Topics, 3, "with the internal topic")

	r, err = ListTopics(ctx, cluster(), []string{"results"}, false)
	require.NoError(t, err)
	require.Len(t, r.Topics, 1)

	_, err = ListTopics(ctx, cluster(), []string{"missing"}, false)
	require.ErrorContains(t, err, "topic missing: Broker: Unknown topic or partition")
}

func TestOffsets(t *testing.T) {
	ctx := t.Context()
	for _, tc := range []struct {
		name, topic, group string
		edit               func(*fake)
		want               string // golden file
		wantGroup          string
		wantLag            int64
		wantErr            error
	}{
		{name: "the consuming group", topic: "census", want: "offsets.txt", wantGroup: "computer", wantLag: 10 + 0 + 30},
		{name: "a group named", topic: "results", group: "aggregator", want: "offsets-named.txt", wantGroup: "aggregator"},
		{name: "a group with members only", topic: "census", wantGroup: "computer",
			edit: func(f *fake) {
				f.groups["computer"] = fakeGroup{state: f.groups["computer"].state, members: f.groups["computer"].members}
			}},
		{name: "no group", topic: "census", want: "offsets-nogroup.txt", edit: func(f *fake) { delete(f.groups, "computer") }},
		{name: "two groups", topic: "census", wantErr: ErrAmbiguousGroup,
			edit: func(f *fake) {
				f.groups["audit"] = fakeGroup{state: kafka.ConsumerGroupStateEmpty, committed: map[TopicPartition]int64{{"census", 1}: 3}}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := cluster()
			if tc.edit != nil {
				tc.edit(f)
			}
			r, err := Offsets(ctx, f, tc.topic, tc.group)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.ErrorContains(t, err, "audit, computer; name one with --group")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.wantGroup, r.Group)
			require.Equal(t, tc.wantLag, r.Lag)
			if tc.want != "" {
				golden(t, tc.want, table(t, func(w io.Writer) { writeOffsets(w, r) }))
			}
		})
	}
}

func TestLag(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var asked map[TopicPartition]int64
	probe := func(_ context.Context, at map[TopicPartition]int64) (map[TopicPartition]time.Time, error) {
		asked = at
		return map[TopicPartition]time.Time{
			{"census", 0}: now.Add(-2500 * time.Millisecond),
			{"census", 2}: now.Add(-90 * time.Second),
		}, nil
	}
	r, err := Lag(t.Context(), cluster(), nil, probe, func() time.Time { return now })
	require.NoError(t, err)
	require.Equal(t, map[TopicPartition]int64{{"census", 0}: 90, {"census", 2}: 10}, asked,
		"the probe reads the record at the committed offset of each lagging partition")
	golden(t, "lag.txt", table(t, func(w io.Writer) { writeLag(w, r) }))
	golden(t, "lag.json", jsonOf(t, r))

	t.Run("a record not read", func(t *testing.T) {
		probe := func(context.Context, map[TopicPartition]int64) (map[TopicPartition]time.Time, error) {
			return map[TopicPartition]time.Time{{"census", 0}: now.Add(-time.Second)}, nil
		}
		r, err := Lag(t.Context(), cluster(), []string{"computer"}, probe, func() time.Time { return now })
		require.NoError(t, err)
		require.Len(t, r.Groups, 1)
		require.Nil(t, r.Groups[0].LagSeconds, "unknown, since the unread record may be the oldest")
		require.Nil(t, r.Groups[0].Partitions[2].LagSeconds)
		require.InDelta(t, 1.0, *r.Groups[0].Partitions[0].LagSeconds, 1e-9)
	})
	t.Run("only markers left", func(t *testing.T) {
		probe := func(context.Context, map[TopicPartition]int64) (map[TopicPartition]time.Time, error) {
			return map[TopicPartition]time.Time{{"census", 0}: {}, {"census", 2}: {}}, nil
		}
		r, err := Lag(t.Context(), cluster(), []string{"computer"}, probe, func() time.Time { return now })
		require.NoError(t, err)
		require.Equal(t, int64(40), r.Groups[0].Lag)
		require.Zero(t, *r.Groups[0].LagSeconds)
	})
}

func TestDeleteTopics(t *testing.T) {
	f := cluster()
	f.deleteErr = map[string]kafka.Error{"missing": kafka.NewError(kafka.ErrUnknownTopicOrPart, "Broker: Unknown topic or partition", false)}
	r, err := DeleteTopics(t.Context(), f, []string{"results", "missing"})
	require.ErrorContains(t, err, "not deleted: missing: Broker: Unknown topic or partition")
	require.Equal(t, []string{"results"}, f.deleted)
	golden(t, "rmtopics.txt", table(t, func(w io.Writer) { writeDeletions(w, r) }))
}

// TestCommandLine runs the commands through cli.Run for what needs no
// cluster: help, and mistakes on the command line.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		env    map[string]string
		code   int
		stdout string // golden file
		stderr []string
	}{
		{name: "topics help", args: []string{"topics", "-h"}, stdout: "topics.usage"},
		{name: "offsets help", args: []string{"offsets", "-h"}, stdout: "offsets.usage"},
		{name: "lag help", args: []string{"lag", "-h"}, stdout: "lag.usage"},
		{name: "rmtopics help", args: []string{"rmtopics", "-h"}, stdout: "rmtopics.usage"},
		{name: "rmtopics without --force", args: []string{"rmtopics", "--topic", "a,b"}, code: 2,
			stderr: []string{"refusing to delete topics without --force: a, b would lose every record", "kubectl delete kafkatopic <name>"}},
		{name: "rmtopics without topics", args: []string{"rmtopics", "--force"}, code: 2, stderr: []string{"--topic is empty"}},
		{name: "offsets without a topic", args: []string{"offsets"}, code: 2, stderr: []string{"kafka-scale offsets: --topic is empty"}},
		{name: "bad output", args: []string{"topics", "-o", "yaml"}, code: 2, stderr: []string{`-o "yaml": want table or json`}},
		{name: "bad output from the environment", args: []string{"lag"}, env: map[string]string{"KAFKA_SCALE_OUTPUT": "xml"}, code: 2,
			stderr: []string{`-o "xml": want table or json`}},
		{name: "bad bootstrap servers", args: []string{"topics"}, env: map[string]string{"KAFKA_BOOTSTRAP_SERVERS": "nohost"}, code: 2,
			stderr: []string{`--bootstrap-servers: "nohost" is not host:port`}},
		{name: "bad timeout", args: []string{"topics", "--timeout", "0s"}, code: 2, stderr: []string{"--timeout 0s: want a positive duration"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := cli.Env{Stdout: &stdout, Stderr: &stderr, LookupEnv: func(k string) (string, bool) {
				v, ok := tc.env[k]
				return v, ok
			}}
			code := cli.Run(t.Context(), env, Commands(), tc.args)
			require.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			for _, s := range tc.stderr {
				require.Contains(t, stderr.String(), s)
			}
			if tc.stdout != "" {
				golden(t, tc.stdout, stdout.Bytes())
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	require.Equal(t, []string{"a", "b"}, splitList(" a, ,b,a,"))
	require.Empty(t, splitList(""))
	require.True(t, slices.Equal([]string{"x"}, splitList("x")))
}

// table renders with the commands' tabwriter settings.
func table(t *testing.T, write func(w io.Writer)) []byte {
	t.Helper()
	var out bytes.Buffer
	c := common{output: outputTable}
	require.NoError(t, c.write(cli.Env{Stdout: &out}, nil, write))
	return out.Bytes()
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	var out bytes.Buffer
	c := common{output: outputJSON}
	require.NoError(t, c.write(cli.Env{Stdout: &out}, v, nil))
	var round any
	require.NoError(t, json.Unmarshal(out.Bytes(), &round))
	return out.Bytes()
}
