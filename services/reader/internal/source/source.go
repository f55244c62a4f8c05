// Package source opens census files for the reader: local files, gzipped,
// zipped or plain, and files of the Census site over HTTP, .dat.gz or .zip,
// whichever the site has, streamed with retries and resumed with Range
// requests where a transfer breaks. The format is told by the content's
// magic bytes (Decode), never by the name.
package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kafka-scale/kafka-scale/pkg/census"
)

// Source is one census file to load.
type Source struct {
	// Name is the file's base name, e.g. "jan20pub.dat.gz": the source's
	// identity in results.
	Name        string
	Year, Month int // from the name; 0 when the name does not follow <mon><yy>pub

	plain bool // plain records are data (local files); over HTTP they are an error page
	open  func(ctx context.Context) (io.ReadCloser, string, error)
}

// Open returns the raw (possibly compressed) byte stream and a fingerprint of
// the content that is the same for every load of the same bytes. Over HTTP,
// Name becomes the file the site had: the month's .dat.gz or its .zip. A
// month the site does not have is ErrNotPublished.
func (s *Source) Open(ctx context.Context) (io.ReadCloser, string, error) {
	return s.open(ctx)
}

// Records returns the records of the raw stream Open returned, and its
// format (Decode).
func (s *Source) Records(raw io.Reader) (io.Reader, string, error) {
	return Decode(raw, s.plain)
}

// fingerprintHead is how much of a local file's start goes into its
// fingerprint, next to its size.
const fingerprintHead = 64 << 10

// File is a local census file, gzipped, zipped or plain.
func File(path string) *Source {
	name := filepath.Base(path)
	y, m, _ := census.ParseFileName(name) // 0, 0 for other names
	return &Source{Name: name, Year: y, Month: m, plain: true, open: func(context.Context) (io.ReadCloser, string, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, "", fmt.Errorf("open %s: %w", path, err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, "", fmt.Errorf("stat %s: %w", path, err)
		}
		h := sha256.New()
		if _, err := io.CopyN(h, f, fingerprintHead); err != nil && !errors.Is(err, io.EOF) {
			f.Close()
			return nil, "", fmt.Errorf("read %s: %w", path, err)
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, "", fmt.Errorf("seek %s: %w", path, err)
		}
		fp := fmt.Sprintf("size:%d,head:%s", st.Size(), hex.EncodeToString(h.Sum(nil))[:16])
		return f, fp, nil
	}}
}
