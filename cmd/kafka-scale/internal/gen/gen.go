// Package gen is kafka-scale's gen command: it writes synthetic census
// files, <mon><yy>pub.dat.gz in the layout of the real ones, and on request
// the exact tabulation the pipeline must make of each.
package gen

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
)

// EnvPrefix begins the environment variable of every flag: --records is
// also KAFKA_SCALE_GEN_RECORDS.
const EnvPrefix = "KAFKA_SCALE_GEN_"

// Command is the gen command.
func Command() cli.Command {
	return cli.Command{Name: "gen", Summary: "write synthetic census files and their expected tabulations", Run: run}
}

// config is the command line, checked.
type config struct {
	out              string
	year             int
	months           []int
	records          int
	seed             uint64
	expected         bool
	bad              []censusgen.Bad
	unemploymentRate float64
	format           string
}

func parse(env cli.Env, args []string) (*config, error) {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	c := &config{}
	var months flagenv.StringList
	var bad flagenv.StringList
	fs.StringVar(&c.out, "out", ".", "`directory` to write the files into; created if missing")
	fs.IntVar(&c.year, "year", 2020, fmt.Sprintf("`year` of the files, %d-%d", censusgen.MinYear, censusgen.MaxYear))
	fs.Var(&months, "months", "`months` to write: jan..dec or 1-12, comma-separated or repeated, or all (default jan)")
	fs.Var(&months, "month", "`month`s to write, as --months")
	fs.IntVar(&c.records, "records", 150_000, "good `records` per file (a real file has 130,000-160,000)")
	fs.Uint64Var(&c.seed, "seed", 1, "`seed`: the same seed writes the same bytes")
	fs.BoolVar(&c.expected, "expected", false, "also write <mon><yy>pub.expected.json, the exact tabulation of each file")
	fs.Var(&bad, "bad", "bad lines to write among the records, as `LINE:KIND` with KIND short, long or bad-pemlr; comma-separated or repeated")
	fs.StringVar(&c.format, "format", censusgen.FormatGzip, "`format` of the files: gzip (<mon><yy>pub.dat.gz) or zip (<mon><yy>pub.zip, as the census site has before 2015)")
	fs.Float64Var(&c.unemploymentRate, "unemployment-rate", 0, "base unemployment `rate` such as 0.144; 0 for each month's own (3.5-5%)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s gen [flags]\n\n", cli.Name)
		fmt.Fprintf(fs.Output(), "Writes synthetic CPS basic monthly files, one per month, as <mon><yy>pub.dat.gz\n")
		fmt.Fprintf(fs.Output(), "(or .zip) in the record layout of the year and month, as the real ones;\n")
		fmt.Fprintf(fs.Output(), "--expected adds the tabulation the pipeline must make of each.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := cli.ParseFlags(fs, env, EnvPrefix, args); err != nil {
		return nil, err
	}
	if c.year < censusgen.MinYear || c.year > censusgen.MaxYear {
		return nil, cli.Usagef("--year %d: want %d-%d", c.year, censusgen.MinYear, censusgen.MaxYear)
	}
	if c.format != censusgen.FormatGzip && c.format != censusgen.FormatZip {
		return nil, cli.Usagef("--format %q: want gzip or zip", c.format)
	}
	if c.records < 0 {
		return nil, cli.Usagef("--records %d: want 0 or more", c.records)
	}
	if c.unemploymentRate < 0 || c.unemploymentRate >= 0.5 {
		return nil, cli.Usagef("--unemployment-rate %g: want 0 (each month's own) or a rate below 0.5", c.unemploymentRate)
	}
	if c.out == "" {
		return nil, cli.Usagef("--out is empty: want a directory")
	}
	var err error
	if c.months, err = parseMonths(months); err != nil {
		return nil, err
	}
	for _, b := range bad {
		line, kind, ok := strings.Cut(b, ":")
		n, err := strconv.Atoi(line)
		if !ok || err != nil || n < 1 {
			return nil, cli.Usagef("--bad %q: want LINE:KIND, such as 10:short", b)
		}
		k, err := censusgen.ParseBadKind(kind)
		if err != nil {
			return nil, cli.Usagef("--bad %q: %w", b, err)
		}
		c.bad = append(c.bad, censusgen.Bad{Line: n, Kind: k})
	}
	seen := map[int]bool{}
	for _, b := range c.bad {
		if lines := c.records + len(c.bad); b.Line > lines {
			return nil, cli.Usagef("--bad %d:%s: a file has %d lines", b.Line, b.Kind, lines)
		}
		if seen[b.Line] {
			return nil, cli.Usagef("--bad: line %d given twice", b.Line)
		}
		seen[b.Line] = true
	}
	return c, nil
}

// parseMonths reads month names or numbers, in the order given, once each.
func parseMonths(items []string) ([]int, error) {
	if len(items) == 0 {
		return []int{1}, nil
	}
	var months []int
	seen := map[int]bool{}
	add := func(m int) {
		if !seen[m] {
			seen[m] = true
			months = append(months, m)
		}
	}
	for _, item := range items {
		s := strings.ToLower(item)
		if s == "all" {
			for m := 1; m <= 12; m++ {
				add(m)
			}
			continue
		}
		m, err := census.ParseMonth(s)
		if err != nil {
			return nil, cli.Usagef("--months %q: want jan..dec, 1-12 or all", item)
		}
		add(m)
	}
	return months, nil
}

func run(ctx context.Context, env cli.Env, args []string) error {
	c, err := parse(env, args)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return fmt.Errorf("create output directory: %w", err)
	}
	for _, month := range c.months {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before %s: %w", census.FileName(c.year, month), err)
		}
		start := time.Now()
		opts := censusgen.Options{
			Year: c.year, Month: month, Records: c.records, Seed: c.seed, Bad: c.bad, UnemploymentRate: c.unemploymentRate,
			Format: c.format,
		}
		path, exp, err := censusgen.WriteFile(c.out, opts)
		if err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		rate, _ := exp.Tally.UnemploymentRate(c.year, month)
		fmt.Fprintf(env.Stdout, "wrote %s: %d records, %d bad lines, layout %s, %.1f MiB, unemployment rate %.2f%%, in %s\n",
			path, exp.Records, exp.Rejected, exp.Layout, float64(st.Size())/(1<<20), 100*rate, time.Since(start).Round(time.Millisecond))
		if c.expected {
			epath, err := censusgen.WriteExpected(c.out, exp)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "wrote %s\n", epath)
		}
	}
	return nil
}
