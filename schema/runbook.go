package schema

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var (
	nameRe       = lazyRegexp(NamePattern)
	stepIDRe     = lazyRegexp(`^[a-z][a-z0-9_]*$`)
	identRe      = lazyRegexp(`^[a-z_][a-z0-9_]*$`)
	actionNameRe = lazyRegexp(`^[a-z][a-z0-9_-]*\.[a-z][a-z0-9_]*$`)
)

// NamePattern is what a runbook's name may be (SPEC section 1).
const NamePattern = `^[a-z][a-z0-9-]{1,62}$`

// IsName reports whether s may be a runbook's name: a few lower-case
// letters, digits and dashes, so never a path.
func IsName(s string) bool { return nameRe().MatchString(s) }

// Keys of each mapping of the format, in the order the spec lists them.
var (
	runbookKeys     = []string{"version", "name", "title", "description", "owner", "tags", "inputs", "vars", "timeout", "concurrency", "schedule", "steps", "outputs", "on_failure"}
	inputKeys       = []string{"type", "required", "default", "description", "enum", "pattern", "min", "max", "secret"}
	stepKeys        = []string{"id", "name", "action", "with", "if", "needs", "for_each", "max_parallel", "retry", "timeout", "continue_on_error", "approval", "undo", "outputs"}
	retryKeys       = []string{"attempts", "delay", "backoff", "max_delay", "jitter", "when"}
	approvalKeys    = []string{"message", "approvers", "subjects", "timeout"}
	undoKeys        = []string{"action", "if", "with", "timeout"}
	scheduleKeys    = []string{"cron", "timezone", "inputs", "catchup", "overlap"}
	concurrencyKeys = []string{"key"}
)

// Bounds on numeric fields.
const (
	MaxAttempts    = 100
	MaxBackoff     = 10.0
	MaxMaxParallel = 256
	MaxSteps       = 1000
)

// BuiltinActions are the engine's own actions (SPEC section 3).
var BuiltinActions = []string{"core.log", "core.set", "core.fail", "core.sleep", "core.runbook", "core.read_file", "http.request", "exec"}

func (l *loader) runbook(rb *Runbook, root *yaml.Node) {
	pairs, ok := l.mapping(root, "", runbookKeys)
	if !ok {
		return
	}
	have := map[string]bool{}
	for _, p := range pairs {
		have[p.key] = true
		switch p.key {
		case "version":
			l.version(rb, p.v)
		case "name":
			rb.NamePos = nodePos(deref(p.v))
			if s, ok := l.plainStr(p.v, "name"); ok {
				rb.Name = s
				if !nameRe().MatchString(s) {
					l.errorf(p.v, "name", nameHint(s), "invalid runbook name %q: use 2 to 63 lowercase letters, digits and dashes, starting with a letter", s)
				}
			}
		case "title":
			rb.Title, _ = l.str(p.v, "title")
		case "description":
			rb.Description, _ = l.str(p.v, "description")
		case "owner":
			rb.Owner, _ = l.plainStr(p.v, "owner")
		case "tags":
			rb.Tags, _ = l.strList(p.v, "tags", false)
		case "inputs":
			l.inputs(rb, p.v)
		case "vars":
			l.vars(rb, p.v)
		case "timeout":
			rb.Timeout, _ = l.duration(p.v, "timeout")
		case "concurrency":
			l.concurrency(rb, p.v)
		case "schedule":
			l.schedule(rb, p.v)
		case "steps":
			rb.Steps = l.steps(p.v, "steps", false)
			if dn := deref(p.v); dn.Kind == yaml.SequenceNode && len(dn.Content) == 0 {
				l.errorf(p.v, "steps", "", "a runbook needs at least one step")
			}
		case "outputs":
			rb.Outputs = l.outputs(p.v, "outputs")
		case "on_failure":
			rb.OnFailure = l.steps(p.v, "on_failure", true)
		}
	}
	for _, req := range []string{"version", "name", "steps"} {
		if !have[req] && !l.suggested[req] {
			l.errorf(root, "", requiredHint[req], "missing required key %q", req)
		}
	}
}

var requiredHint = map[string]string{
	"version": "add: version: 1",
	"name":    "add: name: my-runbook (lowercase letters, digits and dashes)",
	"steps":   "add a steps list with at least one step",
}

func nameHint(s string) string {
	fixed := strings.Trim(regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(strings.ToLower(s), "-"), "-")
	if nameRe().MatchString(fixed) && fixed != s {
		return fmt.Sprintf("did you mean %q?", fixed)
	}
	return ""
}

func (l *loader) version(rb *Runbook, n *yaml.Node) {
	dn := deref(n)
	if dn.Kind == yaml.ScalarNode && dn.ShortTag() == "!!str" && dn.Value == "1" {
		l.errorf(dn, "version", "write version: 1 without quotes", `version must be the integer 1, got string "1"`)
		return
	}
	v, ok := l.integer(n, "version")
	if !ok {
		return
	}
	if v != Version {
		l.errorf(n, "version", "this Steward reads version 1; upgrade Steward or write version: 1",
			"unsupported version %d", v)
		return
	}
	rb.Version = int(v)
}

