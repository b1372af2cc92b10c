package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/api"
)

// MaxEvent is the largest event a stream may send: a record holds at
// most the outputs of a step, capped well below it.
const MaxEvent = 16 << 20

// Events follows a run's records (GET /runs/{id}/events, Server-Sent
// Events) from the one after seq after, and calls fn with each, in
// order, until the server ends the stream at the run's end or wait (its
// last event a run.finished), or has nothing more to send (the run is not
// executing). A stream that breaks, or ends early (a server shutting
// down), is connected again with Last-Event-ID, after a backoff, at most
// Config.Retries times in a row without an event. It returns the seq of
// the last record received.
func (c *Client) Events(ctx context.Context, id string, after int64, fn func(api.Event) error) (int64, error) {
	tries := 0
	for {
		got, ended, err := c.stream(ctx, id, after, fn)
		if got > after {
			after, tries = got, 0
		}
		var fnErr *callbackError
		var pe *ProblemError
		switch {
		case ended:
			return after, nil
		case errors.As(err, &fnErr):
			return after, fnErr.err
		case ctx.Err() != nil:
			return after, ctx.Err()
		case errors.As(err, &pe) && pe.Status != http.StatusServiceUnavailable:
			return after, err
		}
		tries++
		if tries > c.cfg.Retries {
			if err == nil {
				err = errors.New("the event stream kept ending before the run did")
			}
			return after, fmt.Errorf("following run %s after record %d: %w", id, after, err)
		}
		wait := c.cfg.Backoff << min(tries-1, 4)
		select {
		case <-ctx.Done():
			return after, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// callbackError is an error of Events' fn: it ends Events.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }

// stream reads one connection of a run's event stream. ended says that
// the server ended it as a run's stream ends (after a run.finished, or
// with nothing to send).
func (c *Client) stream(ctx context.Context, id string, after int64, fn func(api.Event) error) (last int64, ended bool, err error) {
	last = after
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := c.request(ctx, "GET", "/runs/"+url.PathEscape(id)+"/events", nil, nil)
	if err != nil {
		return last, false, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if after > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
	}
	// A stream that says nothing, not even its keep-alive comment, for
	// Idle is lost: the connection is dropped and made again.
	idle := time.AfterFunc(c.cfg.Idle, cancel)
	defer idle.Stop()
	res, err := c.do(req)
	if err != nil {
		return last, false, err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNoContent {
		return last, true, nil
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), MaxEvent)
	var data strings.Builder
	lastType := ""
	for sc.Scan() {
		idle.Reset(c.cfg.Idle)
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var e api.Event
			if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
				return last, false, fmt.Errorf("reading an event of run %s: %w", id, err)
			}
			data.Reset()
			if e.Seq <= last {
				continue // already received
			}
			last, lastType = e.Seq, e.Type
			if err := fn(e); err != nil {
				return last, false, &callbackError{err}
			}
		case strings.HasPrefix(line, ":"):
			// a comment: keep-alive
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
		// id: and event: repeat what data holds (seq, type).
	}
	if err := sc.Err(); err != nil {
		return last, false, &UnreachableError{URL: c.cfg.URL, Err: fmt.Errorf("the event stream of run %s broke: %w", id, err)}
	}
	return last, lastType == string(engine.RunFinished), nil
}
