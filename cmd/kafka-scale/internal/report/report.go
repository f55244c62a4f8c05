// Package report reads the aggregator's API: `kafka-scale wait` polls until
// sources are complete, `kafka-scale report` prints the housing,
// labor-force and labor-force-by-sex-and-age tables and can check them
// against a generator's expected tabulations.
package report

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/pkg/apiv1"
	"github.com/kafka-scale/kafka-scale/pkg/census"
	"github.com/kafka-scale/kafka-scale/pkg/censusgen"
	"github.com/kafka-scale/kafka-scale/pkg/tally"
)

func getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// sources lists /v1/sources in calendar order (the API sorts by name, which
// puts feb before jan).
func sources(ctx context.Context, api string) ([]apiv1.Source, error) {
	var body apiv1.SourcesResponse
	err := getJSON(ctx, api+"/v1/sources", &body)
	slices.SortStableFunc(body.Sources, func(a, b apiv1.Source) int {
		return calendar(a.Year, a.Month, a.Source, b.Year, b.Month, b.Source)
	})
	return body.Sources, err
}

// calendar orders by year, then month, then name.
func calendar(ay, am int, an string, by, bm int, bn string) int {
	if ay != by {
		return ay - by
	}
	if am != bm {
		return am - bm
	}
	return strings.Compare(an, bn)
}

// WaitCommand is `kafka-scale wait`.
func WaitCommand() cli.Command {
	return cli.Command{Name: "wait", Summary: "wait until the aggregator has every source complete", Run: runWait}
}

func runWait(ctx context.Context, env cli.Env, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	api := fs.String("api", "http://127.0.0.1:8080", "aggregator API base URL")
	want := fs.Int("sources", 0, "number of sources to wait for (0: every source listed)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	if err := cli.ParseFlags(fs, env, "KAFKA_SCALE_", args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		srcs, err := sources(ctx, strings.TrimRight(*api, "/"))
		complete := 0
		var records uint64
		for _, s := range srcs {
			records += s.Records
			if s.Complete {
				complete++
			}
		}
		n := *want
		if n == 0 {
			n = len(srcs)
		}
		status := fmt.Sprintf("%d of %d sources complete, %d records counted", complete, n, records)
		if err != nil {
			status = err.Error()
		} else if n > 0 && complete >= n {
			fmt.Fprintln(env.Stdout, status)
			return nil
		}
		if status != last {
			fmt.Fprintln(env.Stderr, status)
			last = status
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %v: %s", *timeout, status)
		case <-tick.C:
		}
	}
}

// Command is `kafka-scale report`.
func Command() cli.Command {
	return cli.Command{Name: "report", Summary: "print the housing, labor-force and labor-force-by-sex-and-age tables the aggregator serves", Run: runReport}
}

func runReport(ctx context.Context, env cli.Env, args []string) error {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	api := fs.String("api", "http://127.0.0.1:8080", "aggregator API base URL")
	expected := fs.String("check-expected", "", "directory of *.expected.json files from `kafka-scale gen --expected`: fail unless the API serves exactly them")
	if err := cli.ParseFlags(fs, env, "KAFKA_SCALE_", args); err != nil {
		return err
	}
	base := strings.TrimRight(*api, "/")
	srcs, err := sources(ctx, base)
	if err != nil {
		return err
	}
	if *expected != "" {
		return check(ctx, env, base, *expected)
	}
	return print(ctx, env.Stdout, base, srcs)
}

