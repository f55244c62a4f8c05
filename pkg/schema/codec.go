package schema

import (
	"fmt"
	"slices"
)

// vtMessage is a message of schemapb with the marshalling code that
// protoc-gen-go-vtproto generates: no reflection, and the encoding written
// in one pass into a buffer of its exact size.
type vtMessage interface {
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
}

// appendVT appends the encoding of m to b. m escapes to the heap through
// the interface; AppendChunk, the hottest, calls the methods itself.
func appendVT(b []byte, m vtMessage) []byte {
	n := m.SizeVT()
	b = slices.Grow(b, n)
	if _, err := m.MarshalToSizedBufferVT(b[len(b) : len(b)+n]); err != nil {
		// The generated code fails only on a buffer smaller than SizeVT.
		panic("schema: marshal: " + err.Error())
	}
	return b[:len(b)+n]
}

// malformed wraps a decoding error of the generated code, which names the
// field and what is wrong with it, as ErrMalformed.
func malformed(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
}
