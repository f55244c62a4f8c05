package schema

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
)

// Every declared size or count over its limit is rejected with ErrLimit,
// and a message without a source with ErrMissingField.
func TestDecodeLimits(t *testing.T) {
	chunk := func(c Chunk) []byte { return AppendChunk(nil, &c) }
	result := func(r Result) []byte { return AppendResult(nil, &r) }
	gen := func(g GenerationState) []byte { return AppendGenerationState(nil, &g) }
	long := func(n int) string { return string(bytes.Repeat([]byte("x"), n)) }
	decodeChunk := func(b []byte) error { var c Chunk; return DecodeChunk(b, &c) }
	decodeResult := func(b []byte) error { var r Result; return DecodeResult(b, &r) }
	decodeGen := func(b []byte) error { var g GenerationState; return DecodeGenerationState(b, &g) }
	decodeOffsets := func(b []byte) error { var o Offsets; return DecodeOffsets(b, &o) }
	offsetsEntryOf := func(p, off uint64) []byte {
		var e []byte
		e = protowire.AppendTag(e, entryPart, protowire.VarintType)
		e = protowire.AppendVarint(e, p)
		e = fieldVarint(e, entryOffset, off)
		return appendMessage(AppendOffsets(nil, &Offsets{Topic: "results"}), offsetsEntry, e)
	}
	rejects := map[string]uint64{}
	for i := range MaxRejectReasons + 1 {
		rejects[long(i+1)] = 1
	}
	for _, tc := range []struct {
		name    string
		decode  func([]byte) error
		b       []byte
		wantErr error
	}{
		{"chunk: largest chunk number", decodeChunk, chunk(Chunk{Source: "s", Seq: MaxChunks - 1}), nil},
		{"chunk: chunk number", decodeChunk, chunk(Chunk{Source: "s", Seq: MaxChunks}), ErrLimit},
		{"chunk: chunk number near 2^32", decodeChunk, chunk(Chunk{Source: "s", Seq: math.MaxUint32 - 1}), ErrLimit},
		{"chunk: records", decodeChunk, chunk(Chunk{Source: "s", Records: MaxChunkRecords + 1}), ErrLimit},
		// A 32-bit field keeps the low 32 bits of a longer varint, as every
		// protobuf reader does: the limit applies to those.
		{"chunk: records over 32 bits", decodeChunk, fieldVarint(chunk(Chunk{Source: "s"}), chunkRecords, 1<<40|(MaxChunkRecords+1)), ErrLimit},
		{"chunk: data_size", decodeChunk, chunk(Chunk{Source: "s", Codec: CodecLZ4, DataSize: MaxChunkDataSize + 1}), ErrLimit},
		{"chunk: record_len", decodeChunk, chunk(Chunk{Source: "s", RecordLen: MaxRecordLen + 1}), ErrLimit},
		{"chunk: source", decodeChunk, chunk(Chunk{Source: long(MaxNameLen + 1)}), ErrLimit},
		{"chunk: fingerprint", decodeChunk, chunk(Chunk{Source: "s", Fingerprint: long(MaxNameLen + 1)}), ErrLimit},
		{"chunk: format", decodeChunk, chunk(Chunk{Source: "s", Format: long(MaxNameLen + 1)}), ErrLimit},
		{"chunk: error", decodeChunk, chunk(Chunk{Source: "s", Error: long(MaxErrorLen + 1)}), ErrLimit},
		{"chunk: data", decodeChunk, chunk(Chunk{Source: "s", Data: make([]byte, MaxChunkDataSize+1)}), ErrLimit},
		{"chunk: no source", decodeChunk, chunk(Chunk{Seq: 3}), ErrMissingField},
		{"result: largest chunk number", decodeResult, result(Result{Source: "s", Seq: MaxChunks - 1}), nil},
		{"result: chunk number near 2^32", decodeResult, result(Result{Source: "s", Seq: math.MaxUint32 - 1}), ErrLimit},
		{"result: records", decodeResult, result(Result{Source: "s", Records: MaxChunkRecords + 1}), ErrLimit},
		{"result: rejected", decodeResult, result(Result{Source: "s", Rejected: MaxChunkRecords + 1}), ErrLimit},
		{"result: reject reason", decodeResult, result(Result{Source: "s", Rejects: map[string]uint64{long(MaxNameLen + 1): 1}}), ErrLimit},
		{"result: reject reasons", decodeResult, result(Result{Source: "s", Rejects: rejects}), ErrLimit},
		{"result: tally periods", decodeResult, manyMonths(result(Result{Source: "s"}), resultTally, MaxTallyMonths+1), ErrLimit},
		{"result: most tally periods", decodeResult, manyMonths(result(Result{Source: "s"}), resultTally, MaxTallyMonths), nil},
		{"result: no source", decodeResult, result(Result{Records: 3}), ErrMissingField},
		{"generation: bitset", decodeGen, gen(GenerationState{Source: "s", Seen: make([]uint64, MaxChunks/64+1)}), ErrLimit},
		{"generation: largest bitset", decodeGen, gen(GenerationState{Source: "s", Seen: make([]uint64, MaxChunks/64)}), nil},
		{"generation: chunks", decodeGen, gen(GenerationState{Source: "s", Chunks: MaxChunks + 1}), ErrLimit},
		{"generation: total", decodeGen, gen(GenerationState{Source: "s", Total: MaxChunks + 1}), ErrLimit},
		{"generation: negative total", decodeGen, gen(GenerationState{Source: "s", Total: -2}), ErrLimit},
		{"generation: tally periods", decodeGen, manyMonths(gen(GenerationState{Source: "s"}), genTally, MaxTallyMonths+1), ErrLimit},
		{"generation: no source", decodeGen, gen(GenerationState{Chunks: 1}), ErrMissingField},
		{"offsets: partition", decodeOffsets, offsetsEntryOf(MaxPartitions, 1), ErrLimit},
		{"offsets: partition over 32 bits", decodeOffsets, offsetsEntryOf(1<<40|MaxPartitions, 1), ErrLimit},
		{"offsets: negative partition", decodeOffsets, offsetsEntryOf(math.MaxUint64, 1), ErrLimit},
		{"offsets: offset", decodeOffsets, offsetsEntryOf(1, math.MaxUint64), ErrLimit},
		{"offsets: topic", decodeOffsets, AppendOffsets(nil, &Offsets{Topic: long(MaxNameLen + 1)}), ErrLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.decode(tc.b)
			if tc.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
			require.ErrorIs(t, err, ErrMalformed)
		})
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{limitErr("records", 2, 1), "over_limit"},
		{ErrMissingField, "missing_field"},
		{ErrMalformed, "malformed"},
		{ErrUnsupportedVersion, "unsupported_version"},
		{ErrWrongType, "wrong_type"},
		{ErrCorruptData, "corrupt_data"},
		{ErrUnknownCodec, "unknown_codec"},
		{errors.New("boom"), "other"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, Reason(tc.err))
			require.Contains(t, Reasons(), tc.want)
		})
	}
}
