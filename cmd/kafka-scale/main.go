// Command kafka-scale is the pipeline's admin tool. Its subcommands live in
// internal packages; main only wires them.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/admin"
	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/cli"
	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/gen"
	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/report"
	"github.com/kafka-scale/kafka-scale/cmd/kafka-scale/internal/simulate"
)

func main() {
	os.Exit(run())
}

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	commands := append([]cli.Command{
		gen.Command(),
		report.Command(),
		report.WaitCommand(),
		simulate.Command(),
	}, admin.Commands()...)
	return cli.Run(ctx, cli.OSEnv(), commands, os.Args[1:])
}
