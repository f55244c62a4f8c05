// Package chunker cuts a stream of census records into the chunks the reader
// produces to the compute topic.
//
// Records are not parsed here: a bad record travels in its chunk and the
// computer rejects it with its line number, so there is one place where
// records are judged and counted.
package chunker

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kafka-scale/kafka-scale/pkg/schema"
)

// MaxLine bounds a line kept in a chunk. Longer lines are cut to MaxLine
// bytes: the computer still rejects them for their length, and a file with
// no line ends cannot make a chunk unbounded.
const MaxLine = 4096

// Source names what is being cut.
type Source struct {
	Name        string
	Fingerprint string
	Year, Month int
	Format      string // how the source is stored: "gzip", "zip", "plain"
}

// BufferCap is the capacity a chunk buffer of size records starts with:
// enough for that many records of the census width and their line ends,
// so that it grows only for wider lines.
func BufferCap(size int) int { return size * 1002 }

// Stats says what Cut produced.
type Stats struct {
	Lines  uint64 // records cut
	Bytes  uint64 // record bytes read, line ends included
	Chunks uint32
	// RecordLen is the length of the source's records, without line
	// ends: the most common among the first chunk's lines.
	RecordLen uint32
}

// Cut reads records from r and calls emit for every chunk of at most size
// records, in order. The last chunk has Last set (an empty source still gets
// one, empty, chunk). When reading fails, the records read so far are still
// emitted, the last chunk carries the error, and Cut returns it. The chunk
// passed to emit, and its Data, are only valid during the call.
func Cut(ctx context.Context, r io.Reader, src Source, size int, emit func(*schema.Chunk) error) (Stats, error) {
	return CutInto(ctx, r, src, size, nil, emit)
}

// CutInto is Cut with the chunks' buffers supplied by next: each chunk's
// Data is a buffer next returned, which emit owns from then on (it may
// hand it to another goroutine), and Cut calls next again for the
// following chunk. With next nil, one buffer is reused, as by Cut.
func CutInto(ctx context.Context, r io.Reader, src Source, size int, next func() []byte, emit func(*schema.Chunk) error) (Stats, error) {
	if size < 1 {
		return Stats{}, fmt.Errorf("chunk size %d: want at least 1", size)
	}
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		st    Stats
		line  uint64
		data  []byte
		chunk = schema.Chunk{Source: src.Name, Fingerprint: src.Fingerprint, Year: src.Year, Month: src.Month, FirstLine: 1, Format: src.Format}
	)
	if next != nil {
		data = next()[:0]
	} else {
		data = make([]byte, 0, BufferCap(size))
	}
	flush := func(last bool, readErr error) error {
		if chunk.Seq == 0 {
			chunk.RecordLen = recordLen(data)
			st.RecordLen = chunk.RecordLen
		}
		chunk.Data, chunk.Last = data, last
		if readErr != nil {
			chunk.Error = readErr.Error()
		}
		if err := emit(&chunk); err != nil {
			return err
		}
		st.Chunks++
		chunk.Seq++
		chunk.FirstLine += uint64(chunk.Records)
		chunk.Records = 0
		if last {
			return nil
		}
		if next != nil {
			data = next()[:0]
		} else {
			data = data[:0]
		}
		return nil
	}
	for {
		rec, n, err := readLine(br)
		st.Bytes += uint64(n)
		if len(rec) > 0 || (n > 0 && err == nil) {
			if int(chunk.Records) == size {
				if ctx.Err() != nil {
					return st, ctx.Err()
				}
				if ferr := flush(false, nil); ferr != nil {
					return st, ferr
				}
			}
			line++
			st.Lines++
			chunk.Records++
			data = append(data, rec...)
			data = append(data, '\n')
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return st, flush(true, nil)
		}
		readErr := fmt.Errorf("%s: after line %d: %w", src.Name, line, err)
		if ferr := flush(true, readErr); ferr != nil {
			return st, errors.Join(readErr, ferr)
		}
		return st, readErr
	}
}

// recordLen is the most common length of the lines in data (each ended by
// "\n"), the shorter on a tie; 0 when there are none. The records of a
// file all have one length, which the layouts do not say for every year:
// it is read from the data, and a few bad lines do not change it.
func recordLen(data []byte) uint32 {
	counts := map[int]int{}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		counts[i]++
		data = data[min(i+1, len(data)):]
	}
	best, bestN := 0, 0
	for n, c := range counts {
		if c > bestN || c == bestN && n < best {
			best, bestN = n, c
		}
	}
	return uint32(best)
}

// readLine returns the next line without its line end, cut to MaxLine, and
// the number of bytes consumed. At the end of the stream it returns the
// final unterminated line, if any, with io.EOF.
func readLine(br *bufio.Reader) ([]byte, int, error) {
	frag, err := br.ReadSlice('\n')
	if !errors.Is(err, bufio.ErrBufferFull) {
		// The common case: the whole line is in the buffer, no copy.
		return trimLine(frag), len(frag), err
	}
	out := append([]byte(nil), frag[:min(len(frag), MaxLine)]...)
	n := len(frag)
	for errors.Is(err, bufio.ErrBufferFull) {
		frag, err = br.ReadSlice('\n')
		n += len(frag)
		if room := MaxLine + 2 - len(out); room > 0 {
			out = append(out, frag[:min(len(frag), room)]...)
		}
	}
	return trimLine(out), n, err
}

func trimLine(b []byte) []byte {
	b = bytes.TrimRight(b, "\r\n")
	if len(b) > MaxLine {
		b = b[:MaxLine]
	}
	return b
}
