package main

import (
	"context"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/plugins/sdk"
)

// Settings are plugins.settings.evm in steward.yaml. None is required: with
// none, the plugin answers from its sandbox.
type Settings struct {
	Backend string        `json:"backend,omitempty" enum:"sandbox,rpc" desc:"sandbox (default: fixed fixtures, see docs/plugins-evm.md) or rpc (your nodes, read-only JSON-RPC)"`
	Chains  []ChainConfig `json:"chains,omitempty" desc:"the chains the rpc backend reaches; required, at least one, with backend rpc"`
	Timeout sdk.Duration  `json:"timeout,omitempty" desc:"per JSON-RPC request (default 10s)"`
}

// ChainConfig is one chain of the rpc backend.
type ChainConfig struct {
	Name string `json:"name" pattern:"^[a-z][a-z0-9-]{1,31}$" desc:"what runbooks call the chain, e.g. ethereum"`
	ID   int64  `json:"id" min:"1" desc:"its EIP-155 chain id, e.g. 1; the node's eth_chainId must say the same"`
	// RPCURL is best given as {secret: ETHEREUM_RPC_URL}: provider URLs
	// embed an API key. It is never printed.
	RPCURL        string       `json:"rpc_url" steward:"sensitive" desc:"the node's JSON-RPC URL (http or https); write {secret: ETHEREUM_RPC_URL}"`
	BlockTime     sdk.Duration `json:"block_time,omitempty" desc:"the chain's block time, for estimates and staleness (default: the known chain's, else 12s)"`
	Finality      string       `json:"finality,omitempty" enum:"finalized_tag,confirmations" desc:"finalized_tag (default): final once the node's finalized block is past it; confirmations: after confirmations blocks (also the fallback for a node without the finalized tag)"`
	Confirmations int64        `json:"confirmations,omitempty" min:"1" desc:"with finality confirmations, or when the node has no finalized tag: confirmations after which a transaction is final (default 12)"`
	// Layer2, MinPriorityFeeWei and PriorityFeeIgnored default to what
	// the plugin knows of the chain id (chains.go).
	Layer2             *bool  `json:"layer2,omitempty" desc:"the chain settles on Ethereum: a block is final once its batch is posted to L1 and L1 finalized it (default: true for Base, OP Mainnet, Arbitrum One)"`
	MinPriorityFeeWei  string `json:"min_priority_fee_wei,omitempty" pattern:"^[0-9]{1,30}$" desc:"the smallest tip the chain's block producers take, in wei (default: 25 gwei on Polygon, else none)"`
	PriorityFeeIgnored *bool  `json:"priority_fee_ignored,omitempty" desc:"the sequencer ignores tips, first come first served (default: true for Arbitrum One)"`
}

const (
	defaultTimeout       = 10 * time.Second
	defaultBlockTime     = 12 * time.Second
	defaultConfirmations = 12
)

func defaultSettings() Settings {
	return Settings{Backend: "sandbox", Timeout: sdk.Duration(defaultTimeout)}
}

// configure checks the settings and builds the chains.
func (e *evm) configure(context.Context) error {
	s := e.settings
	if s.Timeout <= 0 {
		return fmt.Errorf("settings.timeout must be more than 0s, got %s", s.Timeout)
	}
	if s.Backend == "sandbox" {
		// Chains given for rpc are left alone: the sandbox has its own.
		e.chains = sandboxChains()
		return nil
	}
	if len(s.Chains) == 0 {
		return fmt.Errorf("backend rpc needs chains: list at least one, each with name, id and rpc_url ({secret: ETHEREUM_RPC_URL})")
	}
	names, ids := map[string]bool{}, map[int64]string{}
	var chains []*chain
	for i, cc := range s.Chains {
		where := fmt.Sprintf("settings.chains[%d] (%s)", i, cc.Name)
		if names[cc.Name] {
			return fmt.Errorf("%s: the name %s is used twice", where, cc.Name)
		}
		if other, ok := ids[cc.ID]; ok {
			return fmt.Errorf("%s: chain id %d is already %s", where, cc.ID, other)
		}
		names[cc.Name], ids[cc.ID] = true, cc.Name
		// Never quote the URL, nor url.Parse's error (it quotes it).
		u, err := url.Parse(cc.RPCURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s: rpc_url must be an http:// or https:// URL (its value is not shown: it may hold an API key)", where)
		}
		if cc.BlockTime < 0 {
			return fmt.Errorf("%s: block_time must be more than 0s, got %s", where, cc.BlockTime)
		}
		c := newChain(cc, "rpc")
		c.t, c.now = newRPCClient(cc.Name, cc.RPCURL, s.Timeout.Std(), e.http), e.now
		chains = append(chains, c)
	}
	e.chains = chains
	return nil
}

// newChain is a chain of settings cc: its known rules (chains.go), with
// what cc sets instead. The caller sets its transport and clock.
func newChain(cc ChainConfig, backend string) *chain {
	r := rulesFor(cc.ID)
	if cc.BlockTime > 0 {
		r.blockTime = cc.BlockTime.Std()
	}
	if cc.Layer2 != nil {
		r.layer2 = *cc.Layer2
	}
	if cc.PriorityFeeIgnored != nil {
		r.tipIgnored = *cc.PriorityFeeIgnored
	}
	if cc.MinPriorityFeeWei != "" {
		r.minTip, _ = new(big.Int).SetString(cc.MinPriorityFeeWei, 10) // the pattern made sure
	}
	conf := cc.Confirmations
	if conf == 0 {
		conf = defaultConfirmations
	}
	finality := cc.Finality
	if finality == "" {
		finality = finalityTag
	}
	return &chain{name: cc.Name, id: cc.ID, rules: r, finality: finality, confirmations: conf, backend: backend}
}

// Finality rules.
const (
	finalityTag           = "finalized_tag"
	finalityConfirmations = "confirmations"
)

// open is how every action starts: the chain named, a log line saying
// what the action does there ("WHAT on CHAIN (BACKEND)"), and the node's
// chain id checked once, before requests that may run in parallel.
func (e *evm) open(ctx context.Context, call *sdk.Call, name, what string) (*chain, error) {
	c, err := e.resolve(name)
	if err != nil {
		return nil, err
	}
	call.Infof("%s on %s (%s)", what, c.name, c.backend)
	if err := c.ready(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// resolve finds the chain named by an input: a configured chain's name or
// its decimal id.
func (e *evm) resolve(name string) (*chain, error) {
	for _, c := range e.chains {
		if c.name == name || strconv.FormatInt(c.id, 10) == name {
			return c, nil
		}
	}
	var known []string
	for _, c := range e.chains {
		known = append(known, fmt.Sprintf("%s (%d)", c.name, c.id))
	}
	where := "configured"
	if e.settings.Backend == "sandbox" {
		where = "sandbox"
	}
	return nil, sdk.Error("unknown_chain", "unknown chain %q: the %s chains are %s", name, where, strings.Join(known, ", "))
}
