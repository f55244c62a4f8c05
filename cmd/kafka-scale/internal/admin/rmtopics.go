package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
)

// Deletion is the fate of one topic rmtopics was asked to delete.
type Deletion struct {
	Topic   string `json:"topic"`
	Deleted bool   `json:"deleted"`
	Error   string `json:"error,omitempty"`
}

// RmTopicsReport is what rmtopics prints with -o json.
type RmTopicsReport struct {
	Topics []Deletion `json:"topics"`
}

const strimziNote = `On a cluster run by Strimzi, a topic that a KafkaTopic resource owns is
re-created by the topic operator, which takes the resource, not the topic, as
the truth. Delete those with: kubectl delete kafkatopic <name>`

const rmtopicsHelp = `Deletes the topics --topic names, with all their records. It refuses unless
--force is given.

` + strimziNote + `
`

// ErrNotForced is returned (wrapped) by rmtopics without --force.
var ErrNotForced = errors.New("refusing to delete topics without --force")

func runRmTopics(ctx context.Context, env cli.Env, args []string) error {
	var c common
	var topics string
	var force bool
	fs, b := c.flags("rmtopics", "--topic TOPIC[,TOPIC...] --force [flags]", rmtopicsHelp)
	fs.StringVar(&topics, "topic", "", "the `topics` to delete, comma-separated")
	fs.BoolVar(&force, "force", false, "delete them: deleted records cannot be recovered")
	if err := c.parse(fs, b, env, args); err != nil {
		return err
	}
	names := splitList(topics)
	if len(names) == 0 {
		return &cli.UsageError{Err: errNoTopics}
	}
	if !force {
		return &cli.UsageError{Err: fmt.Errorf("%w: %s would lose every record.\n%s", ErrNotForced, strings.Join(names, ", "), strimziNote)}
	}
	a, err := c.connect(env)
	if err != nil {
		return err
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	report, err := DeleteTopics(ctx, a, names)
	if werr := c.write(env, report, func(w io.Writer) { writeDeletions(w, report) }); werr != nil {
		return werr
	}
	return err
}

// DeleteTopics deletes the topics called names and reports each one's
// fate; the error says which could not be deleted.
func DeleteTopics(ctx context.Context, c Client, names []string) (RmTopicsReport, error) {
	report := RmTopicsReport{Topics: []Deletion{}}
	opts := []kafka.DeleteTopicsAdminOption{}
	if d, ok := ctx.Deadline(); ok {
		opts = append(opts, kafka.SetAdminOperationTimeout(min(time.Hour, max(0, time.Until(d)))))
	}
	res, err := c.DeleteTopics(ctx, names, opts...)
	if err != nil {
		return report, fmt.Errorf("delete topics %s: %w", strings.Join(names, ","), err)
	}
	var failed []string
	for _, r := range res {
		d := Deletion{Topic: r.Topic, Deleted: true}
		if err := kafkaErr(r.Error); err != nil {
			d.Deleted, d.Error = false, err.Error()
			failed = append(failed, fmt.Sprintf("%s: %v", r.Topic, err))
		}
		report.Topics = append(report.Topics, d)
	}
	if len(failed) > 0 {
		return report, fmt.Errorf("not deleted: %s", strings.Join(failed, "; "))
	}
	return report, nil
}

func writeDeletions(w io.Writer, r RmTopicsReport) {
	row(w, "TOPIC", "RESULT")
	for _, d := range r.Topics {
		result := "deleted"
		if !d.Deleted {
			result = "not deleted: " + d.Error
		}
		row(w, d.Topic, result)
	}
}
