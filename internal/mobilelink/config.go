package mobilelink

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Config is the shape of the link. The zero value of a field means "no such
// effect" (no delay, unlimited rate, no NAT timeout), except QueueBytes.
type Config struct {
	// Target is the address every accepted connection is relayed to, a
	// loopback host:port (tests must not send traffic elsewhere). A change
	// applies to connections accepted afterwards, as a load balancer whose
	// backend moved.
	Target string `json:"target"`
	// RTT is the round-trip time the link adds, half in each direction. A
	// new connection also waits one RTT before its first byte goes up, for
	// the TCP handshake the relay's local accept does not cost.
	RTT Duration `json:"rtt"`
	// Jitter varies each segment's one-way delay uniformly within
	// ±Jitter/2, never reordering a connection's bytes.
	Jitter Duration `json:"jitter"`
	// UplinkBPS and DownlinkBPS are the link's rates in bits per second,
	// client to target and back; 0 is unlimited. All connections share them,
	// one queue per direction, as they share a phone's radio.
	UplinkBPS   int64 `json:"uplink_bps"`
	DownlinkBPS int64 `json:"downlink_bps"`
	// NATIdleTimeout, when positive, blackholes a connection that carried
	// no byte either way for longer: like a carrier NAT that dropped the
	// mapping, the link forwards nothing more on it, closes nothing, and
	// tells neither end.
	NATIdleTimeout Duration `json:"nat_idle_timeout"`
	// QueueBytes bounds what one direction of one connection holds in the
	// link (queued and in propagation) before the relay stops reading and
	// TCP pushes back on the sender. Default 128 KiB. Applies to new
	// connections.
	QueueBytes int `json:"queue_bytes"`
}

// Limits of the values [Config.Validate] accepts.
const (
	maxDelay          = 10 * time.Second
	maxBPS            = 10_000_000_000
	minQueueBytes     = segmentBytes
	maxQueueBytes     = 64 << 20
	defaultQueueBytes = 128 << 10
	maxNATIdleTimeout = 24 * time.Hour
)

// Validate checks c and names the field at fault.
func (c Config) Validate() error {
	if err := checkLoopback(c.Target); err != nil {
		return &FieldError{Field: "target", Msg: err.Error()}
	}
	for _, d := range []struct {
		field string
		v     Duration
		max   time.Duration
	}{
		{"rtt", c.RTT, maxDelay},
		{"jitter", c.Jitter, maxDelay},
		{"nat_idle_timeout", c.NATIdleTimeout, maxNATIdleTimeout},
	} {
		if d.v < 0 || time.Duration(d.v) > d.max {
			return &FieldError{Field: d.field, Msg: "must be between 0 and " + d.max.String()}
		}
	}
	if c.Jitter > c.RTT {
		return &FieldError{Field: "jitter", Msg: "must not exceed rtt"}
	}
	for _, r := range []struct {
		field string
		v     int64
	}{{"uplink_bps", c.UplinkBPS}, {"downlink_bps", c.DownlinkBPS}} {
		if r.v < 0 || r.v > maxBPS {
			return &FieldError{Field: r.field, Msg: "must be between 0 (unlimited) and " + strconv.Itoa(maxBPS)}
		}
	}
	if c.QueueBytes != 0 && (c.QueueBytes < minQueueBytes || c.QueueBytes > maxQueueBytes) {
		return &FieldError{Field: "queue_bytes", Msg: fmt.Sprintf("must be 0 (default) or between %d and %d", minQueueBytes, maxQueueBytes)}
	}
	return nil
}

func (c Config) queueBytes() int {
	if c.QueueBytes == 0 {
		return defaultQueueBytes
	}
	return c.QueueBytes
}

// checkLoopback accepts a host:port whose host is a loopback IP address or
// "localhost".
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("not a host:port address: %q", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("invalid port %q", port)
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Unmap().IsLoopback() || ip.Zone() != "" {
		return fmt.Errorf("must be a loopback address, got %q", host)
	}
	return nil
}

// A FieldError is a [Config] value, or a control request, that is not
// acceptable; Field is its JSON name.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// maxConfigBytes bounds a control request's body.
const maxConfigBytes = 64 << 10

// UpdateConfig returns base with the fields that the JSON object in r sets
// replaced, after checking the result. Unknown fields, a second JSON value
// and bodies over 64 KiB are errors that name the field.
func UpdateConfig(base Config, r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return base, fmt.Errorf("reading the config: %w", err)
	}
	if len(data) > maxConfigBytes {
		return base, &FieldError{Field: "body", Msg: "larger than 64 KiB"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var fields map[string]json.RawMessage
	if err := dec.Decode(&fields); err != nil || fields == nil {
		return base, &FieldError{Field: "body", Msg: "must be a JSON object of link settings"}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return base, &FieldError{Field: "body", Msg: "must be one JSON object"}
	}
	next := base
	for name, value := range fields {
		field, ok := configField(&next, name)
		if !ok {
			return base, &FieldError{Field: name, Msg: "unknown field"}
		}
		if err := json.Unmarshal(value, field); err != nil {
			msg := err.Error()
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				msg = "expected a " + te.Type.String()
			}
			return base, &FieldError{Field: name, Msg: msg}
		}
	}
	if err := next.Validate(); err != nil {
		return base, err
	}
	return next, nil
}

// configField returns a pointer to the [Config] field with JSON name name.
func configField(c *Config, name string) (any, bool) {
	switch name {
	case "target":
		return &c.Target, true
	case "rtt":
		return &c.RTT, true
	case "jitter":
		return &c.Jitter, true
	case "uplink_bps":
		return &c.UplinkBPS, true
	case "downlink_bps":
		return &c.DownlinkBPS, true
	case "nat_idle_timeout":
		return &c.NATIdleTimeout, true
	case "queue_bytes":
		return &c.QueueBytes, true
	}
	return nil, false
}

// Duration is a [time.Duration] written in JSON as a Go duration string
// such as "150ms".
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string such as "150ms" or "2s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`expected a duration string such as "150ms"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`expected a duration string such as "150ms", got %q`, s)
	}
	*d = Duration(v)
	return nil
}
