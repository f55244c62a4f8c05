// Command globalschema writes the schema of the charts' shared `global`
// values into each chart's values.schema.json.
//
// Helm validates a chart's values against its values.schema.json alone and
// resolves a relative $ref against file:///values.schema.json, outside the
// chart, so each chart must carry the schema itself. The one source is
// kafka-scale-lib/values.global.schema.json; the copies are
// properties.global of every other chart's schema (make charts-schema), and
// -check fails when a copy differs from it (make lint).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

// Source is the schema of global, relative to the charts directory.
const Source = "kafka-scale-lib/values.global.schema.json"

// globalKey starts the global property of a schema's top-level properties,
// as the files are indented (two spaces a level).
const globalKey = "\n    \"global\": "

func main() {
	dir := flag.String("charts", ".", "directory of the charts")
	check := flag.Bool("check", false, "only report the charts whose schema of global differs from "+Source)
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "globalschema:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	src, err := os.ReadFile(filepath.Join(dir, Source))
	if err != nil {
		return err
	}
	schemas, err := filepath.Glob(filepath.Join(dir, "*", "values.schema.json"))
	if err != nil {
		return err
	}
	var stale []string
	for _, path := range schemas {
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		updated, err := Splice(old, src)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if bytes.Equal(old, updated) {
			continue
		}
		if check {
			stale = append(stale, path)
			continue
		}
		if err := os.WriteFile(path, updated, 0o644); err != nil {
			return err
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("the schema of global in %v differs from %s: run make charts-schema", stale, Source)
	}
	return nil
}

// Splice returns schema with the value of its top-level properties.global
// replaced by global, indented to its place; the rest of schema is kept
// byte for byte.
func Splice(schema, global []byte) ([]byte, error) {
	var top struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(schema, &top); err != nil {
		return nil, err
	}
	if _, ok := top.Properties["global"]; !ok {
		return nil, fmt.Errorf("no properties.global")
	}
	i := bytes.Index(schema, []byte(globalKey))
	if i < 0 || bytes.Count(schema, []byte(globalKey)) != 1 {
		return nil, fmt.Errorf("want one line starting %q, indented as a top-level property", globalKey[1:])
	}
	start := i + len(globalKey)
	dec := json.NewDecoder(bytes.NewReader(schema[start:]))
	var old json.RawMessage
	if err := dec.Decode(&old); err != nil {
		return nil, fmt.Errorf("properties.global: %w", err)
	}
	end := start + int(dec.InputOffset())
	var value bytes.Buffer
	if err := json.Indent(&value, bytes.TrimSpace(global), "    ", "  "); err != nil {
		return nil, fmt.Errorf("%s: %w", Source, err)
	}
	out := append([]byte{}, schema[:start]...)
	out = append(out, value.Bytes()...)
	return append(out, schema[end:]...), nil
}
