package runtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
)

// CaseResult is how a case went.
type CaseResult struct {
	Case     *Case
	Name     string         // RUNBOOK/CASE NAME
	Result   *engine.Result // nil when the inputs were invalid
	Failures []Failure      // none when it passed
	Elapsed  time.Duration  // real time
}

// Passed reports whether the case passed.
func (r *CaseResult) Passed() bool { return len(r.Failures) == 0 }

// Failure is one reason a case failed, at a line of the test file: the
// expectation's key, or the case's name.
type Failure struct {
	Line    int
	Message string
}

// Name returns the full name of a case: RUNBOOK/CASE NAME.
func (s *Suite) Name(c *Case) string { return s.Runbook.Name + "/" + c.Name }

// Run runs one case of the suite on a virtual clock, with its mocks and
// approvals, and compares the run with its expectations.
func (s *Suite) Run(ctx context.Context, c *Case) *CaseResult {
	start := time.Now()
	cr := &caseRun{s: s, c: c, clock: NewClock(Start), withs: map[string]map[int]map[string]any{}}
	res, err := engine.Run(ctx, s.Runbook, c.Inputs, cr.options(s.Runbook, RunID, c.DryRun, cr))
	out := &CaseResult{Case: c, Name: s.Name(c), Result: res}
	out.Failures = cr.compare(res, err)
	out.Elapsed = time.Since(start)
	return out
}

// compare lists every way the run differs from the case's expectations.
func (cr *caseRun) compare(res *engine.Result, err error) []Failure {
	var fs []Failure
	caseLine := cr.c.Pos.Line
	fail := func(line int, format string, args ...any) {
		fs = append(fs, Failure{Line: line, Message: fmt.Sprintf(format, args...)})
	}
	cr.mu.Lock()
	for _, m := range cr.unmocked {
		fail(caseLine, "%s", m)
	}
	cr.mu.Unlock()
	var ie *engine.InputsError
	if errors.As(err, &ie) {
		for _, e := range ie.Errors {
			msg := e.Error()
			if strings.HasPrefix(e.Hint, "did you mean") {
				msg += " (" + e.Hint + ")"
			}
			fail(caseLine, "inputs: %s", msg)
		}
		return fs
	}
	if err != nil {
		fail(caseLine, "%v", err)
		return fs
	}

	e := &cr.c.Expect
	want, line := string(engine.StatusSucceeded), caseLine
	if e.Status != nil {
		want, line = e.Status.Value.(string), e.Status.Pos.Line
	}
	if string(res.Status) != want {
		fail(line, "expect.status: got %s, want %s", res.Status, want)
		if note := cr.why(res); note != "" {
			fail(line, "%s", note)
		}
		cr.mu.Lock()
		for _, key := range sortedKeys(cr.refused) {
			fs = append(fs, cr.refused[key])
		}
		cr.mu.Unlock()
	}
	if w := e.Error; w != nil {
		sub := w.Value.(string)
		switch got := errText(res.Error); {
		case res.Error == nil:
			fail(w.Pos.Line, "%s: the run has no error, want one containing %q", w.Path, sub)
		case !strings.Contains(got, sub):
			fail(w.Pos.Line, "%s: %q does not contain %q", w.Path, got, sub)
		}
	}
	for _, w := range e.Outputs {
		got, ok := res.Outputs[w.Name]
		if !ok {
			fail(w.Pos.Line, "%s: the run has no output %s (it ended %s)", w.Path, w.Name, res.Status)
			continue
		}
		for _, m := range match(w.Path, w.Value, got, res.Outputs) {
			fail(w.Pos.Line, "%s", m)
		}
	}
	for _, se := range e.Steps {
		fs = append(fs, cr.compareStep(res, se)...)
	}
	return fs
}

