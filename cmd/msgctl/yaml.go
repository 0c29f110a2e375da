package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxFileBytes bounds a resource file; a host or rule is a few hundred bytes.
const maxFileBytes = 4 << 20

// fileError is a problem in a resource file, at one key when known.
type fileError struct {
	source string // the file name, or "stdin"
	path   string // e.g. "tls.ca_file" or "principals[1]"; empty for the whole file
	line   int    // 1-based, 0 when unknown
	msg    string
}

func (e *fileError) Error() string {
	var b strings.Builder
	b.WriteString(e.source)
	if e.line > 0 {
		fmt.Fprintf(&b, ":%d", e.line)
	}
	b.WriteString(": ")
	if e.path != "" {
		b.WriteString(e.path)
		b.WriteString(": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

// decodeResource reads one Host or Rule from YAML or JSON into m, strictly.
//
// YAML uses the config file's keys (the proto names, snake_case); the JSON
// names (lowerCamelCase) are accepted too, so the output of "msgctl hosts get
// -o json" can be edited and fed back. That output wraps the resource in its
// response message ({"host": {...}}); a document whose only key is wrapper
// is unwrapped. Enum values may be short ("allow" for EFFECT_ALLOW) and
// durations Go-style ("1m30s"), as in the config file.
//
// The document is walked once against m's descriptor to name the key and line
// of any unknown key, wrong type or YAML trick (aliases, several documents),
// turned into protojson's JSON form, and then decoded by protojson with
// unknown fields as errors, so nothing in the file is silently dropped.
func decodeResource(data []byte, source string, m proto.Message, wrapper string) error {
	fail := func(path string, line int, format string, args ...any) error {
		return &fileError{source: source, path: path, line: line, msg: fmt.Sprintf(format, args...)}
	}
	if len(data) > maxFileBytes {
		return fail("", 0, "larger than %d bytes", maxFileBytes)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return fail("", 0, "empty: expected a %s", wrapper)
		}
		return fail("", 0, "not valid YAML or JSON: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fail("", extra.Line, "expected exactly one document")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) != 1 {
			return fail("", 0, "empty: expected a %s", wrapper)
		}
		root = root.Content[0]
	}
	md := m.ProtoReflect().Descriptor()
	path := ""
	if root.Kind == yaml.MappingNode && len(root.Content) == 2 && root.Content[0].Value == wrapper &&
		md.Fields().ByName(protoreflect.Name(wrapper)) == nil && md.Fields().ByJSONName(wrapper) == nil {
		root, path = root.Content[1], wrapper
	}
	w := walker{fail: fail}
	obj, err := w.message(root, path, md)
	if err != nil {
		return err
	}
	js, err := json.Marshal(obj)
	if err != nil {
		return fail("", 0, "%v", err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(js, m); err != nil {
		// The walk checks what protojson checks, so this is a backstop; its
		// positions refer to the converted JSON, not the file.
		return fail("", 0, "%v", err)
	}
	return nil
}

// walker converts YAML nodes into protojson's JSON form for one message type.
type walker struct {
	fail  func(path string, line int, format string, args ...any) error
	depth int
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// message converts a mapping for md into a JSON object keyed by JSON names.
func (w *walker) message(n *yaml.Node, path string, md protoreflect.MessageDescriptor) (map[string]any, error) {
	w.depth++
	defer func() { w.depth-- }()
	if w.depth > 32 {
		return nil, w.fail(path, n.Line, "nested too deeply")
	}
	if n.Kind == yaml.AliasNode {
		return nil, w.fail(path, n.Line, "YAML aliases are not allowed")
	}
	if n.Kind != yaml.MappingNode {
		return nil, w.fail(path, n.Line, "expected a mapping of %s fields", md.Name())
	}
	out := map[string]any{}
	seen := map[protoreflect.Name]*yaml.Node{} // field -> the key that set it
	oneofs := map[protoreflect.FullName]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
			return nil, w.fail(path, k.Line, "keys must be plain strings")
		}
		kp := joinPath(path, k.Value)
		fd := md.Fields().ByName(protoreflect.Name(k.Value))
		if fd == nil {
			fd = md.Fields().ByJSONName(k.Value)
		}
		if fd == nil {
			return nil, w.fail(kp, k.Line, "unknown key")
		}
		if prev := seen[fd.Name()]; prev != nil {
			if prev.Value == k.Value {
				return nil, w.fail(kp, k.Line, "duplicate key (first at line %d)", prev.Line)
			}
			return nil, w.fail(kp, k.Line, "duplicate key (%s at line %d is the same field)", prev.Value, prev.Line)
		}
		seen[fd.Name()] = k
		if isNull(v) {
			continue // explicit null: leave the field unset, as protojson does
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if prev, ok := oneofs[od.FullName()]; ok {
				return nil, w.fail(kp, k.Line, "only one of %s may be set (already have %s)", oneofNames(od), prev)
			}
			oneofs[od.FullName()] = string(fd.Name())
		}
		val, err := w.field(v, kp, fd)
		if err != nil {
			return nil, err
		}
		out[fd.JSONName()] = val
	}
	return out, nil
}

func oneofNames(od protoreflect.OneofDescriptor) string {
	names := make([]string, 0, od.Fields().Len())
	for i := 0; i < od.Fields().Len(); i++ {
		names = append(names, string(od.Fields().Get(i).Name()))
	}
	return strings.Join(names, ", ")
}

func (w *walker) field(v *yaml.Node, path string, fd protoreflect.FieldDescriptor) (any, error) {
	if v.Kind == yaml.AliasNode {
		return nil, w.fail(path, v.Line, "YAML aliases are not allowed")
	}
	switch {
	case fd.IsMap():
		return nil, w.fail(path, v.Line, "map fields are not supported")
	case fd.IsList():
		if v.Kind != yaml.SequenceNode {
			return nil, w.fail(path, v.Line, "expected a list")
		}
		list := make([]any, 0, len(v.Content))
		for i, item := range v.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			if item.Kind == yaml.AliasNode {
				return nil, w.fail(ip, item.Line, "YAML aliases are not allowed")
			}
			if isNull(item) {
				return nil, w.fail(ip, item.Line, "list items must not be null")
			}
			val, err := w.single(item, ip, fd)
			if err != nil {
				return nil, err
			}
			list = append(list, val)
		}
		return list, nil
	}
	return w.single(v, path, fd)
}

// single converts one non-null value of fd's type.
func (w *walker) single(n *yaml.Node, path string, fd protoreflect.FieldDescriptor) (any, error) {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		switch fd.Message().FullName() {
		case "google.protobuf.Duration":
			return w.duration(n, path)
		case "google.protobuf.Timestamp":
			if n.Kind != yaml.ScalarNode {
				return nil, w.fail(path, n.Line, "expected an RFC 3339 time")
			}
			return n.Value, nil
		}
		return w.message(n, path, fd.Message())
	}
	if n.Kind != yaml.ScalarNode {
		return nil, w.fail(path, n.Line, "expected a single value, not a %s", nodeKind(n))
	}
	s := n.Value
	switch fd.Kind() {
	case protoreflect.StringKind:
		if n.Tag != "!!str" {
			return nil, w.fail(path, n.Line, "expected a string (quote %s)", s)
		}
		return s, nil
	case protoreflect.BytesKind:
		if n.Tag != "!!str" && n.Tag != "!!binary" {
			return nil, w.fail(path, n.Line, "expected base64 bytes")
		}
		return s, nil
	case protoreflect.BoolKind:
		b, err := strconv.ParseBool(s)
		if n.Tag != "!!bool" || err != nil {
			return nil, w.fail(path, n.Line, "expected true or false")
		}
		return b, nil
	case protoreflect.EnumKind:
		return w.enum(n, path, fd.Enum())
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, err := strconv.ParseFloat(s, 64)
		if (n.Tag != "!!float" && n.Tag != "!!int") || err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, w.fail(path, n.Line, "expected a finite number")
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), nil
	}
	// Integers. protojson writes 64-bit integers as strings, so a quoted
	// integer is accepted for every integer field.
	if n.Tag != "!!int" && n.Tag != "!!str" {
		return nil, w.fail(path, n.Line, "expected an integer")
	}
	clean := strings.ReplaceAll(s, "_", "")
	switch fd.Kind() {
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		bits := 64
		if fd.Kind() == protoreflect.Uint32Kind || fd.Kind() == protoreflect.Fixed32Kind {
			bits = 32
		}
		u, err := strconv.ParseUint(clean, 0, bits)
		if err != nil {
			return nil, w.fail(path, n.Line, "expected a non-negative %d-bit integer, got %q", bits, s)
		}
		return json.Number(strconv.FormatUint(u, 10)), nil
	default:
		bits := 64
		if fd.Kind() == protoreflect.Int32Kind || fd.Kind() == protoreflect.Sint32Kind || fd.Kind() == protoreflect.Sfixed32Kind {
			bits = 32
		}
		i, err := strconv.ParseInt(clean, 0, bits)
		if err != nil {
			return nil, w.fail(path, n.Line, "expected a %d-bit integer, got %q", bits, s)
		}
		return json.Number(strconv.FormatInt(i, 10)), nil
	}
}

