package main

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Zendesk has no idempotency header: a comment posted twice is two
// comments. So every comment this plugin posts ends with a line carrying
// a reference made from the step's idempotency key (the same for every
// attempt of the step, and across resumes), and before posting, the
// backend looks through the ticket's comments for one that carries it:
// when there is one, the earlier attempt posted it, and it is returned
// instead of posting again. The customer sees the reference at the end
// of a reply, as a ticket reference.

// reference is the reference of an idempotency key: steward- and the
// first 12 hex digits of its SHA-256 (the key names the run and step, so
// it is not shown as is).
func reference(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "steward-" + hex.EncodeToString(sum[:6])
}

// withReference is body with the reference line appended.
func withReference(body, ref string) string {
	return body + "\n\n[ref " + ref + "]"
}

// carries says whether a comment's body ends with the reference line
// (Zendesk may normalise the white space before it).
func carries(body, ref string) bool {
	return strings.HasSuffix(strings.TrimSpace(body), "[ref "+ref+"]")
}