// why explains a run that did not end as expected: its error, or the
// approvals it waits for.
func (cr *caseRun) why(res *engine.Result) string {
	if res.Error != nil {
		if res.Error.Code == CodeNotMocked {
			return "" // already said
		}
		return fmt.Sprintf("the run %s: %s", res.Status, errText(res.Error))
	}
	if res.Status == engine.StatusWaiting {
		var ids []string
		cr.mu.Lock()
		for _, st := range res.Steps {
			if st.Status != engine.StatusWaiting {
				continue
			}
			if len(st.Nested) > 0 {
				// A sub-run's question: decided as S/X.
				for _, q := range st.Nested {
					path := strings.ReplaceAll(q.Step, ".", "/")
					if _, refused := cr.refused[path]; !refused {
						ids = append(ids, path)
					}
				}
				continue
			}
			if _, refused := cr.refused[st.ID]; !refused {
				ids = append(ids, st.ID)
			}
		}
		cr.mu.Unlock()
		if len(ids) == 0 {
			return "" // every decision was refused: said next
		}
		return fmt.Sprintf("the run waits for the approval of %s: decide it under approvals (approve or deny)", strings.Join(ids, ", "))
	}
	return ""
}

// errText renders an error as the run's summary does: step ID: message.
func errText(e *engine.ErrorInfo) string {
	if e == nil {
		return ""
	}
	if e.Step != "" {
		return "step " + e.Step + ": " + e.Message
	}
	return e.Message
}

// record finds the record of the step an expectation names.
func record(res *engine.Result, key string) *engine.StepResult {
	if id, ok := strings.CutPrefix(key, UndoPrefix); ok {
		return res.Step(id, engine.PhaseUndo)
	}
	if st := res.Step(key, engine.PhaseMain); st != nil {
		return st
	}
	return res.Step(key, engine.PhaseOnFailure)
}

func (cr *caseRun) compareStep(res *engine.Result, se *StepExpect) []Failure {
	var fs []Failure
	fail := func(w *Want, format string, args ...any) {
		line := se.Pos.Line
		if w != nil {
			line = w.Pos.Line
		}
		fs = append(fs, Failure{Line: line, Message: fmt.Sprintf(format, args...)})
	}
	path := "expect.steps." + se.Key
	rec := record(res, se.Key)
	if rec == nil {
		if se.Status != nil && se.Status.Value == NotRun {
			return nil
		}
		fail(nil, "%s: the step has no record: it did not run", path)
		return fs
	}
	if w := se.Status; w != nil && string(rec.Status) != w.Value {
		msg := fmt.Sprintf("%s: got %s, want %s", w.Path, rec.Status, w.Value)
		switch {
		case rec.Error != nil:
			msg += " (error: " + rec.Error.Message + ")"
		case rec.Reason != "":
			msg += " (" + rec.Reason + ")"
		}
		fail(w, "%s", msg)
	}
	if w := se.Attempts; w != nil && rec.Attempts != w.Value {
		fail(w, "%s: got %d, want %d", w.Path, rec.Attempts, w.Value)
	}
	if w := se.Items; w != nil && rec.Items != w.Value {
		fail(w, "%s: got %d, want %d", w.Path, rec.Items, w.Value)
	}
	if w := se.Error; w != nil {
		sub := w.Value.(string)
		switch {
		case rec.Error == nil:
			fail(w, "%s: the step has no error, want one containing %q", w.Path, sub)
		case !strings.Contains(rec.Error.Message, sub):
			fail(w, "%s: %q does not contain %q", w.Path, rec.Error.Message, sub)
		}
	}
	compareNamed := func(field string, wants []*Want, got any, missing string) {
		for _, w := range wants {
			if missing != "" {
				fail(w, "%s: %s", w.Path, missing)
				continue
			}
			if w.Name == "" {
				for _, m := range match(w.Path, w.Value, got, got) {
					fail(w, "%s", m)
				}
				continue
			}
			m, ok := plain(got).(map[string]any)
			if !ok {
				fail(w, "%s: the step's %s are not a mapping: got %s", w.Path, field, show(got))
				continue
			}
			v, ok := m[w.Name]
			if !ok {
				fail(w, "%s: the step has no %s %s; it has: %s", w.Path, strings.TrimSuffix(field, "s"), w.Name, keyList(m))
				continue
			}
			for _, msg := range match(w.Path, w.Value, v, m) {
				fail(w, "%s", msg)
			}
		}
	}
	missing := ""
	if rec.Outputs == nil {
		missing = fmt.Sprintf("the step has no outputs (it ended %s)", rec.Status)
	}
	compareNamed("outputs", se.Outputs, rec.Outputs, missing)
	with, ran := cr.with(se.Key)
	missing = ""
	if !ran {
		missing = fmt.Sprintf("the step's action did not run (it ended %s)", rec.Status)
	}
	compareNamed("with", se.With, with, missing)
	return fs
}
