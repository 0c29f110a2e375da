// Command msgctl administers a running mobile secure gateway through its admin
// REST API: hosts, rules, revocations, the audit trail and status.
//
//	msgctl --token-file .dev/admin-token hosts list
//	msgctl rules update alice-demo -f rule.yaml
//	msgctl audit --decision deny --since 1h -o json
//	msgctl audit verify --checkpoint /mnt/witness/audit-checkpoints
//
// Run "msgctl help" for the full command reference.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/msg-gateway/msg/internal/resource"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const defaultAddr = "http://127.0.0.1:8080"

const usageText = `usage: msgctl [flags] <command> [arguments] [flags]

msgctl administers a running mobile secure gateway through its admin REST API.

commands:
  hosts list                      list the allow-listed hosts
  hosts get NAME                  show one host
  hosts create -f FILE            add a host from a YAML or JSON file ('-' reads stdin)
  hosts update [NAME] -f FILE [--mask FIELD,...] [--etag ETAG]
                                  replace a host with the file's content; with --mask,
                                  change only the named top-level fields
  hosts delete NAME [--etag ETAG] remove a host

  rules list                      list the authorization rules
  rules get ID                    show one rule
  rules create -f FILE            add a rule from a YAML or JSON file
  rules update [ID] -f FILE [--mask FIELD,...] [--etag ETAG]
                                  replace a rule (or only the --mask fields)
  rules delete ID [--etag ETAG]   remove a rule

  revocations list                list the revoked client certificates
  revocations create (--serial HEX --issuer DN | --fingerprint HEX) --reason TEXT
                                  revoke a client certificate
  revocations delete ID [--etag ETAG]
                                  lift a revocation

  enrollment-tokens list          list the enrollment tokens (never their secrets)
  enrollment-tokens get ID        show one enrollment token
  enrollment-tokens create --cn CN [--org O,...] [--ou OU,...] [--spiffe-id URI]
        [--ttl DURATION] [--max-uses N] [--cert-lifetime DURATION] [--description TEXT]
        [--png FILE]              let devices enroll with this identity: prints the
                                  one-time secret, the enrollment bundle and its QR
                                  code (shown only now); --png also writes the QR
                                  code as an image (mode 0600)
  enrollment-tokens delete ID [--etag ETAG]
                                  revoke an enrollment token's secret

  devices list                    list the enrolled devices
  devices get ID                  show one device
  devices delete ID [--etag ETAG] delete a device and revoke its certificates

  audit [--principal P] [--host H] [--decision allow|deny] [--kind forward|admin|enroll|renew]
        [--since DURATION | --start TIME] [--end TIME] [--limit N]
                                  show audit records, newest first; TIME is RFC 3339,
                                  --since e.g. 1h; follows pages up to --limit (default 100)
  audit verify [--file FILE] [--checkpoint FILE]... [--log-key KEY] [--offline]
                                  check the trail against its signed checkpoints: the
                                  gateway's store, or a JSON-lines file (audit.jsonl_file);
                                  --checkpoint adds a witness's file (audit.witness.file),
                                  which tells records missing at the end; --log-key pins the
                                  log's key. Names the first bad record; exit status 1 then
  audit proof INDEX [--tree-size N] [--log-key KEY]
                                  show one record with its proof of inclusion in a signed
                                  checkpoint, checked here

  status                          show the gateway's version, uptime, revision and counts

  policy test [--principal ID] [--cn CN] [--org O,...] [--ou OU,...] [--spiffe-id URI]
              [--fingerprint HEX] METHOD HOST PATH
                                  ask the running gateway how it decides this request
                                  now (rule, reason, canonical path); nothing is sent
  version                         print msgctl's version
  help                            print this text

flags (accepted before or after the command):
  --addr URL          admin API base URL ($MSGCTL_ADDR, default http://127.0.0.1:8080)
  --token TOKEN       admin bearer token (visible to other local users; prefer the next two)
  --token-file FILE   file holding the token, e.g. the dev mode's DIR/admin-token
                      precedence: --token, then --token-file, then $MSGCTL_TOKEN
  -o, --output FMT    table (default, for people) or json (the API response, for scripts)
  --timeout DURATION  limit for each HTTP request (default 30s)
  --cacert FILE       CA certificates for an https admin listener (default: system roots)
  --cert FILE         admin client certificate for an https admin listener
  --key FILE          its private key
  --unsafe-plaintext  allow sending the token over plain http to a non-loopback address

Files for create and update hold one Host or Rule with the config file's keys
(snake_case; lowerCamelCase is accepted too, and so is the output of "get -o
json"). Unknown keys are errors. Writes print the stored resource.

update and delete send the etag they are based on: --etag, else the etag in the
file (update), else the current one, read first. If someone else changes the
resource in between, the write fails with 409 and changes nothing; re-run.

exit status: 0 success, 1 error (API, network, file), 2 usage error
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run executes one msgctl command line and returns the exit status. env
// looks up environment variables (os.Getenv in production).
func run(args []string, stdout, stderr io.Writer, env func(string) string) int {
	c := &cli{stdin: os.Stdin, stdout: stdout, stderr: stderr, env: env, now: time.Now}
	return c.run(context.Background(), args)
}

// cli is one invocation's environment.
type cli struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	env    func(string) string
	now    func() time.Time
}

// usageError is a mistake on the command line; it exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp asks for the usage text on stdout and exit status 0.
var errHelp = errors.New("help requested")

func (c *cli) run(ctx context.Context, args []string) int {
	err := c.dispatch(ctx, args)
	var ue *usageError
	var ae *apiError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		fmt.Fprint(c.stdout, usageText)
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "msgctl: %s\nrun 'msgctl help' for usage\n", ue.msg)
		return 2
	case errors.As(err, &ae):
		fmt.Fprintf(c.stderr, "msgctl: %s\n", ae)
		for _, d := range ae.details {
			fmt.Fprintf(c.stderr, "msgctl:   %s\n", d)
		}
		if ae.hint != "" {
			fmt.Fprintf(c.stderr, "msgctl: %s\n", ae.hint)
		}
		return 1
	default:
		fmt.Fprintf(c.stderr, "msgctl: %v\n", err)
		return 1
	}
}

// options are the flags every command accepts.
type options struct {
	addr            string
	token           string
	tokenFile       string
	output          string
	timeout         time.Duration
	caFile          string
	certFile        string
	keyFile         string
	unsafePlaintext bool
}

// register adds the global flags to fs. The current values are the
// defaults, so registering on a second flag set keeps what the first parsed.
func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", o.addr, "admin API base URL")
	fs.StringVar(&o.token, "token", o.token, "admin bearer token")
	fs.StringVar(&o.tokenFile, "token-file", o.tokenFile, "file holding the admin token")
	fs.StringVar(&o.output, "o", o.output, "output format: table or json")
	fs.StringVar(&o.output, "output", o.output, "output format: table or json")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "limit for each HTTP request")
	fs.StringVar(&o.caFile, "cacert", o.caFile, "CA certificates for an https admin listener")
	fs.StringVar(&o.certFile, "cert", o.certFile, "admin client certificate")
	fs.StringVar(&o.keyFile, "key", o.keyFile, "admin client key")
	fs.BoolVar(&o.unsafePlaintext, "unsafe-plaintext", o.unsafePlaintext, "allow the token over plain http to a non-loopback address")
}

func (o *options) json() bool { return o.output == "json" }

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported once, by run
	fs.Usage = func() {}
	return fs
}

func flagError(cmd string, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return usagef("%s: %v", cmd, err)
}

// parseLeaf parses a command's own flags together with the global ones,
// wherever they appear among the positional arguments, which it returns.
// "--" ends the flags.
func parseLeaf(cmd string, fs *flag.FlagSet, o *options, args []string) ([]string, error) {
	o.register(fs)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(cmd, err)
		}
		if used := len(args) - fs.NArg(); used > 0 && args[used-1] == "--" {
			return append(pos, fs.Args()...), nil
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c *cli) dispatch(ctx context.Context, args []string) error {
	o := &options{addr: defaultAddr, output: "table", timeout: 30 * time.Second}
	if a := c.env("MSGCTL_ADDR"); a != "" {
		o.addr = a
	}
	fs := newFlagSet("msgctl")
	o.register(fs)
	if err := fs.Parse(args); err != nil {
		return flagError("msgctl", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef("missing command (%s)", commandList())
	}
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "help":
		return errHelp
	case "version":
		_, err := fmt.Fprintf(c.stdout, "msgctl %s\n", version)
		return err
	case "audit":
		return c.auditCommand(ctx, o, rest)
	case "status":
		return c.statusCommand(ctx, o, rest)
	case "policy":
		return c.policyCommand(ctx, o, rest)
	}
	for _, k := range resource.All() {
		if cmd == commandName(k) {
			return c.resourceCommand(ctx, o, k, rest)
		}
	}
	return usagef("unknown command %q (%s)", cmd, commandList())
}

// commandList names the commands: every resource kind's, then the others.
func commandList() string {
	var names []string
	for _, k := range resource.All() {
		names = append(names, commandName(k))
	}
	return strings.Join(append(names, "audit", "status", "policy"), ", ")
}

// verb splits "list ..." off a command's arguments.
func verb(cmd string, args []string, verbs ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return "", nil, errHelp
		}
		return "", nil, usagef("%s: missing verb (%s)", cmd, strings.Join(verbs, ", "))
	}
	for _, v := range verbs {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, usagef("%s: unknown verb %q (%s)", cmd, args[0], strings.Join(verbs, ", "))
}

// checkArgs validates the positional arguments' count and that keys are
// usable as one URL path segment.
func checkArgs(cmd string, pos []string, min, max int, names string) error {
	if len(pos) < min {
		return usagef("%s: missing %s", cmd, names)
	}
	if len(pos) > max {
		return usagef("%s: unexpected argument %q", cmd, pos[max])
	}
	for _, p := range pos {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "/\\") {
			return usagef("%s: %q is not a valid %s", cmd, p, names)
		}
	}
	return nil
}

// connect validates the global flags and resolves the token.
func (c *cli) connect(o *options) (*client, error) {
	if o.output != "table" && o.output != "json" {
		return nil, usagef("-o %q: want table or json", o.output)
	}
	token, err := c.token(o)
	if err != nil {
		return nil, err
	}
	return newClient(clientConfig{
		addr:            o.addr,
		token:           token,
		timeout:         o.timeout,
		caFile:          o.caFile,
		certFile:        o.certFile,
		keyFile:         o.keyFile,
		unsafePlaintext: o.unsafePlaintext,
	})
}

// token returns the admin token: --token, else --token-file, else
// $MSGCTL_TOKEN, else none. Errors never include the token.
func (c *cli) token(o *options) (string, error) {
	tok, from := o.token, "--token"
	if tok == "" && o.tokenFile != "" {
		data, err := readLimited(o.tokenFile, nil, 64<<10)
		if err != nil {
			return "", fmt.Errorf("--token-file: %w", err)
		}
		tok, from = strings.TrimSpace(string(data)), "--token-file "+o.tokenFile
		if tok == "" {
			return "", fmt.Errorf("--token-file %s is empty", o.tokenFile)
		}
	}
	if tok == "" {
		tok, from = strings.TrimSpace(c.env("MSGCTL_TOKEN")), "MSGCTL_TOKEN"
	}
	for _, r := range tok {
		if r <= ' ' || r == 0x7f {
			return "", fmt.Errorf("the token from %s contains spaces or control characters", from)
		}
	}
	return tok, nil
}

// readLimited reads a file, or stdin for "-", refusing more than limit bytes.
func readLimited(name string, stdin io.Reader, limit int64) ([]byte, error) {
	var r io.Reader
	if name == "-" && stdin != nil {
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return data, nil
}
