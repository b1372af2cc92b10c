package checkpoint_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/checkpoint"
)

var (
	hash = strings.Repeat("0123456789abcdef", 4)
	at   = time.Date(2026, 11, 21, 10, 15, 2, 500000000, time.FixedZone("Lisbon", 3600))
)

func newKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	key, created, err := checkpoint.LoadOrCreateKey(filepath.Join(t.TempDir(), checkpoint.KeyFile))
	if err != nil || !created {
		t.Fatalf("created %v: %v", created, err)
	}
	return key
}

// TestSignParseVerify: a checkpoint reads back as signed, in the
// documented layout, and verifies with the signer's public key only.
func TestSignParseVerify(t *testing.T) {
	key, other := newKey(t), newKey(t)
	pub := key.Public().(ed25519.PublicKey)
	c, err := checkpoint.Sign(key, 21, hash, at)
	if err != nil {
		t.Fatal(err)
	}
	line := string(c.Line())
	want := `{"type":"checkpoint","seq":21,"hash":"` + hash + `","time":"2026-11-21T09:15:02.5Z","key":"`
	if !strings.HasPrefix(line, want) || !strings.Contains(line, `","signature":"`) || !strings.HasSuffix(line, `"}`) {
		t.Fatalf("layout: %s", line)
	}
	// The signature is over the line without its signature member.
	i := strings.LastIndex(line, `,"signature":"`)
	if !ed25519.Verify(pub, []byte(line[:i]+"}"), c.Signature) {
		t.Fatal("the signature is not over the body")
	}
	got, err := checkpoint.Parse([]byte(line + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 21 || got.Hash != hash || !got.Time.Equal(at) || !bytes.Equal(got.Key, pub) || !bytes.Equal(got.Signature, c.Signature) {
		t.Fatalf("parsed %+v", got)
	}
	if err := got.Verify(pub); err != nil {
		t.Fatal(err)
	}
	if err := got.Verify(other.Public().(ed25519.PublicKey)); !errors.Is(err, checkpoint.ErrSignature) || !strings.Contains(err.Error(), "it names key "+checkpoint.KeyID(pub)) {
		t.Fatalf("another key: %v", err)
	}
	if p := got.Pin("checkpoint cp.json"); p != (journal.Pin{Seq: 21, Hash: hash, From: "checkpoint cp.json"}) {
		t.Fatalf("pin %+v", p)
	}
	// A checkpoint changed in any member no longer verifies; one signed
	// again by another key names it.
	for _, edit := range []func(string) string{
		func(s string) string { return strings.Replace(s, `"seq":21`, `"seq":22`, 1) },
		func(s string) string { return strings.Replace(s, hash, strings.Repeat("f", 64), 1) },
		func(s string) string { return strings.Replace(s, "02.5Z", "03.5Z", 1) },
	} {
		forged, err := checkpoint.Parse([]byte(edit(line)))
		if err != nil {
			t.Fatal(err)
		}
		if err := forged.Verify(pub); !errors.Is(err, checkpoint.ErrSignature) {
			t.Fatalf("%s: %v", edit(line), err)
		}
	}
	if _, err := checkpoint.Sign(key, 0, hash, at); err == nil {
		t.Fatal("signed seq 0")
	}
	if _, err := checkpoint.Sign(key, 1, "abc", at); err == nil {
		t.Fatal("signed a short hash")
	}
}

func TestParseRefuses(t *testing.T) {
	c, err := checkpoint.Sign(newKey(t), 3, hash, at)
	if err != nil {
		t.Fatal(err)
	}
	line := string(c.Line())
	for _, bad := range []string{
		"",
		"hello",
		strings.Replace(line, `{"type":"checkpoint",`, `{"type":"checkpoint", `, 1),
		strings.Replace(line, `"type":"checkpoint"`, `"type":"export.end"`, 1),
		strings.Replace(line, `"seq":3,`, `"seq":3,"extra":1,`, 1),
		strings.Replace(line, `"seq":3`, `"seq":0`, 1),
		strings.Replace(line, hash, strings.ToUpper(hash), 1),
		strings.Replace(line, "02.5Z", "02.500Z", 1),
		strings.Replace(line, "2026-11-21T09:15:02.5Z", "yesterday", 1),
		line[:len(line)-5] + `"}`,
		line + line,
	} {
		if _, err := checkpoint.Parse([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "checkpoint: not a checkpoint: ") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestKeyFile: the key is made on first use, 0600, then read back; a key
// others may read is refused; processes making it at once share one.
func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "cp.key")
	if _, _, err := checkpoint.LoadOrCreateKey(path); err == nil {
		t.Fatal("made a key in a folder that does not exist")
	}
	if err := os.Mkdir(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.LoadKey(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no key yet: %v", err)
	}
	var wg sync.WaitGroup
	keys := make([]ed25519.PrivateKey, 8)
	created := make([]bool, 8)
	for i := range keys {
		wg.Go(func() {
			var err error
			if keys[i], created[i], err = checkpoint.LoadOrCreateKey(path); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	n := 0
	for i, k := range keys {
		if !k.Equal(keys[0]) {
			t.Fatalf("key %d differs", i)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d made the key, want 1", n)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".checkpoint-key-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	again, made, err := checkpoint.LoadOrCreateKey(path)
	if err != nil || made || !again.Equal(keys[0]) {
		t.Fatalf("read back: made %v, %v", made, err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.LoadKey(path); err == nil || !strings.Contains(err.Error(), "may be read by others (mode 0640): chmod 600 it") {
		t.Fatalf("a key others may read: %v", err)
	}
	if _, _, err := checkpoint.LoadOrCreateKey(path); err == nil {
		t.Fatal("LoadOrCreateKey took a key others may read")
	}
}

func TestPublicKeyPEM(t *testing.T) {
	pub := newKey(t).Public().(ed25519.PublicKey)
	b := checkpoint.MarshalPublicKey(pub)
	if !strings.HasPrefix(string(b), "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("%s", b)
	}
	got, err := checkpoint.ParsePublicKey(b)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("%v", err)
	}
	if _, err := checkpoint.ParsePublicKey([]byte("hello")); err == nil {
		t.Fatal("parsed hello")
	}
}

func TestReadFile(t *testing.T) {
	c, err := checkpoint.Sign(newKey(t), 3, hash, at)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "cp.json")
	if err := os.WriteFile(path, append(c.Line(), '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := checkpoint.ReadFile(path)
	if err != nil || got.Seq != 3 {
		t.Fatalf("%+v, %v", got, err)
	}
	big := filepath.Join(dir, "big.json")
	if err := os.WriteFile(big, bytes.Repeat([]byte(" "), checkpoint.MaxSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := checkpoint.ReadFile(big); err == nil || !strings.Contains(err.Error(), "larger than 4 KiB") {
		t.Fatalf("big: %v", err)
	}
	if _, err := checkpoint.ReadFile(filepath.Join(dir, "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}
