// Package version carries the build's version and commit, set at link time:
//
//	go build -ldflags "-X github.com/kafka-scale/kafka-scale/pkg/version.Version=v1.2.3 \
//	  -X github.com/kafka-scale/kafka-scale/pkg/version.Commit=abc123"
package version

import (
	"fmt"
	"runtime"
)

// Set by -ldflags -X at build time.
var (
	Version = "dev"
	Commit  = "unknown"
)

// String describes the build of the program called name. extra holds further
// "key value" facts, such as the linked librdkafka version.
func String(name string, extra ...string) string {
	s := fmt.Sprintf("%s %s (commit %s, %s %s/%s)", name, Version, Commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	for i := 0; i+1 < len(extra); i += 2 {
		s += fmt.Sprintf(", %s %s", extra[i], extra[i+1])
	}
	return s
}
