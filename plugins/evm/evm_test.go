package main

import (
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// start runs a fresh evm plugin with settings and the real clock.
func start(t *testing.T, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	return startAt(t, time.Now, settings)
}

// startAt runs a fresh evm plugin whose rpc backend reads the clock now.
func startAt(t *testing.T, now func() time.Time, settings map[string]any) *sdktest.Plugin {
	t.Helper()
	p := sdktest.Start(t, newEVM(now).plugin())
	if err := p.Configure(settings); err != nil {
		t.Fatal(err)
	}
	return p
}

// rpcChains is the settings of the rpc backend with chains.
func rpcChains(chains ...map[string]any) map[string]any {
	var list []any
	for _, c := range chains {
		list = append(list, c)
	}
	return map[string]any{"backend": "rpc", "chains": list}
}

// pick renders some outputs, in order, for an exact comparison.
func pick(out map[string]any, keys ...string) string {
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, out[k]))
	}
	return strings.Join(parts, " ")
}

func TestDescribe(t *testing.T) {
	p := start(t, nil)
	d := p.Describe()
	if d.Name != "evm" || d.Version != "1.0.0" {
		t.Errorf("plugin %s %s", d.Name, d.Version)
	}
	var names []string
	for _, a := range d.Actions {
		names = append(names, fmt.Sprintf("%s mutates=%v idempotent=%v sensitive=%v", a.Name, a.Mutates, a.Idempotent, a.Sensitive))
	}
	want := `evm.diagnose_transaction mutates=false idempotent=false sensitive=[]
evm.get_fee_market mutates=false idempotent=false sensitive=[]
evm.get_nonces mutates=false idempotent=false sensitive=[]
evm.get_receipt mutates=false idempotent=false sensitive=[]
evm.get_transaction mutates=false idempotent=false sensitive=[]`
	if got := strings.Join(names, "\n"); got != want {
		t.Errorf("actions:\n%s\nwant\n%s", got, want)
	}
	in := p.Action("diagnose_transaction").Input
	if strings.Join(in.Required, ",") != "chain,tx_hash" ||
		in.Properties["chain"].Pattern != chainPattern || in.Properties["tx_hash"].Pattern != hashPattern ||
		in.Properties["sender"].Pattern != addressPattern || *in.Properties["nonce"].Minimum != 0 {
		t.Errorf("diagnose input: %+v", in)
	}
	if p.Action("get_nonces").Input.Properties["address"].Pattern != addressPattern {
		t.Error("get_nonces: no address pattern")
	}
	out := p.Action("diagnose_transaction").Output
	states := out.Properties["state"].Enum
	if fmt.Sprint(states) != "[pending-underpriced pending-nonce-gap pending-fine mined-success mined-reverted replaced dropped not-found wrong-chain]" ||
		fmt.Sprint(out.Properties["advice"].Enum) != "[wait speed_up cancel fill_nonce_gap contact_dapp resubmit_same_nonce ask_sender_nonce confirm_replacement switch_chain none]" {
		t.Errorf("enums %v %v", states, out.Properties["advice"].Enum)
	}
	// Every output says which backend answered.
	for _, a := range d.Actions {
		if a.Output.Properties["backend"] == nil || !slices.Contains(a.Output.Required, "backend") {
			t.Errorf("%s: no backend output", a.Name)
		}
	}
	if !strings.Contains(string(d.Config), `"rpc_url":{"type":"string","description":"the node's JSON-RPC URL (http or https); write {secret: ETHEREUM_RPC_URL}","x-sensitive":true}`) {
		t.Errorf("config schema: %s", d.Config)
	}
}

