package main

import (
	"encoding/hex"
	"encoding/json"
	"testing"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRevert(t *testing.T) {
	// Error("ERC20: transfer amount exceeds balance") as solc encodes it.
	erc20 := "08c379a0" +
		"0000000000000000000000000000000000000000000000000000000000000020" +
		"0000000000000000000000000000000000000000000000000000000000000026" +
		"45524332303a207472616e7366657220616d6f756e7420657863656564732062" +
		"616c616e63650000000000000000000000000000000000000000000000000000"
	for _, c := range []struct{ data, want string }{
		{erc20, "ERC20: transfer amount exceeds balance"},
		{"4e487b71" + "0000000000000000000000000000000000000000000000000000000000000011", "panic: arithmetic underflow or overflow (0x11)"},
		{"4e487b71" + "0000000000000000000000000000000000000000000000000000000000000001", "panic: assertion failed (0x1)"},
		{"4e487b71" + "00000000000000000000000000000000000000000000000000000000000000ff", "panic: unknown panic code (0xff)"},
		{"e450d38c" + "000000000000000000000000a11ce000000000000000000000000000000a11ce" +
			"0000000000000000000000000000000000000000000000000000000000000001" +
			"0000000000000000000000000000000000000000000000000000000000000002",
			"custom error ERC20InsufficientBalance(address,uint256,uint256)"},
		{"deadbeef", "custom error 0xdeadbeef"},
		{"08c379a0" + "00000000000000000000000000000000000000000000000000000000000000ff", "Error(string) with malformed data"},
		{"08c379a0", "Error(string) with malformed data"},
		{"", ""},
		{"01", "revert data 0x01"},
	} {
		if got := decodeRevert(mustHex(t, c.data)); got != c.want {
			t.Errorf("decodeRevert(%s) = %q, want %q", c.data, got, c.want)
		}
	}
	if got := hex.EncodeToString(encodeError("ERC20: transfer amount exceeds balance")); got != erc20 {
		t.Errorf("encodeError: %s", got)
	}
}

func TestReplayReason(t *testing.T) {
	data := func(s string) json.RawMessage { b, _ := json.Marshal(s); return b }
	for _, c := range []struct {
		e      rpcError
		reason string
		ok     bool
	}{
		// geth: the data first.
		{rpcError{Code: 3, Message: "execution reverted: ERC20: transfer amount exceeds balance",
			Data: data("0x" + hex.EncodeToString(encodeError("ERC20: transfer amount exceeds balance")))}, "ERC20: transfer amount exceeds balance", true},
		// A node that gives only the message.
		{rpcError{Code: -32000, Message: "execution reverted: Dai/insufficient-balance"}, "Dai/insufficient-balance", true},
		{rpcError{Code: 3, Message: "execution reverted"}, "", true},
		{rpcError{Code: 3, Message: "execution reverted", Data: data("0x")}, "", true},
		{rpcError{Code: -32000, Message: "out of gas"}, "out of gas", true},
		{rpcError{Code: -32000, Message: "invalid opcode: INVALID"}, "invalid opcode: INVALID", true},
		// The node cannot replay: that says nothing of the transaction.
		{rpcError{Code: -32000, Message: "missing trie node 0x12ab (path ) state 0x12ab is not available"}, "", false},
		{rpcError{Code: -32000, Message: "header not found"}, "", false},
	} {
		reason, ok := replayReason(&c.e)
		if reason != c.reason || ok != c.ok {
			t.Errorf("replayReason(%+v) = %q %v, want %q %v", c.e, reason, ok, c.reason, c.ok)
		}
	}
}
