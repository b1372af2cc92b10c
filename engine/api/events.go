package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
)

// Event is the data of one Server-Sent Event of a run's stream: one
// journal record, as stored (secrets already redacted).
type Event struct {
	Seq   int64           `json:"seq"`
	RunID string          `json:"run_id"`
	Time  string          `json:"time"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
}

// runEvents streams a run's records as Server-Sent Events: one event per
// record, its id the record's seq and its event name the record's type,
// from the record after Last-Event-ID (or ?after=SEQ), live until the
// run ends or waits.
func (s *Server) runEvents(w http.ResponseWriter, r *http.Request) {
	run, _, err := s.runFor(r, auth.Viewer)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var after int64
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.problem(w, r, badRequest("Last-Event-ID (or after): want the seq of a record, got "+strconv.Quote(v)))
			return
		}
		after = max(after, n)
	}
	// A run that nothing executes (it ended, waits, or was interrupted)
	// has all its records: they are sent, and the stream ends; when none
	// is left to send, 204 tells an EventSource not to reconnect.
	st := run.State.Run.Status
	follow := run.Live || (st == string(engine.StatusRunning) && !run.Interrupted)
	rc := http.NewResponseController(w)
	open := false
	var mu sync.Mutex // the keep-alive writes between events
	send := func(rec journal.Record) error {
		mu.Lock()
		defer mu.Unlock()
		if !open {
			open = true
			h := w.Header()
			h.Set("Content-Type", "text/event-stream")
			h.Set("Cache-Control", "no-cache")
			h.Set("X-Accel-Buffering", "no")
			w.WriteHeader(http.StatusOK)
		}
		if rec.Seq == 0 {
			return rc.Flush() // the stream opened
		}
		b, err := json.Marshal(Event{Seq: rec.Seq, RunID: rec.RunID, Time: rec.Time.UTC().Format(time.RFC3339Nano),
			Type: rec.Type, Data: rec.Data})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", rec.Seq, rec.Type, b); err != nil {
			return err
		}
		return rc.Flush()
	}
	// The records loaded are sent first; following goes on after them (a
	// run.finished among them, of a wait the run went on from, does not
	// end the stream).
	last := after
	for _, rec := range run.State.Records {
		last = max(last, rec.Seq)
		if journal.EndsRun(journal.Entry{Type: rec.Type, Data: rec.Data}) {
			follow = false // it ended since it was found live
		}
	}
	// The last record loaded a run.finished: the run waits (or ended)
	// since it was found live (its lease is let go after that record),
	// and nothing follows it until someone decides: the stream ends, as
	// runs.Events would at it. Following here waited forever.
	if n := len(run.State.Records); n > 0 && run.State.Records[n-1].Type == string(engine.RunFinished) {
		follow = false
	}
	if !follow {
		for _, rec := range run.State.Records {
			if rec.Seq > after {
				if err := send(rec); err != nil {
					return
				}
			}
		}
		if !open {
			w.WriteHeader(http.StatusNoContent)
		}
		return
	}
	if err := send(journal.Record{}); err != nil {
		s.cfg.Logger.Error("event stream: the response cannot be streamed", "error", err)
		return
	}
	for _, rec := range run.State.Records {
		if rec.Seq > after {
			if err := send(rec); err != nil {
				return
			}
		}
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.drained, cancel)()
	alive := time.NewTicker(s.cfg.KeepAlive)
	defer alive.Stop()
	beat := make(chan struct{})
	go func() {
		defer close(beat)
		for {
			select {
			case <-ctx.Done():
				return
			case <-alive.C:
			}
			mu.Lock()
			_, err := fmt.Fprint(w, ": keep-alive\n\n")
			if err == nil {
				err = rc.Flush()
			}
			mu.Unlock()
			if err != nil {
				cancel()
				return
			}
		}
	}()
	defer func() { cancel(); <-beat }()
	err = s.cfg.Runs.Events(ctx, run.State.Run.ID, last, true, s.cfg.Poll, send)
	if err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("event stream failed", "run", run.State.Run.ID, "error", err)
	}
}