func (l *loader) inputs(rb *Runbook, n *yaml.Node) {
	pairs, _ := l.mapping(n, "inputs", nil)
	for _, p := range pairs {
		path := sub("inputs", p.key)
		in := &Input{Name: p.key, Pos: nodePos(p.k), Type: TypeString}
		if !identRe().MatchString(p.key) {
			l.errorf(p.k, path, "", "invalid input name %q: use lowercase letters, digits and _, starting with a letter or _", p.key)
		}
		fields, ok := l.mapping(p.v, path, inputKeys)
		if !ok {
			continue
		}
		var dflt, enum *yaml.Node
		for _, f := range fields {
			fp := sub(path, f.key)
			switch f.key {
			case "type":
				if s, ok := l.plainStr(f.v, fp); ok {
					if contains(InputTypes, s) {
						in.Type = InputType(s)
					} else {
						h := didYouMean(s, InputTypes)
						if h == "" {
							h = "valid types: " + strings.Join(InputTypes, ", ")
						}
						l.errorf(f.v, fp, h, "unknown type %q", s)
					}
				}
			case "required":
				in.Required, _ = l.boolean(f.v, fp)
			case "default":
				dflt = f.v
			case "description":
				in.Description, _ = l.str(f.v, fp)
			case "enum":
				enum = f.v
			case "pattern":
				if s, ok := l.plainStr(f.v, fp); ok {
					re, err := regexp.Compile(s)
					if err != nil {
						l.errorf(f.v, fp, "patterns use Go regexp syntax (RE2)", "invalid pattern: %s", strings.TrimPrefix(err.Error(), "error parsing regexp: "))
					} else {
						in.Pattern = re
					}
				}
			case "min", "max":
				if v, ok := l.number(f.v, fp); ok {
					if f.key == "min" {
						in.Min = &v
					} else {
						in.Max = &v
					}
				}
			case "secret":
				in.Secret, _ = l.boolean(f.v, fp)
			}
		}
		l.inputRules(in, path, fields, dflt, enum)
		rb.Inputs = append(rb.Inputs, in)
	}
}

// inputRules checks the parts of an input declaration against each other.
func (l *loader) inputRules(in *Input, path string, fields []pair, dflt, enum *yaml.Node) {
	keyNode := func(k string) *yaml.Node {
		for _, f := range fields {
			if f.key == k {
				return f.k
			}
		}
		return nil
	}
	if in.Pattern != nil && in.Type != TypeString {
		l.errorf(keyNode("pattern"), sub(path, "pattern"), "", "pattern applies to string inputs, not %s", in.Type)
		in.Pattern = nil
	}
	for _, k := range []string{"min", "max"} {
		if kn := keyNode(k); kn != nil && in.Type != TypeInteger && in.Type != TypeNumber {
			l.errorf(kn, sub(path, k), "", "%s applies to integer and number inputs, not %s", k, in.Type)
			in.Min, in.Max = nil, nil
		}
	}
	if in.Min != nil && in.Max != nil && *in.Min > *in.Max {
		l.errorf(keyNode("max"), sub(path, "max"), "", "max (%v) is less than min (%v)", *in.Max, *in.Min)
	}
	if enum != nil {
		en := deref(enum)
		if en.Kind == yaml.SequenceNode && len(en.Content) == 0 {
			l.errorf(en, sub(path, "enum"), "list the allowed values, or remove enum", "enum is empty")
		} else if en.Kind != yaml.SequenceNode {
			l.errorf(en, sub(path, "enum"), "", "enum must be a list of values, got %s", kindName(en))
		} else {
			for i, c := range en.Content {
				v := l.value(c, idx(sub(path, "enum"), i)).Go()
				if err := in.checkType(v); err != nil {
					l.errorf(c, idx(sub(path, "enum"), i), "", "enum value %s", err)
					continue
				}
				in.Enum = append(in.Enum, v)
			}
		}
	}
	if dflt != nil {
		in.HasDefault = true
		in.DefaultPos = nodePos(deref(dflt))
		v := l.value(dflt, sub(path, "default"))
		if v.HasTemplates() {
			l.errorf(dflt, sub(path, "default"), "compute it in vars instead", "templates (${{ }}) are not allowed in defaults")
			return
		}
		in.Default = v.Go()
		if err := in.Check(in.Default); err != nil {
			l.errorf(dflt, sub(path, "default"), "", "default %s", err)
		}
	}
}

func (l *loader) vars(rb *Runbook, n *yaml.Node) {
	pairs, _ := l.mapping(n, "vars", nil)
	for _, p := range pairs {
		path := sub("vars", p.key)
		if !identRe().MatchString(p.key) {
			l.errorf(p.k, path, "", "invalid var name %q: use lowercase letters, digits and _, starting with a letter or _", p.key)
		}
		rb.Vars = append(rb.Vars, &Var{Name: p.key, Pos: nodePos(p.k), Value: l.value(p.v, path)})
	}
}

func (l *loader) concurrency(rb *Runbook, n *yaml.Node) {
	pairs, ok := l.mapping(n, "concurrency", concurrencyKeys)
	if !ok {
		return
	}
	c := &Concurrency{}
	for _, p := range pairs {
		c.Key = l.exprField(p.v, "concurrency.key")
	}
	if len(pairs) == 0 {
		l.errorf(n, "concurrency", "add: key: ${{ inputs.some_id }}", "concurrency needs a key")
	}
	rb.Concurrency = c
}

func (l *loader) outputs(n *yaml.Node, path string) []*Output {
	pairs, _ := l.mapping(n, path, nil)
	var outs []*Output
	for _, p := range pairs {
		op := sub(path, p.key)
		if !identRe().MatchString(p.key) {
			l.errorf(p.k, op, "", "invalid output name %q: use lowercase letters, digits and _, starting with a letter or _", p.key)
		}
		outs = append(outs, &Output{Name: p.key, Pos: nodePos(p.k), Value: l.value(p.v, op)})
	}
	return outs
}
