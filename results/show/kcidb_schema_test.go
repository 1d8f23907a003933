package show

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// kcidbSchema is KCIDB's I/O schema v4.5 as kcidb_io/schema/v04_05.py
// (kernelci/kcidb-io, commit 8971c02) states it, written out by hand for
// the check below: every property of the root, "version", "checkout",
// "build" and "test" with its type, pattern, enum, format and maxLength;
// the required properties; and additionalProperties false on each
// object. Issues and incidents, which kharness does not write, are
// refused rather than checked.
var kcidbSchema = func() *kObject {
	const (
		originPattern   = `^[a-z0-9_]+$`
		originIDPattern = `^[a-z0-9_]+:.*$`
	)
	str := func() *kProp { return &kProp{typ: "string"} }
	pat := func(p string) *kProp { return &kProp{typ: "string", pattern: regexp.MustCompile(p)} }
	format := func(f string) *kProp { return &kProp{typ: "string", format: f} }
	excerpt := &kProp{typ: "string", maxLen: 16384}
	boolean, number, object := &kProp{typ: "boolean"}, &kProp{typ: "number"}, &kProp{typ: "object"}
	resources := &kProp{typ: "array", items: &kProp{typ: "object", obj: &kObject{
		props:    map[string]*kProp{"name": pat(`^[^/]+$`), "url": format("uri")},
		required: []string{"name", "url"}}}}
	strList := &kProp{typ: "array", items: str()}
	checkout := &kObject{required: []string{"id", "origin"}, props: map[string]*kProp{
		"_timestamp": format("date-time"), "id": pat(originIDPattern), "origin": pat(originPattern),
		"tree_name":          str(),
		"git_repository_url": {typ: "string", format: "uri", pattern: regexp.MustCompile(`^(https|git)://.*$`)},
		"git_commit_hash":    pat(`^[0-9a-f]{40}$`), "git_commit_name": str(), "git_commit_tags": strList,
		"git_commit_message": str(), "git_repository_branch": str(), "git_repository_branch_tip": boolean,
		"patchset_files": resources, "patchset_hash": pat(`^$|^[0-9a-f]{64}$`), "message_id": format("email"),
		"comment": str(), "start_time": format("date-time"), "contacts": strList, "log_url": format("uri"),
		"log_excerpt": excerpt, "valid": boolean, "misc": object,
	}}
	build := &kObject{required: []string{"checkout_id", "id", "origin"}, props: map[string]*kProp{
		"_timestamp": format("date-time"), "checkout_id": pat(originIDPattern), "id": pat(originIDPattern),
		"origin": pat(originPattern), "comment": str(), "start_time": format("date-time"), "duration": number,
		"architecture": pat(`^[a-z0-9_]*$`), "command": str(), "compiler": str(), "input_files": resources,
		"output_files": resources, "config_name": str(), "config_url": format("uri"), "log_url": format("uri"),
		"log_excerpt": excerpt, "valid": boolean, "misc": object,
	}}
	test := &kObject{required: []string{"build_id", "id", "origin"}, props: map[string]*kProp{
		"_timestamp": format("date-time"), "build_id": pat(originIDPattern), "id": pat(originIDPattern),
		"origin": pat(originPattern),
		"environment": {typ: "object", obj: &kObject{props: map[string]*kProp{
			"compatible": {typ: "array", items: pat(`^[^ ]+(,[^ ]+)*$`)}, "comment": str(), "misc": object}}},
		"path": pat(`^[.a-zA-Z0-9_-]*$`), "comment": str(), "log_url": format("uri"), "log_excerpt": excerpt,
		"status": {typ: "string", enum: []string{"FAIL", "ERROR", "MISS", "PASS", "DONE", "SKIP"}},
		"number": {typ: "object", obj: &kObject{required: []string{"value"}, props: map[string]*kProp{
			"value": number, "unit": str(), "prefix": {typ: "string", enum: []string{"metric", "binary"}}}}},
		"waived": boolean, "start_time": format("date-time"), "duration": number, "output_files": resources,
		"misc": object,
	}}
	return &kObject{required: []string{"version"}, props: map[string]*kProp{
		"version": {typ: "object", obj: &kObject{required: []string{"major"}, props: map[string]*kProp{
			"major": {typ: "integer", min: 4, max: 4}, "minor": {typ: "integer", min: 0, max: 5}}}},
		"checkouts": {typ: "array", items: &kProp{typ: "object", obj: checkout}},
		"builds":    {typ: "array", items: &kProp{typ: "object", obj: build}},
		"tests":     {typ: "array", items: &kProp{typ: "object", obj: test}},
	}}
}()

// kObject is an object of the schema: its properties, those required,
// and no others (additionalProperties: false).
type kObject struct {
	props    map[string]*kProp
	required []string
}

// kProp is a value of the schema. An integer's min and max bound it (the
// schema's const major is min = max).
type kProp struct {
	typ      string // JSON Schema type
	pattern  *regexp.Regexp
	enum     []string
	format   string // date-time, uri or email
	maxLen   int
	min, max float64
	items    *kProp   // an array's
	obj      *kObject // an object's, if the schema names its properties (misc has none)
}

