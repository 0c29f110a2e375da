// Package protoyaml decodes one YAML document (JSON is YAML) into a protobuf
// message, strictly: the config file, msgctl's resource files and whatever
// comes next read YAML the same way, and every problem is a
// [*fieldpath.Error] naming the key path and line, e.g.
// "hosts[0].upstrem (line 12): unknown key".
//
// Keys are the proto field names (snake_case). Unknown keys, duplicate keys,
// wrong types, YAML aliases and merge keys, a second member of a oneof, null
// list items and a second document are errors; nothing in a document is
// silently dropped. Enum values may be written short ("allow" for
// EFFECT_ALLOW); durations are Go duration strings ("1m30s"); integers and
// durations are never negative (no field of the gateway's schemas is). An
// explicit null leaves a field unset.
package protoyaml

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/msg-gateway/msg/internal/fieldpath"
	"go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// MaxBytes bounds a document; configs and resource files are small.
const MaxBytes = 4 << 20

// maxDepth bounds nesting, so a hostile document cannot exhaust the stack.
const maxDepth = 32

// Options adjust what [Unmarshal] accepts. The zero value is the config
// file's strict form.
type Options struct {
	// File names the document in errors ("stdin", "rule.yaml"); empty when
	// the reader knows which document it is.
	File string
	// ProtoJSON also accepts what protojson writes, so that a resource
	// printed as JSON can be edited and fed back: lowerCamelCase keys,
	// integers as strings, enum values by number and the zero enum value.
	ProtoJSON bool
	// Wrapper, when set, unwraps a document whose only key is Wrapper (and
	// the message has no field of that name): {"host": {...}}, as a get
	// response prints a resource. Error paths then start with Wrapper.
	Wrapper string
}

// Unmarshal decodes data into m, which should be empty. On error m may hold
// part of the document.
func Unmarshal(data []byte, m proto.Message, o Options) error {
	fail := func(path fieldpath.Path, line int, format string, args ...any) error {
		return &fieldpath.Error{Path: path, Line: line, Msg: fmt.Sprintf(format, args...), File: o.File}
	}
	if len(data) > MaxBytes {
		return fail("", 0, "larger than %d bytes", MaxBytes)
	}
	root, err := document(data, fail)
	if err != nil {
		return err
	}
	md := m.ProtoReflect().Descriptor()
	path := fieldpath.Path("")
	if w := o.Wrapper; w != "" && root.Kind == yaml.MappingNode && len(root.Content) == 2 && root.Content[0].Value == w &&
		md.Fields().ByName(protoreflect.Name(w)) == nil && md.Fields().ByJSONName(w) == nil {
		root, path = root.Content[1], fieldpath.Path(w)
	}
	d := decoder{o: o, fail: fail}
	return d.message(root, path, m.ProtoReflect())
}

// document parses data as exactly one YAML document and returns its root.
func document(data []byte, fail func(fieldpath.Path, int, string, ...any) error) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail("", 0, "empty document")
		}
		return nil, fail("", 0, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fail("", 0, "not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return nil, fail("", extra.Line, "expected exactly one document")
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, fail("", 0, "empty document")
	}
	return doc.Content[0], nil
}

type decoder struct {
	o     Options
	fail  func(path fieldpath.Path, line int, format string, args ...any) error
	depth int
}

// message decodes a mapping into m.
func (d *decoder) message(n *yaml.Node, path fieldpath.Path, m protoreflect.Message) error {
	d.depth++
	defer func() { d.depth-- }()
	md := m.Descriptor()
	switch {
	case d.depth > maxDepth:
		return d.fail(path, n.Line, "nested too deeply")
	case n.Kind == yaml.AliasNode:
		return d.fail(path, n.Line, "YAML aliases are not allowed")
	case n.Kind != yaml.MappingNode:
		return d.fail(path, n.Line, "expected a mapping of %s fields", md.Name())
	}
	seen := map[protoreflect.Name]*yaml.Node{} // field -> the key that set it
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		fd, err := d.key(k, path, md, seen)
		if err != nil {
			return err
		}
		if isNull(v) {
			continue // explicit null: the field stays unset, as in protojson
		}
		kp := path.Field(k.Value)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if which := m.WhichOneof(od); which != nil {
				return d.fail(kp, k.Line, "only one of %s may be set (already have %s)", oneofNames(od), which.Name())
			}
		}
		if err := d.field(v, kp, m, fd); err != nil {
			return err
		}
	}
	return nil
}

// key resolves a mapping key to its field, refusing unknown and duplicate
// keys (a proto name and its JSON name are the same field).
func (d *decoder) key(k *yaml.Node, path fieldpath.Path, md protoreflect.MessageDescriptor, seen map[protoreflect.Name]*yaml.Node) (protoreflect.FieldDescriptor, error) {
	if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
		return nil, d.fail(path, k.Line, "keys must be plain strings")
	}
	kp := path.Field(k.Value)
	fd := md.Fields().ByName(protoreflect.Name(k.Value))
	if fd == nil && d.o.ProtoJSON {
		fd = md.Fields().ByJSONName(k.Value)
	}
	if fd == nil {
		return nil, d.fail(kp, k.Line, "unknown key")
	}
	if prev := seen[fd.Name()]; prev != nil {
		if prev.Value == k.Value {
			return nil, d.fail(kp, k.Line, "duplicate key (first at line %d)", prev.Line)
		}
		return nil, d.fail(kp, k.Line, "duplicate key (%s at line %d is the same field)", prev.Value, prev.Line)
	}
	seen[fd.Name()] = k
	return fd, nil
}

func oneofNames(od protoreflect.OneofDescriptor) string {
	names := make([]string, 0, od.Fields().Len())
	for i := 0; i < od.Fields().Len(); i++ {
		names = append(names, string(od.Fields().Get(i).Name()))
	}
	return strings.Join(names, ", ")
}

// field decodes the non-null value v of field fd into m.
func (d *decoder) field(v *yaml.Node, path fieldpath.Path, m protoreflect.Message, fd protoreflect.FieldDescriptor) error {
	switch {
	case v.Kind == yaml.AliasNode:
		return d.fail(path, v.Line, "YAML aliases are not allowed")
	case fd.IsMap():
		return d.fail(path, v.Line, "map fields are not supported")
	case fd.IsList():
		return d.list(v, path, m.Mutable(fd).List(), fd)
	case isMessage(fd) && !isWellKnown(fd.Message()):
		return d.message(v, path, m.Mutable(fd).Message())
	}
	val, err := d.single(v, path, fd, m.NewField(fd))
	if err != nil {
		return err
	}
	m.Set(fd, val)
	return nil
}

// list decodes a sequence into list.
func (d *decoder) list(v *yaml.Node, path fieldpath.Path, list protoreflect.List, fd protoreflect.FieldDescriptor) error {
	if v.Kind != yaml.SequenceNode {
		return d.fail(path, v.Line, "expected a list")
	}
	for i, item := range v.Content {
		ip := path.Index(i)
		switch {
		case item.Kind == yaml.AliasNode:
			return d.fail(ip, item.Line, "YAML aliases are not allowed")
		case isNull(item):
			return d.fail(ip, item.Line, "list items must not be null")
		case isMessage(fd) && !isWellKnown(fd.Message()):
			elem := list.NewElement()
			if err := d.message(item, ip, elem.Message()); err != nil {
				return err
			}
			list.Append(elem)
			continue
		}
		val, err := d.single(item, ip, fd, list.NewElement())
		if err != nil {
			return err
		}
		list.Append(val)
	}
	return nil
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func isMessage(fd protoreflect.FieldDescriptor) bool {
	return fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind
}
