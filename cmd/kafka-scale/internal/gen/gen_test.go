package gen

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// runGen runs "kafka-scale gen args..." in-process.
func runGen(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := cli.Env{Stdout: &out, Stderr: &errOut, LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	code = cli.Run(context.Background(), e, []cli.Command{Command()}, append([]string{"gen"}, args...))
	return code, out.String(), errOut.String()
}

// readFile parses a gzipped census file back as the pipeline would.
func readFile(t *testing.T, path string) (*tally.Tally, tally.Rejects) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	tl, rejects := tally.New(), tally.Rejects{}
	sc := census.NewScanner(zr)
	var rec census.Record
	for sc.Scan() {
		if err := sc.Parse(&rec); err != nil {
			rejects.Add(census.Reason(err), 1)
			continue
		}
		tl.Add(&rec)
	}
	require.NoError(t, sc.Err())
	return tl, rejects
}

func TestGen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := runGen(t, nil, "--out", dir, "--year", "2019", "--months", "jan,feb", "--records", "2000",
		"--seed", "3", "--expected", "--bad", "5:short,7:bad-pemlr")
	require.Zero(t, code, stderr)
	require.Empty(t, stderr)
	require.Regexp(t, regexp.MustCompile(`^`+
		`wrote \S+/jan19pub\.dat\.gz: 2000 records, 2 bad lines, layout cpsbjan2017, [0-9.]+ MiB, unemployment rate [0-9.]+%, in \S+\n`+
		`wrote \S+/jan19pub\.expected\.json\n`+
		`wrote \S+/feb19pub\.dat\.gz: 2000 records, 2 bad lines, layout cpsbjan2017, [0-9.]+ MiB, unemployment rate [0-9.]+%, in \S+\n`+
		`wrote \S+/feb19pub\.expected\.json\n$`), stdout)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"jan19pub.dat.gz", "jan19pub.expected.json", "feb19pub.dat.gz", "feb19pub.expected.json"}, names)

	for _, month := range []int{1, 2} {
		exp, err := censusgen.ReadExpected(filepath.Join(dir, censusgen.ExpectedFileName(2019, month)))
		require.NoError(t, err)
		require.Equal(t, census.FileName(2019, month), exp.File)
		require.EqualValues(t, 2000, exp.Records)
		require.Equal(t, tally.Rejects{"length": 1, "field:PEMLR": 1}, exp.Rejects)
		require.Equal(t, []tally.Period{{Year: 2019, Month: month}}, exp.Tally.Periods())

		tl, rejects := readFile(t, filepath.Join(dir, census.FileName(2019, month)))
		require.True(t, exp.Tally.Equal(tl), "month %d", month)
		require.Equal(t, exp.Rejects, rejects)
	}
}

// TestGenLayouts: --year writes the year's record layout; --format zip
// writes the census site's zips.
func TestGenLayouts(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runGen(t, nil, "--out", dir, "--year", "1996", "--months", "jan", "--records", "500", "--expected", "--format", "zip")
	require.Zero(t, code, stderr)
	require.Regexp(t, `^wrote \S+/jan96pub\.zip: 500 records, 0 bad lines, layout cpsbsep95, `, stdout)
	exp, err := censusgen.ReadExpected(filepath.Join(dir, "jan96pub.expected.json"))
	require.NoError(t, err)
	require.Equal(t, "jan96pub.zip", exp.File)
	require.Equal(t, "cpsbsep95", exp.Layout)
	require.Equal(t, []tally.Period{{Year: 1996, Month: 1}}, exp.Tally.Periods())

	code, _, stderr = runGen(t, nil, "--out", dir, "--format", "bz2")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "kafka-scale gen: --format \"bz2\": want gzip or zip\n")
}

func TestGenIsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	for _, dir := range []string{a, b} {
		code, _, stderr := runGen(t, nil, "--out", dir, "--month", "mar", "--records", "3000", "--seed", "42")
		require.Zero(t, code, stderr)
	}
	fa, err := os.ReadFile(filepath.Join(a, "mar20pub.dat.gz"))
	require.NoError(t, err)
	fb, err := os.ReadFile(filepath.Join(b, "mar20pub.dat.gz"))
	require.NoError(t, err)
	require.Equal(t, fa, fb)
	_, err = os.Stat(filepath.Join(a, "mar20pub.expected.json"))
	require.ErrorIs(t, err, os.ErrNotExist, "no expected tabulation without --expected")
}

func TestGenFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runGen(t, map[string]string{
		"KAFKA_SCALE_GEN_OUT": dir, "KAFKA_SCALE_GEN_RECORDS": "100", "KAFKA_SCALE_GEN_MONTHS": "dec", "KAFKA_SCALE_GEN_EXPECTED": "true",
	})
	require.Zero(t, code, stderr)
	require.Contains(t, stdout, "dec20pub.dat.gz: 100 records")
	require.FileExists(t, filepath.Join(dir, "dec20pub.expected.json"))
}

func TestGenUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "year", args: []string{"--year", "1990"}, wantErr: "kafka-scale gen: --year 1990: want 1994-2093\n"},
		{name: "records", args: []string{"--records", "-5"}, wantErr: "--records -5: want 0 or more"},
		{name: "month name", args: []string{"--months", "jan,smarch"}, wantErr: `--months "smarch": want jan..dec, 1-12 or all`},
		{name: "month number", args: []string{"--month", "13"}, wantErr: `--months "13": want jan..dec, 1-12 or all`},
		{name: "bad syntax", args: []string{"--bad", "five:short"}, wantErr: `--bad "five:short": want LINE:KIND, such as 10:short`},
		{name: "bad kind", args: []string{"--bad", "5:odd"}, wantErr: `--bad "5:odd": bad line kind "odd": want short, long or bad-pemlr`},
		{name: "bad line past the end", args: []string{"--records", "10", "--bad", "12:long"}, wantErr: "--bad 12:long: a file has 11 lines"},
		{name: "bad line twice", args: []string{"--bad", "3:long,3:short"}, wantErr: "--bad: line 3 given twice"},
		{name: "rate", args: []string{"--unemployment-rate", "0.9"}, wantErr: "--unemployment-rate 0.9: want 0 (each month's own) or a rate below 0.5"},
		{name: "empty out", args: []string{"--out", ""}, wantErr: "--out is empty"},
		{name: "not a number", args: []string{"--records", "many"}, wantErr: `invalid value "many" for flag -records`},
		{name: "environment names the variable", env: map[string]string{"KAFKA_SCALE_GEN_SEED": "x"}, wantErr: `environment variable KAFKA_SCALE_GEN_SEED="x" (flag --seed)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			code, stdout, stderr := runGen(t, tc.env, append([]string{"--out", dir}, tc.args...)...)
			require.Equal(t, 2, code)
			require.Empty(t, stdout)
			require.Contains(t, stderr, tc.wantErr)
			require.Contains(t, stderr, "Run 'kafka-scale gen -h' for usage.")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			require.Empty(t, entries, "nothing written")
		})
	}
}

func TestGenFailure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	code, _, stderr := runGen(t, nil, "--out", filepath.Join(file, "sub"), "--records", "1")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "kafka-scale gen: create output directory: ")
}

func TestGenStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errOut bytes.Buffer
	code := cli.Run(ctx, cli.Env{Stdout: &out, Stderr: &errOut}, []cli.Command{Command()},
		[]string{"gen", "--out", t.TempDir(), "--records", "1"})
	require.Equal(t, 1, code)
	require.Contains(t, errOut.String(), "stopped before jan20pub.dat.gz: context canceled")
}

func TestParseMonths(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []int
	}{
		{nil, []int{1}},
		{[]string{"jan", "feb", "mar"}, []int{1, 2, 3}},
		{[]string{"Dec", "1", "12", "jan"}, []int{12, 1}},
		{[]string{"all"}, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}},
		{[]string{"apr", "all"}, []int{4, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12}},
	} {
		got, err := parseMonths(tc.in)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "%v", tc.in)
	}
}

func TestUsageGolden(t *testing.T) {
	code, stdout, stderr := runGen(t, nil, "-h")
	require.Zero(t, code)
	require.Empty(t, stderr)
	golden := filepath.Join("testdata", "usage.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(stdout), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), stdout)
}
