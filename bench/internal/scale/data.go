// Package scale measures how the pipeline's cost grows with the input: the
// same end-to-end run on 1, 3, 12 and 36 months of generated census data,
// each service's CPU time and peak memory, the broker's CPU and disk, and the
// targets that say whether the cost grows as the input does and no faster.
package scale

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
)

// Data names a set of generated months: Records each, the first in January
// of FirstYear, month i (from 0) generated with seed Seed+i. The same Data
// always means the same files, so they are generated once into a cache.
type Data struct {
	FirstYear int
	Records   int
	Seed      uint64
}

// Dir is where the months of d live under cache: one directory per
// generator input, so that a change of size or seed never reuses a file.
func (d Data) Dir(cache string) string {
	return filepath.Join(cache, dirName(d))
}

// Month is the year and month of the i-th month of d, from 0.
func (d Data) Month(i int) (year, month int) {
	return d.FirstYear + i/12, i%12 + 1
}

// Ensure returns the paths of the first n months of d under cache,
// generating the missing ones (workers at a time). A file is written under a
// temporary name and renamed, so a file in the cache is always whole.
// generated is how many it had to write.
func (d Data) Ensure(ctx context.Context, cache string, n, workers int) (paths []string, generated int, err error) {
	dir := d.Dir(cache)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("bench data cache: %w", err)
	}
	paths = make([]string, n)
	var todo []int
	for i := range n {
		y, m := d.Month(i)
		paths[i] = filepath.Join(dir, census.FileName(y, m))
		if st, err := os.Stat(paths[i]); err == nil && st.Size() > 0 {
			continue
		}
		todo = append(todo, i)
	}
	jobs := make(chan int)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Go(func() {
			for i := range jobs {
				y, m := d.Month(i)
				_, _, errs[i] = censusgen.WriteFile(dir, censusgen.Options{Year: y, Month: m, Records: d.Records, Seed: d.Seed + uint64(i)})
			}
		})
	}
	for _, i := range todo {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, 0, fmt.Errorf("generate %s: %w", paths[i], err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	return paths, len(todo), nil
}
