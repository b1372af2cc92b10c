package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Cookie names. Every cookie the console sets is Secure, HttpOnly and
// SameSite=Lax, and signed with the session key (HMAC-SHA256): a cookie
// changed by the browser is ignored, as if absent.
const (
	sessionCookie = "steward_session"
	loginCookie   = "steward_login"
	langCookie    = "steward_lang"
)

// DefaultSessionTTL is how long a login lasts.
const DefaultSessionTTL = 8 * time.Hour

// session is what the session cookie holds: an id for the CSRF token
// (every visitor has one, logged in or not) and who logged in.
type session struct {
	ID      string    `json:"id"`
	Subject string    `json:"sub,omitempty"`
	Name    string    `json:"name,omitempty"`
	Expires time.Time `json:"exp"`
}

// loginState is what the login cookie holds between the redirect to the
// provider and its callback.
type loginState struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Return   string    `json:"return"`
	Expires  time.Time `json:"exp"`
}

var errBadCookie = errors.New("console: cookie not valid")

// cookies signs and reads the console's cookies.
type cookies struct {
	key []byte
	now func() time.Time
}

func (c cookies) sign(payload []byte) string {
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c cookies) verify(v string) ([]byte, error) {
	p, s, ok := strings.Cut(v, ".")
	if !ok {
		return nil, errBadCookie
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, errBadCookie
	}
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errBadCookie
	}
	m := hmac.New(sha256.New, c.key)
	m.Write(payload)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return nil, errBadCookie
	}
	return payload, nil
}

// set writes a signed cookie of v; maxAge < 0 deletes it.
func (c cookies) set(w http.ResponseWriter, name string, v any, maxAge int) {
	val := ""
	if maxAge >= 0 {
		b, _ := json.Marshal(v)
		val = c.sign(b)
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: val, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// get reads a signed cookie into v.
func (c cookies) get(r *http.Request, name string, v any) bool {
	ck, err := r.Cookie(name)
	if err != nil {
		return false
	}
	b, err := c.verify(ck.Value)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// session returns the request's session, and whether it was read from
// a valid cookie; an expired login is dropped, the id kept.
func (c cookies) session(r *http.Request) (session, bool) {
	var s session
	if !c.get(r, sessionCookie, &s) || s.ID == "" {
		return session{}, false
	}
	if !s.Expires.IsZero() && c.now().After(s.Expires) {
		s.Subject, s.Name, s.Expires = "", "", time.Time{}
	}
	return s, true
}

// csrf is the CSRF token of a session: a MAC of its id, so that a form
// posted from another site, which cannot read the page, lacks it.
func (c cookies) csrf(s session) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("csrf\x00" + s.ID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF says whether the posted form carries the session's token.
func (c cookies) checkCSRF(r *http.Request, s session) bool {
	got := r.PostFormValue(csrfField)
	want := c.csrf(s)
	return s.ID != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// csrfField names the form field that carries the CSRF token.
const csrfField = "csrf_token"

// randomString returns n random bytes, base64url.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
