package schema

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// The fuzz tests feed every decoder of bytes read from Kafka arbitrary
// input. Properties: no panic; an error is one of the schema's (Reason
// names it); allocation bounded by the input's size (decodeBudget), so no
// declared size or count makes a consumer allocate for it; and a decoded
// message encodes to a canonical form that decodes to itself.
//
// The seed corpus in testdata/fuzz/<FuzzName>/ holds real encoded messages
// and edge cases; go test -run TestFuzzCorpus -write-corpus rewrites it.

var writeCorpus = flag.Bool("write-corpus", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// decodeBudget bounds what decoding b may allocate: a small multiple of
// the input (strings copied out, a bitset, map entries for the partitions
// of offsets) plus the tally's periods, each of which may cost as little
// as two bytes of input but at most MaxTallyMonths of them.
func decodeBudget(b []byte) uint64 {
	const month = uint64(8 * (3 + 13 + 6*57)) // a tally.Month, in bytes
	return 1<<20 + 64*uint64(len(b)) + 2*MaxTallyMonths*month
}

// allocated returns the bytes allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// checkDecode runs one fuzz iteration: decode b with decode, check the
// error and the allocation, then check that encoding the message is a
// fixed point of decode-then-encode.
func checkDecode(t *testing.T, b []byte, decode func([]byte) error, encode func() []byte) {
	var err error
	n := allocated(func() { err = decode(b) })
	require.LessOrEqual(t, n, decodeBudget(b), "decoding %d bytes allocated %d", len(b), n)
	if err != nil {
		require.ErrorIs(t, err, ErrMalformed)
		require.NotEqual(t, "other", Reason(err))
		return
	}
	once := bytes.Clone(encode())
	require.NoError(t, decode(once), "decoding a re-encoded message")
	require.Equal(t, once, encode(), "re-encoding is not canonical")
}

func FuzzDecodeChunk(f *testing.F) {
	for _, s := range chunkSeeds(f) {
		f.Add(s)
	}
	var c Chunk
	buf := make([]byte, MaxChunkDataSize)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b, func(b []byte) error { return DecodeChunk(b, &c) }, func() []byte { return AppendChunk(nil, &c) })
		if c.Source == "" {
			return
		}
		// The records of a chunk that decodes are bounded too: into a
		// buffer of MaxChunkDataSize, decompression never allocates.
		data, _ := c.RecordData(buf)
		require.LessOrEqual(t, len(data), MaxChunkDataSize)
	})
}

func FuzzDecodeResult(f *testing.F) {
	for _, s := range resultSeeds() {
		f.Add(s)
	}
	var r Result
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b, func(b []byte) error { return DecodeResult(b, &r) }, func() []byte { return AppendResult(nil, &r) })
	})
}

func FuzzDecodeGenerationState(f *testing.F) {
	for _, s := range generationSeeds() {
		f.Add(s)
	}
	var g GenerationState
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b, func(b []byte) error { return DecodeGenerationState(b, &g) },
			func() []byte { return AppendGenerationState(nil, &g) })
		if len(b) > 0 {
			// The state topic's keys are read from the same bytes.
			kind, rest := ParseSnapshotKey(b)
			require.Contains(t, []string{"", KeyGenerationPrefix, KeyOffsetsPrefix}, kind)
			require.Equal(t, string(b), kind+rest)
		}
	})
}

func FuzzDecodeOffsets(f *testing.F) {
	for _, s := range offsetsSeeds() {
		f.Add(s)
	}
	var o Offsets
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b, func(b []byte) error { return DecodeOffsets(b, &o) }, func() []byte { return AppendOffsets(nil, &o) })
		require.LessOrEqual(t, len(o.Offsets), MaxPartitions)
	})
}

// Seeds: real messages as the services encode them, then edge cases.

func chunkSeeds(tb testing.TB) [][]byte {
	c := benchChunk(tb)
	c.Records = 20
	c.Data = c.Data[:20*1001]
	e := ChunkEncoder{Codec: CodecLZ4}
	last := *c
	last.Last, last.Error, last.Data, last.Records = true, "gzip: unexpected EOF", nil, 0
	return [][]byte{
		e.Append(nil, c),
		AppendChunk(nil, c),
		AppendChunk(nil, &last),
		AppendChunk(nil, &Chunk{Source: "jan95pub.dat.gz", Fingerprint: "size:0", Year: 1995, Month: 1, Last: true, NotPublished: true}),
		fieldVarint(AppendChunk(nil, &Chunk{Source: "s"}), chunkSeq, math.MaxUint32-1),
		fieldVarint(AppendChunk(nil, &Chunk{Source: "s"}), chunkRecords, math.MaxUint64),
		fieldVarint(fieldVarint(AppendChunk(nil, &Chunk{Source: "s", Data: []byte("x")}), chunkCodec, 1), chunkDataSize, 1<<40),
		e.Append(nil, c)[:len(e.Append(nil, c))/2],
		{0xff, 0xff, 0xff},
		{},
	}
}

