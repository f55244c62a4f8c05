package harness

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"go.uber.org/zap"

	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// Pipeline names one pipeline's topics and group, unique per test, so
// tests sharing a broker never see each other's data.
type Pipeline struct {
	t            testing.TB
	Bootstrap    string
	ComputeTopic string
	ResultsTopic string
	Group        string
	// ReplicationFactor of the topics the harness creates (1 when 0).
	ReplicationFactor int
}

// NewPipeline returns topic names unique to this test run.
func NewPipeline(t testing.TB, name string) *Pipeline {
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	return &Pipeline{t: t, Bootstrap: Bootstrap(t), ComputeTopic: name + "-" + suffix + "-compute",
		ResultsTopic: name + "-" + suffix + "-results", Group: name + "-" + suffix + "-computers"}
}

func (p *Pipeline) env() []string {
	return []string{"KAFKA_BOOTSTRAP_SERVERS=" + p.Bootstrap, "LOG_FORMAT=json", "LOG_LEVEL=info"}
}

// Aggregator starts an aggregator with an API and admin server on free ports.
func (p *Pipeline) Aggregator(name string, extra ...string) *Proc {
	args := append([]string{"--results-topic", p.ResultsTopic, "--listen", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0",
		"--snapshot-interval", "300ms"}, extra...)
	return Start(p.t, name, Bin(p.t, "aggregator"), args, p.env()...)
}

// Computer starts a computer of the pipeline's group.
func (p *Pipeline) Computer(name string, extra ...string) *Proc {
	args := append([]string{"--compute-topic", p.ComputeTopic, "--results-topic", p.ResultsTopic, "--group", p.Group,
		"--metrics-addr", "127.0.0.1:0", "--transactional-id", p.Group + "-" + name}, extra...)
	return Start(p.t, name, Bin(p.t, "computer"), args, p.env()...)
}

// Reader starts a reader producing to the compute topic.
func (p *Pipeline) Reader(name string, extra ...string) *Proc {
	args := append([]string{"--compute-topic", p.ComputeTopic, "--partitions", "6", "--metrics-addr", "127.0.0.1:0"}, extra...)
	return Start(p.t, name, Bin(p.t, "reader"), args, p.env()...)
}

// Sources reads /v1/sources.
func Sources(ctx context.Context, api string) ([]apiv1.Source, error) {
	var body apiv1.SourcesResponse
	code, err := GetJSON(ctx, "http://"+api+"/v1/sources", &body)
	if err != nil {
		return nil, err
	}
	if code != 200 {
		return nil, fmt.Errorf("GET /v1/sources: %d", code)
	}
	return body.Sources, nil
}

// WaitSources polls /v1/sources until done accepts them.
func WaitSources(t testing.TB, api string, timeout time.Duration, done func([]apiv1.Source) (bool, string)) []apiv1.Source {
	t.Helper()
	var last []apiv1.Source
	Eventually(t, timeout, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s, err := Sources(ctx, api)
		if err != nil {
			return false, err.Error()
		}
		last = s
		return done(s)
	})
	return last
}

// AllComplete is a WaitSources condition: n sources, all complete.
func AllComplete(n int) func([]apiv1.Source) (bool, string) {
	return func(s []apiv1.Source) (bool, string) {
		complete := 0
		for _, src := range s {
			if src.Complete {
				complete++
			}
		}
		return len(s) == n && complete == n, fmt.Sprintf("%d of %d sources complete: %+v", complete, n, s)
	}
}

