package checkpoint

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyFile is the signing key's file name in the Steward home, unless
// steward.yaml names another (audit.checkpoint_key).
const KeyFile = "checkpoint.key"

// LoadKey reads the signing key at path: a PEM "PRIVATE KEY" (PKCS #8)
// holding an Ed25519 key, in a file only its owner may read. A missing
// file is an error that is fs.ErrNotExist.
func LoadKey(path string) (ed25519.PrivateKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("checkpoint: the signing key %s may be read by others (mode %04o): chmod 600 it, and make a new key if others did read it", path, perm)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("checkpoint: %s is not a PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, err)
	}
	key, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("checkpoint: %s is not an Ed25519 key", path)
	}
	return key, nil
}

// LoadOrCreateKey reads the signing key at path, or makes one there
// (mode 0600) when there is none; created says so. Of several processes
// making it at once, one writes it and the others read it: the file
// appears whole (written aside, then linked in place), or not at all.
func LoadOrCreateKey(path string) (key ed25519.PrivateKey, created bool, err error) {
	key, err = LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, false, err
	}
	_, key, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".checkpoint-key-*") // mode 0600
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint: making the signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, fmt.Errorf("checkpoint: making the signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		key, err = LoadKey(path) // another process made it first
		return key, false, err
	} else if err != nil {
		return nil, false, fmt.Errorf("checkpoint: making the signing key: %w", err)
	}
	return key, true, nil
}

// MarshalPublicKey is pub as a PEM "PUBLIC KEY" (PKIX), as openssl reads
// it.
func MarshalPublicKey(pub ed25519.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // an ed25519.PublicKey always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// ParsePublicKey reads a PEM "PUBLIC KEY" holding an Ed25519 key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("checkpoint: not a PEM public key (steward audit checkpoint --public-key prints one)")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("checkpoint: not an Ed25519 public key")
	}
	return pub, nil
}

// KeyID names a public key in messages: SHA256: and the unpadded base64
// of its SHA-256, as ssh-keygen -l shows keys.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
