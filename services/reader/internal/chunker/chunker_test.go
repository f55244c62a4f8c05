package chunker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

type got struct {
	Seq       uint32
	FirstLine uint64
	Records   uint32
	Last      bool
	Error     string
	Data      string
}

// failingReader returns its content, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, f.err
	}
	return n, err
}

func TestCut(t *testing.T) {
	long := strings.Repeat("x", MaxLine+500)
	for _, tc := range []struct {
		name    string
		in      io.Reader
		size    int
		want    []got
		wantErr string
		lines   uint64
	}{
		{name: "empty source gets one empty last chunk", in: strings.NewReader(""), size: 2,
			want: []got{{Seq: 0, FirstLine: 1, Last: true}}},
		{name: "partial last chunk", in: strings.NewReader("a\r\nb\r\nc\r\nd\r\ne\r\n"), size: 2, lines: 5,
			want: []got{
				{Seq: 0, FirstLine: 1, Records: 2, Data: "a\nb\n"},
				{Seq: 1, FirstLine: 3, Records: 2, Data: "c\nd\n"},
				{Seq: 2, FirstLine: 5, Records: 1, Last: true, Data: "e\n"},
			}},
		{name: "full last chunk is flagged last", in: strings.NewReader("a\nb\nc\nd\n"), size: 2, lines: 4,
			want: []got{
				{Seq: 0, FirstLine: 1, Records: 2, Data: "a\nb\n"},
				{Seq: 1, FirstLine: 3, Records: 2, Last: true, Data: "c\nd\n"},
			}},
		{name: "no newline at end, blank line kept", in: strings.NewReader("a\n\nc"), size: 10, lines: 3,
			want: []got{{Seq: 0, FirstLine: 1, Records: 3, Last: true, Data: "a\n\nc\n"}}},
		{name: "overlong line is cut", in: strings.NewReader("a\n" + long + "\nb\n"), size: 10, lines: 3,
			want: []got{{Seq: 0, FirstLine: 1, Records: 3, Last: true, Data: "a\n" + long[:MaxLine] + "\nb\n"}}},
		{name: "read error keeps what was read", in: &failingReader{r: strings.NewReader("a\nb\nc\n"), err: io.ErrUnexpectedEOF}, size: 2, lines: 3,
			wantErr: "f.dat.gz: after line 3: unexpected EOF",
			want: []got{
				{Seq: 0, FirstLine: 1, Records: 2, Data: "a\nb\n"},
				{Seq: 1, FirstLine: 3, Records: 1, Last: true, Error: "f.dat.gz: after line 3: unexpected EOF", Data: "c\n"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var chunks []got
			st, err := Cut(context.Background(), tc.in, Source{Name: "f.dat.gz", Fingerprint: "fp", Year: 2020, Month: 1}, tc.size,
				func(c *schema.Chunk) error {
					require.Equal(t, "f.dat.gz", c.Source)
					require.Equal(t, "fp", c.Fingerprint)
					chunks = append(chunks, got{Seq: c.Seq, FirstLine: c.FirstLine, Records: c.Records, Last: c.Last, Error: c.Error, Data: string(c.Data)})
					return nil
				})
			if tc.wantErr != "" {
				require.EqualError(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, chunks)
			require.Equal(t, tc.lines, st.Lines)
			require.Equal(t, uint32(len(tc.want)), st.Chunks)
		})
	}
}

func TestCutIntoHandsOverItsBuffers(t *testing.T) {
	var (
		handed int
		kept   [][]byte
	)
	next := func() []byte { handed++; return make([]byte, 0, 8) }
	st, err := CutInto(context.Background(), strings.NewReader("a\nb\nc\nd\ne\n"), Source{Name: "f"}, 2, next,
		func(c *schema.Chunk) error {
			kept = append(kept, c.Data) // owned: kept without a copy
			return nil
		})
	require.NoError(t, err)
	require.Equal(t, uint32(3), st.Chunks)
	require.Equal(t, 3, handed, "one buffer per chunk, none after the last")
	require.Equal(t, []string{"a\nb\n", "c\nd\n", "e\n"}, []string{string(kept[0]), string(kept[1]), string(kept[2])})
}

func TestCutStopsOnEmitError(t *testing.T) {
	boom := errors.New("queue closed")
	_, err := Cut(context.Background(), strings.NewReader("a\nb\nc\n"), Source{Name: "f"}, 1, func(*schema.Chunk) error { return boom })
	require.ErrorIs(t, err, boom)
	_, err = Cut(context.Background(), strings.NewReader("a"), Source{Name: "f"}, 0, nil)
	require.EqualError(t, err, "chunk size 0: want at least 1")
}

// Cut allocates per source (its read buffer and one chunk buffer), never per
// chunk or record.
func BenchmarkCut(b *testing.B) {
	const records = 20_000
	var file bytes.Buffer
	if _, err := censusgen.Generate(&file, censusgen.Options{Year: 2020, Month: 1, Records: records, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{100, 500, 900} {
		b.Run(fmt.Sprintf("chunk=%d", size), func(b *testing.B) {
			b.SetBytes(int64(file.Len()))
			b.ReportAllocs()
			for b.Loop() {
				st, err := Cut(context.Background(), bytes.NewReader(file.Bytes()), Source{Name: "jan20pub.dat.gz"}, size,
					func(*schema.Chunk) error { return nil })
				if err != nil || st.Lines != records {
					b.Fatalf("cut %d lines: %v", st.Lines, err)
				}
			}
			b.ReportMetric(float64(b.N)*records/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// TestRecordLen: every chunk carries the source's record length, the most
// common in the first chunk, whatever a few bad lines say.
func TestRecordLen(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want uint32
	}{
		{"empty", "", 0},
		{"one length", "abcd\r\nefgh\r\nijkl\n", 4},
		{"a short and a long line among them", "ab\nabcd\nabcd\nabcdefg\nabcd\n", 4},
		{"a tie takes the shorter", "abc\nabcd\n", 3},
		{"no line end at the end", "abcd\nabcd", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lens []uint32
			st, err := Cut(context.Background(), strings.NewReader(tc.in), Source{Name: "x", Format: "zip"}, 3, func(c *schema.Chunk) error {
				lens = append(lens, c.RecordLen)
				require.Equal(t, "zip", c.Format)
				return nil
			})
			require.NoError(t, err)
			require.Equal(t, tc.want, st.RecordLen)
			for _, n := range lens {
				require.Equal(t, tc.want, n)
			}
		})
	}
}
