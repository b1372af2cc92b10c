// Package checkpoint signs the journal's head with an Ed25519 key, as
// CloudTrail signs its digest files: an auditor who keeps checkpoints and
// holds only the public key can prove that no record up to a checkpoint
// was changed, removed or inserted, even by someone who rewrote the whole
// chain and re-sealed every record after the one they changed. The hash of
// a record seals every record before it (through prev_hash); the signature
// seals that hash.
//
// A checkpoint is one line of JSON:
//
//	{"type":"checkpoint","seq":21,"hash":"…","time":"2026-11-21T10:15:02.5Z","key":"…","signature":"…"}
//
// seq and hash are the journal's last record when it was signed, time
// when it was signed (UTC, RFC 3339, trailing zeros of the fraction
// trimmed), key the public key (standard base64 of its 32 bytes), and
// signature the Ed25519 signature (standard base64 of its 64 bytes) of
// the line's bytes without the signature member: up to its last
// `,"signature":"`, then `}`. The members come in that order, with no
// space: Parse takes no other form.
package checkpoint

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/stewardhq/steward/engine/journal"
)

// Type is a checkpoint's type member.
const Type = "checkpoint"

// MaxSize bounds a checkpoint file.
const MaxSize = 4 << 10

// ErrSignature is returned by Verify for a checkpoint the public key did
// not sign as it is.
var ErrSignature = errors.New("checkpoint: its signature does not verify with the public key: the checkpoint was changed, or signed with another key")

// Checkpoint is a signed statement that record Seq of the journal had
// hash Hash at Time.
type Checkpoint struct {
	Seq       int64
	Hash      string
	Time      time.Time
	Key       ed25519.PublicKey
	Signature []byte
}

const sigKey = `,"signature":"`

// Sign signs record seq's hash at time at with key.
func Sign(key ed25519.PrivateKey, seq int64, hash string, at time.Time) (Checkpoint, error) {
	if seq < 1 || !isHex(hash) {
		return Checkpoint{}, fmt.Errorf("checkpoint: record %d with hash %q cannot be signed: seq is 1 or more, the hash 64 hex digits", seq, hash)
	}
	c := Checkpoint{Seq: seq, Hash: hash, Time: at.UTC(), Key: key.Public().(ed25519.PublicKey)}
	c.Signature = ed25519.Sign(key, c.body())
	return c, nil
}

// body is what the signature signs.
func (c Checkpoint) body() []byte {
	b := []byte(`{"type":"` + Type + `","seq":`)
	b = strconv.AppendInt(b, c.Seq, 10)
	b = append(b, `,"hash":`...)
	b = strconv.AppendQuote(b, c.Hash)
	b = append(b, `,"time":"`...)
	b = c.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","key":"`...)
	b = base64.StdEncoding.AppendEncode(b, c.Key)
	return append(b, `"}`...)
}

// Line is the checkpoint as written: its body with the signature member
// added last, without a newline.
func (c Checkpoint) Line() []byte {
	b := c.body()
	b = append(b[:len(b)-1], sigKey...)
	b = base64.StdEncoding.AppendEncode(b, c.Signature)
	return append(b, `"}`...)
}

// Parse reads a checkpoint line (a trailing newline allowed) in the form
// Sign gives it. It does not check the signature: Verify does.
func Parse(line []byte) (Checkpoint, error) {
	line = bytes.TrimRight(line, "\r\n")
	bad := func(why string) (Checkpoint, error) {
		return Checkpoint{}, errors.New("checkpoint: not a checkpoint: " + why)
	}
	i := bytes.LastIndex(line, []byte(sigKey))
	if i < 0 || !bytes.HasSuffix(line, []byte(`"}`)) || bytes.IndexByte(line, '\n') >= 0 {
		return bad(`it is not one line of JSON ending with its "signature" member`)
	}
	sig, err := base64.StdEncoding.DecodeString(string(line[i+len(sigKey) : len(line)-2]))
	if err != nil || len(sig) != ed25519.SignatureSize {
		return bad("its signature is not 64 bytes in base64")
	}
	body := append(bytes.Clone(line[:i]), '}')
	var m struct {
		Type string `json:"type"`
		Seq  int64  `json:"seq"`
		Hash string `json:"hash"`
		Time string `json:"time"`
		Key  string `json:"key"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return bad(err.Error())
	}
	if m.Type != Type {
		return bad(fmt.Sprintf("its type is %q", m.Type))
	}
	t, err := time.Parse(time.RFC3339Nano, m.Time)
	if err != nil {
		return bad(fmt.Sprintf("its time %q is not an RFC 3339 time", m.Time))
	}
	key, err := base64.StdEncoding.DecodeString(m.Key)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return bad("its key is not 32 bytes in base64")
	}
	c := Checkpoint{Seq: m.Seq, Hash: m.Hash, Time: t.UTC(), Key: key, Signature: sig}
	if c.Seq < 1 || !isHex(c.Hash) {
		return bad("its seq is not 1 or more, or its hash not 64 lowercase hex digits")
	}
	if !bytes.Equal(c.body(), body) {
		return bad("its members are not in the order and form steward audit checkpoint writes them")
	}
	return c, nil
}

// ReadFile reads the checkpoint in the file at path.
func ReadFile(path string) (Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	if len(b) > MaxSize {
		return Checkpoint{}, fmt.Errorf("checkpoint: %s is larger than 4 KiB: not a checkpoint", path)
	}
	return Parse(b)
}

// Verify checks that pub signed the checkpoint as it is: it returns an
// error wrapping ErrSignature when not.
func (c Checkpoint) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("checkpoint: the public key is %d bytes, not %d", len(pub), ed25519.PublicKeySize)
	}
	if !bytes.Equal(c.Key, pub) {
		return fmt.Errorf("%w (it names key %s, not %s)", ErrSignature, KeyID(c.Key), KeyID(pub))
	}
	if !ed25519.Verify(pub, c.body(), c.Signature) {
		return ErrSignature
	}
	return nil
}

// Pin is what a verified checkpoint pins: record Seq with Hash; from
// names the checkpoint in messages.
func (c Checkpoint) Pin(from string) journal.Pin {
	return journal.Pin{Seq: c.Seq, Hash: c.Hash, From: from}
}

func isHex(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range []byte(h) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