// Generate writes months of year into dir and returns the merged expected
// tabulation and each file's expectation.
func Generate(t testing.TB, dir string, year int, months []int, records int, seed uint64) (*tally.Tally, []*censusgen.Expected) {
	t.Helper()
	total := tally.New()
	var exps []*censusgen.Expected
	for _, m := range months {
		_, exp, err := censusgen.WriteFile(dir, censusgen.Options{Year: year, Month: m, Records: records, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		total.Merge(exp.Tally)
		exps = append(exps, exp)
	}
	return total, exps
}

// LegacyResults is what /results must serve for t.
func LegacyResults(t *tally.Tally) apiv1.Results {
	out := apiv1.Results{}
	for p, m := range t.All() {
		y := strconv.Itoa(p.Year)
		if out[y] == nil {
			out[y] = map[string]apiv1.LegacyCount{}
		}
		for code := -1; code <= census.MaxHousing; code++ {
			if n := m.HousingCount(code); n > 0 {
				c := out[y][strconv.Itoa(code)]
				c.Count += n
				c.Description = census.HousingDescription(code)
				if code == -1 {
					c.Description = "NOT IN UNIVERSE"
				}
				out[y][strconv.Itoa(code)] = c
			}
		}
	}
	return out
}

// LaborFigures computes the figures of l the way the README's recipe
// says: weights / 10000, rate = U / (E + U).
func LaborFigures(l tally.Labor) apiv1.LaborFigures {
	var f apiv1.LaborFigures
	f.Employed = float64(l.EmployedWeight) / 10000
	f.Unemployed = float64(l.UnemployedWeight) / 10000
	f.NotInLaborForce = float64(l.NotInLaborForceWeight) / 10000
	f.LaborForce = float64(l.EmployedWeight+l.UnemployedWeight) / 10000
	if lf := l.EmployedWeight + l.UnemployedWeight; lf > 0 {
		f.UnemploymentRate = float64(l.UnemployedWeight) / float64(lf)
	}
	f.Persons.Employed, f.Persons.Unemployed, f.Persons.NotInLaborForce = l.Employed, l.Unemployed, l.NotInLaborForce
	return f
}

// SexAgeFigures are the groups /v1/labor-force/by-sex-age serves for m:
// men's then women's age groups, youngest first, then those of unknown sex
// that have anyone counted.
func SexAgeFigures(m *tally.Month) []apiv1.SexAgeFigures {
	var out []apiv1.SexAgeFigures
	for _, sex := range []int{1, 2, 0} {
		for g := range census.NumAgeGroups {
			if l := m.BySexAge(sex, g); sex != 0 || !l.IsZero() {
				out = append(out, apiv1.SexAgeFigures{Sex: census.SexName(sex), AgeGroup: g.String(), LaborFigures: LaborFigures(l)})
			}
		}
	}
	return out
}

// CheckAPI fails the test unless /results, /v1/housing, /v1/labor-force and
// /v1/labor-force/by-sex-age serve exactly what want holds.
func CheckAPI(t testing.TB, api string, want *tally.Tally) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var legacy apiv1.Results
	mustGet(t, ctx, "http://"+api+"/results", &legacy)
	if !maps.EqualFunc(legacy, LegacyResults(want), maps.Equal) {
		t.Fatalf("/results = %v, want %v", legacy, LegacyResults(want))
	}
	for p, m := range want.All() {
		var h apiv1.HousingResponse
		mustGet(t, ctx, fmt.Sprintf("http://%s/v1/housing?year=%d&month=%d", api, p.Year, p.Month), &h)
		if h.Records != m.Records {
			t.Fatalf("%v: housing records %d, want %d", p, h.Records, m.Records)
		}
		for _, c := range h.Housing {
			if c.Count != m.HousingCount(c.Code) {
				t.Fatalf("%v: housing code %d: %d, want %d", p, c.Code, c.Count, m.HousingCount(c.Code))
			}
		}
		var lf apiv1.LaborForceResponse
		mustGet(t, ctx, fmt.Sprintf("http://%s/v1/labor-force?year=%d&month=%d", api, p.Year, p.Month), &lf)
		if got, wantF := lf.National, LaborFigures(m.National()); got != wantF {
			t.Fatalf("%v: national labor force %+v, want %+v", p, got, wantF)
		}
		states := 0
		for _, fips := range census.States() {
			if l := m.State(fips); !l.IsZero() {
				states++
			}
		}
		if len(lf.States) != states {
			t.Fatalf("%v: %d states, want %d", p, len(lf.States), states)
		}
		for _, s := range lf.States {
			if wantF := LaborFigures(m.State(s.FIPS)); s.LaborFigures != wantF {
				t.Fatalf("%v: state %s: %+v, want %+v", p, s.State, s.LaborFigures, wantF)
			}
		}
		var sa apiv1.LaborForceBySexAgeResponse
		mustGet(t, ctx, fmt.Sprintf("http://%s/v1/labor-force/by-sex-age?year=%d&month=%d", api, p.Year, p.Month), &sa)
		if wantSA := SexAgeFigures(m); !slices.Equal(sa.Groups, wantSA) {
			t.Fatalf("%v: labor force by sex and age %+v, want %+v", p, sa.Groups, wantSA)
		}
		// Counted by computers of this build, every table is whole.
		for table, srcs := range map[string][]string{"housing": h.IncompleteSources, "labor force": lf.IncompleteSources,
			"labor force by sex and age": sa.IncompleteSources} {
			if len(srcs) > 0 {
				t.Fatalf("%v: %s marked incomplete for %v", p, table, srcs)
			}
		}
		rate := lf.National.UnemploymentRate
		if math.IsNaN(rate) || rate <= 0 || rate >= 0.5 {
			t.Fatalf("%v: implausible unemployment rate %v", p, rate)
		}
	}
}

func mustGet(t testing.TB, ctx context.Context, url string, v any) {
	t.Helper()
	code, err := GetJSON(ctx, url, v)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if code != 200 {
		t.Fatalf("GET %s: status %d", url, code)
	}
}

// CreateComputeTopic creates the pipeline's compute topic with partitions,
// as the reader would, so that computers can be assigned partitions before
// any data arrives.
func (p *Pipeline) CreateComputeTopic(partitions int) {
	p.t.Helper()
	log := zap.NewNop()
	admin, err := extkafka.NewAdmin(extkafka.AdminConfig(extkafka.Config{BootstrapServers: p.Bootstrap}), log)
	if err != nil {
		p.t.Fatal(err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := extkafka.EnsureTopic(ctx, admin, extkafka.TopicSpec{Name: p.ComputeTopic, Partitions: partitions, ReplicationFactor: max(p.ReplicationFactor, 1)}); err != nil {
		p.t.Fatal(err)
	}
}

// GroupLag is the lag of group's committed offsets on topic: the sum over
// partitions of the high watermark minus the committed offset (the whole
// partition when nothing is committed).
func (p *Pipeline) GroupLag(group, topic string) (int64, error) {
	cfg := extkafka.Config{BootstrapServers: p.Bootstrap}
	admin, err := extkafka.NewAdmin(extkafka.AdminConfig(cfg), zap.NewNop())
	if err != nil {
		return 0, err
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := extkafka.DescribeTopic(ctx, admin, topic)
	if err != nil {
		return 0, err
	}
	var parts []kafka.TopicPartition
	for _, pi := range info.Partitions {
		parts = append(parts, kafka.TopicPartition{Topic: &topic, Partition: int32(pi.ID)})
	}
	res, err := admin.ListConsumerGroupOffsets(ctx, []kafka.ConsumerGroupTopicPartitions{{Group: group, Partitions: parts}})
	if err != nil {
		return 0, fmt.Errorf("committed offsets of %s: %w", group, err)
	}
	committed := map[int32]int64{}
	for _, g := range res.ConsumerGroupsTopicPartitions {
		for _, tp := range g.Partitions {
			committed[tp.Partition] = int64(tp.Offset)
		}
	}
	c, err := extkafka.NewConsumer(extkafka.ConsumerConfig(cfg, group+"-lag-probe", extkafka.GroupProtocolClassic, nil), zap.NewNop(), nil)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var lag int64
	for _, tp := range parts {
		_, high, err := c.QueryWatermarkOffsets(topic, tp.Partition, 10_000)
		if err != nil {
			return 0, fmt.Errorf("watermarks of %s[%d]: %w", topic, tp.Partition, err)
		}
		lag += high - max(committed[tp.Partition], 0)
	}
	return lag, nil
}
