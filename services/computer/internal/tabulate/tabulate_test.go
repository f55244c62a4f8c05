package tabulate

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
	"github.com/kafka-scale/kafka-scale/pkg/schema/schemapb"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

// realRecords are the two real CPS records of the census package's testdata.
func realRecords(t testing.TB) [][]byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "../../../../pkg/census/testdata/real-2020.dat"))
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimRight(b, "\r\n"), []byte("\n"))
	require.Len(t, lines, 2)
	for i := range lines {
		lines[i] = bytes.TrimRight(lines[i], "\r")
	}
	return lines
}

func TestTabulate(t *testing.T) {
	recs := realRecords(t)
	badPEMLR := bytes.Clone(recs[0])
	copy(badPEMLR[179:181], "x1")
	data := bytes.Join([][]byte{recs[0], []byte("short"), badPEMLR, recs[1], bytes.Repeat([]byte("9"), 1200)}, []byte("\n"))
	data = append(data, '\n')

	reg := prometheus.NewRegistry()
	tab := New(reg, zaptest.NewLogger(t))
	r := tab.Tabulate(&schema.Chunk{Source: "mixed.dat", Fingerprint: "fp", Seq: 4, FirstLine: 2001, Records: 5, Last: true, Data: data})

	require.Equal(t, uint64(5), r.Records)
	require.Equal(t, uint64(3), r.Rejected)
	require.Equal(t, map[string]uint64{census.ReasonLength: 2, "field:PEMLR": 1}, r.Rejects)
	require.True(t, r.Last)
	require.Equal(t, uint32(4), r.Seq)

	want := tally.New()
	for i, line := range recs {
		var rec census.Record
		require.NoError(t, census.Parse(line, i+1, &rec))
		want.Add(&rec)
	}
	require.True(t, want.Equal(r.Tally), "tally of the good records")
	require.Equal(t, uint64(2), r.Tally.Records())

	require.Equal(t, 2.0, testutil.ToFloat64(tab.records))
	require.Equal(t, 2.0, testutil.ToFloat64(tab.rejected.WithLabelValues("mixed.dat", census.ReasonLength)))
	require.Equal(t, 1.0, testutil.ToFloat64(tab.rejected.WithLabelValues("mixed.dat", "field:PEMLR")))
}

func TestProcess(t *testing.T) {
	recs := realRecords(t)
	topic := "compute"
	chunk := schema.AppendChunk(nil, &schema.Chunk{Source: "jan20pub.dat.gz", Fingerprint: "fp", Year: 2020, Month: 1, FirstLine: 1, Records: 1, Data: append(recs[0], '\n')})
	var four []byte
	for range 4 {
		four = append(append(four, recs[0]...), '\n')
	}
	enc := schema.ChunkEncoder{Codec: schema.CodecLZ4}
	lz4Chunk := enc.Append(nil, &schema.Chunk{Source: "jan20pub.dat.gz", Fingerprint: "fp", Year: 2020, Month: 1, FirstLine: 1, Records: 4, Data: four})
	var corrupt schema.Chunk
	require.NoError(t, schema.DecodeChunk(bytes.Clone(lz4Chunk), &corrupt))
	require.Equal(t, schema.CodecLZ4, corrupt.Codec, "four records compress")
	corrupt.DataSize++
	corruptChunk := schema.AppendChunk(nil, &corrupt)
	hdrs := func(typ, version string) []kafka.Header {
		return []kafka.Header{{Key: schema.HeaderType, Value: []byte(typ)}, {Key: schema.HeaderVersion, Value: []byte(version)}}
	}
	for _, tc := range []struct {
		name        string
		msg         *kafka.Message
		wantRecords uint64
		wantErr     string
	}{
		{name: "chunk", msg: &kafka.Message{TopicPartition: kafka.TopicPartition{Topic: &topic}, Key: []byte("jan20pub.dat.gz/0"), Value: chunk, Headers: hdrs("chunk", "1")}, wantRecords: 1},
		{name: "lz4 chunk", msg: &kafka.Message{Key: []byte("jan20pub.dat.gz/0"), Value: lz4Chunk, Headers: hdrs("chunk", "2")}, wantRecords: 4},
		{name: "corrupt lz4 chunk", msg: &kafka.Message{Key: []byte("k"), Value: corruptChunk, Headers: hdrs("chunk", "2")}, wantErr: `chunk "k": corrupt chunk data: lz4`},
		{name: "newer schema", msg: &kafka.Message{Key: []byte("k"), Value: chunk, Headers: hdrs("chunk", "9")}, wantErr: `chunk "k": unsupported schema version: chunk version 9 (this build reads up to 2)`},
		{name: "garbage", msg: &kafka.Message{Key: []byte("k"), Value: []byte{0xff, 0xff}, Headers: hdrs("chunk", "1")}, wantErr: `chunk "k": malformed message`},
		{name: "truncated", msg: &kafka.Message{Key: []byte("k"), Value: lz4Chunk[:len(lz4Chunk)/2], Headers: hdrs("chunk", "2")}, wantErr: `chunk "k": malformed message`},
		{name: "absurd record count", msg: &kafka.Message{Key: []byte("k"), Headers: hdrs("chunk", "1"),
			Value: schema.AppendChunk(nil, &schema.Chunk{Source: "jan20pub.dat.gz", Records: 1 << 31, Data: append(recs[0], '\n')})},
			wantErr: `chunk "k": malformed message: over a limit: records 2147483648 is more than 9000`},
		{name: "chunk number near 2^32", msg: &kafka.Message{Key: []byte("k"), Headers: hdrs("chunk", "1"),
			Value: schema.AppendChunk(nil, &schema.Chunk{Source: "jan20pub.dat.gz", Seq: 1<<32 - 2, Records: 1, Data: append(recs[0], '\n')})},
			wantErr: `chunk "k": malformed message: over a limit: chunk number 4294967294 is more than 1048575`},
		{name: "text without a source", msg: &kafka.Message{Key: []byte("k"), Value: []byte("hello"), Headers: hdrs("chunk", "1")}, wantErr: `chunk "k": malformed message`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := New(prometheus.NewRegistry(), zaptest.NewLogger(t))
			outs, err := tab.Process(tc.msg)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, outs, 1)
			require.Equal(t, "jan20pub.dat.gz", string(outs[0].Key))
			var r schema.Result
			require.NoError(t, schema.DecodeResult(outs[0].Value, &r))
			require.Equal(t, tc.wantRecords, r.Tally.Records())
			require.Equal(t, tc.wantRecords, r.Records)
			require.True(t, strings.HasPrefix(string(outs[0].Headers[0].Value), "result"))
			// The result lists its tabulations on the wire, where an
			// empty list would mean the released ones.
			var pb schemapb.Result
			require.NoError(t, pb.UnmarshalVT(outs[0].Value))
			require.Len(t, pb.Tabulations, len(schema.Tabulations()))
		})
	}
}

