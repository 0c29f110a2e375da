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
	"github.com/msg-gateway/msg/server"
	"github.com/msg-gateway/msg/server/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

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
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return server.Run(ctx, cfg, server.Options{Logger: logger})
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
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	if err := server.Check(cfg); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d hosts, %d rules)\n", *path, len(cfg.GetHosts()), len(cfg.GetRules()))
	return nil
}

func newLogger(cfg *configv1.Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.GetLog().GetLevel())); err != nil {
		return nil, &config.Error{Path: "log.level", Msg: err.Error()}
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.GetLog().GetFormat() == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

func printVersion(w io.Writer) {
	commit := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(w, "msg-gateway %s (commit %s, %s, %s/%s)\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
