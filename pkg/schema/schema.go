// Package schema defines the messages that cross Kafka: chunks of census
// records on the compute topic, partial aggregates on the results topic and
// the aggregator's snapshots on its state topic.
//
// # Encoding
//
// Messages are encoded in the Protocol Buffers wire format. schema.proto
// beside this file is their one source: schemapb holds the Go code generated
// from it (protoc-gen-go, and protoc-gen-go-vtproto for marshalling without
// reflection; make generate), and this package converts between those
// messages and the types the services use, checking every size and count
// against limits.go. A reader skips fields it does not know, so a new field
// can be added without breaking older pods, and a field number is never
// reused: make lint runs buf breaking against the released schema.
//
// # Versions
//
// Every message carries the header "ks-type" (chunk, result, snapshot) and
// "ks-version" (an integer). Within one version, fields are only added;
// consumers skip unknown fields. A change that older pods cannot read bumps
// the version, and consumers reject messages of a version newer than they
// know with ErrUnsupportedVersion instead of misreading them. During a
// rolling upgrade, deploy consumers that read the new version before the
// producers that write it.
//
// # De-duplication and completeness
//
// A source (one census file) is named by its file name and identified by a
// fingerprint of its content, so that loading the same file again yields the
// same (source, fingerprint, seq) keys and counts nothing twice. Chunks are
// numbered from 0; the last chunk of a source carries Last, which makes the
// number of chunks known, and a source is complete once every chunk below it
// has been counted.
package schema

import (
	"errors"
	"fmt"
	"strconv"
)

// Header keys.
const (
	HeaderType    = "ks-type"
	HeaderVersion = "ks-version"
)

// Message types.
const (
	TypeChunk    = "chunk"
	TypeResult   = "result"
	TypeSnapshot = "snapshot"
)

// Versions are the newest versions of each message type this build reads.
// Chunk version 2 added compressed records (codec, data_size).
var versions = map[string]int{TypeChunk: 2, TypeResult: 1, TypeSnapshot: 1}

var (
	// ErrUnsupportedVersion: the message is of a version newer than this
	// build reads.
	ErrUnsupportedVersion = errors.New("unsupported schema version")
	// ErrWrongType: the message is not of the expected type.
	ErrWrongType = errors.New("wrong message type")
	// ErrMalformed: the bytes are not a valid message.
	ErrMalformed = errors.New("malformed message")
)

// Header is a Kafka message header, independent of the client library.
type Header struct {
	Key   string
	Value []byte
}

// Headers returns the headers of a message of type typ at the current version.
func Headers(typ string) []Header {
	return headers(typ, versions[typ])
}

func headers(typ string, v int) []Header {
	return []Header{{Key: HeaderType, Value: []byte(typ)}, {Key: HeaderVersion, Value: []byte(strconv.Itoa(v))}}
}

// CheckHeaders verifies that headers announce a message of type typ that this
// build can read. Messages without headers are taken as version 1.
func CheckHeaders(headers []Header, typ string) error {
	for _, h := range headers {
		switch h.Key {
		case HeaderType:
			if string(h.Value) != typ {
				return fmt.Errorf("%w: got %q, want %q", ErrWrongType, h.Value, typ)
			}
		case HeaderVersion:
			v, err := strconv.Atoi(string(h.Value))
			if err != nil {
				return fmt.Errorf("%w: version header %q", ErrMalformed, h.Value)
			}
			if v > versions[typ] || v < 1 {
				return fmt.Errorf("%w: %s version %d (this build reads up to %d)", ErrUnsupportedVersion, typ, v, versions[typ])
			}
		}
	}
	return nil
}

// SourceKey identifies one load of a source: its name and the fingerprint
// of its content.
type SourceKey struct {
	Source      string
	Fingerprint string
}

func (k SourceKey) String() string { return k.Source + "@" + k.Fingerprint }
