package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
)

// maxYAMLBytes bounds what is parsed; config files are small.
const maxYAMLBytes = 4 << 20

// DecodeYAML decodes a YAML document into m strictly: keys are the proto
// field names (snake_case), unknown keys, wrong types and duplicate keys are
// errors naming the key. Durations are strings such as "30s" or "1m30s".
func DecodeYAML(data []byte, m proto.Message) error {
	if len(data) > maxYAMLBytes {
		return &fieldpath.Error{Msg: fmt.Sprintf("larger than %d bytes", maxYAMLBytes)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return &fieldpath.Error{Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if doc.Kind == 0 { // empty document
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return &fieldpath.Error{Msg: "expected one YAML document"}
	}
	d := decoder{}
	return d.message(doc.Content[0], "", m.ProtoReflect())
}

type decoder struct{ depth int }

func errAt(n *yaml.Node, path fieldpath.Path, format string, args ...any) error {
	return &fieldpath.Error{Path: path, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) message(n *yaml.Node, path fieldpath.Path, m protoreflect.Message) error {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > 32 {
		return errAt(n, path, "nested too deeply")
	}
	if n.Kind == yaml.AliasNode {
		return errAt(n, path, "YAML aliases are not allowed")
	}
	if isNull(n) {
		return nil
	}
	if dur, ok := m.Interface().(*durationpb.Duration); ok {
		return decodeDuration(n, path, dur)
	}
	if n.Kind != yaml.MappingNode {
		return errAt(n, path, "expected a mapping")
	}
	fields := m.Descriptor().Fields()
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return errAt(k, path, "keys must be plain strings")
		}
		key := k.Value
		kp := path.Field(key)
		if seen[key] {
			return errAt(k, kp, "duplicate key")
		}
		seen[key] = true
		fd := fields.ByName(protoreflect.Name(key))
		if fd == nil {
			return errAt(k, kp, "unknown key")
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if which := m.WhichOneof(od); which != nil {
				return errAt(k, kp, "only one of %s may be set (already have %q)", oneofNames(od), which.Name())
			}
		}
		if err := d.field(v, kp, m, fd); err != nil {
			return err
		}
	}
	return nil
}

func oneofNames(od protoreflect.OneofDescriptor) string {
	var names []string
	for i := 0; i < od.Fields().Len(); i++ {
		names = append(names, string(od.Fields().Get(i).Name()))
	}
	return strings.Join(names, ", ")
}

func (d *decoder) field(v *yaml.Node, path fieldpath.Path, m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	if v.Kind == yaml.AliasNode {
		return errAt(v, path, "YAML aliases are not allowed")
	}
	switch {
	case fd.IsMap():
		return errAt(v, path, "maps are not supported")
	case fd.IsList():
		if isNull(v) {
			return nil
		}
		if v.Kind != yaml.SequenceNode {
			return errAt(v, path, "expected a list")
		}
		list := m.Mutable(fd).List()
		for i, item := range v.Content {
			ip := path.Index(i)
			if fd.Kind() == protoreflect.MessageKind {
				elem := list.NewElement()
				if err := d.message(item, ip, elem.Message()); err != nil {
					return err
				}
				list.Append(elem)
				continue
			}
			val, err := scalar(item, ip, fd)
			if err != nil {
				return err
			}
			list.Append(val)
		}
		return nil
	case fd.Kind() == protoreflect.MessageKind:
		if isNull(v) {
			return nil
		}
		return d.message(v, path, m.Mutable(fd).Message())
	default:
		val, err := scalar(v, path, fd)
		if err != nil {
			return err
		}
		m.Set(fd, val)
		return nil
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func decodeDuration(n *yaml.Node, path fieldpath.Path, out *durationpb.Duration) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return errAt(n, path, `expected a duration string such as "30s"`)
	}
	dur, err := time.ParseDuration(n.Value)
	if err != nil {
		return errAt(n, path, `expected a duration string such as "30s", got %q`, n.Value)
	}
	if dur < 0 {
		return errAt(n, path, "must not be negative")
	}
	*out = durationpb.Duration{Seconds: int64(dur / time.Second), Nanos: int32(dur % time.Second)}
	return nil
}

func scalar(n *yaml.Node, path fieldpath.Path, fd protoreflect.FieldDescriptor) (protoreflect.Value, error) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		return protoreflect.Value{}, errAt(n, path, "expected a single %s value", kindName(fd))
	}
	s := n.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		if n.Tag != "!!str" {
			return protoreflect.Value{}, errAt(n, path, "expected a string (quote it)")
		}
		return protoreflect.ValueOfString(s), nil
	case protoreflect.BoolKind:
		if n.Tag != "!!bool" {
			return protoreflect.Value{}, errAt(n, path, "expected true or false")
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			return protoreflect.Value{}, errAt(n, path, "expected true or false")
		}
		return protoreflect.ValueOfBool(b), nil
	case protoreflect.EnumKind:
		ev := fd.Enum().Values().ByName(protoreflect.Name(s))
		if ev == nil {
			// Accept the short form: "allow" for EFFECT_ALLOW.
			prefix := enumPrefix(fd.Enum())
			ev = fd.Enum().Values().ByName(protoreflect.Name(prefix + strings.ToUpper(s)))
		}
		if ev == nil || ev.Number() == 0 {
			return protoreflect.Value{}, errAt(n, path, "unknown value %q", s)
		}
		return protoreflect.ValueOfEnum(ev.Number()), nil
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind, protoreflect.Sint64Kind,
		protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		if n.Tag != "!!int" {
			return protoreflect.Value{}, errAt(n, path, "expected an integer")
		}
		i, err := strconv.ParseInt(s, 0, 64)
		if err != nil {
			return protoreflect.Value{}, errAt(n, path, "expected an integer")
		}
		if i < 0 {
			return protoreflect.Value{}, errAt(n, path, "must not be negative")
		}
		if fd.Kind() == protoreflect.Int32Kind || fd.Kind() == protoreflect.Sint32Kind || fd.Kind() == protoreflect.Sfixed32Kind {
			if i > math.MaxInt32 {
				return protoreflect.Value{}, errAt(n, path, "too large")
			}
			return protoreflect.ValueOfInt32(int32(i)), nil
		}
		return protoreflect.ValueOfInt64(i), nil
	case protoreflect.DoubleKind:
		if n.Tag != "!!float" && n.Tag != "!!int" {
			return protoreflect.Value{}, errAt(n, path, "expected a number")
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return protoreflect.Value{}, errAt(n, path, "expected a finite number")
		}
		return protoreflect.ValueOfFloat64(f), nil
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		if n.Tag != "!!int" {
			return protoreflect.Value{}, errAt(n, path, "expected an integer")
		}
		u, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			return protoreflect.Value{}, errAt(n, path, "expected a non-negative integer")
		}
		if fd.Kind() == protoreflect.Uint32Kind || fd.Kind() == protoreflect.Fixed32Kind {
			if u > math.MaxUint32 {
				return protoreflect.Value{}, errAt(n, path, "too large")
			}
			return protoreflect.ValueOfUint32(uint32(u)), nil
		}
		return protoreflect.ValueOfUint64(u), nil
	}
	return protoreflect.Value{}, errAt(n, path, "unsupported field type %s", fd.Kind())
}

// enumPrefix returns the common "EFFECT_" prefix of an enum's value names,
// derived from its zero value "EFFECT_UNSPECIFIED".
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	zero := string(ed.Values().ByNumber(0).Name())
	return strings.TrimSuffix(zero, "UNSPECIFIED")
}

func kindName(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return "string"
	case protoreflect.BoolKind:
		return "boolean"
	case protoreflect.EnumKind:
		return "enum"
	}
	return "number"
}
