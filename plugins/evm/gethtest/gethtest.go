// Package gethtest runs a real Ethereum node for tests: geth --dev on a
// free loopback port, with real transactions its dev account signs, one
// for every state the evm plugin's diagnose_transaction tells apart (mined,
// reverted, replaced, pending with fine fees, underpriced, behind a nonce
// gap).
//
// Start one node per test binary and share it; it takes a few seconds:
//
//	var (node *gethtest.Node; nodeErr error; nodeOnce sync.Once)
//
//	func devnet(t *testing.T) *gethtest.Node {
//		gethtest.Path(t) // fails, or skips with STEWARD_SKIP_PEERS=1, without geth
//		nodeOnce.Do(func() { node, nodeErr = gethtest.Start() })
//		if nodeErr != nil {
//			t.Fatal(nodeErr)
//		}
//		return node
//	}
//
// and stop it when the tests end (TestMain, or t.Cleanup of the one test
// that uses it). The node's chain id is 1337.
package gethtest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/plugins/peertest"
)

// Install is the command that installs the geth these tests are written
// against.
const Install = "go install github.com/ethereum/go-ethereum/cmd/geth@v1.16.7"

const (
	// ChainID is the chain id of a geth --dev node.
	ChainID = 1337
	// RevertReason is the Error(string) the node's contract reverts with.
	RevertReason = "ERC20: transfer amount exceeds balance"
	// MinerTip is the smallest tip, in wei, the node's miner takes
	// (--miner.gasprice); its pool takes 1 wei. A transaction with a tip
	// in between stays pending for good: the chain's minimum tip, as
	// Polygon's 25 gwei is (give it as min_priority_fee_wei).
	MinerTip = 1000

	gwei100 = "0x174876e800"
	gwei2   = "0x77359400"
	dead    = "0x000000000000000000000000000000000000dead"
)

// Lookup finds geth: on PATH, else in GOPATH/bin where go install puts it.
// Its error says how to install it.
func Lookup() (string, error) {
	return peertest.Lookup("geth", "this test runs a real Ethereum node", Install)
}

// Path returns geth's path. Without geth the test fails, saying how to
// install it, unless STEWARD_SKIP_PEERS=1 says to skip tests that need a
// peer.
func Path(t testing.TB) string {
	t.Helper()
	return peertest.Path(t, "geth", "this test runs a real Ethereum node", Install)
}

// Node is a running geth --dev and the transactions made on it, all from
// Account. The pool holds Fine and Underpriced (pending) and Gap, Bumpable and Later (queued)
// for as long as the node runs: nothing mines them.
type Node struct {
	// URL is the node's JSON-RPC endpoint: http://127.0.0.1:PORT.
	URL string
	// Account is the dev account (eth_accounts[0]): unlocked, the node
	// signs for it.
	Account string

	Deploy      string // nonce 0: the creation of Contract, mined
	Contract    string // reverts every call with Error(RevertReason)
	Success     string // nonce 1: a transfer, mined
	Reverted    string // nonce 2: a call to Contract, mined, reverted
	ReplacedOld string // nonce 3: underpriced, then replaced in the pool by Replacement: unknown to the node
	Replacement string // nonce 3: mined
	FineOld     string // nonce 4: replaced in the pool by Fine before it was mined: unknown to the node
	Fine        string // nonce 4: pending, fees fine, its tip below the miner's minimum
	Underpriced string // nonce 5: pending, its max fee (1 wei) below any base fee
	Gap         string // nonce 9: queued, nonces 6 to 8 missing
	// Bumpable is nonce 12, queued. Only the test of the replacement
	// rule uses it: it replaces it (with another nonce-12 transaction).
	Bumpable string
	// Later is nonce 14, queued: nonces 6 to 8, 10, 11 and 13 are
	// missing (9 and 12 are queued).
	Later string

	SuccessBlock  int64 // the block of Success
	RevertedBlock int64 // the block of Reverted

	cmd    *exec.Cmd
	dir    string
	exited chan struct{}
}

