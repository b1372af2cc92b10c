package schema

import (
	"reflect"
	"regexp"
	"time"

	"github.com/expr-lang/expr/vm"
)

// Version is the runbook format version this package reads.
const Version = 1

// Runbook is one loaded runbook document. Every part that a later check or
// the engine may need to point at keeps its position in the file.
type Runbook struct {
	File        string
	Version     int
	Name        string
	NamePos     Pos
	Title       string
	Description string
	Owner       string
	Tags        []string
	Inputs      []*Input
	Vars        []*Var
	Timeout     time.Duration
	Concurrency *Concurrency
	Schedule    []*Schedule
	Steps       []*Step
	Outputs     []*Output
	OnFailure   []*Step

	src *source // the parsed file; nil when Load could not parse it
}

// SourceLine returns line n (1-based) of the runbook's file, for the caret
// display of a Diagnostic made outside this package, or "".
func (rb *Runbook) SourceLine(n int) string {
	if rb.src == nil {
		return ""
	}
	return rb.src.line(n)
}

// InputType is the declared type of an input.
type InputType string

// The input types of SPEC section 1.
const (
	TypeString  InputType = "string"
	TypeInteger InputType = "integer"
	TypeNumber  InputType = "number"
	TypeBoolean InputType = "boolean"
	TypeArray   InputType = "array"
	TypeObject  InputType = "object"
)

// InputTypes lists the valid input types.
var InputTypes = []string{"string", "integer", "number", "boolean", "array", "object"}

// Input is a typed runbook parameter.
type Input struct {
	Name        string
	Pos         Pos
	Type        InputType
	Required    bool
	Default     any // Go value: string, int64, float64, bool, []any, map[string]any
	HasDefault  bool
	DefaultPos  Pos
	Enum        []any
	Pattern     *regexp.Regexp
	Min, Max    *float64
	Secret      bool
	Description string
}

// Var is a value computed once, in order, after inputs.
type Var struct {
	Name  string
	Pos   Pos
	Value *Value
}

// Concurrency keeps runs that share a key from overlapping.
type Concurrency struct {
	Key *Expr
}

// Schedule is one cron trigger used by `steward serve`.
type Schedule struct {
	Pos      Pos
	Cron     string
	Timezone string
	Location *time.Location
	Inputs   *Value
	// Catchup is what steward serve fires of the slots it missed while
	// down: none, latest or all (default latest); Overlap what a slot
	// does while an earlier run is active: skip, buffer_one, allow or
	// cancel_other (default skip). See docs/schedules.md.
	Catchup string
	Overlap string
}

// Catch-up and overlap policies of a schedule.
var (
	CatchupPolicies = []string{"none", "latest", "all"}
	OverlapPolicies = []string{"skip", "buffer_one", "allow", "cancel_other"}
)

// Step is one unit of work. Steps in on_failure use the same type.
type Step struct {
	ID              string
	Pos             Pos
	Name            *Value // may be a template
	Action          string
	ActionPos       Pos
	With            *Value // a mapping, or nil
	WithPos         Pos    // of the key with
	If              *Expr
	Needs           []string
	NeedsSet        bool  // needs was written (needs: [] means no dependency)
	NeedsPos        []Pos // position of each entry of Needs
	ForEach         *Expr
	MaxParallel     int
	Retry           *Retry
	Timeout         time.Duration
	ContinueOnError bool
	Approval        *Approval
	Undo            *Undo
	Outputs         []*Output
	OnFailure       bool // the step belongs to on_failure

	// Deps are the ids this step waits for once defaults are applied: its
	// needs, or the step listed before it.
	Deps []string
	// Refs are the step ids its expressions read (except in undo), for
	// ordering checks and for the engine to give the step their results.
	Refs []StepRef
	// ReadsAllSteps is set when an expression of the step (except in undo)
	// reads steps other than as steps.ID: steps[x], or steps as a whole.
	ReadsAllSteps bool
}

// StepRef is a reference to steps.ID inside an expression.
type StepRef struct {
	ID  string
	Pos Pos
}

