// Package flagenv gives every command-line flag an environment-variable twin.
//
// A flag named "compute-topic" is read from COMPUTE_TOPIC unless a different
// name is bound with Bind. Precedence, highest first: the command line, the
// environment, the flag's default. Flags keep their usual types and
// validation, so a bad value in the environment fails the same way a bad
// value on the command line does, and the error names the variable.
package flagenv

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Binder maps flags of one FlagSet to environment variables.
type Binder struct {
	fs     *flag.FlagSet
	prefix string
	names  map[string]string
}

// New returns a Binder for fs. prefix is prepended to derived variable names
// (use "" for none).
func New(fs *flag.FlagSet, prefix string) *Binder {
	return &Binder{fs: fs, prefix: prefix, names: map[string]string{}}
}

// Bind sets the environment variable of the flag called name explicitly.
func (b *Binder) Bind(name, env string) *Binder {
	b.names[name] = env
	return b
}

// EnvName is the environment variable that sets the flag called name.
func (b *Binder) EnvName(name string) string {
	if env, ok := b.names[name]; ok {
		return env
	}
	return b.prefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(name))
}

// Parse parses args, then fills every flag not given on the command line from
// its environment variable. lookup is os.LookupEnv when nil.
func (b *Binder) Parse(args []string, lookup func(string) (string, bool)) error {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	b.decorateUsage()
	if err := b.fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	b.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	b.fs.VisitAll(func(f *flag.Flag) {
		if err != nil || set[f.Name] {
			return
		}
		env := b.EnvName(f.Name)
		v, ok := lookup(env)
		if !ok {
			return
		}
		if e := b.fs.Set(f.Name, v); e != nil {
			err = fmt.Errorf("environment variable %s=%q (flag --%s): %w", env, v, f.Name, e)
		}
	})
	return err
}

// decorateUsage appends the environment variable to each flag's help text once.
func (b *Binder) decorateUsage() {
	b.fs.VisitAll(func(f *flag.Flag) {
		suffix := " [$" + b.EnvName(f.Name) + "]"
		if !strings.HasSuffix(f.Usage, suffix) {
			f.Usage += suffix
		}
	})
}

// StringList is a flag.Value for repeatable or comma-separated flags.
type StringList []string

func (s *StringList) String() string { return strings.Join(*s, ",") }

// Set appends the comma-separated items of v, so both "--x a --x b" and
// "--x a,b" (or X=a,b in the environment) work.
func (s *StringList) Set(v string) error {
	for _, item := range strings.Split(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			*s = append(*s, item)
		}
	}
	return nil
}

// ChartEnv reads the top-level scalar values a chart's values.yaml passes
// to its container as environment variables: keys maps each value's key to
// its variable. A service's test parses that environment with its flags to
// show that the chart's defaults are the flags', not a second source.
func ChartEnv(valuesYAML string, keys map[string]string) (func(string) (string, bool), error) {
	b, err := os.ReadFile(valuesYAML)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	for key, name := range keys {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `: "?([^"\n]*)"?$`).FindSubmatch(b)
		if m == nil {
			return nil, fmt.Errorf("%s: no top-level %s", valuesYAML, key)
		}
		env[name] = string(m[1])
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil
}
