package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/msg-gateway/msg/client"
)

// The "load" subcommand runs one repetition of one cell against a gateway
// and prints the sample as JSON. The harness uses it for -baseline: a
// msgbench built from another checkout drives that checkout's gateway with
// that checkout's client library, inside the same run as everything else.
func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	addr := fs.String("addr", "", "gateway address")
	caFile := fs.String("ca", "", "CA file")
	certFile := fs.String("cert", "", "client certificate file")
	keyFile := fs.String("key", "", "client key file")
	pidList := fs.String("pids", "", "the gateway's pids, comma-separated")
	path := fs.String("path", "/1k", "request path")
	bodySize := fs.Int("body", 0, "POST a body of this size instead of GET")
	conc := fs.Int("conc", 1, "concurrency")
	warm := fs.Duration("warm", 300*time.Millisecond, "warm-up")
	dur := fs.Duration("dur", time.Second, "window")
	size := fs.Int64("size", 0, "download size, with -downloads")
	downloads := fs.Int("downloads", 0, "sequential downloads instead of a closed loop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		return err
	}
	tr, err := client.New(*addr, client.WithCertificate(cert), client.WithRootCAFile(*caFile), client.WithServerName("localhost"))
	if err != nil {
		return err
	}
	defer tr.Close()
	proxy := &child{}
	for _, p := range strings.Split(*pidList, ",") {
		if n, err := strconv.Atoi(p); err == nil {
			proxy.pids = append(proxy.pids, n)
		}
	}
	t := &target{name: "gateway", client: &http.Client{Transport: tr}, base: "https://" + benchHost, proxy: proxy}
	var mk request = getPath(*path)
	if *bodySize > 0 {
		mk = postBody(*path, make([]byte, *bodySize))
	}
	buf := make([]byte, 64<<10)
	for range 20 { // warm the connection
		if _, err := do(t, getPath("/1k"), buf); err != nil {
			return err
		}
	}
	var s sample
	if *downloads > 0 {
		s = transfers(t, mk, *size, *downloads)
	} else {
		s = closedLoop(t, mk, *conc, *warm, *dur)
	}
	return json.NewEncoder(os.Stdout).Encode(s)
}

// remoteSample runs one repetition of c against t with t's own harness.
func remoteSample(t *target, c cell, p plan, f *pkiFiles) (sample, error) {
	var pids []string
	for _, pid := range t.proxy.pids {
		pids = append(pids, strconv.Itoa(pid))
	}
	args := []string{"load", "-addr", t.addr, "-ca", f.ca, "-cert", f.clientCert, "-key", f.clientKey,
		"-pids", strings.Join(pids, ","), "-path", c.path, "-conc", strconv.Itoa(c.conc),
		"-warm", p.Warm.String(), "-dur", p.Window.String(),
		"-size", strconv.FormatInt(c.size, 10), "-downloads", strconv.Itoa(c.downloads)}
	if c.post {
		args = append(args, "-body", strconv.FormatInt(c.size, 10))
	}
	var out, errOut bytes.Buffer
	cmd := exec.Command(t.harness, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return sample{}, fmt.Errorf("%s load: %v: %s", t.harness, err, errOut.String())
	}
	var s sample
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		return sample{}, errors.New("load: bad output: " + out.String())
	}
	return s, nil
}