// The metric names are what the dashboards and alert rules query.
func TestMetricNames(t *testing.T) {
	reg := prometheus.NewRegistry()
	tab := New(reg, zaptest.NewLogger(t))
	tab.rejected.WithLabelValues("s", "length").Inc()
	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	require.ElementsMatch(t, []string{"kafka_scale_computer_records_total", "kafka_scale_computer_records_bytes_total",
		"kafka_scale_computer_rejected_records_total"}, names)
}

func BenchmarkTabulate(b *testing.B) {
	recs := realRecords(b)
	var data []byte
	for i := range 500 {
		data = append(data, recs[i%2]...)
		data = append(data, '\n')
	}
	tab := New(prometheus.NewRegistry(), zaptest.NewLogger(b))
	c := &schema.Chunk{Source: "s", FirstLine: 1, Records: 500, Data: data}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		tab.Tabulate(c)
	}
}

// TestTabulateLayouts: a chunk is parsed in the layout of its source's
// month, at its record length; records of another month are rejected.
func TestTabulateLayouts(t *testing.T) {
	gen := func(year, month, n int) ([]byte, *censusgen.Expected) {
		var buf bytes.Buffer
		exp, err := censusgen.Generate(&buf, censusgen.Options{Year: year, Month: month, Records: n, Seed: 3})
		require.NoError(t, err)
		return bytes.ReplaceAll(buf.Bytes(), []byte("\r\n"), []byte("\n")), exp
	}
	jan96, expJan96 := gen(1996, 1, 300)
	feb96, _ := gen(1996, 2, 5)
	jan20, expJan20 := gen(2020, 1, 300)
	for _, tc := range []struct {
		name        string
		chunk       schema.Chunk
		wantRejects map[string]uint64
		want        *tally.Tally
	}{
		{name: "1996 in its layout", chunk: schema.Chunk{Year: 1996, Month: 1, RecordLen: 1000, Data: jan96},
			wantRejects: map[string]uint64{}, want: expJan96.Tally},
		{name: "2020 without a record length (older readers)", chunk: schema.Chunk{Year: 2020, Month: 1, Data: jan20},
			wantRejects: map[string]uint64{}, want: expJan20.Tally},
		{name: "records of another month", chunk: schema.Chunk{Year: 1996, Month: 1, RecordLen: 1000, Data: append(bytes.Clone(jan96), feb96...)},
			wantRejects: map[string]uint64{census.ReasonPeriod: 5}, want: expJan96.Tally},
		{name: "1996 read as 2020", chunk: schema.Chunk{Year: 2020, Month: 1, RecordLen: 1000, Data: jan96},
			wantRejects: map[string]uint64{"field:HRMONTH": 300}, want: tally.New()},
		{name: "records shorter than the layout", chunk: schema.Chunk{Year: 1996, Month: 1, RecordLen: 800, Data: jan96},
			wantRejects: map[string]uint64{census.ReasonLength: 300}, want: tally.New()},
		{name: "a month before the layouts", chunk: schema.Chunk{Year: 1993, Month: 12, RecordLen: 1000, Data: jan96},
			wantRejects: map[string]uint64{census.ReasonPeriod: 300}, want: tally.New()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.chunk.Source = "s"
			r := New(prometheus.NewRegistry(), zaptest.NewLogger(t)).Tabulate(&tc.chunk)
			require.Equal(t, tc.wantRejects, r.Rejects)
			require.True(t, tc.want.Equal(r.Tally), "tally")
		})
	}
}
