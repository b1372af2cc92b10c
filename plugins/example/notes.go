package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// state is what the desk remembers: the notes of each ticket, and what
// each idempotency key already did.
type state struct {
	Notes  map[string][]Note `json:"notes"`   // by ticket
	ByKey  map[string]string `json:"by_key"`  // idempotency key → note id
	Tokens map[string]Token  `json:"tokens"`  // idempotency key → token
	LastID int               `json:"last_id"` // of notes
}

func newState() state {
	return state{Notes: map[string][]Note{}, ByKey: map[string]string{}, Tokens: map[string]Token{}}
}

// Note is a note on a ticket.
type Note struct {
	ID         string    `json:"id"`
	Text       string    `json:"text"`
	Visibility string    `json:"visibility" enum:"internal,customer"`
	CreatedAt  time.Time `json:"created_at"`
}

// Token is an issued support token.
type Token struct {
	Ticket    string    `json:"ticket"`
	Token     string    `json:"token" steward:"sensitive"`
	ExpiresAt time.Time `json:"expires_at"`
}

const stateFile = "example-desk.json"

// load reads the state kept in data_dir, if any. d.mu is held.
func (d *desk) load() error {
	d.state = newState()
	if d.settings.DataDir == "" {
		return nil
	}
	if err := os.MkdirAll(d.settings.DataDir, 0o700); err != nil {
		return fmt.Errorf("data_dir: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(d.settings.DataDir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("data_dir: %v", err)
	}
	if err := json.Unmarshal(b, &d.state); err != nil {
		return fmt.Errorf("data_dir: %s: %v", stateFile, err)
	}
	return nil
}

// save writes the state to data_dir, if set, atomically. d.mu is held.
func (d *desk) save() error {
	if d.settings.DataDir == "" {
		return nil
	}
	b, err := json.Marshal(d.state)
	if err != nil {
		return err
	}
	path := filepath.Join(d.settings.DataDir, stateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// AddNoteInput is the with of example.add_ticket_note.
type AddNoteInput struct {
	Ticket     string `json:"ticket" pattern:"^T-[0-9]+$" desc:"the support ticket, e.g. T-1042"`
	Text       string `json:"text" desc:"the note"`
	Visibility string `json:"visibility,omitempty" enum:"internal,customer" desc:"who sees the note (default internal)"`
}

// AddNoteOutput is what example.add_ticket_note returns.
type AddNoteOutput struct {
	NoteID  string `json:"note_id"`
	Created bool   `json:"created" desc:"false when an earlier attempt of the same step already added the note"`
}

// addTicketNote is example.add_ticket_note: it mutates, and the
// idempotency key makes a retry of the same step return the note the
// first attempt added instead of adding another.
func (d *desk) addTicketNote(ctx context.Context, call *sdk.Call, in AddNoteInput) (AddNoteOutput, error) {
	if call.IdempotencyKey == "" {
		return AddNoteOutput{}, sdk.Error(sdk.CodeInvalidInput, "no idempotency key: cannot add a note safely")
	}
	if in.Visibility == "" {
		in.Visibility = "internal"
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.state.ByKey[call.IdempotencyKey]; ok {
		call.Infof("note %s was added by an earlier attempt of this step", id)
		return AddNoteOutput{NoteID: id}, nil
	}
	d.state.LastID++
	n := Note{ID: fmt.Sprintf("N-%d", d.state.LastID), Text: in.Text, Visibility: in.Visibility, CreatedAt: d.now().UTC()}
	d.state.Notes[in.Ticket] = append(d.state.Notes[in.Ticket], n)
	d.state.ByKey[call.IdempotencyKey] = n.ID
	if err := d.save(); err != nil {
		// Not recorded: undo, so that a retry adds it again.
		d.state.Notes[in.Ticket] = d.state.Notes[in.Ticket][:len(d.state.Notes[in.Ticket])-1]
		delete(d.state.ByKey, call.IdempotencyKey)
		d.state.LastID--
		return AddNoteOutput{}, sdk.Retryable("storage", "saving the note: %v", err)
	}
	call.Infof("added %s note %s to %s", in.Visibility, n.ID, in.Ticket)
	return AddNoteOutput{NoteID: n.ID, Created: true}, nil
}

// TicketInput names a ticket.
type TicketInput struct {
	Ticket string `json:"ticket" pattern:"^T-[0-9]+$" desc:"the support ticket, e.g. T-1042"`
}

// NotesOutput is what example.list_ticket_notes returns.
type NotesOutput struct {
	Notes []Note `json:"notes"`
}

// listTicketNotes is example.list_ticket_notes: read-only.
func (d *desk) listTicketNotes(ctx context.Context, call *sdk.Call, in TicketInput) (NotesOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	notes := append([]Note{}, d.state.Notes[in.Ticket]...)
	return NotesOutput{Notes: notes}, nil
}

// TokenInput is the with of example.issue_support_token.
type TokenInput struct {
	Ticket string       `json:"ticket" pattern:"^T-[0-9]+$" desc:"the support ticket the session is for"`
	TTL    sdk.Duration `json:"ttl,omitempty" desc:"how long the token is valid, at most 1h (default 15m)"`
}

// issueSupportToken is example.issue_support_token. Its token output is
// sensitive: Steward redacts it from the run's record and output, and
// from anything later steps log.
func (d *desk) issueSupportToken(ctx context.Context, call *sdk.Call, in TokenInput) (Token, error) {
	if d.settings.TokenKey == "" {
		return Token{}, sdk.Error(sdk.CodeNotConfigured, "no token_key: set plugins.settings.example.token_key to {secret: EXAMPLE_TOKEN_KEY}")
	}
	ttl := in.TTL.Std()
	switch {
	case ttl == 0:
		ttl = 15 * time.Minute
	case ttl < 0 || ttl > time.Hour:
		return Token{}, sdk.Error(sdk.CodeInvalidInput, "with.ttl must be between 0s and 1h, got %s", in.TTL)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if t, ok := d.state.Tokens[call.IdempotencyKey]; ok && call.IdempotencyKey != "" {
		return t, nil
	}
	exp := d.now().UTC().Add(ttl).Truncate(time.Second)
	mac := hmac.New(sha256.New, []byte(d.settings.TokenKey))
	fmt.Fprintf(mac, "%s|%d|%s", in.Ticket, exp.Unix(), call.IdempotencyKey)
	t := Token{Ticket: in.Ticket, Token: "sup_" + hex.EncodeToString(mac.Sum(nil))[:32], ExpiresAt: exp}
	d.state.Tokens[call.IdempotencyKey] = t
	if err := d.save(); err != nil {
		delete(d.state.Tokens, call.IdempotencyKey)
		return Token{}, sdk.Retryable("storage", "saving the token: %v", err)
	}
	call.Infof("issued a support token for %s, valid until %s", in.Ticket, exp.Format(time.RFC3339))
	return t, nil
}
