package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment override.
const EnvPrefix = "TIDEGATE_"

// reservedEnv reports the TIDEGATE_ variables that are not config fields:
// the config file's path, the bootstrap admin key, the CLI's gateway URL and
// the test suites' service URLs.
func reservedEnv(name string) bool {
	switch name {
	case "TIDEGATE_CONFIG", "TIDEGATE_ADMIN_KEY", "TIDEGATE_URL":
		return true
	}
	return strings.HasPrefix(name, "TIDEGATE_TEST_")
}

// Overrides are the TIDEGATE_* environment variables that set config
// fields, by name. Nesting is `_`: TIDEGATE_SERVER_MAX_BODY_BYTES is
// server.max_body_bytes. A map key is matched against the keys already in
// the document (case-insensitively, with any character that is not a letter
// or digit read as `_`, longest first); a new key is the next `_`-separated
// word, lower-cased, where `__` stands for a literal `_`
// (TIDEGATE_PROVIDERS_MY__OAI_API_KEY is providers.my_oai.api_key), except
// in maps of plain values (aliases, headers), where the rest of the name
// is the key. A
// number after a list field is an index (TIDEGATE_ADMIN_KEYS_0_KEY; the
// length appends). A value for a list, map or struct field — or any value
// that starts with `[` or `{` — is YAML or JSON; other values are scalars.
type Overrides map[string]string

// EnvOverrides picks the overrides out of environ ("NAME=value" pairs, as
// os.Environ returns them).
func EnvOverrides(environ []string) Overrides {
	o := Overrides{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) || reservedEnv(name) {
			continue
		}
		o[name] = value
	}
	return o
}

// apply sets every override in the document root (a mapping node, created
// when the document is empty), in name order so that the result does not
// depend on the environment's order.
func (o Overrides) apply(doc *yaml.Node) error {
	if len(o) == 0 {
		return nil
	}
	root := docRoot(doc)
	names := make([]string, 0, len(o))
	for n := range o {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []string
	for _, name := range names {
		words := envWords(strings.TrimPrefix(name, EnvPrefix))
		if err := setEnv(root, reflect.TypeFor[Config](), words, o[name], ""); err != nil {
			errs = append(errs, name+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Problems: errs}
	}
	return nil
}

// docRoot returns the document's top-level mapping, making one if needed.
func docRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode {
		*doc = yaml.Node{Kind: yaml.DocumentNode}
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		doc.Content = []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}
	}
	return doc.Content[0]
}

// envWords splits a variable name at single underscores; `__` is a literal
// underscore inside a word.
func envWords(s string) []string {
	const lit = "\x00"
	words := strings.Split(strings.ReplaceAll(s, "__", lit), "_")
	for i, w := range words {
		words[i] = strings.ReplaceAll(w, lit, "_")
	}
	return words
}

// normWords is how a YAML key reads as words of a variable name.
func normWords(key string) []string {
	up := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, key)
	return strings.Split(up, "_")
}

func hasWords(words, prefix []string) bool {
	if len(prefix) > len(words) {
		return false
	}
	for i, p := range prefix {
		if words[i] != p {
			return false
		}
	}
	return true
}

// setEnv walks words down the node n, whose Go type is t, and sets value
// at the end. path is the YAML path so far, for errors.
func setEnv(n *yaml.Node, t reflect.Type, words []string, value, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if len(words) == 0 || (len(words) == 1 && words[0] == "") {
		return setLeaf(n, t, value, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		best, bestLen := -1, 0
		for i := range t.NumField() {
			name := yamlName(t.Field(i))
			if name == "" {
				continue
			}
			if fw := normWords(name); hasWords(words, fw) && len(fw) > bestLen {
				best, bestLen = i, len(fw)
			}
		}
		if best < 0 {
			return fmt.Errorf("%s has no field %s", orRoot(path), strings.ToLower(strings.Join(words, "_")))
		}
		name := yamlName(t.Field(best))
		return setEnv(child(n, name), t.Field(best).Type, words[bestLen:], value, join(path, name))
	case reflect.Map:
		ensureKind(n, yaml.MappingNode)
		key, used := "", 0
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if kw := normWords(k); hasWords(words, kw) && len(kw) > used {
				key, used = k, len(kw)
			}
		}
		switch {
		case used > 0:
		case isScalar(t.Elem()):
			// Nothing can follow a scalar value: the rest is the key.
			key, used = strings.ToLower(strings.Join(words, "_")), len(words)
		default:
			key, used = strings.ToLower(words[0]), 1
		}
		return setEnv(child(n, key), t.Elem(), words[used:], value, join(path, key))
	case reflect.Slice:
		i, err := strconv.Atoi(words[0])
		if err != nil || i < 0 {
			return fmt.Errorf("%s is a list: the next word must be an index, got %s", path, words[0])
		}
		ensureKind(n, yaml.SequenceNode)
		switch {
		case i == len(n.Content):
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
		case i > len(n.Content):
			return fmt.Errorf("%s has %d items: index %d would leave a gap", path, len(n.Content), i)
		}
		return setEnv(n.Content[i], t.Elem(), words[1:], value, fmt.Sprintf("%s[%d]", path, i))
	}
	return fmt.Errorf("%s is a single value: %s is not a field of it", path, strings.ToLower(strings.Join(words, "_")))
}