// Addr is the node's host:port, to check that it appears nowhere.
func (n *Node) Addr() string { return strings.TrimPrefix(n.URL, "http://") }

// Start starts geth --dev on loopback ports the system chooses and makes its
// transactions; it returns once they are all where Node says. Stop it
// with Stop.
func Start() (*Node, error) {
	bin, err := Lookup()
	if err != nil {
		return nil, err
	}
	started := time.Now()
	dir, err := os.MkdirTemp("", "steward-evm-geth-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "geth.log"))
	if err != nil {
		return nil, err
	}
	// Port 0: geth binds a port the system chooses and logs it (HTTP
	// server started endpoint=127.0.0.1:PORT auth=false). A port picked
	// free beforehand could be taken by another process (another test
	// package's peer) before geth binds it, and the readiness check would
	// then talk to that process. --dev runs no engine API, so authrpc
	// binds nothing; port 0 keeps it from any fixed port all the same.
	// --dev.period 1: a block every second, empty ones included, so a
	// transaction the miner will not take stays pending. (With period 0,
	// geth seals on demand and spins sealing empty blocks while such a
	// transaction is in the pool.) --miner.gasprice: the miner wants tips
	// of MinerTip wei, the pool accepts 1 wei: a transaction with a tip in
	// between is pending and fine by the fee rules, and never mined.
	n := &Node{dir: dir, exited: make(chan struct{})}
	n.cmd = exec.Command(bin, "--dev", "--dev.period", "1", "--miner.gasprice", fmt.Sprint(MinerTip),
		"--datadir", filepath.Join(dir, "data"),
		"--http", "--http.addr", "127.0.0.1", "--http.port", "0", "--http.api", "eth,net,web3,txpool",
		"--authrpc.addr", "127.0.0.1", "--authrpc.port", "0",
		"--port", "0", "--nodiscover", "--maxpeers", "0", "--ipcdisable", "--verbosity", "3")
	n.cmd.Stdout, n.cmd.Stderr = logFile, logFile
	n.cmd.SysProcAttr = sysProcAttr()
	if err := n.cmd.Start(); err != nil {
		logFile.Close()
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("starting geth: %v", err)
	}
	go func() { _ = n.cmd.Wait(); logFile.Close(); close(n.exited) }()
	if err = n.waitListening(); err == nil {
		err = n.setUp()
	}
	if err != nil {
		err = fmt.Errorf("geth --dev: %v\nlast lines of %s:\n%s", err, logFile.Name(), n.LogTail())
		n.Stop()
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "geth --dev ready with its transactions in %s\n", time.Since(started).Round(time.Millisecond))
	return n, nil
}

// httpStarted is the line geth logs once its JSON-RPC server listens (the
// engine API's server says auth=true).
var httpStarted = regexp.MustCompile(`HTTP server started +endpoint=127\.0\.0\.1:([0-9]+) auth=false`)

// waitListening waits until geth logs the port its JSON-RPC server
// listens on, and sets URL.
func (n *Node) waitListening() error {
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(filepath.Join(n.dir, "geth.log"))
		if m := httpStarted.FindSubmatch(b); m != nil {
			n.URL = "http://127.0.0.1:" + string(m[1])
			return nil
		}
		select {
		case <-n.exited:
			return errors.New("geth exited before its HTTP server started")
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("geth logged no HTTP server started within 60s")
		}
	}
}

