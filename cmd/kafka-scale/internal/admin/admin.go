// Package admin is kafka-scale's view of the Kafka cluster: the topics,
// offsets, lag and rmtopics commands. Each reads what it reports with
// confluent-kafka-go's admin client (through extkafka, which sends
// librdkafka's logs to stderr), prints a table or, with -o json, JSON, and
// takes the Kafka connection flags every service takes.
package admin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
)

// Commands are the admin commands, for main to register.
func Commands() []cli.Command {
	return []cli.Command{
		{Name: "topics", Summary: "list topics with their partitions, replication and leaders", Run: runTopics},
		{Name: "offsets", Summary: "show a topic's offsets per partition and a group's committed offsets and lag", Run: runOffsets},
		{Name: "lag", Summary: "show consumer groups' lag in records and in seconds", Run: runLag},
		{Name: "rmtopics", Summary: "delete topics (with --force; see its help for Strimzi)", Run: runRmTopics},
	}
}

// Client is the part of confluent's admin client the commands use;
// *extkafka.Admin has it.
type Client interface {
	GetMetadata(topic *string, allTopics bool, timeoutMs int) (*kafka.Metadata, error)
	DescribeTopics(ctx context.Context, topics kafka.TopicCollection, options ...kafka.DescribeTopicsAdminOption) (kafka.DescribeTopicsResult, error)
	ListConsumerGroups(ctx context.Context, options ...kafka.ListConsumerGroupsAdminOption) (kafka.ListConsumerGroupsResult, error)
	DescribeConsumerGroups(ctx context.Context, groups []string, options ...kafka.DescribeConsumerGroupsAdminOption) (kafka.DescribeConsumerGroupsResult, error)
	ListConsumerGroupOffsets(ctx context.Context, groupsPartitions []kafka.ConsumerGroupTopicPartitions, options ...kafka.ListConsumerGroupOffsetsAdminOption) (kafka.ListConsumerGroupOffsetsResult, error)
	ListOffsets(ctx context.Context, offsets map[kafka.TopicPartition]kafka.OffsetSpec, options ...kafka.ListOffsetsAdminOption) (kafka.ListOffsetsResult, error)
	DeleteTopics(ctx context.Context, topics []string, options ...kafka.DeleteTopicsAdminOption) ([]kafka.TopicResult, error)
}

var _ Client = (*extkafka.Admin)(nil)

// Output formats of -o.
const (
	outputTable = "table"
	outputJSON  = "json"
)

// DefaultTimeout bounds a command's requests to the cluster.
const DefaultTimeout = 30 * time.Second

// common holds the flags every admin command has.
type common struct {
	kafka   extkafka.Config
	output  string
	timeout time.Duration
	// logLevel is the level of librdkafka's logs on stderr.
	logLevel string
}

// flags returns the FlagSet of the command name with the common flags, and
// the Binder to parse it with: the command's own flags take the variable
// KAFKA_SCALE_<NAME>_<FLAG>, the Kafka ones their KAFKA_* of the services.
func (c *common) flags(name, usage, help string) (*flag.FlagSet, *flagenv.Binder) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	b := flagenv.New(fs, "KAFKA_SCALE_"+strings.ToUpper(name)+"_")
	c.kafka.RegisterFlags(fs, b)
	fs.StringVar(&c.output, "o", outputTable, "output `format`: table or json")
	fs.DurationVar(&c.timeout, "timeout", DefaultTimeout, "give up on the cluster after this `duration`")
	fs.StringVar(&c.logLevel, "log-level", "error", "level of the Kafka client's logs on stderr: debug, info, warn or error")
	b.Bind("o", "KAFKA_SCALE_OUTPUT").Bind("timeout", "KAFKA_SCALE_TIMEOUT").Bind("log-level", "KAFKA_SCALE_LOG_LEVEL")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s %s %s\n\n%s\nFlags:\n", cli.Name, name, usage, help)
		fs.PrintDefaults()
	}
	return fs, b
}

// parse parses args and checks the common flags.
func (c *common) parse(fs *flag.FlagSet, b *flagenv.Binder, env cli.Env, args []string) error {
	if err := cli.ParseBound(fs, b, env, args); err != nil {
		return err
	}
	if c.output != outputTable && c.output != outputJSON {
		return cli.Usagef("-o %q: want table or json", c.output)
	}
	if c.timeout <= 0 {
		return cli.Usagef("--timeout %v: want a positive duration", c.timeout)
	}
	if _, err := zapcore.ParseLevel(c.logLevel); err != nil {
		return cli.Usagef("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	if err := c.kafka.Validate(); err != nil {
		return &cli.UsageError{Err: err}
	}
	return nil
}

// logger sends the Kafka client's logs to stderr, where they do not mix
// with a table or JSON on stdout.
func (c *common) logger(env cli.Env) *zap.Logger {
	level, _ := zapcore.ParseLevel(c.logLevel) // checked by parse
	enc := zap.NewDevelopmentEncoderConfig()
	enc.TimeKey = ""
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.AddSync(env.Stderr), level))
}

// connect creates the admin client; close it with Close.
func (c *common) connect(env cli.Env) (*extkafka.Admin, error) {
	return extkafka.NewAdmin(extkafka.AdminConfig(c.kafka), c.logger(env))
}

// write prints v as JSON, or as the table table writes.
func (c *common) write(env cli.Env, v any, table func(w io.Writer)) error {
	if c.output == outputJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// row writes one tab-separated row.
func row(w io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			_, _ = io.WriteString(w, "\t")
		}
		_, _ = fmt.Fprint(w, c)
	}
	_, _ = io.WriteString(w, "\n")
}

// orDash formats an optional number, "-" when absent.
func orDash[T int | int64](v *T) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatInt(int64(*v), 10)
}

// seconds formats an optional duration in seconds, "-" when absent.
func seconds(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 1, 64)
}

// kafkaErr is err unless it is librdkafka's "no error".
func kafkaErr(err kafka.Error) error {
	if err.Code() == kafka.ErrNoError {
		return nil
	}
	return err
}

// splitList splits comma-separated names, dropping empty ones and
// duplicates, in order.
func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func sortPartitions(tps []kafka.TopicPartition) {
	slices.SortFunc(tps, func(a, b kafka.TopicPartition) int {
		return cmp.Or(strings.Compare(*a.Topic, *b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
}

// TopicPartition names a partition; unlike kafka.TopicPartition, which
// holds a pointer to its topic's name, it can be a map key.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func keyOf(tp kafka.TopicPartition) TopicPartition { return TopicPartition{*tp.Topic, tp.Partition} }

func (k TopicPartition) kafka() kafka.TopicPartition {
	topic := k.Topic
	return kafka.TopicPartition{Topic: &topic, Partition: k.Partition}
}

// errNoTopics is a command line naming no topic.
var errNoTopics = errors.New("--topic is empty")