// duration accepts Go durations ("1m30s") and protojson's ("90s", "1.5s").
func (w *walker) duration(n *yaml.Node, path string) (any, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return nil, w.fail(path, n.Line, `expected a duration string such as "30s"`)
	}
	d, err := time.ParseDuration(n.Value)
	if err != nil {
		return nil, w.fail(path, n.Line, `expected a duration string such as "30s", got %q`, n.Value)
	}
	sec, nanos := int64(d/time.Second), int64(d%time.Second)
	if nanos < 0 {
		nanos = -nanos
	}
	if nanos == 0 {
		return strconv.FormatInt(sec, 10) + "s", nil
	}
	frac := strings.TrimRight(fmt.Sprintf("%09d", nanos), "0")
	sign := ""
	if d < 0 && sec == 0 {
		sign = "-"
	}
	return fmt.Sprintf("%s%d.%ss", sign, sec, frac), nil
}

// enum accepts the full value name ("EFFECT_ALLOW"), the short form the
// config file uses ("allow"), or the number.
func (w *walker) enum(n *yaml.Node, path string, ed protoreflect.EnumDescriptor) (any, error) {
	values := ed.Values()
	if n.Tag == "!!int" {
		i, err := strconv.ParseInt(n.Value, 0, 32)
		if err != nil || values.ByNumber(protoreflect.EnumNumber(i)) == nil {
			return nil, w.fail(path, n.Line, "unknown value %s", n.Value)
		}
		return string(values.ByNumber(protoreflect.EnumNumber(i)).Name()), nil
	}
	if n.Tag != "!!str" {
		return nil, w.fail(path, n.Line, "expected one of %s", enumChoices(ed))
	}
	ev := values.ByName(protoreflect.Name(n.Value))
	if ev == nil {
		ev = values.ByName(protoreflect.Name(enumPrefix(ed) + strings.ToUpper(n.Value)))
	}
	if ev == nil {
		return nil, w.fail(path, n.Line, "unknown value %q (want one of %s)", n.Value, enumChoices(ed))
	}
	return string(ev.Name()), nil
}

// enumPrefix returns the "EFFECT_" of an enum whose zero value is
// "EFFECT_UNSPECIFIED".
func enumPrefix(ed protoreflect.EnumDescriptor) string {
	return strings.TrimSuffix(string(ed.Values().ByNumber(0).Name()), "UNSPECIFIED")
}

func enumChoices(ed protoreflect.EnumDescriptor) string {
	prefix := enumPrefix(ed)
	var names []string
	for i := 1; i < ed.Values().Len(); i++ {
		names = append(names, strings.ToLower(strings.TrimPrefix(string(ed.Values().Get(i).Name()), prefix)))
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
