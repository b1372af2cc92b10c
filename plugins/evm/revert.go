package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"
)

// Revert data is what a contract returns with REVERT: Solidity's
// Error(string) or Panic(uint256), a custom error, or nothing.
var (
	selectorError = []byte{0x08, 0xc3, 0x79, 0xa0} // Error(string)
	selectorPanic = []byte{0x4e, 0x48, 0x7b, 0x71} // Panic(uint256)
)

// panicCodes are Solidity's Panic(uint256) codes.
var panicCodes = map[uint64]string{
	0x00: "generic compiler panic",
	0x01: "assertion failed",
	0x11: "arithmetic underflow or overflow",
	0x12: "division or modulo by zero",
	0x21: "invalid enum value",
	0x22: "corrupt storage byte array",
	0x31: "pop on an empty array",
	0x32: "array index out of bounds",
	0x41: "too much memory allocated",
	0x51: "call to a zero-initialized function",
}

// customErrors are the custom errors seen most in support tickets
// (OpenZeppelin Contracts 5), by selector.
var customErrors = map[string]string{
	"e450d38c": "ERC20InsufficientBalance(address,uint256,uint256)",
	"fb8f41b2": "ERC20InsufficientAllowance(address,uint256,uint256)",
	"96c6fd1e": "ERC20InvalidSender(address)",
	"ec442f05": "ERC20InvalidReceiver(address)",
	"e602df05": "ERC20InvalidApprover(address)",
	"94280d62": "ERC20InvalidSpender(address)",
	"5274afe7": "SafeERC20FailedOperation(address)",
	"118cdaa7": "OwnableUnauthorizedAccount(address)",
	"e2517d3f": "AccessControlUnauthorizedAccount(address,bytes32)",
	"d93c0665": "EnforcedPause()",
	"3ee5aeb5": "ReentrancyGuardReentrantCall()",
	"7e273289": "ERC721NonexistentToken(uint256)",
	"177e802f": "ERC721InsufficientApproval(address,uint256)",
}

// decodeRevert turns revert data into a reason for people: the string of
// Error(string), "panic: ..." for Panic(uint256), the name (or selector) of
// a custom error, "" for no data.
func decodeRevert(data []byte) string {
	switch {
	case len(data) == 0:
		return ""
	case len(data) >= 4 && bytes.Equal(data[:4], selectorError):
		if s, ok := abiString(data[4:]); ok {
			return s
		}
		return "Error(string) with malformed data"
	case len(data) == 36 && bytes.Equal(data[:4], selectorPanic):
		code := new(big.Int).SetBytes(data[4:])
		what := "unknown panic code"
		if code.IsUint64() {
			if w, ok := panicCodes[code.Uint64()]; ok {
				what = w
			}
		}
		return fmt.Sprintf("panic: %s (0x%x)", what, code)
	case len(data) >= 4:
		sel := hex.EncodeToString(data[:4])
		if name, ok := customErrors[sel]; ok {
			return "custom error " + name
		}
		return "custom error 0x" + sel
	}
	return "revert data 0x" + hex.EncodeToString(data)
}

// abiString decodes an ABI-encoded string: an offset, then at the offset
// a length and the bytes.
func abiString(b []byte) (string, bool) {
	word := func(at uint64) (uint64, bool) {
		if at+32 > uint64(len(b)) {
			return 0, false
		}
		n := new(big.Int).SetBytes(b[at : at+32])
		if !n.IsUint64() {
			return 0, false
		}
		return n.Uint64(), true
	}
	off, ok := word(0)
	if !ok || off > uint64(len(b)) {
		return "", false
	}
	n, ok := word(off)
	if !ok || off+32+n > uint64(len(b)) || off+32+n < off {
		return "", false
	}
	s := b[off+32 : off+32+n]
	if !utf8.Valid(s) {
		return strings.ToValidUTF8(string(s), "�"), true
	}
	return string(s), true
}

// encodeError is Error(reason) ABI-encoded: what a contract reverts with
// for require(cond, reason). The sandbox and the tests use it.
func encodeError(reason string) []byte {
	out := append([]byte{}, selectorError...)
	out = append(out, word(32)...)
	out = append(out, word(uint64(len(reason)))...)
	padded := make([]byte, (len(reason)+31)/32*32)
	copy(padded, reason)
	return append(out, padded...)
}

func word(n uint64) []byte {
	w := make([]byte, 32)
	new(big.Int).SetUint64(n).FillBytes(w)
	return w
}

// evmFailures are the messages geth-like nodes give when a replayed call
// fails inside the EVM without revert data: a reason, unlike "header not
// found" or "missing trie node", which say the node cannot replay.
var evmFailures = []string{
	"out of gas", "invalid opcode", "stack underflow", "stack overflow", "stack limit reached",
	"invalid jump destination", "write protection", "return data out of bounds",
	"contract creation code storage out of gas", "max code size exceeded", "max initcode size exceeded",
	"gas uint64 overflow", "contract address collision", "insufficient balance for transfer",
}

// replayReason reads the reason from the error a replayed eth_call got:
// its revert data first (geth puts it in error.data), else the text after
// "execution reverted: ", else an EVM failure ("out of gas"). ok is false
// when the error says nothing about the transaction (the node cannot
// replay it).
func replayReason(e *rpcError) (reason string, ok bool) {
	msg := strings.TrimSpace(e.Message)
	lower := strings.ToLower(msg)
	if len(e.Data) > 0 {
		var s string
		if json.Unmarshal(e.Data, &s) == nil {
			if data, err := parseData(s); err == nil && len(data) > 0 {
				return decodeRevert(data), true
			}
		}
	}
	const reverted = "execution reverted"
	if strings.HasPrefix(lower, reverted) {
		return strings.TrimSpace(strings.TrimPrefix(msg[len(reverted):], ":")), true
	}
	for _, f := range evmFailures {
		if strings.HasPrefix(lower, f) {
			return msg, true
		}
	}
	return "", false
}
