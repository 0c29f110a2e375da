// Command msg-gateway runs the mobile secure gateway.
//
//	msg-gateway serve --config FILE   run with a config file
//	msg-gateway check --config FILE   validate a config file and its TLS files
//	msg-gateway dev [--dir DIR]       run the embedded dev mode (throwaway PKI, demo host)
//	msg-gateway version               print version information
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	configv1 "github.com/msg-gateway/msg/gen/msg/config/v1"
	"github.com/msg-gateway/msg/internal/fieldpath"
	"github.com/msg-gateway/msg/server"
	"go.opentelemetry.io/otel"
)

// version and commit are set at build time (make build) with
// -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = ""
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: msg-gateway <command> [flags]

commands:
  serve --config FILE    run the gateway with a config file
  check --config FILE    validate a config file (and load its TLS files), then exit
  dev   [--dir DIR]      run the embedded dev mode: throwaway PKI, demo host, dev policy
  version                print version information
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(args[1:], stderr)
	case "check":
		err = cmdCheck(args[1:], stdout, stderr)
	case "dev":
		err = cmdDev(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		printVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "msg-gateway: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "msg-gateway: %v\n", err)
		return 1
	}
	return 0
}

func cmdServe(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "path of the YAML config file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return errors.New("serve: --config FILE is required and takes no arguments")
	}
	cfg, err := server.LoadConfig(*path)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	logs := newBatchWriter(stderr) // see logFlushDelay
	defer logs.Close()
	logger, err := newLogger(cfg, logs, level)
	if err != nil {
		return err
	}
	return serve(*path, cfg, server.Options{Logger: logger, LogLevel: level, Version: version})
}

// serve runs the gateway until SIGTERM or SIGINT and then drains it (see
// server.Run). SIGHUP re-reads cfgPath and applies its log.level (see
// server.Server.Reload), and reloads the TLS files (server.Server.ReloadTLS).
// A second SIGTERM or SIGINT during the drain has its default effect: the
// process stops at once.
func serve(cfgPath string, cfg *configv1.Config, opts server.Options) error {
	// OpenTelemetry reports export failures (an unreachable collector)
	// through a process-wide handler that prints with the log package; send
	// them to our logger instead.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		opts.Logger.Warn("tracing: export failed", "error", err.Error())
	}))
	// A closed stdout or stderr (the log's reader, a supervisor or log
	// shipper, went away) must not kill a gateway with calls in flight, as
	// Go's default SIGPIPE does: log writes fail with EPIPE instead.
	signal.Ignore(syscall.SIGPIPE)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	go paceGC(ctx, opts.Logger)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	opts.Reload = hup
	opts.ReloadConfig = func() (*configv1.Config, error) { return server.LoadConfig(cfgPath) }
	return server.Run(ctx, cfg, opts)
}

func cmdCheck(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "path of the YAML config file (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return errors.New("check: --config FILE is required and takes no arguments")
	}
	cfg, err := server.LoadConfig(*path)
	if err != nil {
		return err
	}
	if err := server.Check(cfg); err != nil {
		return err
	}
	for _, w := range server.Warnings(cfg) {
		fmt.Fprintf(stderr, "msg-gateway: WARNING: %s\n", w)
	}
	fmt.Fprintf(stdout, "%s: ok (%d hosts, %d rules)\n", *path, len(cfg.GetHosts()), len(cfg.GetRules()))
	return nil
}

// newLogger returns the logger cfg.log describes. Its level is level, set
// here from log.level, so that a reload can change it.
func newLogger(cfg *configv1.Config, w io.Writer, level *slog.LevelVar) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(cfg.GetLog().GetLevel())); err != nil {
		return nil, &fieldpath.Error{Path: "log.level", Msg: err.Error()}
	}
	level.Set(l)
	opts := &slog.HandlerOptions{Level: level}
	if cfg.GetLog().GetFormat() == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

func printVersion(w io.Writer) {
	commit := commit
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	fmt.Fprintf(w, "msg-gateway %s (commit %s, %s, %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
