package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// echo is a command that prints its one flag, or fails on request.
func echo() Command {
	return Command{Name: "echo", Summary: "print a word", Run: func(_ context.Context, env Env, args []string) error {
		fs := flag.NewFlagSet("echo", flag.ContinueOnError)
		word := fs.String("word", "hello", "word to print")
		fail := fs.Bool("fail", false, "fail instead")
		fs.Usage = func() { _, _ = fs.Output().Write([]byte("Usage: kafka-scale echo [flags]\n")); fs.PrintDefaults() }
		if err := ParseFlags(fs, env, "ECHO_", args); err != nil {
			return err
		}
		if *fail {
			return errors.New("failed on purpose")
		}
		_, err := env.Stdout.Write([]byte(*word + "\n"))
		return err
	}}
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name             string
		args             []string
		env              map[string]string
		code             int
		stdout, stderr   string
		stdoutContains   string
		stderrContainsIn string
	}{
		{name: "command", args: []string{"echo"}, stdout: "hello\n"},
		{name: "flag", args: []string{"echo", "--word", "hi"}, stdout: "hi\n"},
		{name: "environment twin", args: []string{"echo"}, env: map[string]string{"ECHO_WORD": "env"}, stdout: "env\n"},
		{name: "flag beats environment", args: []string{"echo", "-word=flag"}, env: map[string]string{"ECHO_WORD": "env"}, stdout: "flag\n"},
		{
			name: "failure", args: []string{"echo", "--fail"}, code: 1,
			stderr: "kafka-scale echo: failed on purpose\n",
		},
		{
			name: "unknown flag", args: []string{"echo", "--nope"}, code: 2,
			stderr: "kafka-scale echo: flag provided but not defined: -nope\nRun 'kafka-scale echo -h' for usage.\n",
		},
		{
			name: "bad environment value", args: []string{"echo"}, env: map[string]string{"ECHO_FAIL": "maybe"}, code: 2,
			stderrContainsIn: `environment variable ECHO_FAIL="maybe" (flag --fail)`,
		},
		{
			name: "stray argument", args: []string{"echo", "extra"}, code: 2,
			stderr: "kafka-scale echo: unexpected argument \"extra\"\nRun 'kafka-scale echo -h' for usage.\n",
		},
		{name: "command help", args: []string{"echo", "-h"}, stdoutContains: "Usage: kafka-scale echo [flags]"},
		{name: "help command", args: []string{"help", "echo"}, stdoutContains: "word to print [$ECHO_WORD]"},
		{name: "version", args: []string{"version"}, stdoutContains: "kafka-scale dev"},
		{name: "version names librdkafka", args: []string{"--version"}, stdoutContains: ", librdkafka 2."},
		{name: "unknown command", args: []string{"nope"}, code: 2, stderrContainsIn: "kafka-scale: unknown command \"nope\"\nUsage: kafka-scale <command>"},
		{name: "no command", code: 2, stderrContainsIn: "Usage: kafka-scale <command>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			env := Env{Stdout: &stdout, Stderr: &stderr, LookupEnv: func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok }}
			code := Run(context.Background(), env, []Command{echo()}, tc.args)
			require.Equal(t, tc.code, code, "stderr: %s", stderr.String())
			if tc.stdoutContains != "" {
				require.Contains(t, stdout.String(), tc.stdoutContains)
			} else {
				require.Equal(t, tc.stdout, stdout.String())
			}
			if tc.stderrContainsIn != "" {
				require.Contains(t, stderr.String(), tc.stderrContainsIn)
			} else {
				require.Equal(t, tc.stderr, stderr.String())
			}
		})
	}
}

func TestUsageGolden(t *testing.T) {
	var stdout bytes.Buffer
	require.Zero(t, Run(context.Background(), Env{Stdout: &stdout}, []Command{echo()}, []string{"help"}))
	golden := filepath.Join("testdata", "usage.golden")
	if *update {
		require.NoError(t, os.WriteFile(golden, stdout.Bytes(), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), stdout.String())
}