// LogTail is the last 30 lines geth logged.
func (n *Node) LogTail() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "geth.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// Stop stops geth (interrupt, then kill after 5 s) and removes its data.
func (n *Node) Stop() {
	if n.cmd.Process != nil {
		_ = n.cmd.Process.Signal(os.Interrupt)
		select {
		case <-n.exited:
		case <-time.After(5 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
	}
	_ = os.RemoveAll(n.dir)
}

// RPCError is a JSON-RPC error object the node answered.
type RPCError struct {
	Method  string
	Code    int
	Message string
}

func (e *RPCError) Error() string {
	return fmt.Sprintf("%s: error %d: %s", e.Method, e.Code, e.Message)
}

// RPC calls the node directly (not through the plugin) and returns the
// result; a JSON-RPC error object is an *RPCError.
func (n *Node) RPC(method string, params ...any) (json.RawMessage, error) {
	if params == nil {
		params = []any{}
	}
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp, err := http.Post(n.URL, "application/json", bytes.NewReader(body))
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
		return nil, &RPCError{Method: method, Code: r.Error.Code, Message: r.Error.Message}
	}
	return r.Result, nil
}

// RPCString calls the node for a string result.
func (n *Node) RPCString(method string, params ...any) (string, error) {
	raw, err := n.RPC(method, params...)
	if err != nil {
		return "", err
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %s is not a string", method, raw)
	}
	return s, nil
}

// BlockNumber is the node's head block.
func (n *Node) BlockNumber() (int64, error) {
	s, err := n.RPCString("eth_blockNumber")
	if err != nil {
		return 0, err
	}
	q, err := quantity(s)
	if err != nil {
		return 0, fmt.Errorf("eth_blockNumber: %v", err)
	}
	return q.Int64(), nil
}

func quantity(s string) (*big.Int, error) {
	digits, ok := strings.CutPrefix(s, "0x")
	if !ok || digits == "" {
		return nil, fmt.Errorf("%q is not a hex quantity", s)
	}
	q, ok := new(big.Int).SetString(digits, 16)
	if !ok {
		return nil, fmt.Errorf("%q is not a hex quantity", s)
	}
	return q, nil
}

// Send has the node sign and send a transaction from the dev account
// (gas defaults to 21000) and returns its hash.
func (n *Node) Send(tx map[string]any) (string, error) { return n.send(tx) }

// send has the node sign and send a transaction from the dev account.
func (n *Node) send(tx map[string]any) (string, error) {
	tx["from"] = n.Account
	if _, ok := tx["gas"]; !ok {
		tx["gas"] = "0x5208"
	}
	return n.RPCString("eth_sendTransaction", tx)
}

// waitMined waits for the receipts of hashes and returns them. geth
// answers "transaction indexing is in progress" while its indexer catches
// up with a fresh chain: that is waited out too.
func (n *Node) waitMined(hashes ...string) ([]map[string]any, error) {
	deadline := time.Now().Add(30 * time.Second)
	out := make([]map[string]any, len(hashes))
	for i, h := range hashes {
		for {
			raw, err := n.RPC("eth_getTransactionReceipt", h)
			var re *RPCError
			if errors.As(err, &re) && strings.Contains(re.Message, "indexing is in progress") {
				raw, err = json.RawMessage("null"), nil
			}
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
	q, err := quantity(s)
	if err != nil {
		return 0, fmt.Errorf("receipt blockNumber: %v", err)
	}
	return q.Int64(), nil
}

// revertingContract is init code whose runtime code reverts every call
// with Error(RevertReason), hand-assembled:
//
//	runtime: PUSH1 len PUSH1 12 PUSH1 0 CODECOPY PUSH1 len PUSH1 0 REVERT <revert data>
//	init:    PUSH1 len PUSH1 12 PUSH1 0 CODECOPY PUSH1 len PUSH1 0 RETURN <runtime>
func revertingContract() string {
	reason := hex.EncodeToString([]byte(RevertReason))
	reason += strings.Repeat("0", (64-len(reason)%64)%64)
	data := "08c379a0" + fmt.Sprintf("%064x%064x", 32, len(RevertReason)) + reason
	copyOut := func(n int, op string) string {
		return fmt.Sprintf("60%02x600c60003960%02x6000%s", n, n, op)
	}
	runtime := copyOut(len(data)/2, "fd") + data
	return "0x" + copyOut(len(runtime)/2, "f3") + runtime
}

func (n *Node) setUp() error {
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-n.exited:
			return errors.New("geth exited")
		default:
		}
		if _, err = n.RPCString("eth_chainId"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("eth_chainId did not answer in 30s: %v", err)
		}
	}
	raw, err := n.RPC("eth_accounts")
	if err != nil {
		return err
	}
	var accounts []string
	if err := json.Unmarshal(raw, &accounts); err != nil || len(accounts) == 0 {
		return fmt.Errorf("eth_accounts: %s", raw)
	}
	n.Account = accounts[0]
	fee := func(nonce int, maxFee, tip string) map[string]any {
		return map[string]any{"nonce": fmt.Sprintf("0x%x", nonce), "maxFeePerGas": maxFee, "maxPriorityFeePerGas": tip}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}

	// Mined: the contract, then a transfer.
	if n.Deploy, err = n.send(with(fee(0, gwei100, gwei2), "data", revertingContract(), "gas", "0x30d40")); err != nil {
		return err
	}
	if n.Success, err = n.send(with(fee(1, gwei100, gwei2), "to", dead, "value", "0x2386f26fc10000")); err != nil {
		return err
	}
	receipts, err := n.waitMined(n.Deploy, n.Success)
	if err != nil {
		return err
	}
	n.Contract, _ = receipts[0]["contractAddress"].(string)
	if n.SuccessBlock, err = blockOf(receipts[1]); err != nil {
		return err
	}
	// Mined: a call that reverts, after the contract (so that replaying it
	// at the block before its own finds the contract); and a replacement.
	if n.Reverted, err = n.send(with(fee(2, gwei100, gwei2), "to", n.Contract,
		"data", "0xa9059cbb000000000000000000000000000000000000000000000000000000000000dead00000000000000000000000000000000000000000000000000000000000f4240",
		"gas", "0x186a0")); err != nil {
		return err
	}
	if n.ReplacedOld, err = n.send(with(fee(3, "0x1", "0x1"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if n.Replacement, err = n.send(with(fee(3, gwei100, gwei2), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if receipts, err = n.waitMined(n.Reverted, n.Replacement); err != nil {
		return err
	}
	if n.RevertedBlock, err = blockOf(receipts[0]); err != nil {
		return err
	}
	// Pending for good: nonce 4 with a tip the miner refuses (replacing an
	// even lower one), nonce 5 with a max fee of 1 wei (the base fee never
	// falls below 7 wei), and nonce 9 after a gap.
	if n.FineOld, err = n.send(with(fee(4, "0xba43b7400", "0x1"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if n.Fine, err = n.send(with(fee(4, gwei100, "0x2"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if n.Underpriced, err = n.send(with(fee(5, "0x1", "0x1"), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if n.Gap, err = n.send(with(fee(9, gwei100, gwei2), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if n.Bumpable, err = n.send(with(fee(12, gwei100, gwei2), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	if n.Later, err = n.send(with(fee(14, gwei100, gwei2), "to", dead, "value", "0x1")); err != nil {
		return err
	}
	// The pool sorts new transactions into pending and queued in the
	// background: wait for it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		status, err := n.RPC("txpool_status")
		if err != nil {
			return err
		}
		if string(status) == `{"pending":"0x2","queued":"0x3"}` {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("txpool_status %s after 10s, want 2 pending and 3 queued", status)
		}
	}
	return n.waitIndexed()
}

// waitIndexed waits until geth's transaction indexer has caught up: until
// then it answers a lookup of a hash it does not know with the error
// "transaction indexing is in progress" instead of null, and a test of a
// dropped transaction would see an rpc_error.
func (n *Node) waitIndexed() error {
	unknown := "0x" + strings.Repeat("0", 63) + "1"
	deadline := time.Now().Add(30 * time.Second)
	for {
		raw, err := n.RPC("eth_getTransactionByHash", unknown)
		if err == nil {
			if string(raw) != "null" {
				return fmt.Errorf("eth_getTransactionByHash of an unknown hash: %s", raw)
			}
			return nil
		}
		var re *RPCError
		if !errors.As(err, &re) || !strings.Contains(re.Message, "indexing is in progress") {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("transaction indexing still in progress after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