func print(ctx context.Context, w io.Writer, base string, srcs []apiv1.Source) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "source\tperiod\trecords\trejected\tcomplete\t")
	for _, s := range srcs {
		fmt.Fprintf(tw, "%s\t%d-%02d\t%d\t%d\t%v\t\n", s.Source, s.Year, s.Month, s.Records, s.Rejected, s.Complete)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range srcs {
		var h apiv1.HousingResponse
		if err := getJSON(ctx, fmt.Sprintf("%s/v1/housing?year=%d&month=%d", base, s.Year, s.Month), &h); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nHousing, %d-%02d (%d records)\n", s.Year, s.Month, h.Records)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  code\tdescription\trecords\tshare")
		for _, c := range h.Housing {
			fmt.Fprintf(tw, "  %d\t%s\t%d\t%.2f%%\n", c.Code, c.Description, c.Count, 100*float64(c.Count)/float64(max(h.Records, 1)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		var lf apiv1.LaborForceResponse
		if err := getJSON(ctx, fmt.Sprintf("%s/v1/labor-force?year=%d&month=%d", base, s.Year, s.Month), &lf); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nLabor force, %d-%02d (weighted persons, thousands)\n", s.Year, s.Month)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "area\temployed\tunemployed\tnot in LF\tunemployment rate\t")
		row := func(name string, f apiv1.LaborFigures) {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f%%\t\n", name, f.Employed/1000, f.Unemployed/1000, f.NotInLaborForce/1000, 100*f.UnemploymentRate)
		}
		row("US", lf.National)
		for _, st := range lf.States {
			if st.State == "CA" || st.State == "TX" || st.State == "NY" || st.State == "FL" {
				row(st.State, st.LaborFigures)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		var sa apiv1.LaborForceBySexAgeResponse
		if err := getJSON(ctx, fmt.Sprintf("%s/v1/labor-force/by-sex-age?year=%d&month=%d", base, s.Year, s.Month), &sa); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nLabor force by sex and age, %d-%02d (weighted persons, thousands)\n", s.Year, s.Month)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "sex\tage\temployed\tunemployed\tnot in LF\tunemployment rate\t")
		for _, g := range sa.Groups {
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%.1f\t%.1f\t%.1f%%\t\n", g.Sex, g.AgeGroup, g.Employed/1000, g.Unemployed/1000, g.NotInLaborForce/1000, 100*g.UnemploymentRate)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// check compares the API with the expected tabulations in dir.
func check(ctx context.Context, env cli.Env, base, dir string) error {
	paths, err := filepath.Glob(filepath.Join(dir, "*.expected.json"))
	if err != nil || len(paths) == 0 {
		return fmt.Errorf("no *.expected.json in %s", dir)
	}
	type expected struct {
		path string
		*censusgen.Expected
	}
	exps := make([]expected, 0, len(paths))
	for _, p := range paths {
		exp, err := censusgen.ReadExpected(p)
		if err != nil {
			return err
		}
		exps = append(exps, expected{p, exp})
	}
	slices.SortStableFunc(exps, func(a, b expected) int {
		return calendar(a.Year, a.Month, a.path, b.Year, b.Month, b.path)
	})
	var errs []error
	for _, exp := range exps {
		p := exp.path
		m := exp.Tally.Month(exp.Year, exp.Month)
		if m == nil {
			return fmt.Errorf("%s: no tabulation for %d-%02d", p, exp.Year, exp.Month)
		}
		var h apiv1.HousingResponse
		if err := getJSON(ctx, fmt.Sprintf("%s/v1/housing?year=%d&month=%d", base, exp.Year, exp.Month), &h); err != nil {
			return err
		}
		if h.Records != m.Records {
			errs = append(errs, fmt.Errorf("%d-%02d: %d records, want %d", exp.Year, exp.Month, h.Records, m.Records))
		}
		for _, c := range h.Housing {
			if c.Count != m.HousingCount(c.Code) {
				errs = append(errs, fmt.Errorf("%d-%02d: housing %d: %d, want %d", exp.Year, exp.Month, c.Code, c.Count, m.HousingCount(c.Code)))
			}
		}
		var lf apiv1.LaborForceResponse
		if err := getJSON(ctx, fmt.Sprintf("%s/v1/labor-force?year=%d&month=%d", base, exp.Year, exp.Month), &lf); err != nil {
			return err
		}
		l := m.National()
		if lf.National.Employed != tally.Weight(l.EmployedWeight) || lf.National.Unemployed != tally.Weight(l.UnemployedWeight) ||
			lf.National.UnemploymentRate != l.UnemploymentRate() {
			errs = append(errs, fmt.Errorf("%d-%02d: labor force %+v, want employed %v unemployed %v rate %v", exp.Year, exp.Month,
				lf.National, tally.Weight(l.EmployedWeight), tally.Weight(l.UnemployedWeight), l.UnemploymentRate()))
		}
		var sa apiv1.LaborForceBySexAgeResponse
		if err := getJSON(ctx, fmt.Sprintf("%s/v1/labor-force/by-sex-age?year=%d&month=%d", base, exp.Year, exp.Month), &sa); err != nil {
			return err
		}
		errs = append(errs, checkSexAge(exp.Year, exp.Month, m, sa)...)
		if len(errs) == 0 {
			fmt.Fprintf(env.Stdout, "%s: matches the generator's expected tabulation (%d records, %s)\n", census.FileName(exp.Year, exp.Month), m.Records,
				fmt.Sprintf("unemployment %.2f%%", 100*l.UnemploymentRate()))
		}
	}
	return errors.Join(errs...)
}

// checkSexAge compares the served labor force by sex and age with m's:
// every group of men and women, and those of unknown sex when m has any.
func checkSexAge(year, month int, m *tally.Month, sa apiv1.LaborForceBySexAgeResponse) []error {
	type key struct{ sex, age string }
	served := map[key]apiv1.LaborFigures{}
	for _, g := range sa.Groups {
		served[key{g.Sex, g.AgeGroup}] = g.LaborFigures
	}
	var errs []error
	for sex := range census.MaxSex + 1 {
		for g := range census.NumAgeGroups {
			l := m.BySexAge(sex, g)
			k := key{census.SexName(sex), g.String()}
			got, ok := served[k]
			if !ok && (sex != 0 || !l.IsZero()) {
				errs = append(errs, fmt.Errorf("%d-%02d: labor force by sex and age: no %s %s", year, month, k.sex, k.age))
				continue
			}
			want := apiv1.Persons{Employed: l.Employed, Unemployed: l.Unemployed, NotInLaborForce: l.NotInLaborForce}
			if got.Employed != tally.Weight(l.EmployedWeight) || got.Unemployed != tally.Weight(l.UnemployedWeight) ||
				got.NotInLaborForce != tally.Weight(l.NotInLaborForceWeight) || got.Persons != want {
				errs = append(errs, fmt.Errorf("%d-%02d: labor force of %s %s: %+v, want employed %v unemployed %v not in LF %v, persons %+v",
					year, month, k.sex, k.age, got, tally.Weight(l.EmployedWeight), tally.Weight(l.UnemployedWeight),
					tally.Weight(l.NotInLaborForceWeight), want))
			}
			delete(served, k)
		}
	}
	for k := range served {
		errs = append(errs, fmt.Errorf("%d-%02d: labor force by sex and age: unexpected group %s %s", year, month, k.sex, k.age))
	}
	return errs
}
