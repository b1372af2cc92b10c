package engine

import "strconv"

// stepRef is what the events and the action of one step (or one item of
// it) are about: the run, the step, its phase and action, the item. Every
// event of a step is made by its event method, so that none lacks its
// phase (a journal files an event by step and phase: one without its phase
// would make a step that never ran in the main phase), and every
// idempotency key by its key method.
type stepRef struct {
	run    string
	step   string
	phase  Phase
	action string
	index  int // the for_each item, or -1 for the step itself
}

// ref returns the reference of a step in a phase, running action.
func (r *runner) ref(step string, phase Phase, action string) stepRef {
	return stepRef{run: r.doc.ID, step: step, phase: phase, action: action, index: -1}
}

// item returns the reference of the step's item i.
func (s stepRef) item(i int) stepRef {
	s.index = i
	return s
}

// event returns e about the step: its step, phase, action and index are
// the reference's, whatever e said.
func (s stepRef) event(e Event) *Event {
	e.Step, e.Phase, e.Action, e.Index = s.step, s.phase, s.action, s.index
	return &e
}

// key is the idempotency key of the step's action: RUN:STEP, or
// RUN:STEP:INDEX for an item, with :undo appended for its undo. The same
// for every attempt and across resumes, which plugins rely on: never
// change it.
func (s stepRef) key() string {
	k := s.run + ":" + s.step
	if s.index >= 0 {
		k += ":" + strconv.Itoa(s.index)
	}
	if s.phase == PhaseUndo {
		k += ":undo"
	}
	return k
}

// runEvent returns e about the run itself (no step).
func runEvent(e Event) *Event {
	e.Step, e.Phase, e.Action, e.Index = "", PhaseMain, "", -1
	return &e
}
