package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/runs"
)

// Sentinel errors of tokens.
var (
	ErrTokenNotFound = errors.New("auth: no such token")
	ErrTokenExists   = errors.New("auth: a live token has that name")
	ErrTokenRevoked  = errors.New("auth: the token is revoked")
	ErrInvalidToken  = errors.New("auth: invalid token")
)

// TokenPrefix starts every token, so that a token pasted where it should
// not be is recognised (secret scanners, logs).
const TokenPrefix = "stw_"

// Change kinds of the journal records of tokens (runs.RecordChange): runs
// of the runbook "steward.token".
const (
	TokenCreated = "token.created"
	TokenRevoked = "token.revoked"
	tokenRunbook = "steward.token"
)

// DefaultRefresh is how often a Tokens looks at the journal's head to
// learn of tokens created or revoked by other processes.
const DefaultRefresh = time.Second

// Token describes a token; never the token itself, which is shown once
// when it is created and stored only as its SHA-256.
type Token struct {
	Name      string    `json:"name"`
	Subject   string    `json:"subject"`
	Role      string    `json:"role"`
	Runbooks  string    `json:"runbooks"`
	SHA256    string    `json:"sha256"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Revoked   bool      `json:"revoked"`
	RevokedBy string    `json:"revoked_by,omitempty"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`

	generation int    // how many tokens of this name were created, this one included
	hash       []byte // SHA-256, raw
	grant      Grant
}

// TokensConfig is what Tokens works with.
type TokensConfig struct {
	// Store is the journal the tokens' records are read from.
	Store journal.Reader
	// Service records token changes (RecordChange).
	Service *runs.Service
	// Grants returns the roles granted to a subject beside its token's
	// (server.grants in steward.yaml); may be nil.
	Grants func(subject string) []Grant
	// Clock; default the real clock.
	Clock clockwork.Clock
	// Refresh: default DefaultRefresh.
	Refresh time.Duration
	// Log receives the requests Middleware refuses; default
	// slog.Default.
	Log *slog.Logger
}

// Tokens authenticates bearer tokens. The tokens are derived from the
// journal, the only state: every creation and revocation is a
// change.recorded record of a run of steward.token. A Tokens keeps them
// in memory and reads the new ones when the journal's head has moved,
// looking at most every Refresh, so that a token revoked through
// another process sharing the store (another replica) is refused within
// Refresh. It is safe for concurrent use.
type Tokens struct {
	cfg TokensConfig

	// reading is held by the one refresh reading the journal, which
	// alone uses head and read. A request does not wait for it: it goes
	// on with the tokens known (see refresh).
	reading sync.Mutex
	head    int64
	read    map[string]bool // the steward.token runs read

	mu      sync.Mutex    // guards what follows
	checked time.Time     // when the head was last read
	changes []tokenChange // in journal order
	byName  map[string]*Token
}

type tokenChange struct {
	seq    int64
	kind   string
	actor  string
	at     time.Time
	detail map[string]any
}

// NewTokens returns the tokens of cfg.Store.
func NewTokens(cfg TokensConfig) *Tokens {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Tokens{cfg: cfg, read: map[string]bool{}, byName: map[string]*Token{}}
}

var (
	tokenName    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`) })
	subjectChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[^\s\x00-\x1f\x7f]{1,200}$`) })
)

// CreateRequest is a new token.
type CreateRequest struct {
	Name string
	// Subject is who the token authenticates, recorded as the actor of
	// what it does; default Name.
	Subject  string
	Role     Role
	Runbooks string // glob; "" or "*": every runbook
	// Actor is who creates it.
	Actor string
}

// Create makes a token, records its creation (never the token, only its
// SHA-256) and returns the token, to be shown once. A live token of the
// same name is refused with ErrTokenExists, also when two processes
// create it at once: the creation claims the key token/NAME/GENERATION.
func (t *Tokens) Create(ctx context.Context, req CreateRequest) (string, *Token, error) {
	if req.Subject == "" {
		req.Subject = req.Name
	}
	if err := checkCreate(req); err != nil {
		return "", nil, err
	}
	if err := t.refresh(ctx, true); err != nil {
		return "", nil, err
	}
	t.mu.Lock()
	prev := t.byName[req.Name]
	t.mu.Unlock()
	gen := 1
	if prev != nil {
		if !prev.Revoked {
			return "", nil, fmt.Errorf("%w: %s (steward tokens revoke %s first)", ErrTokenExists, req.Name, req.Name)
		}
		gen = prev.generation + 1
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	details := map[string]any{"name": req.Name, "subject": req.Subject, "role": req.Role.String(),
		"runbooks": req.Runbooks, "sha256": hex.EncodeToString(sum[:]), "generation": gen}
	_, err := t.cfg.Service.RecordChange(ctx, runs.ChangeRequest{Actor: req.Actor,
		Trigger: &journal.Trigger{Kind: "token", Name: req.Name, Key: fmt.Sprintf("token/%s/%d", req.Name, gen)},
		Change:  journal.Change{Kind: TokenCreated, Subject: req.Name, Details: details}})
	var dup *journal.DuplicateError
	if errors.As(err, &dup) {
		return "", nil, fmt.Errorf("%w: %s was created at the same time by another request", ErrTokenExists, req.Name)
	}
	if err != nil {
		return "", nil, fmt.Errorf("auth: recording token %s: %w", req.Name, err)
	}
	if err := t.refresh(ctx, true); err != nil {
		return "", nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tok := *t.byName[req.Name]
	return token, &tok, nil
}

func checkCreate(req CreateRequest) error {
	switch {
	case !tokenName().MatchString(req.Name):
		return fmt.Errorf("%w: name %q: lower-case letters, digits, '.', '_' and '-', at most 63", ErrInvalidToken, req.Name)
	case !subjectChars().MatchString(req.Subject):
		return fmt.Errorf("%w: subject %q: no blank or control character, at most 200", ErrInvalidToken, req.Subject)
	case req.Role <= None || req.Role > Admin:
		return fmt.Errorf("%w: a token needs a role: one of %s", ErrInvalidToken, strings.Join(Roles(), ", "))
	case req.Actor == "":
		return fmt.Errorf("%w: who creates the token is not known", ErrInvalidToken)
	}
	if _, err := path.Match(req.Runbooks, ""); err != nil {
		return fmt.Errorf("%w: runbooks %q is not a glob: %v", ErrInvalidToken, req.Runbooks, err)
	}
	return nil
}

// Revoke revokes the live token name and records it; ErrTokenNotFound
// when there is none (ErrTokenRevoked when its last token is revoked).
func (t *Tokens) Revoke(ctx context.Context, name, actor string) (*Token, error) {
	if err := t.refresh(ctx, true); err != nil {
		return nil, err
	}
	t.mu.Lock()
	prev := t.byName[name]
	t.mu.Unlock()
	switch {
	case prev == nil:
		return nil, fmt.Errorf("%w: %s (steward tokens list shows them)", ErrTokenNotFound, name)
	case prev.Revoked:
		return nil, fmt.Errorf("%w: %s, by %s", ErrTokenRevoked, name, prev.RevokedBy)
	}
	details := map[string]any{"name": prev.Name, "subject": prev.Subject, "role": prev.Role, "runbooks": prev.Runbooks,
		"sha256": prev.SHA256, "generation": prev.generation}
	_, err := t.cfg.Service.RecordChange(ctx, runs.ChangeRequest{Actor: actor,
		Trigger: &journal.Trigger{Kind: "token", Name: name, Key: fmt.Sprintf("token/%s/%d/revoked", name, prev.generation)},
		Change:  journal.Change{Kind: TokenRevoked, Subject: name, Details: details}})
	var dup *journal.DuplicateError
	if errors.As(err, &dup) {
		return nil, fmt.Errorf("%w: %s, at the same time by another request", ErrTokenRevoked, name)
	}
	if err != nil {
		return nil, fmt.Errorf("auth: recording the revocation of token %s: %w", name, err)
	}
	if err := t.refresh(ctx, true); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	tok := *t.byName[name]
	return &tok, nil
}

// List returns every token, live and revoked (the last of each name), by
// name.
func (t *Tokens) List(ctx context.Context) ([]Token, error) {
	if err := t.refresh(ctx, true); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Token, 0, len(t.byName))
	for _, tok := range t.byName {
		out = append(out, *tok)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Authenticate returns the principal of a bearer token: its subject,
// its grant and the grants of its subject in steward.yaml. It fails with
// ErrInvalidToken (unknown, malformed) or ErrTokenRevoked; name is the
// token's name when it is known (a revoked one), for logs.
func (t *Tokens) Authenticate(ctx context.Context, token string) (p Principal, name string, err error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 200 {
		return Principal{}, "", ErrInvalidToken
	}
	if err := t.refresh(ctx, false); err != nil {
		return Principal{}, "", err
	}
	sum := sha256.Sum256([]byte(token))
	var found *Token
	t.mu.Lock()
	for _, tok := range t.byName {
		// Every token is compared, in constant time: how long a refusal
		// takes says nothing of the stored hashes.
		if subtle.ConstantTimeCompare(tok.hash, sum[:]) == 1 {
			found = tok
		}
	}
	var tok Token
	if found != nil {
		tok = *found
	}
	t.mu.Unlock()
	switch {
	case found == nil:
		return Principal{}, "", ErrInvalidToken
	case tok.Revoked:
		return Principal{}, tok.Name, fmt.Errorf("%w: %s", ErrTokenRevoked, tok.Name)
	}
	grants := []Grant{tok.grant}
	if t.cfg.Grants != nil {
		grants = append(grants, t.cfg.Grants(tok.Subject)...)
	}
	return Principal{Subject: tok.Subject, Via: "token " + tok.Name, Grants: grants}, tok.Name, nil
}

// refresh reads the token changes recorded since the last read, when the
// journal's head moved: at once with force, else at most every Refresh.
// Without force, a request does not wait while another one reads the
// journal (listing the token runs is a scan that grows with the journal):
// it goes on with the tokens known, unless none was ever read.
func (t *Tokens) refresh(ctx context.Context, force bool) error {
	due := func() (due, loaded bool) {
		t.mu.Lock()
		defer t.mu.Unlock()
		loaded = !t.checked.IsZero()
		return force || !loaded || t.cfg.Clock.Now().Sub(t.checked) >= t.cfg.Refresh, loaded
	}
	switch d, loaded := due(); {
	case !d:
		return nil
	case force || !loaded:
		t.reading.Lock()
	case !t.reading.TryLock():
		return nil // another request reads the journal
	}
	defer t.reading.Unlock()
	if d, _ := due(); !d {
		return nil // read while this one waited
	}
	now := t.cfg.Clock.Now()
	head, _, err := t.cfg.Store.Head(ctx)
	if err != nil {
		return fmt.Errorf("auth: reading the journal's head: %w", err)
	}
	if head == t.head && head != 0 {
		t.mu.Lock()
		t.checked = now
		t.mu.Unlock()
		return nil
	}
	var fresh []string
	err = t.cfg.Store.Runs(ctx, journal.Filter{Runbook: tokenRunbook}, func(r journal.Run) error {
		if !t.read[r.ID] {
			fresh = append(fresh, r.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("auth: listing token changes: %w", err)
	}
	var added []tokenChange
	for _, id := range fresh {
		c, err := t.readChange(ctx, id)
		if err != nil {
			return err
		}
		if c != nil {
			added = append(added, *c)
		}
	}
	for _, id := range fresh {
		t.read[id] = true
	}
	t.head = head
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checked = now
	if len(added) == 0 {
		return nil
	}
	t.changes = append(t.changes, added...)
	sort.Slice(t.changes, func(i, j int) bool { return t.changes[i].seq < t.changes[j].seq })
	t.byName = map[string]*Token{}
	for _, c := range t.changes {
		t.apply(c)
	}
	return nil
}

// readChange reads the token change of run id.
func (t *Tokens) readChange(ctx context.Context, id string) (*tokenChange, error) {
	var c *tokenChange
	actor := ""
	err := t.cfg.Store.Records(ctx, id, time.Time{}, func(rec journal.Record) error {
		d, err := rec.Decode()
		if err != nil {
			return err
		}
		switch rec.Type {
		case "run.started":
			actor = d.Actor
		case journal.ChangeRecorded:
			if d.Change != nil && (d.Change.Kind == TokenCreated || d.Change.Kind == TokenRevoked) {
				c = &tokenChange{seq: rec.Seq, kind: d.Change.Kind, at: rec.Time, detail: d.Change.Details}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("auth: reading token change %s: %w", id, err)
	}
	if c != nil {
		c.actor = actor
	}
	return c, nil
}

// apply applies one change to byName; a malformed one is ignored.
func (t *Tokens) apply(c tokenChange) {
	str := func(k string) string { s, _ := c.detail[k].(string); return s }
	name := str("name")
	gen := 0
	if f, ok := c.detail["generation"].(float64); ok {
		gen = int(f)
	}
	switch c.kind {
	case TokenCreated:
		role, err := ParseRole(str("role"))
		hash, herr := hex.DecodeString(str("sha256"))
		if name == "" || err != nil || herr != nil || len(hash) != sha256.Size {
			return
		}
		t.byName[name] = &Token{Name: name, Subject: str("subject"), Role: role.String(), Runbooks: str("runbooks"),
			SHA256: str("sha256"), CreatedBy: c.actor, CreatedAt: c.at, generation: gen, hash: hash,
			grant: Grant{Role: role, Runbooks: str("runbooks")}}
	case TokenRevoked:
		if tok := t.byName[name]; tok != nil && tok.generation == gen {
			tok.Revoked, tok.RevokedBy, tok.RevokedAt = true, c.actor, c.at
		}
	}
}
