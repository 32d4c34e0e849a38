// Command leadq qualifies leads with YAML rules: check rule files, score
// leads, and serve decisions over HTTP.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// Exit codes, as promtool's: 0 ok, 1 errors or failed tests, 2 usage,
// 3 warnings with --fail-on-warning.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitWarnings = 3
)

// exitError carries an exit code; its message, if any, has been printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// usageError marks a mistake in how the command was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "leadq:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "leadq:", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// env is what every subcommand reads and writes instead of the process's
// globals, so that tests can run them with buffers.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

// run is main without the process: it parses args and runs one subcommand.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "leadq",
		Short:         "Qualify leads with YAML rules",
		Long:          "leadq scores leads and accounts against rules that describe your best customers.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.Version = readBuildInfo().Version // enables --version
	root.SetVersionTemplate(versionTemplate())
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see leadq %s --help)", err, c.Name())}
	})
	for _, add := range []func(*env) *cobra.Command{
		newServeCmd, newScoreCmd, newCheckCmd, newTestCmd, newFmtCmd, newSchemaCmd,
		newDiffCmd, newBacktestCmd, newDeriveCmd, newWhyCmd, newStatsCmd, newVersionCmd,
	} {
		root.AddCommand(add(e))
	}
	return root.ExecuteContext(ctx)
}

// exactArgs and rangeArgs are cobra's argument checks as usage errors.
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.RangeArgs(min, max)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.MinimumNArgs(n)(cmd, args); err != nil {
			return &usageError{err}
		}
		return nil
	}
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return &usageError{fmt.Errorf("unknown --format %q (use %v)", format, allowed)}
}