func resultSeeds() [][]byte {
	full := Result{Source: "jan20pub.dat.gz", Fingerprint: "size:1,etag:x", Year: 2020, Month: 1, Seq: 3, Records: 500,
		Rejected: 2, Rejects: map[string]uint64{"length": 1, "HRMONTH": 1}, Tally: randomTally(1, 500), Format: "gzip"}
	enc := AppendResult(nil, &full)
	return [][]byte{
		enc,
		AppendResult(nil, &Result{Source: "jan20pub.dat.gz", Fingerprint: "f", Seq: 319, Last: true, Error: "gzip: invalid header"}),
		fieldVarint(AppendResult(nil, &Result{Source: "s"}), resultSeq, math.MaxUint32-1),
		fieldVarint(AppendResult(nil, &Result{Source: "s"}), resultRecords, math.MaxUint64),
		enc[:len(enc)-7],
		manyMonths(AppendResult(nil, &Result{Source: "s"}), resultTally, 5000),
		[]byte("not a protobuf at all, just text"),
		{},
	}
}

func generationSeeds() [][]byte {
	g := GenerationState{Source: "feb20pub.dat.gz", Fingerprint: "size:9,etag:x", Year: 2020, Month: 2,
		Seen: []uint64{^uint64(0), 5}, Chunks: 66, Total: 67, Records: 33000, Rejected: 1,
		Rejects: map[string]uint64{"length": 1}, LastSeen: 1700000000000, Tally: randomTally(2, 100), Format: "gzip"}
	enc := AppendGenerationState(nil, &g)
	huge := AppendGenerationState(nil, &GenerationState{Source: "s", Total: -1})
	huge = protowire.AppendTag(huge, genSeen, protowire.BytesType)
	huge = protowire.AppendVarint(huge, 1<<40) // a bitset length with no bytes behind it
	return [][]byte{
		enc,
		AppendGenerationState(nil, &GenerationState{Source: "s", Total: -1}),
		huge,
		fieldVarint(AppendGenerationState(nil, &GenerationState{Source: "s"}), genTotal, protowire.EncodeZigZag(math.MaxInt64)),
		enc[:len(enc)/3],
		manyMonths(AppendGenerationState(nil, &GenerationState{Source: "s"}), genTally, 5000),
		[]byte("gen/jan20pub.dat.gz/size:1"),
		{},
	}
}

func offsetsSeeds() [][]byte {
	enc := AppendOffsets(nil, &Offsets{Topic: "results", Offsets: map[int32]int64{0: 17, 1: 0, 5: 123456789}})
	var far []byte
	far = protowire.AppendTag(far, entryPart, protowire.VarintType)
	far = protowire.AppendVarint(far, math.MaxUint32)
	return [][]byte{
		enc,
		appendMessage(AppendOffsets(nil, &Offsets{Topic: "results"}), offsetsEntry, far),
		enc[:len(enc)-1],
		[]byte("offsets/results"),
		{},
	}
}

// manyMonths appends a tally field of n distinct periods with nothing
// counted: two or three bytes of input each, a tally.Month allocated for
// each unless the number of periods is bounded.
func manyMonths(b []byte, num protowire.Number, n int) []byte {
	var t []byte
	for i := range n {
		var m []byte
		m = protowire.AppendTag(m, monthYear, protowire.VarintType)
		m = protowire.AppendVarint(m, uint64(i))
		t = appendMessage(t, tallyMonth, m)
	}
	return appendMessage(b, num, t)
}

// fieldVarint appends a varint field to an encoded message: a later field
// overrides an earlier one of the same number.
func fieldVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// TestFuzzCorpus checks that the committed seed corpus is the one the seeds
// above make (-write-corpus rewrites it).
func TestFuzzCorpus(t *testing.T) {
	for name, seeds := range map[string][][]byte{
		"FuzzDecodeChunk": chunkSeeds(t), "FuzzDecodeResult": resultSeeds(),
		"FuzzDecodeGenerationState": generationSeeds(), "FuzzDecodeOffsets": offsetsSeeds(),
	} {
		for i, s := range seeds {
			path := filepath.Join("testdata", "fuzz", name, fmt.Sprintf("seed-%02d", i))
			want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", s)
			if *writeCorpus {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, want, 0o644))
				continue
			}
			got, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./pkg/schema -run TestFuzzCorpus -write-corpus")
			require.Equal(t, string(want), string(got), path)
		}
	}
}
