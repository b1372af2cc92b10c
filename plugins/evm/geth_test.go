package main

// Tests against a real node: geth --dev, started once per test binary run
// (devnet), with real transactions the node signs from its dev account.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/build"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const gethInstall = "go install github.com/ethereum/go-ethereum/cmd/geth@v1.16.7"

// gethPath finds geth: on PATH, else in GOPATH/bin where go install puts
// it. Without it the test fails with how to install it, unless
// STEWARD_SKIP_PEERS=1 says to skip tests that need a peer.
func gethPath(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("geth"); err == nil {
		return p
	}
	for _, dir := range filepath.SplitList(build.Default.GOPATH) {
		p := filepath.Join(dir, "bin", "geth")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	if os.Getenv("STEWARD_SKIP_PEERS") == "1" {
		t.Skip("geth is not installed and STEWARD_SKIP_PEERS=1: skipping the tests against a real node")
	}
	t.Fatalf("this test runs a real Ethereum node, and geth is neither on PATH nor in GOPATH/bin: install it with: %s", gethInstall)
	return ""
}

// devnet is a running geth --dev and the transactions made on it.
type devnet struct {
	url     string
	cmd     *exec.Cmd
	dir     string
	exited  chan struct{}
	account string // the dev account: eth_accounts[0], unlocked, the node signs

	deploy      string // nonce 0: the contract's creation
	contract    string // reverts every call with Error(revertReason)
	success     string // nonce 1: a mined transfer
	reverted    string // nonce 2: a mined call that reverted
	replacedOld string // nonce 3: underpriced, then replaced in the pool by replacement
	replacement string // nonce 3: mined
	fineOld     string // nonce 4: replaced in the pool by fine, before it was mined
	fine        string // nonce 4: pending, its tip below the miner's minimum
	underpriced string // nonce 5: pending, its max fee below any base fee
	gap         string // nonce 9: queued, nonces 6 to 8 missing

	successBlock, revertedBlock int64
}

const (
	revertReason = "ERC20: transfer amount exceeds balance"
	// The miner takes tips of at least minerTip wei; the pool takes 1 wei.
	minerTip = 1000
	gwei100  = "0x174876e800"
	gwei2    = "0x77359400"
)

var (
	dev     *devnet
	devErr  error
	devOnce sync.Once
)

// startDevnet returns the test binary's geth with its transactions,
// starting it on first use.
func startDevnet(t *testing.T) *devnet {
	t.Helper()
	bin := gethPath(t)
	devOnce.Do(func() { dev, devErr = newDevnet(bin) })
	if devErr != nil {
		t.Fatal(devErr)
	}
	return dev
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dev != nil {
		dev.stop()
	}
	os.Exit(code)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newDevnet(bin string) (*devnet, error) {
	started := time.Now()
	dir, err := os.MkdirTemp("", "steward-evm-geth-")
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	authPort, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "geth.log"))
	if err != nil {
		return nil, err
	}
	// --dev.period 1: a block every second, empty ones included, so a
	// transaction the miner will not take stays pending. (With period 0,
	// geth seals on demand and spins sealing empty blocks while such a
	// transaction is in the pool.) --miner.gasprice: the miner wants tips
	// of minerTip wei, the pool accepts 1 wei: a transaction with a tip in
	// between is pending and fine by the fee rules, and never mined.
	d := &devnet{dir: dir, url: fmt.Sprintf("http://127.0.0.1:%d", httpPort), exited: make(chan struct{})}
	d.cmd = exec.Command(bin, "--dev", "--dev.period", "1", "--miner.gasprice", fmt.Sprint(minerTip),
		"--datadir", filepath.Join(dir, "data"),
		"--http", "--http.addr", "127.0.0.1", "--http.port", fmt.Sprint(httpPort), "--http.api", "eth,net,web3,txpool",
		"--authrpc.addr", "127.0.0.1", "--authrpc.port", fmt.Sprint(authPort),
		"--port", "0", "--nodiscover", "--maxpeers", "0", "--ipcdisable", "--verbosity", "3")
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	d.cmd.SysProcAttr = gethSysProcAttr()
	if err := d.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting geth: %v", err)
	}
	go func() { _ = d.cmd.Wait(); logFile.Close(); close(d.exited) }()
	if err := d.setUp(); err != nil {
		err = fmt.Errorf("geth --dev: %v\nlast lines of %s:\n%s", err, logFile.Name(), d.logTail())
		d.stop()
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "geth --dev ready with its transactions in %s\n", time.Since(started).Round(time.Millisecond))
	return d, nil
}