func TestSettings(t *testing.T) {
	const secret = "https://mainnet.example.com/v3/0123456789abcdef-KEY"
	chain := func(name string, id int, url string) map[string]any {
		return map[string]any{"name": name, "id": id, "rpc_url": url}
	}
	for _, c := range []struct {
		settings map[string]any
		want     string
	}{
		{map[string]any{"backend": "rpc"}, "backend rpc needs chains: list at least one, each with name, id and rpc_url ({secret: ETHEREUM_RPC_URL})"},
		{rpcChains(chain("ethereum", 1, "wss://mainnet.example.com/v3/0123456789abcdef-KEY")),
			"settings.chains[0] (ethereum): rpc_url must be an http:// or https:// URL (its value is not shown: it may hold an API key)"},
		{rpcChains(chain("ethereum", 1, "https://[::1/0123456789abcdef-KEY")),
			"settings.chains[0] (ethereum): rpc_url must be an http:// or https:// URL (its value is not shown: it may hold an API key)"},
		{rpcChains(chain("ethereum", 1, secret), chain("ethereum", 2, secret)), "settings.chains[1] (ethereum): the name ethereum is used twice"},
		{rpcChains(chain("ethereum", 1, secret), chain("mainnet", 1, secret)), "settings.chains[1] (mainnet): chain id 1 is already ethereum"},
		{rpcChains(map[string]any{"name": "ethereum", "id": 1, "rpc_url": secret, "block_time": "-1s"}),
			"settings.chains[0] (ethereum): block_time must be more than 0s, got -1s"},
		{rpcChains(chain("Ethereum", 1, secret)), `settings.chains[0].name must match ^[a-z][a-z0-9-]{1,31}$, got "Ethereum"`},
		{rpcChains(chain("ethereum", 0, secret)), "settings.chains[0].id must be at least 1, got 0"},
		{rpcChains(map[string]any{"name": "ethereum", "id": 1}), `settings.chains[0]: missing required field "rpc_url"`},
		{rpcChains(map[string]any{"name": "polygon", "id": 137, "rpc_url": secret, "min_priority_fee_wei": "25 gwei"}),
			`settings.chains[0].min_priority_fee_wei must match ^[0-9]{1,30}$, got "25 gwei"`},
		{rpcChains(map[string]any{"name": "ethereum", "id": 1, "rpc_url": secret, "finality": "instant"}),
			`settings.chains[0].finality must be one of ["finalized_tag", "confirmations"], got "instant"`},
		{map[string]any{"backend": "infura"}, `settings.backend must be one of ["sandbox", "rpc"], got "infura"`},
		{map[string]any{"timeout": "0s"}, "settings.timeout must be more than 0s, got 0s"},
		{map[string]any{"endpoint": "x"}, `settings: unknown field "endpoint"`},
	} {
		p := sdktest.Start(t, newEVM(time.Now).plugin())
		err := p.Configure(c.settings)
		if err == nil || err.Error() != c.want {
			t.Errorf("settings %v:\n got %v\nwant %s", c.settings, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("the rpc_url leaked: %v", err)
		}
	}
	// Defaults: the sandbox, with nothing configured.
	p := start(t, nil)
	out, _, err := p.Execute("get_fee_market", map[string]any{"chain": "ethereum"})
	if err != nil || out["backend"] != "sandbox" {
		t.Errorf("default backend: %v %v", out, err)
	}
	// Chains given with backend sandbox are left alone.
	p = start(t, map[string]any{"backend": "sandbox", "chains": []any{chain("devnet", 1337, secret)}})
	_, _, err = p.Execute("get_fee_market", map[string]any{"chain": "devnet"})
	sdktest.WantError(t, err, "unknown_chain", false, `unknown chain "devnet": the sandbox chains are ethereum (1), base (8453), polygon (137), bsc (56), arbitrum (42161), optimism (10)`)
}

// Malformed hashes, addresses, chains and nonces are refused before the
// handler runs: nothing reaches a node.
func TestInvalidInput(t *testing.T) {
	p := start(t, nil)
	hash := sbMinedSuccess
	for _, c := range []struct {
		action string
		with   map[string]any
		want   string
	}{
		{"get_transaction", map[string]any{"chain": "ethereum", "tx_hash": hash[:65]},
			`with.tx_hash must match ^0x[0-9a-fA-F]{64}$, got "` + hash[:65] + `"`},
		{"get_transaction", map[string]any{"chain": "ethereum", "tx_hash": strings.TrimPrefix(hash, "0x") + "00"},
			`with.tx_hash must match ^0x[0-9a-fA-F]{64}$, got "` + strings.TrimPrefix(hash, "0x") + `00"`},
		{"get_receipt", map[string]any{"chain": "ethereum", "tx_hash": "0x" + strings.Repeat("g", 64)},
			`with.tx_hash must match ^0x[0-9a-fA-F]{64}$, got "0x` + strings.Repeat("g", 64) + `"`},
		{"get_receipt", map[string]any{"chain": "ethereum", "tx_hash": hash + " "},
			`with.tx_hash must match ^0x[0-9a-fA-F]{64}$, got "` + hash + ` "`},
		{"get_nonces", map[string]any{"chain": "ethereum", "address": "0xa11ce"},
			`with.address must match ^0x[0-9a-fA-F]{40}$, got "0xa11ce"`},
		{"get_nonces", map[string]any{"chain": "ethereum", "address": sbAlice + "00"},
			`with.address must match ^0x[0-9a-fA-F]{40}$, got "` + sbAlice + `00"`},
		{"get_fee_market", map[string]any{"chain": "Ethereum"}, `with.chain must match ^[a-z0-9][a-z0-9-]{0,31}$, got "Ethereum"`},
		{"get_fee_market", map[string]any{"chain": "eth mainnet"}, `with.chain must match ^[a-z0-9][a-z0-9-]{0,31}$, got "eth mainnet"`},
		{"get_fee_market", map[string]any{"chain": ""}, `with.chain must match ^[a-z0-9][a-z0-9-]{0,31}$, got ""`},
		{"get_fee_market", map[string]any{}, `with: missing required field "chain"`},
		{"diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": hash, "sender": "alice"},
			`with.sender must match ^0x[0-9a-fA-F]{40}$, got "alice"`},
		{"diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": hash, "nonce": -1},
			"with.nonce must be at least 0, got -1"},
		{"diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": hash, "nonce": 1.5},
			"with.nonce must be an integer, got a number"},
		{"diagnose_transaction", map[string]any{"chain": "ethereum", "hash": hash},
			`with: missing required field "tx_hash"`},
	} {
		_, logs, err := p.Execute(c.action, c.with)
		var ae *actions.Error
		if !errors.As(err, &ae) || ae.Code != "invalid_input" || ae.Retryable || ae.Message != c.want {
			t.Errorf("%s %v:\n got %v\nwant invalid_input %s", c.action, c.with, err, c.want)
		}
		if len(logs) != 0 {
			t.Errorf("%s %v: the handler ran: %v", c.action, c.with, logs)
		}
	}
	// Null for an optional field means not given.
	out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": hash, "sender": nil, "nonce": nil})
	if err != nil || out["state"] != "mined-success" {
		t.Errorf("nulls: %v %v", out, err)
	}
}

