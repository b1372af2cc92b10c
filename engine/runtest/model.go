package runtest

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/stewardhq/steward/schema"
)

// File is a parsed runbook test file (NAME.test.yaml). Positions are in the
// test file.
type File struct {
	Path       string // as given
	Runbook    string // the runbook it tests, relative to the test file; "" for NAME.yaml or NAME.yml beside it
	RunbookPos schema.Pos
	// Groups are approval groups for the cases, as approvals.groups of
	// steward.yaml: they add to steward.yaml's, and replace a group of the
	// same name.
	Groups map[string][]string
	// Mocks apply to every case (top-level mocks:); a case's own mock of
	// the same key replaces one. They are merged into each Case.Mocks.
	Mocks map[string]*Mock
	Cases []*Case

	lines []string // the source, for diagnostics
}

// Case is one test case: a run with its inputs, mocks and approvals, and
// what it should end like.
type Case struct {
	Name      string
	Pos       schema.Pos
	Inputs    map[string]any
	Actor     string // default "test"
	DryRun    bool
	Secrets   map[string]string
	Mocks     map[string]*Mock // by step id, sub-run step path (STEP/SUB) or action name
	Approvals map[string]*Approval
	Expect    Expect
}

// Mock replaces what an action returns. Exactly one of Reply, Attempts and
// Items is set; none means it succeeds with no outputs.
type Mock struct {
	Key      string
	Pos      schema.Pos
	Reply    *Reply   // for every attempt
	Attempts []*Reply // one per attempt; the last one repeats
	Items    []*Mock  // one per for_each item index; the last one repeats
}

// reply returns what the mock answers for a for_each item (-1 when none)
// and an attempt (from 1).
func (m *Mock) reply(index, attempt int) *Reply {
	if len(m.Items) > 0 {
		return m.Items[clamp(index, len(m.Items))].reply(-1, attempt)
	}
	if len(m.Attempts) > 0 {
		return m.Attempts[clamp(attempt-1, len(m.Attempts))]
	}
	if m.Reply != nil {
		return m.Reply
	}
	return &Reply{Pos: m.Pos}
}

func clamp(i, n int) int { return min(max(i, 0), n-1) }

// Reply is one answer of a mock: outputs, or an error.
type Reply struct {
	Pos     schema.Pos
	Outputs map[string]any
	Error   *MockError
}

// MockError is an action failure given by a mock.
type MockError struct {
	Message   string
	Code      string // default "failed"
	Retryable bool
}

// Approval is the decision on a step's approval.
type Approval struct {
	Step    string
	Pos     schema.Pos
	Approve bool
	Expire  bool   // nobody decides in time: the approval times out
	By      string // "" when not given: the first person the step's approvers allow (see Suite.Policy)
	Comment string
}

// Expect is what a case's run should end like. A nil Status means
// succeeded.
type Expect struct {
	Status  *Want   // a run status
	Error   *Want   // a substring of the run's error
	Outputs []*Want // the run's outputs named, by Name
	Steps   []*StepExpect
}

// StepExpect is what a step should end like. Key is a step id (main or
// on_failure) or undo:ID for the undo of step ID.
type StepExpect struct {
	Key      string
	Pos      schema.Pos
	Status   *Want   // a step status, or not_run (for undo:ID)
	Attempts *Want   // int
	Items    *Want   // int: for_each items
	Error    *Want   // a substring of the step's error
	Outputs  []*Want // the step's outputs named, by Name; or one Want without a Name for the whole value
	With     []*Want // the resolved with of the last attempt, by Name; or the whole value
}

// Want is one expected value: plain data, in which a string that is
// exactly one ${{ }} is an *Expression.
type Want struct {
	Path  string // in messages: expect.steps.refund.attempts
	Name  string // the output or with key, when compared by key
	Pos   schema.Pos
	Value any
}

// Expression is an expectation written as ${{ expr }}: an expr-lang
// expression over value (what is compared) and outputs (the outputs of the
// run or the step) that must be true.
type Expression struct {
	Source string // as written, with ${{ }}
	prog   *vm.Program
}

// compileExpression compiles an expectation; s must be exactly one ${{ }}.
// It returns nil, nil when s holds no ${{.
func compileExpression(s string) (*Expression, error) {
	if !schema.HasTemplate(s) {
		return nil, nil
	}
	t := strings.TrimSpace(s)
	segs, err := schema.ScanTemplate(t)
	if err != nil {
		return nil, err
	}
	if len(segs) != 1 || !segs[0].Expr || !strings.HasPrefix(t, "${{") || !strings.HasSuffix(t, "}}") {
		return nil, fmt.Errorf("an expected value holding ${{ }} must be exactly one ${{ expression }}")
	}
	prog, err := expr.Compile(segs[0].Text, expr.Env(exprEnv{}))
	if err != nil {
		return nil, err
	}
	return &Expression{Source: t, prog: prog}, nil
}

// exprEnv is the scope of an expectation.
type exprEnv struct {
	Value   any `expr:"value"`
	Outputs any `expr:"outputs"`
}

// Eval runs the expression with value and outputs in scope.
func (e *Expression) Eval(value, outputs any) (any, error) {
	return expr.Run(e.prog, exprEnv{Value: value, Outputs: outputs})
}

func (e *Expression) String() string { return e.Source }

// runbookPath returns the path of the runbook file the test file names, or
// the candidates beside it.
func (f *File) runbookPaths() []string {
	dir := filepath.Dir(f.Path)
	if f.Runbook != "" {
		if filepath.IsAbs(f.Runbook) {
			return []string{f.Runbook}
		}
		return []string{filepath.Join(dir, f.Runbook)}
	}
	base := filepath.Base(f.Path)
	for _, ext := range []string{".test.yaml", ".test.yml"} {
		if stem, ok := strings.CutSuffix(base, ext); ok {
			return []string{filepath.Join(dir, stem+".yaml"), filepath.Join(dir, stem+".yml")}
		}
	}
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	return []string{filepath.Join(dir, stem+".yaml"), filepath.Join(dir, stem+".yml")}
}

// diag makes a diagnostic in the test file.
func (f *File) diag(p schema.Pos, path, hint, format string, args ...any) schema.Diagnostic {
	src := ""
	if p.Line >= 1 && p.Line <= len(f.lines) {
		src = f.lines[p.Line-1]
	}
	return schema.Diagnostic{File: f.Path, Line: p.Line, Column: p.Column, Path: path,
		Message: fmt.Sprintf(format, args...), Hint: hint, Source: src}
}
