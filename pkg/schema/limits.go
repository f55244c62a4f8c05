package schema

import (
	"errors"
	"fmt"
)

// Limits on every size and count a message declares. Messages come from
// Kafka, where anything with write access to a topic can put any bytes, so a
// decoder checks each declared size or count against these before it
// allocates for it, and a message beyond one is rejected with ErrLimit
// instead of making a consumer allocate without bound. Each limit is far
// above what the reader and the computers ever write, so a real message never
// meets one.
const (
	// MaxChunks bounds the number of chunks of one source: chunk numbers
	// (seq) are below it, and so are a generation's counted and total
	// chunks. The largest CPS file holds about 160,000 records, 320 chunks
	// of the reader's default 500 records and 160,000 chunks of one record,
	// the smallest chunk it cuts. 1<<20 leaves room for files six times
	// larger cut into one-record chunks, and keeps the aggregator's bitset
	// of a source at 128 KiB at most.
	MaxChunks = 1 << 20
	// MaxChunkRecords bounds the records a chunk or a result declares: ten
	// times the largest chunk the reader cuts (--chunk-size at most 900),
	// as MaxChunkDataSize bounds their bytes.
	MaxChunkRecords = 10 * 900
	// MaxRecordLen bounds the record length a chunk declares. The CPS
	// layouts since 1994 are 1000 characters wide or less; the scanner
	// keeps lines of up to four times that.
	MaxRecordLen = 4096
	// MaxNameLen bounds the short strings of a message: source names,
	// fingerprints, formats and reject reasons. File names and
	// fingerprints ("size:<n>,etag:<etag>") are well under 256 bytes.
	MaxNameLen = 1024
	// MaxErrorLen bounds the error text a chunk passes on for its source.
	MaxErrorLen = 64 << 10
	// MaxRejectReasons bounds the distinct reject reasons of a result or
	// a generation; census.Reasons has about a dozen.
	MaxRejectReasons = 256
	// MaxTallyMonths bounds the periods of one tally: a census file holds
	// one month, and a generation a few; 1200 is a century of months.
	MaxTallyMonths = 1200
	// MaxPartitions bounds the partitions of the offsets a snapshot
	// records, and the partition numbers in it. Kafka's own practical
	// limit per topic is in the thousands.
	MaxPartitions = 1 << 16
)

// ErrLimit: a message declares a size or count beyond one of the limits
// above. It wraps ErrMalformed, so callers that only tell good from bad
// messages need not know it.
var ErrLimit = fmt.Errorf("%w: over a limit", ErrMalformed)

// limitErr reports a value over its limit: what was declared, and the limit.
func limitErr(what string, v uint64, limit uint64) error {
	return fmt.Errorf("%w: %s %d is more than %d", ErrLimit, what, v, limit)
}

// checkStrings rejects a message's names and error text over their limits,
// before they are copied out of the message.
func checkStrings(source, fingerprint, errText, format string) error {
	switch {
	case len(source) > MaxNameLen:
		return limitErr("source length", uint64(len(source)), MaxNameLen)
	case len(fingerprint) > MaxNameLen:
		return limitErr("fingerprint length", uint64(len(fingerprint)), MaxNameLen)
	case len(errText) > MaxErrorLen:
		return limitErr("error length", uint64(len(errText)), MaxErrorLen)
	case len(format) > MaxNameLen:
		return limitErr("format length", uint64(len(format)), MaxNameLen)
	}
	return nil
}

// ErrMissingField: a message lacks a field it cannot do without.
var ErrMissingField = fmt.Errorf("%w: missing field", ErrMalformed)

// Reason names, for a metric's reason label, why a message could not be
// decoded: one of Reasons.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrUnsupportedVersion):
		return "unsupported_version"
	case errors.Is(err, ErrWrongType):
		return "wrong_type"
	case errors.Is(err, ErrLimit):
		return "over_limit"
	case errors.Is(err, ErrMissingField):
		return "missing_field"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrCorruptData):
		return "corrupt_data"
	case errors.Is(err, ErrUnknownCodec):
		return "unknown_codec"
	}
	return "other"
}

// Reasons lists every value Reason returns for an error.
func Reasons() []string {
	return []string{"unsupported_version", "wrong_type", "over_limit", "missing_field", "malformed", "corrupt_data", "unknown_codec", "other"}
}
