package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// JSON-RPC quantities are hex strings with a 0x prefix ("0x1a"); data is
// hex bytes ("0x08c379a0..."). These types read them without go-ethereum.

// parseQuantity reads a hex quantity such as 0x1a.
func parseQuantity(s string) (*big.Int, error) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok {
		digits, ok = strings.CutPrefix(s, "0X")
	}
	if !ok || digits == "" || len(digits) > 64 {
		return nil, fmt.Errorf("%q is not a hex quantity", clip(s, 80))
	}
	n, ok := new(big.Int).SetString(digits, 16)
	if !ok || n.Sign() < 0 {
		return nil, fmt.Errorf("%q is not a hex quantity", clip(s, 80))
	}
	return n, nil
}

// quantity is a hex quantity of any size, such as a wei amount.
type quantity struct{ big.Int }

func (q *quantity) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s is not a hex quantity", clip(string(b), 80))
	}
	n, err := parseQuantity(s)
	if err != nil {
		return err
	}
	q.Set(n)
	return nil
}

func (q quantity) MarshalJSON() ([]byte, error) { return json.Marshal(hexBig(&q.Int)) }

// big returns q as a *big.Int, nil when q is nil.
func (q *quantity) big() *big.Int {
	if q == nil {
		return nil
	}
	return &q.Int
}

// uint64q is a hex quantity that fits 64 bits: a nonce, a block number,
// an amount of gas.
type uint64q uint64

func (q *uint64q) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s is not a hex quantity", clip(string(b), 80))
	}
	n, err := parseQuantity(s)
	if err != nil {
		return err
	}
	if !n.IsUint64() {
		return fmt.Errorf("%q does not fit 64 bits", clip(s, 80))
	}
	*q = uint64q(n.Uint64())
	return nil
}

func (q uint64q) MarshalJSON() ([]byte, error) { return json.Marshal(hexUint(uint64(q))) }

// int64 returns q as an int64 (every block number, nonce and gas amount fits).
func (q uint64q) int64() int64 {
	if uint64(q) > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

// hexData is hex-encoded bytes.
type hexData []byte

func (d *hexData) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*d = nil
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%s is not hex data", clip(string(b), 80))
	}
	v, err := parseData(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func (d hexData) MarshalJSON() ([]byte, error) { return json.Marshal("0x" + hex.EncodeToString(d)) }

// parseData reads hex bytes with a 0x prefix.
func parseData(s string) ([]byte, error) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return nil, fmt.Errorf("%q is not hex data", clip(s, 80))
	}
	v, err := hex.DecodeString(digits)
	if err != nil {
		return nil, fmt.Errorf("%q is not hex data", clip(s, 80))
	}
	return v, nil
}

// hexUint writes n as a quantity.
func hexUint(n uint64) string { return "0x" + strconv.FormatUint(n, 16) }

// hexBig writes n as a quantity.
func hexBig(n *big.Int) string { return "0x" + n.Text(16) }

// gwei returns n wei in gwei as a decimal string with 2 to 9 decimals:
// 12000000000 → "12.00", 1500000000 → "1.50", 7 → "0.000000007".
func gwei(wei *big.Int) string {
	if wei == nil {
		return ""
	}
	q, r := new(big.Int).QuoRem(wei, big.NewInt(1e9), new(big.Int))
	frac := fmt.Sprintf("%09d", r.Int64())
	frac = strings.TrimRight(frac, "0")
	for len(frac) < 2 {
		frac += "0"
	}
	return q.String() + "." + frac
}

// dec returns n as a decimal string, "" when nil.
func dec(n *big.Int) string {
	if n == nil {
		return ""
	}
	return n.String()
}

// clip cuts s to n bytes for a message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// short abbreviates a hash for a log line.
func short(h string) string {
	if len(h) <= 14 {
		return h
	}
	return h[:8] + "…" + h[len(h)-6:]
}
