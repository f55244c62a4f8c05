// Package machine reads what a benchmark report says about the machine it ran
// on: the CPU, the load averages and the Kafka version a broker logged.
package machine

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// CPUModel is /proc/cpuinfo's first model name, or "unknown".
func CPUModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// LoadAvg is /proc/loadavg's 1, 5 and 15 minute load averages, or "unknown".
func LoadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// Load1 is the 1-minute load average; 0 if unknown.
func Load1() float64 {
	v, _ := strconv.ParseFloat(strings.Fields(LoadAvg() + " 0")[0], 64)
	return v
}

var kafkaVersion = regexp.MustCompile(`Kafka version: (\S+)`)

// KafkaVersion is the version a broker logged at its start in the log at
// path (kafka-local.sh's kafka.log), or "unknown".
func KafkaVersion(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := kafkaVersion.FindStringSubmatch(sc.Text()); m != nil {
			return m[1]
		}
	}
	return "unknown"
}