func (d *devnet) logTail() string {
	b, _ := os.ReadFile(filepath.Join(d.dir, "geth.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func (d *devnet) stop() {
	if d.cmd.Process != nil {
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.exited:
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.exited
		}
	}
	_ = os.RemoveAll(d.dir)
}

// rpc calls the node directly (not through the plugin).
func (d *devnet) rpc(method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(d.url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %v", method, err)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("%s: error %d: %s", method, r.Error.Code, r.Error.Message)
	}
	return r.Result, nil
}

func (d *devnet) rpcString(method string, params ...any) (string, error) {
	raw, err := d.rpc(method, params...)
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %s is not a string", method, raw)
	}
	return s, nil
}

// send has the node sign and send a transaction from the dev account.
func (d *devnet) send(tx map[string]any) (string, error) {
	tx["from"] = d.account
	if _, ok := tx["gas"]; !ok {
		tx["gas"] = "0x5208"
	}
	return d.rpcString("eth_sendTransaction", tx)
}

// waitMined waits for the receipts of hashes and returns them.
func (d *devnet) waitMined(hashes ...string) ([]map[string]any, error) {
	deadline := time.Now().Add(30 * time.Second)
	out := make([]map[string]any, len(hashes))
	for i, h := range hashes {
		for {
			raw, err := d.rpc("eth_getTransactionReceipt", h)
			if err != nil {
				return nil, err
			}
			if string(raw) != "null" {
				if err := json.Unmarshal(raw, &out[i]); err != nil {
					return nil, err
				}
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s not mined after 30s", h)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return out, nil
}

func blockOf(receipt map[string]any) (int64, error) {
	s, _ := receipt["blockNumber"].(string)
	n, err := parseQuantity(s)
	if err != nil {
		return 0, err
	}
	return n.Int64(), nil
}

// revertingContract is init code whose runtime code reverts every call
// with Error(revertReason), hand-assembled:
//
//	runtime: PUSH1 len PUSH1 12 PUSH1 0 CODECOPY PUSH1 len PUSH1 0 REVERT <revert data>
//	init:    PUSH1 len PUSH1 12 PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN <runtime>
func revertingContract() string {
	reason := hex.EncodeToString([]byte(revertReason))
	reason += strings.Repeat("0", (64-len(reason)%64)%64)
	data := "08c379a0" + fmt.Sprintf("%064x%064x", 32, len(revertReason)) + reason
	copyOut := func(n int, op string) string {
		return fmt.Sprintf("60%02x600c60003960%02x6000%s", n, n, op)
	}
	runtime := copyOut(len(data)/2, "fd") + data
	return "0x" + copyOut(len(runtime)/2, "f3") + runtime
}

func (d *devnet) setUp() error {
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-d.exited:
			return errors.New("geth exited")
		default:
		}
		if _, err = d.rpcString("eth_chainId"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("eth_chainId did not answer in 30s: %v", err)
		}
	}
	raw, err := d.rpc("eth_accounts")
	if err != nil {
		return err
	}
	var accounts []string
	if err := json.Unmarshal(raw, &accounts); err != nil || len(accounts) == 0 {
		return fmt.Errorf("eth_accounts: %s", raw)
	}
	d.account = accounts[0]
	fee := func(nonce int, maxFee, tip string) map[string]any {
		return map[string]any{"nonce": fmt.Sprintf("0x%x", nonce), "maxFeePerGas": maxFee, "maxPriorityFeePerGas": tip}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	const dead = "0x000000000000000000000000000000000000dead"

	// Mined: the contract, then a transfer.
	d.deploy, err = d.send(with(fee(0, gwei100, gwei2), "data", revertingContract(), "gas", "0x30d40"))
	if err != nil {
		return err
	}
	if d.success, err = d.send(with(fee(1, gwei100, gwei2), "to", dead, "value", "0x2386f26fc10000")); err != nil {
		return err
	}
	receipts, err := d.waitMined(d.deploy, d.success)
	if err != nil {
		return err
	}
	d.contract, _ = receipts[0]["contractAddress"].(string)
	if d.successBlock, err = blockOf(receipts[1]); err != nil {
		return err
	}
	// Mined: a call that reverts, after the contract (so that replaying it
	// at the block before its own finds the contract); and a replacement.
	if d.reverted, err = d.send(with(fee(2, gwei100, gwei2), "to", d.contract,
		"data", "0xa9059cbb000000000000000000000000000000000000000000000000000000000000dead00000000000000000000000000000000000000000000000000000000000f4240",
		"gas", "0x186a0")); err != nil {
		return err
	}
	if d.replacedOld, err = d.send(with(fee(3, "0x1", "0x1"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if d.replacement, err = d.send(with(fee(3, gwei100, gwei2), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if receipts, err = d.waitMined(d.reverted, d.replacement); err != nil {
		return err
	}
	if d.revertedBlock, err = blockOf(receipts[0]); err != nil {
		return err
	}
	// Pending for good: nonce 4 with a tip the miner refuses (replacing an
	// even lower one), nonce 5 with a max fee of 1 wei (the base fee never
	// falls below 7 wei), and nonce 9 after a gap.
	if d.fineOld, err = d.send(with(fee(4, "0xba43b7400", "0x1"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if d.fine, err = d.send(with(fee(4, gwei100, "0x2"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if d.underpriced, err = d.send(with(fee(5, "0x1", "0x1"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if d.gap, err = d.send(with(fee(9, gwei100, gwei2), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	status, err := d.rpc("txpool_status")
	if err != nil {
		return err
	}
	if string(status) != `{"pending":"0x2","queued":"0x1"}` {
		return fmt.Errorf("txpool_status %s, want 2 pending and 1 queued", status)
	}
	return nil
}

// devnetChains are the settings of a plugin that reaches the devnet as
// chain devnet (a password in its rpc_url, which geth ignores and which
// must never be printed), beside an empty ethereum chain (a fake node:
// geth can be only one chain at a time).
func devnetChains(t *testing.T, d *devnet, confirmations int) map[string]any {
	empty, _ := fakeNode(t, 1, time.Now, nil)
	return rpcChains(
		ethereumAt(secretURL(empty)),
		map[string]any{"name": "devnet", "id": 1337, "rpc_url": d.secretURL(), "block_time": "1s", "confirmations": confirmations},
	)
}

func (d *devnet) secretURL() string {
	return strings.Replace(d.url, "http://", "http://steward:"+secretPassword+"@", 1) + "/"
}

func (d *devnet) addr() string { return strings.TrimPrefix(d.url, "http://") }

// Every diagnosis state a real node can be in, through the plugin.
func TestGethDiagnose(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 1000))
	nonce := func(n int) *int { return &n }
	for _, c := range []struct {
		name   string
		chain  string
		hash   string
		sender string
		nonce  *int
		want   string // pick(out, "state", "advice", and check's keys)
		check  []string
	}{
		{"mined-success, not final", "devnet", d.success, "", nil,
			"state=mined-success advice=wait nonce=1 final=false revert_reason= missing_nonce=<nil>", []string{"nonce", "final", "revert_reason", "missing_nonce"}},
		{"mined-reverted", "devnet", d.reverted, "", nil,
			"state=mined-reverted advice=contact_dapp nonce=2 to=" + d.contract + " revert_reason=" + revertReason, []string{"nonce", "to", "revert_reason"}},
		{"replaced by a mined transaction", "devnet", d.replacedOld, d.account, nonce(3),
			"state=replaced advice=none replaced_by=" + d.replacement + " from=" + d.account + " nonce=3", []string{"replaced_by", "from", "nonce"}},
		{"replaced in the pool", "devnet", d.fineOld, d.account, nonce(4),
			"state=replaced advice=none replaced_by=" + d.fine + " nonce=4", []string{"replaced_by", "nonce"}},
		{"dropped: known nowhere", "devnet", d.replacedOld, "", nil,
			"state=dropped advice=resubmit replaced_by= from= nonce=<nil>", []string{"replaced_by", "from", "nonce"}},
		{"dropped: an unknown hash", "devnet", "0x" + strings.Repeat("0", 63) + "1", "", nil,
			"state=dropped advice=resubmit block_number=0 confirmations=0", []string{"block_number", "confirmations"}},
		{"pending-fine, its tip below the suggestion", "devnet", d.fine, "", nil,
			"state=pending-fine advice=wait nonce=4 estimate_seconds=10 suggested_priority_fee_wei=1000 block_number=0",
			[]string{"nonce", "estimate_seconds", "suggested_priority_fee_wei", "block_number"}},
		{"pending-underpriced", "devnet", d.underpriced, "", nil,
			"state=pending-underpriced advice=speed_up nonce=5 max_fee_per_gas_wei=1 missing_nonce=<nil>", []string{"nonce", "max_fee_per_gas_wei", "missing_nonce"}},
		{"pending-nonce-gap", "devnet", d.gap, "", nil,
			"state=pending-nonce-gap advice=fill_nonce_gap nonce=9 missing_nonce=6", []string{"nonce", "missing_nonce"}},
		{"wrong-chain", "ethereum", d.success, "", nil,
			"state=wrong-chain advice=switch_chain found_on=devnet from=" + d.account + " nonce=1 chain_id=1", []string{"found_on", "from", "nonce", "chain_id"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			with := map[string]any{"chain": c.chain, "tx_hash": c.hash}
			if c.sender != "" {
				with["sender"], with["nonce"] = c.sender, *c.nonce
			}
			out, logs, err := p.Execute("diagnose_transaction", with)
			if err != nil {
				t.Fatal(err)
			}
			if got := pick(out, append([]string{"state", "advice"}, c.check...)...); got != c.want {
				t.Errorf("outputs\n got %s\nwant %s\nsummary: %s", got, c.want, out["summary"])
			}
			ep := out["endpoint"].(map[string]any)
			if ep["healthy"] != true || ep["problem"] != "" || ep["syncing"] != false || ep["block_age_seconds"].(float64) > 5 {
				t.Errorf("endpoint %v", ep)
			}
			if out["backend"] != "rpc" || out["summary"] == "" {
				t.Errorf("outputs %v", out)
			}
			noLeak(t, d.addr(), out, logs, err)
		})
	}
}

// The numbers of a diagnosis agree with what the node says.
func TestGethDiagnosisNumbers(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 1))
	out, _, err := p.Execute("diagnose_transaction", map[string]any{"chain": "1337", "tx_hash": d.success})
	if err != nil {
		t.Fatal(err)
	}
	head := d.blockNumber(t)
	block, conf := int64(out["block_number"].(float64)), int64(out["confirmations"].(float64))
	if block != d.successBlock || conf < 1 || conf > head-block+1 || out["final"] != true || out["advice"] != "none" {
		t.Errorf("mined: block %d (want %d), %d confirmations at head %d: %v", block, d.successBlock, conf, head, out)
	}

	out, _, err = p.Execute("diagnose_transaction", map[string]any{"chain": "devnet", "tx_hash": d.underpriced})
	if err != nil {
		t.Fatal(err)
	}
	base, tip, maxFee := bigOut(t, out, "base_fee_wei"), bigOut(t, out, "suggested_priority_fee_wei"), bigOut(t, out, "suggested_max_fee_wei")
	if base.Cmp(big.NewInt(7)) < 0 || tip.Int64() != minerTip || maxFee.Cmp(new(big.Int).Add(new(big.Int).Lsh(base, 1), tip)) != 0 {
		t.Errorf("fees: base %s, tip %s, max %s", base, tip, maxFee)
	}
	if want := fmt.Sprintf("max fee of 0.000000001 gwei is below the base fee of %s gwei", gwei(base)); !strings.Contains(out["summary"].(string), want) {
		t.Errorf("summary %q, want it to say %q", out["summary"], want)
	}
}

func bigOut(t *testing.T, out map[string]any, key string) *big.Int {
	t.Helper()
	s, _ := out[key].(string)
	n, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("%s = %v", key, out[key])
	}
	return n
}

func (d *devnet) blockNumber(t *testing.T) int64 {
	t.Helper()
	s, err := d.rpcString("eth_blockNumber")
	if err != nil {
		t.Fatal(err)
	}
	n, err := parseQuantity(s)
	if err != nil {
		t.Fatal(err)
	}
	return n.Int64()
}

// The other actions on the same transactions agree with the diagnoses.
func TestGethActions(t *testing.T) {
	d := startDevnet(t)
	p := start(t, devnetChains(t, d, 12))
	dev := func(k, v string) map[string]any { return map[string]any{"chain": "devnet", k: v} }

	out, logs, err := p.Execute("get_transaction", dev("tx_hash", d.success))
	want := fmt.Sprintf("hash=%s from=%s to=0x000000000000000000000000000000000000dead nonce=1 value_wei=10000000000000000 gas=21000 type=2 "+
		"max_fee_per_gas_wei=100000000000 max_priority_fee_per_gas_wei=2000000000 pending=false block_number=%d input_bytes=0 chain=devnet chain_id=1337 backend=rpc",
		d.success, d.account, d.successBlock)
	if err != nil || pick(out, "hash", "from", "to", "nonce", "value_wei", "gas", "type", "max_fee_per_gas_wei", "max_priority_fee_per_gas_wei",
		"pending", "block_number", "input_bytes", "chain", "chain_id", "backend") != want {
		t.Errorf("get_transaction\n got %v %v\nwant %s", out, err, want)
	}
	noLeak(t, d.addr(), out, logs, err)
	out, _, err = p.Execute("get_transaction", dev("tx_hash", d.fine))
	if err != nil || pick(out, "pending", "block_number", "nonce", "max_priority_fee_per_gas_wei") != "pending=true block_number=0 nonce=4 max_priority_fee_per_gas_wei=2" {
		t.Errorf("pending get_transaction %v %v", out, err)
	}
	out, _, err = p.Execute("get_transaction", dev("tx_hash", d.reverted))
	if err != nil || out["input_bytes"] != 68.0 || out["to"] != d.contract {
		t.Errorf("call get_transaction %v %v", out, err)
	}
	_, _, err = p.Execute("get_transaction", dev("tx_hash", d.replacedOld))
	wantError(t, err, "not_found", false, "no transaction "+d.replacedOld+" on devnet: the node does not know it")

	out, _, err = p.Execute("get_receipt", dev("tx_hash", d.reverted))
	if err != nil || pick(out, "status", "block_number", "logs", "contract_address") != fmt.Sprintf("status=reverted block_number=%d logs=0 contract_address=", d.revertedBlock) ||
		out["gas_used"].(float64) <= 21000 || out["confirmations"].(float64) < 1 || bigOut(t, out, "effective_gas_price_wei").Sign() <= 0 {
		t.Errorf("get_receipt %v %v", out, err)
	}
	out, _, err = p.Execute("get_receipt", dev("tx_hash", d.deploy))
	if err != nil || out["status"] != "success" || out["contract_address"] != d.contract || !strings.HasPrefix(out["block_hash"].(string), "0x") {
		t.Errorf("get_receipt of the deployment %v %v", out, err)
	}
	_, _, err = p.Execute("get_receipt", dev("tx_hash", d.fine))
	wantError(t, err, "not_found", false, "no receipt for "+d.fine+" on devnet: the transaction is pending or unknown")

	out, _, err = p.Execute("get_nonces", dev("address", strings.ToUpper(d.account[2:])[:0]+"0x"+strings.ToUpper(d.account[2:])))
	if err != nil || fmt.Sprint(out) != "map[address:"+d.account+" backend:rpc chain:devnet chain_id:1337 in_pool:2 latest:4 pending:6]" {
		t.Errorf("get_nonces %v %v", out, err)
	}

	out, _, err = p.Execute("get_fee_market", map[string]any{"chain": "devnet"})
	if err != nil {
		t.Fatal(err)
	}
	base, tip := bigOut(t, out, "base_fee_wei"), bigOut(t, out, "priority_fee_wei")
	if out["base_fee_gwei"] != gwei(base) || tip.Int64() != minerTip || out["priority_fee_gwei"] != "0.000001" ||
		bigOut(t, out, "suggested_max_fee_wei").Cmp(new(big.Int).Add(new(big.Int).Lsh(base, 1), tip)) != 0 ||
		bigOut(t, out, "gas_price_wei").Cmp(base) <= 0 || out["syncing"] != false || out["block_age_seconds"].(float64) > 5 ||
		int64(out["block_number"].(float64)) < d.revertedBlock {
		t.Errorf("get_fee_market %v", out)
	}
}

// Configured as chain 1, the dev node (chain 1337) is refused by every action.
func TestGethWrongChainID(t *testing.T) {
	d := startDevnet(t)
	p := start(t, rpcChains(map[string]any{"name": "mainnet", "id": 1, "rpc_url": d.secretURL()}))
	for _, c := range []struct {
		action string
		with   map[string]any
	}{
		{"get_transaction", map[string]any{"chain": "mainnet", "tx_hash": d.success}},
		{"get_receipt", map[string]any{"chain": "mainnet", "tx_hash": d.success}},
		{"get_nonces", map[string]any{"chain": "mainnet", "address": d.account}},
		{"get_fee_market", map[string]any{"chain": "mainnet"}},
		{"diagnose_transaction", map[string]any{"chain": "1", "tx_hash": d.success}},
	} {
		out, logs, err := p.Execute(c.action, c.with)
		wantError(t, err, "wrong_chain_id", false, "the node for mainnet answers chain id 1337, not 1: check rpc_url")
		noLeak(t, d.addr(), out, logs, err)
	}
}
