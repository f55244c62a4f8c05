//go:build integration

package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/e2e/harness"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// TestE2ETabulationsRollingUpgrade: computers of two versions write to one
// results topic. The older one, played here by a producer that writes the
// results the released computers write (no list of tabulations, so
// housing and labor force, and no sex and age groups), counts one load of
// February; today's computer counts January. The API marks the labor force
// by sex and age incomplete for February, and only there; a restarted
// aggregator still does; loading February again, counted by today's
// computer, completes it.
func TestE2ETabulationsRollingUpgrade(t *testing.T) {
	dir := t.TempDir()
	harness.Generate(t, dir, 2020, []int{1, 2}, 2_000, 11)
	p := harness.NewPipeline(t, "tabulations")
	agg := p.Aggregator("aggregator")
	api := agg.Addr("api", time.Minute)
	p.CreateComputeTopic(2)
	c := p.Computer("computer")
	c.WaitReady(time.Minute)

	jan, feb := census.FileName(2020, 1), census.FileName(2020, 2)
	require.Equal(t, 0, p.Reader("reader-jan", "--from-file", filepath.Join(dir, jan)).Wait(3*time.Minute))
	harness.WaitSources(t, api, waitComplete, harness.AllComplete(1))

	// February's two chunks from the older computer.
	pr, err := kafka.NewProducer(&kafka.ConfigMap{"bootstrap.servers": p.Bootstrap, "acks": "all", "enable.idempotence": true})
	require.NoError(t, err)
	defer pr.Close()
	done := make(chan kafka.Event, 2)
	for seq := range uint32(2) {
		tl := tally.New()
		tl.Add(&census.Record{HRYEAR4: 2020, HRMONTH: 2, HEHOUSUT: 1})
		r := schema.Result{Source: feb, Fingerprint: "older-computer", Year: 2020, Month: 2, Seq: seq, Last: seq == 1,
			Records: 1, Tally: tl} // no Tabulations: as the released computers wrote
		require.NoError(t, pr.Produce(&kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &p.ResultsTopic, Partition: kafka.PartitionAny},
			Key: r.Key(), Value: schema.AppendResult(nil, &r), Headers: kafkaHeaders(schema.Headers(schema.TypeResult))}, done))
	}
	for range 2 {
		require.NoError(t, (<-done).(*kafka.Message).TopicPartition.Error)
	}

	// Sources sort by name: February's is first.
	incomplete := func(want []string) func([]apiv1.Source) (bool, string) {
		return func(s []apiv1.Source) (bool, string) {
			if !allComplete(s, 2) {
				return false, fmt.Sprintf("sources %+v", s)
			}
			return s[0].Source == feb && slices.Equal(s[0].IncompleteTabulations, want) && s[1].IncompleteTabulations == nil,
				fmt.Sprintf("incomplete tabulations: %s %v, %s %v", s[0].Source, s[0].IncompleteTabulations, s[1].Source, s[1].IncompleteTabulations)
		}
	}
	tableIncomplete := func(api, path string) []string {
		var body struct {
			IncompleteSources []string `json:"incomplete_sources"`
		}
		code, err := harness.GetJSON(context.Background(), "http://"+api+path, &body)
		require.NoError(t, err)
		require.Equal(t, 200, code, path)
		return body.IncompleteSources
	}
	srcs := harness.WaitSources(t, api, waitComplete, incomplete([]string{"sex_age"}))
	require.Equal(t, []string{feb}, tableIncomplete(api, "/v1/labor-force/by-sex-age?year=2020&month=2"))
	logTables := func(when string, srcs []apiv1.Source) {
		for _, s := range srcs {
			t.Logf("%s: /v1/sources %s: status %s, loads %d, incomplete_tabulations %v", when, s.Source, s.Status, s.Loads, s.IncompleteTabulations)
		}
		t.Logf("%s: /v1/labor-force/by-sex-age?year=2020&month=2 incomplete_sources %v, /v1/labor-force %v", when,
			tableIncomplete(api, "/v1/labor-force/by-sex-age?year=2020&month=2"), tableIncomplete(api, "/v1/labor-force?year=2020&month=2"))
	}
	logTables("older and current computers", srcs)
	require.Empty(t, tableIncomplete(api, "/v1/housing?year=2020&month=2"))
	require.Empty(t, tableIncomplete(api, "/v1/labor-force?year=2020&month=2"))
	require.Empty(t, tableIncomplete(api, "/v1/labor-force/by-sex-age?year=2020&month=1"))

	// The state snapshot keeps it.
	agg.Stop(time.Minute)
	agg2 := p.Aggregator("aggregator-2")
	api2 := agg2.Addr("api", time.Minute)
	agg2.WaitReady(time.Minute)
	harness.WaitSources(t, api2, waitComplete, incomplete([]string{"sex_age"}))
	require.Equal(t, []string{feb}, tableIncomplete(api2, "/v1/labor-force/by-sex-age?year=2020&month=2"))

	// February loaded again, counted by today's computer: complete.
	require.Equal(t, 0, p.Reader("reader-feb", "--from-file", filepath.Join(dir, feb)).Wait(3*time.Minute))
	srcs = harness.WaitSources(t, api2, waitComplete, func(s []apiv1.Source) (bool, string) {
		ok, msg := incomplete(nil)(s)
		return ok && s[0].Loads == 2, msg + fmt.Sprintf(", loads %d", s[0].Loads)
	})
	require.Equal(t, uint64(2_000), srcs[0].Records)
	require.Empty(t, tableIncomplete(api2, "/v1/labor-force/by-sex-age?year=2020&month=2"))
	api = api2
	logTables("February loaded again by the current computer", srcs)
	c.Stop(time.Minute)
	agg2.Stop(time.Minute)
}

// allComplete: n sources, all complete.
func allComplete(s []apiv1.Source, n int) bool {
	ok, _ := harness.AllComplete(n)(s)
	return ok
}