// Retry is a step's retry policy.
type Retry struct {
	Attempts int
	Delay    time.Duration
	Backoff  float64
	MaxDelay time.Duration
	Jitter   float64
	When     *Expr
}

// Approval makes a step wait for a person's decision.
type Approval struct {
	Pos     Pos
	Message *Value
	// Approvers are the names as written; ApproversValue is the same list
	// as templates: an entry may be ${{ expr }} giving a name or a list
	// of names at run time (the role owner a policy file names, say).
	Approvers      []string
	ApproversValue *Value
	// Subjects are the people the step's change is about (the person
	// being onboarded): none of them may decide it, even as a member of
	// an approver group, even where self-approval is allowed. Written and
	// resolved like Approvers (templates resolved when the step asks);
	// an entry that resolves to nothing names nobody.
	Subjects      []string
	SubjectsValue *Value
	Timeout       time.Duration
}

// Undo is the compensation run if the run later fails. The undo of a
// for_each step runs once per item that succeeded, with item and index in
// scope, also when other items failed.
type Undo struct {
	Pos Pos
	// If, when false, skips the undo (of one item, for a for_each step):
	// undo only what the step changed.
	If        *Expr
	Action    string
	ActionPos Pos
	With      *Value
	WithPos   Pos // of the key with
	Timeout   time.Duration
}

// Output is a named template.
type Output struct {
	Name  string
	Pos   Pos
	Value *Value
}

// Kind is the kind of a Value.
type Kind int

// Value kinds.
const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindString
	KindList
	KindMap
)

// Value is a literal YAML value with positions, whose strings may hold
// templates. Used for `with`, vars and outputs.
type Value struct {
	Pos      Pos
	Kind     Kind
	Bool     bool
	Int      int64
	Float    float64
	Str      string
	Template *Template // for strings holding ${{ }}
	Items    []*Value
	Fields   []*Field
}

// Field is one key of a mapping Value, in document order.
type Field struct {
	Key    string
	KeyPos Pos
	Value  *Value
}

// Get returns the field named key, or nil.
func (v *Value) Get(key string) *Value {
	if v == nil {
		return nil
	}
	for _, f := range v.Fields {
		if f.Key == key {
			return f.Value
		}
	}
	return nil
}

// Template is a string holding one or more ${{ }} expressions. When the
// string is exactly one expression, it yields the expression's typed value.
type Template struct {
	Source string
	Parts  []TemplatePart
}

// TemplatePart is literal text or an expression.
type TemplatePart struct {
	Text string
	Expr *Expr
}

// Single returns the expression when the template is exactly one ${{ }}.
func (t *Template) Single() *Expr {
	if len(t.Parts) == 1 && t.Parts[0].Expr != nil {
		return t.Parts[0].Expr
	}
	return nil
}

// Expr is one expr-lang expression, compiled once by Validate.
//
// Program runs against a map[string]any holding "inputs", "vars" and "run"
// (maps), "secret" (a SecretFunc) and, where the expression's scope has
// them, "steps" (step id → map with "outputs", "status", "error"), "item",
// "index", "result" and "error" (a map with "message", "code", "retryable",
// "step"). Use one vm.VM per goroutine.
type Expr struct {
	Source  string
	Pos     Pos         // where Source starts in the file
	Program *vm.Program // set by Validate
	// Steps are the ids of the steps it reads as steps.ID, set by Validate.
	Steps []string
	// node is the YAML scalar holding the expression, to locate errors
	node *scalarRef
	// typed is the type of what it gives, as far as validation knows
	// (the known outputs of steps included), or nil.
	typed reflect.Type
}

// kind is the JSON kind of what e gives (see dataschema.Kind), when
// validation knows it; "" when it does not. A number may be whole.
func (e *Expr) kind() string {
	if e == nil || e.typed == nil {
		return ""
	}
	switch e.typed.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map:
		return "object"
	}
	return ""
}

// scalarRef remembers where an expression sits, to map offsets inside it to
// file positions.
type scalarRef struct {
	pos    Pos    // the scalar's position
	offset int    // byte offset of the expression inside the scalar's value
	value  string // the scalar's value
	path   string // FIELD.PATH of the scalar
}
