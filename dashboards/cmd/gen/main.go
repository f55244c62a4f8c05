// Command gen writes kafka-scale's Grafana dashboards as JSON.
//
//	go run ./dashboards/cmd/gen            # into the dashboards directory
//	go run ./dashboards/cmd/gen -out DIR
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kafka-scale/kafka-scale/dashboards"
)

func main() {
	out := flag.String("out", defaultDir(), "directory to write the dashboards' JSON into")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	for _, f := range dashboards.All() {
		b, err := dashboards.Render(f.Dashboard)
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
		path := filepath.Join(dir, f.Name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}

// defaultDir is the dashboards module's directory, wherever gen runs from.
func defaultDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "."
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}