// setLeaf replaces n with value: parsed as YAML for structured fields (or
// when it looks like a flow collection), else a scalar, quoted as a string
// for string fields so that "0123" or "true" stay strings.
func setLeaf(n *yaml.Node, t reflect.Type, value, path string) error {
	trimmed := strings.TrimSpace(value)
	structured := t.Kind() == reflect.Struct || t.Kind() == reflect.Map || t.Kind() == reflect.Slice
	if structured && t.Kind() == reflect.Slice && trimmed != "" && trimmed[0] != '[' && reflect.PointerTo(t).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
		structured = false // a list type that also takes one scalar (StringList)
	}
	if structured || strings.HasPrefix(trimmed, "[") || strings.HasPrefix(trimmed, "{") {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(value), &doc); err != nil {
			return fmt.Errorf("%s: the value is not valid YAML or JSON: %w", orRoot(path), err)
		}
		if len(doc.Content) == 0 {
			*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
			return nil
		}
		*n = *doc.Content[0]
		return nil
	}
	tag := ""
	if t.Kind() == reflect.String {
		tag = "!!str"
	}
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	if tag == "" {
		n.Tag = n.ShortTag() // resolve now: an untagged node does not encode
	}
	return nil
}

func isScalar(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Interface:
		return false
	}
	return true
}

// yamlName is a field's YAML key ("" for skipped and unexported fields).
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	switch tag {
	case "-":
		return ""
	case "":
		return strings.ToLower(f.Name)
	}
	return tag
}

// child returns the value node of key in the mapping n, adding it (empty)
// when absent.
func child(n *yaml.Node, key string) *yaml.Node {
	ensureKind(n, yaml.MappingNode)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

// ensureKind turns n into an empty node of kind k unless it already is one
// (an override below a null or scalar replaces it).
func ensureKind(n *yaml.Node, k yaml.Kind) {
	if n.Kind == k {
		return
	}
	tag := "!!map"
	if k == yaml.SequenceNode {
		tag = "!!seq"
	}
	*n = yaml.Node{Kind: k, Tag: tag}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orRoot(path string) string {
	if path == "" {
		return "the config"
	}
	return path
}

// withOverrides returns the YAML text with the overrides applied (text
// itself when there are none).
func withOverrides(text string, o Overrides) (string, error) {
	if len(o) == 0 {
		return text, nil
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(strings.NewReader(text)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("parse: %w", err)
	}
	if err := o.apply(&doc); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", fmt.Errorf("encode overrides: %w", err)
	}
	return buf.String(), nil
}

// EnvReference lists every override variable with the field it sets, one
// "TIDEGATE_… path" pair per field, in struct order: <NAME> stands for a
// map key and <N> for a list index (docs/operations.md).
func EnvReference() [][2]string {
	var out [][2]string
	var walk func(t reflect.Type, env, path string, seen []reflect.Type)
	walk = func(t reflect.Type, env, path string, seen []reflect.Type) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if path != "" {
			out = append(out, [2]string{env, path})
		}
		if slices.Contains(seen, t) {
			return // a recursive type: its fields are listed above
		}
		seen = append(seen, t)
		switch t.Kind() {
		case reflect.Struct:
			if t == reflect.TypeFor[Duration]() {
				return
			}
			for i := range t.NumField() {
				if name := yamlName(t.Field(i)); name != "" {
					walk(t.Field(i).Type, envJoin(env, strings.ToUpper(name)), join(path, name), seen)
				}
			}
		case reflect.Map:
			walk(t.Elem(), envJoin(env, "<NAME>"), join(path, "<name>"), seen)
		case reflect.Slice:
			if !isScalar(t.Elem()) {
				walk(t.Elem(), envJoin(env, "<N>"), path+"[<n>]", seen)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "TIDEGATE", "", nil)
	return out
}

func envJoin(env, word string) string { return env + "_" + word }