func TestUnknownChain(t *testing.T) {
	p := start(t, nil)
	_, _, err := p.Execute("get_transaction", map[string]any{"chain": "solana", "tx_hash": sbMinedSuccess})
	sdktest.WantError(t, err, "unknown_chain", false, `unknown chain "solana": the sandbox chains are ethereum (1), base (8453), polygon (137), bsc (56), arbitrum (42161), optimism (10)`)
	// A chain by its decimal id.
	out, _, err := p.Execute("get_transaction", map[string]any{"chain": "8453", "tx_hash": sbOnBase})
	if err != nil || out["chain"] != "base" || out["chain_id"] != 8453.0 {
		t.Errorf("by id: %v %v", out, err)
	}
	p = start(t, rpcChains(map[string]any{"name": "devnet", "id": 1337, "rpc_url": "http://127.0.0.1:1/"}))
	_, _, err = p.Execute("diagnose_transaction", map[string]any{"chain": "1", "tx_hash": sbMinedSuccess})
	sdktest.WantError(t, err, "unknown_chain", false, `unknown chain "1": the configured chains are devnet (1337)`)
}

func TestUnits(t *testing.T) {
	for wei, want := range map[int64]string{
		0: "0.00", 7: "0.000000007", 1_000_000: "0.001", 1_500_000_000: "1.50", 12_000_000_000: "12.00",
		12_345_678_912: "12.345678912", 100_000_000_000: "100.00", 10_000_000: "0.01",
	} {
		if got := gwei(big.NewInt(wei)); got != want {
			t.Errorf("gwei(%d) = %s, want %s", wei, got, want)
		}
	}
	for s, want := range map[string]string{"0x0": "0", "0x1a": "26", "0xDE0B6B3A7640000": "1000000000000000000"} {
		if n, err := parseQuantity(s); err != nil || n.String() != want {
			t.Errorf("parseQuantity(%s) = %v %v", s, n, err)
		}
	}
	for _, s := range []string{"", "0x", "1a", "0xzz", "-0x1", "0x-1"} {
		if _, err := parseQuantity(s); err == nil {
			t.Errorf("parseQuantity(%q) accepted", s)
		}
	}
	for d, want := range map[time.Duration]string{12 * time.Second: "12s", 72 * time.Second: "72s", 10 * time.Minute: "10 min", 3 * time.Hour: "3 h"} {
		if got := roughly(d); got != want {
			t.Errorf("roughly(%s) = %s", d, got)
		}
	}
}