// checkKCIDB decodes data and returns every way it breaks kcidbSchema,
// and the rules the schema states in words: no property is null, an id
// starts with its object's origin and a colon and is unique among objects
// of its kind, and each build's checkout and test's build is in the data.
func checkKCIDB(data []byte) []string {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	kcidbSchema.check("", v, &errs)
	root, _ := v.(map[string]any)
	ids := map[string]map[string]bool{}
	for _, kind := range []string{"checkouts", "builds", "tests"} {
		ids[kind] = map[string]bool{}
		list, _ := root[kind].([]any)
		for i, o := range list {
			o, _ := o.(map[string]any)
			id, _ := o["id"].(string)
			origin, _ := o["origin"].(string)
			if !strings.HasPrefix(id, origin+":") {
				errs = append(errs, fmt.Sprintf("%s[%d]: id %q does not start with its origin %q and a colon", kind, i, id, origin))
			}
			if ids[kind][id] {
				errs = append(errs, fmt.Sprintf("%s[%d]: id %q given twice", kind, i, id))
			}
			ids[kind][id] = true
		}
	}
	for _, ref := range [][3]string{{"builds", "checkout_id", "checkouts"}, {"tests", "build_id", "builds"}} {
		list, _ := root[ref[0]].([]any)
		for i, o := range list {
			o, _ := o.(map[string]any)
			if id, _ := o[ref[1]].(string); !ids[ref[2]][id] {
				errs = append(errs, fmt.Sprintf("%s[%d]: %s %q is not among the %s", ref[0], i, ref[1], id, ref[2]))
			}
		}
	}
	return errs
}

// check appends to errs every way v, at path at, breaks o.
func (o *kObject) check(at string, v any, errs *[]string) {
	m, ok := v.(map[string]any)
	if !ok {
		*errs = append(*errs, fmt.Sprintf("%s: %T, want an object", at, v))
		return
	}
	for _, r := range o.required {
		if _, ok := m[r]; !ok {
			*errs = append(*errs, fmt.Sprintf("%s: required property %q missing", at, r))
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := o.props[k]
		if p == nil {
			*errs = append(*errs, fmt.Sprintf("%s: property %q is not in the schema (additionalProperties is false)", at, k))
			continue
		}
		p.check(at+"."+k, m[k], errs)
	}
}

// check appends to errs every way v, at path at, breaks p.
func (p *kProp) check(at string, v any, errs *[]string) {
	bad := func(f string, a ...any) { *errs = append(*errs, at+": "+fmt.Sprintf(f, a...)) }
	switch x := v.(type) {
	case nil:
		bad("null (no property can be null)")
	case string:
		if p.typ != "string" {
			bad("string %q, want %s", x, p.typ)
			return
		}
		if p.pattern != nil && !p.pattern.MatchString(x) {
			bad("%q does not match %s", x, p.pattern)
		}
		if p.enum != nil && !slices.Contains(p.enum, x) {
			bad("%q is not one of %v", x, p.enum)
		}
		if p.maxLen > 0 && len([]rune(x)) > p.maxLen {
			bad("%d characters, more than %d", len([]rune(x)), p.maxLen)
		}
		if err := checkFormat(p.format, x); err != nil {
			bad("%q is not a %s: %v", x, p.format, err)
		}
	case json.Number:
		f, err := x.Float64()
		switch {
		case p.typ != "number" && p.typ != "integer":
			bad("number %s, want %s", x, p.typ)
		case err != nil || math.IsInf(f, 0):
			bad("%s is not a finite number", x)
		case p.typ == "integer" && f != math.Trunc(f):
			bad("%s is not an integer", x)
		case p.typ == "integer" && (f < p.min || f > p.max):
			bad("%s is outside [%g, %g]", x, p.min, p.max)
		}
	case bool:
		if p.typ != "boolean" {
			bad("boolean, want %s", p.typ)
		}
	case []any:
		if p.typ != "array" {
			bad("array, want %s", p.typ)
			return
		}
		for i, e := range x {
			p.items.check(fmt.Sprintf("%s[%d]", at, i), e, errs)
		}
	case map[string]any:
		switch {
		case p.typ != "object":
			bad("object, want %s", p.typ)
		case p.obj != nil:
			p.obj.check(at, x, errs)
		default:
			checkNoNull(at, x, errs)
		}
	}
}

// checkNoNull appends an error for each null under v (misc's free form).
func checkNoNull(at string, v any, errs *[]string) {
	switch x := v.(type) {
	case nil:
		*errs = append(*errs, at+": null (no property can be null)")
	case []any:
		for i, e := range x {
			checkNoNull(fmt.Sprintf("%s[%d]", at, i), e, errs)
		}
	case map[string]any:
		for k, e := range x {
			checkNoNull(at+"."+k, e, errs)
		}
	}
}

// checkFormat checks s against a JSON Schema format the schema names.
func checkFormat(format, s string) error {
	switch format {
	case "date-time":
		_, err := time.Parse(time.RFC3339Nano, s)
		return err
	case "uri":
		u, err := url.Parse(s)
		if err == nil && u.Scheme == "" {
			err = fmt.Errorf("no scheme")
		}
		return err
	case "email":
		if !strings.Contains(s, "@") {
			return fmt.Errorf("no @")
		}
	}
	return nil
}
