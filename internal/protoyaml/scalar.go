package protoyaml

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// isWellKnown reports whether md is a message written as one string.
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	switch md.FullName() {
	case "google.protobuf.Duration", "google.protobuf.Timestamp":
		return true
	}
	return false
}

// single decodes one non-null value of fd's type; zero is a new value of
// that type (a message to fill for the well-known types).
func (d *decoder) single(n *yaml.Node, path fieldpath.Path, fd protoreflect.FieldDescriptor, zero protoreflect.Value) (protoreflect.Value, error) {
	if n.Kind != yaml.ScalarNode {
		return protoreflect.Value{}, d.fail(path, n.Line, "expected a single value, not a %s", nodeKind(n))
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return d.wellKnown(n, path, zero.Message())
	case protoreflect.StringKind:
		if n.Tag != "!!str" {
			return protoreflect.Value{}, d.fail(path, n.Line, "expected a string (quote %s)", n.Value)
		}
		if !utf8.ValidString(n.Value) {
			return protoreflect.Value{}, d.fail(path, n.Line, "not valid UTF-8")
		}
		return protoreflect.ValueOfString(n.Value), nil
	case protoreflect.BytesKind:
		return d.bytes(n, path)
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(n.Value)
		if n.Tag != "!!bool" || err != nil {
			return protoreflect.Value{}, d.fail(path, n.Line, "expected true or false")
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.EnumKind:
		return d.enum(n, path, fd.Enum())
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(n.Value, 64)
		if (n.Tag != "!!float" && n.Tag != "!!int") || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return protoreflect.Value{}, d.fail(path, n.Line, "expected a finite number")
		}
		if fd.Kind() == protoreflect.FloatKind {
			return protoreflect.ValueOfFloat32(float32(f)), nil
		}
		return protoreflect.ValueOfFloat64(f), nil
	}
	return d.integer(n, path, fd)
}

// integer decodes the integer kinds. protojson writes 64-bit integers as
// strings, so with ProtoJSON a quoted integer is accepted for all of them.
func (d *decoder) integer(n *yaml.Node, path fieldpath.Path, fd protoreflect.FieldDescriptor) (protoreflect.Value, error) {
	if n.Tag != "!!int" && (n.Tag != "!!str" || !d.o.ProtoJSON) {
		return protoreflect.Value{}, d.fail(path, n.Line, "expected an integer")
	}
	s := strings.ReplaceAll(n.Value, "_", "")
	bits := 64
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind, protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		bits = 32
	}
	switch fd.Kind() {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		u, err := strconv.ParseUint(s, 0, bits)
		if err != nil {
			return protoreflect.Value{}, d.fail(path, n.Line, "expected a non-negative %d-bit integer, got %q", bits, n.Value)
		}
		if bits == 32 {
			return protoreflect.ValueOfUint32(uint32(u)), nil
		}
		return protoreflect.ValueOfUint64(u), nil
	}
	i, err := strconv.ParseInt(s, 0, bits)
	switch {
	case err != nil:
		return protoreflect.Value{}, d.fail(path, n.Line, "expected a %d-bit integer, got %q", bits, n.Value)
	case i < 0:
		return protoreflect.Value{}, d.fail(path, n.Line, "must not be negative")
	case bits == 32:
		return protoreflect.ValueOfInt32(int32(i)), nil
	}
	return protoreflect.ValueOfInt64(i), nil
}

// bytes accepts base64, padded or not, standard or URL-safe, as protojson
// does.
func (d *decoder) bytes(n *yaml.Node, path fieldpath.Path) (protoreflect.Value, error) {
	if n.Tag == "!!str" || n.Tag == "!!binary" {
		s := strings.TrimRight(n.Value, "=")
		for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return protoreflect.ValueOfBytes(b), nil
			}
		}
	}
	return protoreflect.Value{}, d.fail(path, n.Line, "expected base64 bytes")
}

// wellKnown decodes a Duration ("1m30s", or protojson's "90.5s") or a
// Timestamp (RFC 3339) into m.
func (d *decoder) wellKnown(n *yaml.Node, path fieldpath.Path, m protoreflect.Message) (protoreflect.Value, error) {
	switch msg := m.Interface().(type) {
	case *durationpb.Duration:
		if n.Tag != "!!str" {
			return protoreflect.Value{}, d.fail(path, n.Line, `expected a duration string such as "30s"`)
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			return protoreflect.Value{}, d.fail(path, n.Line, `expected a duration string such as "30s", got %q`, n.Value)
		}
		if dur < 0 {
			return protoreflect.Value{}, d.fail(path, n.Line, "must not be negative")
		}
		msg.Seconds, msg.Nanos = int64(dur/time.Second), int32(dur%time.Second)
	case *timestamppb.Timestamp:
		t, err := time.Parse(time.RFC3339Nano, n.Value)
		if (n.Tag != "!!str" && n.Tag != "!!timestamp") || err != nil {
			return protoreflect.Value{}, d.fail(path, n.Line, `expected an RFC 3339 time such as "2026-01-02T15:04:05Z"`)
		}
		msg.Seconds, msg.Nanos = t.Unix(), int32(t.Nanosecond())
		if msg.CheckValid() != nil {
			return protoreflect.Value{}, d.fail(path, n.Line, "time out of range")
		}
	}
	return protoreflect.ValueOfMessage(m), nil
}

// enum accepts the value's name ("EFFECT_ALLOW") or its short form ("allow"),
// and with ProtoJSON its number and the zero value.
func (d *decoder) enum(n *yaml.Node, path fieldpath.Path, ed protoreflect.EnumDescriptor) (protoreflect.Value, error) {
	values := ed.Values()
	var ev protoreflect.EnumValueDescriptor
	switch n.Tag {
	case "!!int":
		if !d.o.ProtoJSON {
			return protoreflect.Value{}, d.fail(path, n.Line, "expected one of %s", enumChoices(ed))
		}
		i, err := strconv.ParseInt(n.Value, 0, 32)
		if ev = values.ByNumber(protoreflect.EnumNumber(i)); err != nil || ev == nil {
			return protoreflect.Value{}, d.fail(path, n.Line, "unknown value %s", n.Value)
		}
	case "!!str":
		if ev = values.ByName(protoreflect.Name(n.Value)); ev == nil {
			ev = values.ByName(protoreflect.Name(enumPrefix(ed) + strings.ToUpper(n.Value)))
		}
	default:
		return protoreflect.Value{}, d.fail(path, n.Line, "expected one of %s", enumChoices(ed))
	}
	if ev == nil || (ev.Number() == 0 && !d.o.ProtoJSON) {
		return protoreflect.Value{}, d.fail(path, n.Line, "unknown value %q (want one of %s)", n.Value, enumChoices(ed))
	}
	return protoreflect.ValueOfEnum(ev.Number()), nil
}

// enumPrefix returns the "EFFECT_" of an enum whose zero value is
// "EFFECT_UNSPECIFIED".
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	zero := ed.Values().ByNumber(0)
	if zero == nil {
		return ""
	}
	return strings.TrimSuffix(string(zero.Name()), "UNSPECIFIED")
}

// enumChoices lists the short forms of an enum's non-zero values.
func enumChoices(ed protoreflect.EnumDescriptor) string {
	prefix := enumPrefix(ed)
	var names []string
	for i := 0; i < ed.Values().Len(); i++ {
		if v := ed.Values().Get(i); v.Number() != 0 {
			names = append(names, strings.ToLower(strings.TrimPrefix(string(v.Name()), prefix)))
		}
	}
	return strings.Join(names, ", ")
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}
