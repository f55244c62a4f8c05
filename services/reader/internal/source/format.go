package source

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// Formats of a source, as chunks and the API name them.
const (
	FormatGzip  = "gzip"
	FormatZip   = "zip"
	FormatPlain = "plain"
)

// ErrNotCensusFile: the content is neither gzip nor zip (nor, for a local
// file, plain records): an error page, most often.
var ErrNotCensusFile = errors.New("neither gzip nor zip")

// ErrZip: a zip file this reader cannot take its member from.
var ErrZip = errors.New("zip")

// describer is a raw stream that can say where it comes from, for errors:
// an HTTP download names its URL, status and content type.
type describer interface{ Describe() string }

// headBytes is how much of a rejected body an error quotes.
const headBytes = 64

// Decode returns the records of a raw stream and the format it found by the
// content's magic bytes, never by a name: gzip streams are decompressed,
// zip files give their one member (read as it streams, from its local
// header, and checked against its CRC-32), and plain records (beginning with
// a digit) pass through when plain is true (local files); anything else is an error naming the
// stream and its first bytes. klauspost/compress's gzip decodes about 1.8
// times as fast as the standard library's (bench/README.md), and the reader
// spends most of its CPU there.
func Decode(raw io.Reader, plain bool) (io.Reader, string, error) {
	br := bufio.NewReaderSize(raw, 256<<10)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, "", fmt.Errorf("%s: %w", describe(raw), err)
	}
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", fmt.Errorf("%s: gzip header: %w", describe(raw), err)
		}
		return zr, FormatGzip, nil
	case string(magic) == "PK\x03\x04":
		zr, err := newZipMember(br)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", describe(raw), err)
		}
		return zr, FormatZip, nil
	case string(magic) == "PK\x05\x06":
		return nil, "", fmt.Errorf("%s: %w: a zip file with no member", describe(raw), ErrZip)
	case plain && (len(magic) == 0 || magic[0] >= '0' && magic[0] <= '9'):
		// Records begin with HRHHID's digits.
		return br, FormatPlain, nil
	}
	head, _ := br.Peek(headBytes)
	return nil, "", fmt.Errorf("%s: %w: first bytes %q", describe(raw), ErrNotCensusFile, head)
}

// Decompress is Decode of a local file's stream, plain records allowed.
func Decompress(r io.Reader) (io.Reader, error) {
	zr, _, err := Decode(r, true)
	return zr, err
}

func describe(r io.Reader) string {
	if d, ok := r.(describer); ok {
		return d.Describe()
	}
	return "content"
}

// zipMember streams the first member of a zip file from its local header:
// deflate delimits itself, so neither the central directory nor the sizes
// are needed, and a truncated file still gives the records before the
// damage. At the member's end its CRC-32 and size are checked, and a second
// member is an error: a census zip holds one.
type zipMember struct {
	br         *bufio.Reader
	r          io.Reader // the member's bytes, decompressed
	name       string
	crc        hash.Hash32
	wantCRC    uint32
	wantSize   uint32
	size       uint32
	descriptor bool // CRC and sizes follow the data
	err        error
}

const (
	zipLocalHeader = 30
	zipFlagDesc    = 1 << 3
	zipStored      = 0
	zipDeflate     = 8
)

func newZipMember(br *bufio.Reader) (*zipMember, error) {
	var h [zipLocalHeader]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, fmt.Errorf("%w: local header: %w", ErrZip, noEOF(err))
	}
	le := binary.LittleEndian
	flags, method := le.Uint16(h[6:]), le.Uint16(h[8:])
	z := &zipMember{br: br, crc: crc32.NewIEEE(), wantCRC: le.Uint32(h[14:]), wantSize: le.Uint32(h[22:]),
		descriptor: flags&zipFlagDesc != 0}
	compressed := int64(le.Uint32(h[18:]))
	name := make([]byte, le.Uint16(h[26:]))
	if _, err := io.ReadFull(br, name); err != nil {
		return nil, fmt.Errorf("%w: local header: %w", ErrZip, noEOF(err))
	}
	z.name = string(name)
	if _, err := br.Discard(int(le.Uint16(h[28:]))); err != nil {
		return nil, fmt.Errorf("%w: member %s: extra field: %w", ErrZip, z.name, noEOF(err))
	}
	switch {
	case flags&1 != 0:
		return nil, fmt.Errorf("%w: member %s is encrypted", ErrZip, z.name)
	case method == zipDeflate:
		z.r = flate.NewReader(br)
	case method == zipStored && !z.descriptor:
		z.r = io.LimitReader(br, compressed)
	default:
		return nil, fmt.Errorf("%w: member %s: compression method %d is not supported", ErrZip, z.name, method)
	}
	return z, nil
}

func (z *zipMember) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	n, err := z.r.Read(p)
	z.crc.Write(p[:n])
	z.size += uint32(n)
	switch {
	case errors.Is(err, io.EOF):
		z.err = z.finish()
		if z.err == nil {
			z.err = io.EOF
		}
		return n, z.err
	case err != nil:
		z.err = fmt.Errorf("%w: member %s: after %d bytes: %w", ErrZip, z.name, z.size, noEOF(err))
		return n, z.err
	}
	return n, nil
}

// finish checks the member against its CRC-32 and size, and that no other
// member follows.
func (z *zipMember) finish() error {
	le := binary.LittleEndian
	if z.descriptor {
		var d [16]byte
		if _, err := io.ReadFull(z.br, d[:12]); err != nil {
			return fmt.Errorf("%w: member %s: data descriptor: %w", ErrZip, z.name, noEOF(err))
		}
		b := d[:12]
		if le.Uint32(b) == 0x08074b50 { // the descriptor's optional signature
			if _, err := io.ReadFull(z.br, d[12:]); err != nil {
				return fmt.Errorf("%w: member %s: data descriptor: %w", ErrZip, z.name, noEOF(err))
			}
			b = d[4:]
		}
		z.wantCRC, z.wantSize = le.Uint32(b), le.Uint32(b[8:])
	}
	if got := z.crc.Sum32(); got != z.wantCRC || z.size != z.wantSize {
		return fmt.Errorf("%w: member %s: %d bytes with CRC-32 %08x, the zip says %d bytes with %08x", ErrZip, z.name,
			z.size, got, z.wantSize, z.wantCRC)
	}
	next, _ := z.br.Peek(4)
	if string(next) == "PK\x03\x04" {
		return fmt.Errorf("%w: more than one member after %s: a census zip holds one", ErrZip, z.name)
	}
	return nil
}

// noEOF turns the end of a stream inside a structure into the error it is.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
