// Package cli dispatches kafka-scale's subcommands: one flag.FlagSet per
// command, every flag with an environment-variable twin, and exit statuses
// that tell a mistake on the command line (2) from a failure (1).
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kafka-scale/kafka-scale/pkg/extkafka"
	"github.com/kafka-scale/kafka-scale/pkg/flagenv"
	"github.com/kafka-scale/kafka-scale/pkg/version"
)

// Name is the program's name in messages.
const Name = "kafka-scale"

// Env is what a command may touch of the process.
type Env struct {
	Stdout, Stderr io.Writer
	// LookupEnv reads the environment; os.LookupEnv when nil.
	LookupEnv func(string) (string, bool)
}

// OSEnv is the process's own standard streams and environment.
func OSEnv() Env {
	return Env{Stdout: os.Stdout, Stderr: os.Stderr, LookupEnv: os.LookupEnv}
}

// Command is one subcommand.
type Command struct {
	Name    string
	Summary string // one line, lower case, no final period
	// Run runs the command with the arguments after its name. It returns a
	// *UsageError for a mistake on the command line.
	Run func(ctx context.Context, env Env, args []string) error
}

// UsageError is a mistake on the command line.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, a ...any) error {
	return &UsageError{Err: fmt.Errorf(format, a...)}
}

// ParseFlags parses a command's args into fs, filling flags not given from
// their environment variables (prefix plus the flag's name in upper case).
// "-h" prints fs.Usage to Stdout and returns flag.ErrHelp; any other
// mistake is a *UsageError.
func ParseFlags(fs *flag.FlagSet, env Env, prefix string, args []string) error {
	return ParseBound(fs, flagenv.New(fs, prefix), env, args)
}

// ParseBound is ParseFlags with a Binder of fs made by the caller, for
// commands whose flags include some bound to variables of their own, such
// as extkafka's KAFKA_* (see extkafka.Config.RegisterFlags).
func ParseBound(fs *flag.FlagSet, b *flagenv.Binder, env Env, args []string) error {
	fs.SetOutput(io.Discard) // errors are reported once, by Run
	err := b.Parse(args, env.LookupEnv)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(env.Stdout)
		fs.Usage()
		return err
	case err != nil:
		return &UsageError{Err: err}
	case fs.NArg() > 0:
		return Usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// Run runs the command args[0] names with the rest of args, and returns
// the exit status: 0 on success, 1 when the command failed, 2 for a
// mistake on the command line.
func Run(ctx context.Context, env Env, commands []Command, args []string) int {
	if env.LookupEnv == nil {
		env.LookupEnv = os.LookupEnv
	}
	if len(args) == 0 {
		usage(env.Stderr, commands)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			usage(env.Stdout, commands)
			return 0
		}
		name, rest = rest[0], []string{"-h"}
	case "version", "-version", "--version":
		fmt.Fprintln(env.Stdout, version.String(Name, "librdkafka", extkafka.LibraryVersion()))
		return 0
	}
	for _, c := range commands {
		if c.Name != name {
			continue
		}
		err := c.Run(ctx, env, rest)
		var uerr *UsageError
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &uerr):
			fmt.Fprintf(env.Stderr, "%s %s: %v\nRun '%s %s -h' for usage.\n", Name, name, err, Name, name)
			return 2
		default:
			fmt.Fprintf(env.Stderr, "%s %s: %v\n", Name, name, err)
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "%s: unknown command %q\n", Name, name)
	usage(env.Stderr, commands)
	return 2
}

func usage(w io.Writer, commands []Command) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s <command> [flags]\n\nCommands:\n", Name)
	width := len("version")
	for _, c := range commands {
		width = max(width, len(c.Name))
	}
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.Name, c.Summary)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "show this help, or a command's: "+Name+" help <command>")
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "version", "print the version")
	fmt.Fprintf(&b, "\nRun '%s <command> -h' for a command's flags; every flag can also be set\nfrom the environment variable shown next to it.\n", Name)
	_, _ = io.WriteString(w, b.String())
}
