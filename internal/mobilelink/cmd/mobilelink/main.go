// Command mobilelink runs an emulated mobile network link in front of a
// gateway, for test suites that cannot link the Go package: the Kotlin and
// TypeScript SDKs' tests start it, point their client at its listen
// address, and steer it through its control endpoint.
//
//	go run ./internal/mobilelink/cmd/mobilelink -target 127.0.0.1:8443 \
//	    [-listen 127.0.0.1:0] [-control 127.0.0.1:0] [-rtt 150ms] [-jitter 20ms] \
//	    [-uplink-bps 1000000] [-downlink-bps 5000000] [-nat-idle-timeout 30s]
//
// Once both listeners are open it prints one JSON line to stdout,
// {"listen":"127.0.0.1:PORT","control":"127.0.0.1:PORT"}, and runs until
// SIGINT or SIGTERM. The control endpoint (loopback only) takes
// POST /network-change, POST /reset, GET and POST /config, GET /stats; see
// mobilelink.Link.Handler.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/msg-gateway/msg/internal/mobilelink"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mobilelink:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("mobilelink", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "where clients connect")
	control := fs.String("control", "127.0.0.1:0", "the control endpoint's address (loopback only)")
	target := fs.String("target", "", "the gateway's address, a loopback host:port (required)")
	rtt := fs.Duration("rtt", 150*time.Millisecond, "round-trip time the link adds")
	jitter := fs.Duration("jitter", 20*time.Millisecond, "variation of each one-way delay, within ±jitter/2")
	up := fs.Int64("uplink-bps", 1_000_000, "uplink rate in bit/s (0: unlimited)")
	down := fs.Int64("downlink-bps", 5_000_000, "downlink rate in bit/s (0: unlimited)")
	nat := fs.Duration("nat-idle-timeout", 0, "blackhole connections idle for longer (0: never)")
	queue := fs.Int("queue-bytes", 0, "bytes one direction of a connection holds in the link (0: 128 KiB)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	host, _, err := net.SplitHostPort(*control)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-control %q: must be a loopback IP address and port", *control)
	}
	link, err := mobilelink.Listen(*listen, mobilelink.Config{
		Target: *target, RTT: mobilelink.Duration(*rtt), Jitter: mobilelink.Duration(*jitter),
		UplinkBPS: *up, DownlinkBPS: *down, NATIdleTimeout: mobilelink.Duration(*nat), QueueBytes: *queue,
	})
	if err != nil {
		return err
	}
	defer link.Close()
	clis, err := net.Listen("tcp", *control)
	if err != nil {
		return fmt.Errorf("-control: %w", err)
	}
	srv := &http.Server{Handler: link.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(clis) }()
	line, _ := json.Marshal(map[string]string{"listen": link.Addr(), "control": clis.Addr().String()})
	fmt.Fprintln(stdout, string(line))

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
