// Package imagetest checks the services' images where there is no Docker
// engine. It reads the root Dockerfile with BuildKit's own parser, copies the
// build context as docker build would send it (by .dockerignore), runs the
// build stage's commands on this machine with the Dockerfile's build
// arguments and environment, lays out each service's stage as its COPY
// instructions do, and runs the image's ENTRYPOINT.
//
// Build understands the instructions the Dockerfile uses and fails on any
// other, so a Dockerfile change the emulation cannot follow breaks the test
// instead of passing it untested.
package imagetest

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Path string
	// MetaArgs are the ARG instructions before the first FROM.
	MetaArgs []Instruction
	Stages   []*Stage
	escape   rune
}

// Stage is a FROM instruction and those up to the next FROM.
type Stage struct {
	// Name is the AS name, or the stage's index when it has none.
	Name string
	// Base is FROM's image or stage name, build arguments expanded.
	Base         string
	Instructions []Instruction
}

// Instruction is one instruction of a stage.
type Instruction struct {
	// Command is the instruction's keyword in lower case: "run", "copy"...
	Command string
	// Flags are the options before the arguments, such as --from=build.
	Flags []string
	// Args are the words after the keyword: one string for a shell-form RUN,
	// NAME=VALUE or NAME for ARG, and for ENV name, value and separator
	// ("=" or "") in turn; see EnvPairs.
	Args []string
	// JSON says Args came from the exec (JSON array) form.
	JSON bool
	Line int
}

func (in Instruction) String() string {
	return fmt.Sprintf("line %d: %s", in.Line, strings.ToUpper(in.Command))
}

// EnvPairs are an ENV instruction's names and values, unexpanded.
func (in Instruction) EnvPairs() [][2]string {
	var pairs [][2]string
	for i := 0; i+1 < len(in.Args); i += 3 {
		pairs = append(pairs, [2]string{in.Args[i], in.Args[i+1]})
	}
	return pairs
}

// Flag returns the value of the flag --name=value and whether it is there.
func (in Instruction) Flag(name string) (string, bool) {
	for _, f := range in.Flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v, true
		}
	}
	return "", false
}

// ParseFile parses the Dockerfile at path with BuildKit's parser, the one
// docker buildx build uses. buildArgs expand the meta arguments in FROM.
func ParseFile(path string, buildArgs map[string]string) (*Dockerfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	d := &Dockerfile{Path: path, escape: res.EscapeToken}
	for _, n := range res.AST.Children {
		in := Instruction{Command: strings.ToLower(n.Value), Flags: n.Flags, JSON: n.Attributes["json"], Line: n.StartLine}
		if len(n.Heredocs) > 0 {
			return nil, fmt.Errorf("%s: %s: heredocs are not supported here", path, in)
		}
		for a := n.Next; a != nil; a = a.Next {
			in.Args = append(in.Args, a.Value)
		}
		if in.Command != "from" {
			if len(d.Stages) == 0 {
				if in.Command != "arg" {
					return nil, fmt.Errorf("%s: %s before the first FROM", path, in)
				}
				d.MetaArgs = append(d.MetaArgs, in)
				continue
			}
			s := d.Stages[len(d.Stages)-1]
			s.Instructions = append(s.Instructions, in)
			continue
		}
		s, err := d.stage(in, buildArgs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		d.Stages = append(d.Stages, s)
	}
	if len(d.Stages) == 0 {
		return nil, fmt.Errorf("%s: no FROM", path)
	}
	return d, nil
}

func (d *Dockerfile) stage(from Instruction, buildArgs map[string]string) (*Stage, error) {
	if len(from.Flags) > 0 {
		return nil, fmt.Errorf("%s: flags %v are not supported here", from, from.Flags)
	}
	s := &Stage{Name: strconv.Itoa(len(d.Stages))}
	switch {
	case len(from.Args) == 3 && strings.EqualFold(from.Args[1], "as"):
		s.Name = strings.ToLower(from.Args[2])
	case len(from.Args) != 1:
		return nil, fmt.Errorf("%s: want FROM image [AS name], got %q", from, from.Args)
	}
	vars := newVars()
	for _, a := range d.MetaArgs {
		if err := vars.declare(d.lexer(), a, buildArgs); err != nil {
			return nil, err
		}
	}
	base, _, err := d.lexer().ProcessWord(from.Args[0], vars)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", from, err)
	}
	s.Base = base
	return s, nil
}

// Stage returns the stage called name.
func (d *Dockerfile) Stage(name string) (*Stage, bool) {
	for _, s := range d.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Leaves are the stages no other stage builds on or copies from: the
// images the Dockerfile is for.
func (d *Dockerfile) Leaves() []string {
	used := map[string]bool{}
	for _, s := range d.Stages {
		used[s.Base] = true
		for _, in := range s.Instructions {
			if from, ok := in.Flag("from"); ok {
				used[from] = true
			}
		}
	}
	var leaves []string
	for _, s := range d.Stages {
		if !used[s.Name] {
			leaves = append(leaves, s.Name)
		}
	}
	return leaves
}

func (d *Dockerfile) lexer() *shell.Lex { return shell.NewLex(d.escape) }

// vars are the build arguments and environment variables in scope, in the
// order they were set; an ENV hides an ARG of the same name, as in Docker.
type vars struct {
	args, env map[string]string
	order     []string
}

func newVars() *vars { return &vars{args: map[string]string{}, env: map[string]string{}} }

func (v *vars) clone() *vars {
	c := newVars()
	for k, x := range v.env {
		c.env[k] = x
	}
	c.order = append(c.order, v.order...)
	return c // build arguments end with their stage
}

// Get implements shell.EnvGetter.
func (v *vars) Get(key string) (string, bool) {
	if x, ok := v.env[key]; ok {
		return x, true
	}
	x, ok := v.args[key]
	return x, ok
}

// Keys implements shell.EnvGetter.
func (v *vars) Keys() []string {
	var keys []string
	seen := map[string]bool{}
	for _, k := range v.order {
		if _, ok := v.Get(k); ok && !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	return keys
}

func (v *vars) set(m map[string]string, k, x string) {
	m[k] = x
	v.order = append(v.order, k)
}

// declare applies an ARG instruction: each name takes the build argument
// given for it, else its default, else stays unset.
func (v *vars) declare(lex *shell.Lex, in Instruction, buildArgs map[string]string) error {
	for _, a := range in.Args {
		name, def, hasDef := strings.Cut(a, "=")
		if x, ok := buildArgs[name]; ok {
			v.set(v.args, name, x)
			continue
		}
		if !hasDef {
			continue
		}
		x, _, err := lex.ProcessWord(def, v)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", in, name, err)
		}
		v.set(v.args, name, x)
	}
	return nil
}

// environ is the environment of a RUN command: base, then the build
// arguments, then ENV.
func (v *vars) environ(base []string) []string {
	env := append([]string(nil), base...)
	for _, k := range v.Keys() {
		x, _ := v.Get(k)
		env = append(env, k+"="+x)
	}
	return env
}
