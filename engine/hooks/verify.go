package hooks

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"
	"github.com/stewardhq/steward/engine/config"
)

// Headers the verifications read.
const (
	GitHubSignatureHeader  = "X-Hub-Signature-256"
	ZendeskSignatureHeader = "X-Zendesk-Webhook-Signature"
	ZendeskTimestampHeader = "X-Zendesk-Webhook-Signature-Timestamp"
	GenericSignatureHeader = "X-Steward-Signature"
)

// MaxSkew is how far a Zendesk request's timestamp may be from now: an
// older request is a replay.
const MaxSkew = 5 * time.Minute

// errVerify is the cause of every refused request; its message is logged,
// and the answer says only that verification failed.
var errVerify = errors.New("hooks: verification failed")

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errVerify, fmt.Sprintf(format, args...))
}

// verify authenticates the request of hook w, whose body is body, with
// secret, and returns the JSON payload (for GitHub, the form's payload
// when it is form-encoded).
func (h *Handler) verify(w *config.Webhook, r *http.Request, body []byte, secret []byte) ([]byte, error) {
	switch w.Verify {
	case config.VerifyGitHub:
		// SHA-256 only: ValidatePayload would accept the SHA-1
		// X-Hub-Signature when this header is missing.
		if r.Header.Get(GitHubSignatureHeader) == "" {
			return nil, refused("no %s header", GitHubSignatureHeader)
		}
		rr := r.Clone(r.Context())
		rr.Body = http.NoBody
		if len(body) > 0 {
			rr.Body = readCloser{bytes.NewReader(body)}
		}
		payload, err := github.ValidatePayload(rr, secret)
		if err != nil {
			return nil, refused("GitHub signature: %v", err)
		}
		return payload, nil
	case config.VerifyZendesk:
		sig, ts := r.Header.Get(ZendeskSignatureHeader), r.Header.Get(ZendeskTimestampHeader)
		if sig == "" || ts == "" {
			return nil, refused("no %s or %s header", ZendeskSignatureHeader, ZendeskTimestampHeader)
		}
		at, err := parseTimestamp(ts)
		if err != nil {
			return nil, refused("timestamp %q: %v", ts, err)
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(ts))
		mac.Write(body)
		want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(sig), []byte(want)) {
			return nil, refused("Zendesk signature does not match")
		}
		// Checked after the signature: the timestamp is signed, so a
		// stale one is a replay, not a forgery.
		if skew := h.cfg.Clock.Since(at); skew > MaxSkew || skew < -MaxSkew {
			return nil, refused("timestamp %s is %s away from now: a replay", ts, skew.Round(time.Second))
		}
		return body, nil
	case config.VerifyAlertmanager, config.VerifyGrafana:
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(token)), secret) != 1 {
			return nil, refused("bearer token missing or wrong")
		}
		return body, nil
	case config.VerifyGeneric:
		sig, ok := strings.CutPrefix(r.Header.Get(GenericSignatureHeader), "sha256=")
		got, err := hex.DecodeString(sig)
		if !ok || err != nil {
			return nil, refused("%s must be sha256=HEX", GenericSignatureHeader)
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		if !hmac.Equal(got, mac.Sum(nil)) {
			return nil, refused("signature does not match")
		}
		return body, nil
	}
	return nil, refused("unknown verification %q", w.Verify)
}

// parseTimestamp reads Zendesk's timestamp: RFC 3339 (as Zendesk sends
// it), or Unix seconds.
func parseTimestamp(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, errors.New("neither RFC 3339 nor Unix seconds")
	}
	return time.Unix(n, 0), nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// Sign returns the X-Steward-Signature of body for a generic webhook:
// sha256=HEX of its HMAC-SHA256 with secret. Senders compute the same.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
