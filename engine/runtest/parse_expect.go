package runtest

import (
	"strings"

	"github.com/stewardhq/steward/engine"
	"gopkg.in/yaml.v3"
)

var (
	expectKeys     = []string{"status", "error", "outputs", "steps"}
	stepExpectKeys = []string{"status", "attempts", "items", "error", "outputs", "with"}

	// A test run cannot be cancelled: nothing cancels it, and timeouts
	// never fire.
	runStatuses  = []string{string(engine.StatusSucceeded), string(engine.StatusFailed), string(engine.StatusWaiting)}
	stepStatuses = []string{string(engine.StatusSucceeded), string(engine.StatusFailed), string(engine.StatusSkipped),
		string(engine.StatusCancelled), string(engine.StatusWaiting), string(engine.StatusPending), NotRun}
)

// NotRun is the status expected of an undo that did not run: a step's
// undo has no record then.
const NotRun = "not_run"

// UndoPrefix starts the key of an undo's expectation: undo:ID.
const UndoPrefix = "undo:"

func (p *parser) expect(n *yaml.Node, path string, e *Expect) {
	for _, f := range p.fields(n, path, expectKeys) {
		switch f.key {
		case "status":
			e.Status = p.status(f.v, f.path, runStatuses)
		case "error":
			e.Error = &Want{Path: f.path, Pos: pos(f.k), Value: p.str(f.v, f.path)}
		case "outputs":
			e.Outputs = p.named(f.v, f.path)
		case "steps":
			for _, s := range p.fields(f.v, f.path, nil) {
				se := p.stepExpect(s.v, s.path)
				se.Key, se.Pos = s.key, pos(s.k)
				e.Steps = append(e.Steps, se)
			}
		}
	}
}

// status reads a status word.
func (p *parser) status(n *yaml.Node, path string, valid []string) *Want {
	s := p.str(n, path)
	if s != "" && !contains(valid, s) {
		p.errorf(n, path, "one of: "+strings.Join(valid, ", "), "unknown status %q", s)
	}
	return &Want{Path: path, Pos: pos(n), Value: s}
}

// named reads a mapping of expected values, one Want per key, in order.
func (p *parser) named(n *yaml.Node, path string) []*Want {
	var out []*Want
	if n.Kind != yaml.MappingNode {
		p.errorf(n, path, "", "must be a mapping of names to expected values, got %s", kind(n))
		return nil
	}
	for _, f := range p.fields(n, path, nil) {
		out = append(out, &Want{Path: f.path, Name: f.key, Pos: pos(f.k), Value: p.value(f.v, f.path, true)})
	}
	return out
}

// whole reads a step's outputs or with: a mapping compared key by key, or
// any other value (a list for for_each, an expression) compared whole.
func (p *parser) whole(n *yaml.Node, k *yaml.Node, path string) []*Want {
	if n.Kind == yaml.MappingNode {
		return p.named(n, path)
	}
	return []*Want{{Path: path, Pos: pos(k), Value: p.value(n, path, true)}}
}

// stepExpect reads a status word or a mapping.
func (p *parser) stepExpect(n *yaml.Node, path string) *StepExpect {
	se := &StepExpect{}
	if n.Kind == yaml.ScalarNode {
		se.Status = p.status(n, sub(path, "status"), stepStatuses)
		se.Status.Pos = pos(n)
		return se
	}
	for _, f := range p.fields(n, path, stepExpectKeys) {
		switch f.key {
		case "status":
			se.Status = p.status(f.v, f.path, stepStatuses)
			se.Status.Pos = pos(f.k)
		case "attempts", "items":
			v, ok := p.integer(f.v, f.path, 0)
			if !ok {
				continue
			}
			w := &Want{Path: f.path, Pos: pos(f.k), Value: v}
			if f.key == "attempts" {
				se.Attempts = w
			} else {
				se.Items = w
			}
		case "error":
			se.Error = &Want{Path: f.path, Pos: pos(f.k), Value: p.str(f.v, f.path)}
		case "outputs":
			se.Outputs = p.whole(f.v, f.k, f.path)
		case "with":
			se.With = p.whole(f.v, f.k, f.path)
		}
	}
	return se
}

// wants returns every expected value of e.
func (e *Expect) wants() []*Want {
	var out []*Want
	add := func(ws ...*Want) {
		for _, w := range ws {
			if w != nil {
				out = append(out, w)
			}
		}
	}
	add(e.Status, e.Error)
	add(e.Outputs...)
	for _, se := range e.Steps {
		add(se.Status, se.Attempts, se.Items, se.Error)
		add(se.Outputs...)
		add(se.With...)
	}
	return out
}

// relative drops the cases[N]. prefix of a path: expectations are named
// from their case in messages.
func relative(path string) string {
	if strings.HasPrefix(path, "cases[") {
		if i := strings.Index(path, "]."); i >= 0 {
			return path[i+2:]
		}
	}
	return path
}
