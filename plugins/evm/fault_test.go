package main

// Faults of a node or of the network, against httptest servers: geth
// cannot be made to answer HTTP 500 or 429, garbage, nothing at all, a
// rate-limit error object, eth_syncing true or a stale head on demand, so
// these tests fake the node. The real node's answers are in geth_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/plugins/peertest"
	"github.com/stewardhq/steward/plugins/sdk/sdktest"
)

// The parts of every fake rpc_url that must never be printed.
const (
	secretKey      = "0123456789abcdefKEY"
	secretPassword = "pw-s3cr3t-9876"
)

// secretURL is srv's URL with an API key in its path and a password in
// its user info, as provider URLs carry them.
func secretURL(srv *httptest.Server) string {
	return "http://steward:" + secretPassword + "@" + srv.Listener.Addr().String() + "/v3/" + secretKey
}

// noLeak fails if any of what a call returned or logged shows the URL.
func noLeak(t *testing.T, addr string, things ...any) {
	t.Helper()
	s := fmt.Sprintf("%+v", things)
	for _, secret := range []string{secretKey, secretPassword, addr, "/v3/"} {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%q appears in %s", secret, s)
		}
	}
}

type rpcCall struct {
	Method string            `json:"method"`
	Params []json.RawMessage `json:"params"`
	ID     json.RawMessage   `json:"id"`
}

// fakeNode serves JSON-RPC as the node of an empty chain chainID would
// (a head 2 s old by now, no transactions); answer, when it says so,
// answers a method instead: a result, or a JSON-RPC error object.
func fakeNode(t *testing.T, chainID int64, now func() time.Time, answer func(method string, params []json.RawMessage) (any, *rpcError, bool)) (*httptest.Server, *sync.Map) {
	t.Helper()
	calls := &sync.Map{} // method → *atomic.Int64 (requests are served concurrently)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c rpcCall
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		n, _ := calls.LoadOrStore(c.Method, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		var result any
		var rerr *rpcError
		handled := false
		if answer != nil {
			result, rerr, handled = answer(c.Method, c.Params)
		}
		if !handled {
			switch c.Method {
			case "eth_chainId":
				result = hexUint(uint64(chainID))
			case "eth_getTransactionByHash", "eth_getTransactionReceipt":
				result = nil
			case "eth_getBlockByNumber":
				result = map[string]any{"number": "0x64", "hash": "0x" + strings.Repeat("ab", 32),
					"timestamp": hexUint(uint64(now().Add(-2 * time.Second).Unix())), "baseFeePerGas": "0x3b9aca00", "transactions": []any{}}
			case "eth_syncing":
				result = false
			case "eth_maxPriorityFeePerGas":
				result = "0x3b9aca00"
			case "eth_gasPrice":
				result = "0x77359400"
			case "eth_getTransactionCount":
				result = "0x0"
			default:
				rerr = &rpcError{Code: -32601, Message: "the method " + c.Method + " does not exist/is not available"}
			}
		}
		resp := map[string]any{"jsonrpc": "2.0", "id": c.ID}
		if rerr != nil {
			resp["error"] = rerr
		} else {
			resp["result"] = result
		}
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

func count(calls *sync.Map, method string) int {
	n, ok := calls.Load(method)
	if !ok {
		return 0
	}
	return int(n.(*atomic.Int64).Load())
}

// rawServer answers every request with h.
func rawServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func ethereumAt(url string, extra ...any) map[string]any {
	m := map[string]any{"name": "ethereum", "id": 1, "rpc_url": url}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func TestRPCFaults(t *testing.T) {
	reply := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
		}
	}
	rpcErr := func(code int, msg string) string {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"error":{"code":%d,"message":%q}}`, code, msg)
	}
	for _, c := range []struct {
		name      string
		h         http.HandlerFunc
		code      string
		retryable bool
		msg       string
	}{
		{"HTTP 500", reply(500, "upstream failed"), "rpc_unavailable", true,
			"the node for ethereum answered eth_chainId with HTTP 500 Internal Server Error"},
		{"HTTP 503", reply(503, ""), "rpc_unavailable", true,
			"the node for ethereum answered eth_chainId with HTTP 503 Service Unavailable"},
		{"HTTP 429", reply(429, `{"error":"slow down"}`), "rate_limited", true,
			"the node for ethereum answered eth_chainId with HTTP 429 Too Many Requests: it limits our requests"},
		{"HTTP 401", reply(401, "invalid project id "+secretKey), "rpc_error", false,
			"the node for ethereum answered eth_chainId with HTTP 401 Unauthorized: check the API key in rpc_url"},
		{"HTTP 302", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://elsewhere.example/v3/"+secretKey, http.StatusFound)
		}, "rpc_error", false, "the node for ethereum answered eth_chainId with HTTP 302 Found (a redirect): check rpc_url"},
		{"HTTP 400 with an error object", reply(400, rpcErr(-32600, "invalid request")), "rpc_error", false,
			"the node for ethereum answered eth_chainId with error -32600: invalid request"},
		{"malformed JSON", reply(200, `{not json`), "bad_response", true,
			"the node for ethereum answered eth_chainId with malformed JSON (9 bytes): invalid character 'n' looking for beginning of object key string at byte 2"},
		{"an HTML page", reply(200, "<html>gateway error for /v3/"+secretKey+"</html>"), "bad_response", true,
			"the node for ethereum answered eth_chainId with malformed JSON (54 bytes): invalid character '<' looking for beginning of value at byte 1"},
		{"no result", reply(200, `{"jsonrpc":"2.0","id":1}`), "bad_response", true,
			"the node for ethereum answered eth_chainId with neither a result nor an error"},
		{"a result of the wrong type", reply(200, `{"jsonrpc":"2.0","id":1,"result":5}`), "bad_response", true,
			"the node for ethereum answered eth_chainId with an unexpected result: 5 is not a hex quantity"},
		{"another request's id", reply(200, `{"jsonrpc":"2.0","id":7,"result":"0x1"}`), "bad_response", true,
			"the node for ethereum answered eth_chainId with the id of another request"},
		{"a JSON-RPC error object", reply(200, rpcErr(-32000, "header not found")), "rpc_error", false,
			"the node for ethereum answered eth_chainId with error -32000: header not found"},
		{"a limit error object", reply(200, rpcErr(-32005, "limit exceeded")), "rate_limited", true,
			"the node for ethereum limits our requests: it answered eth_chainId with error -32005: limit exceeded"},
		{"an error object quoting the URL", reply(200, rpcErr(-32000, "project /v3/"+secretKey+" is over quota, user steward:"+secretPassword)), "rpc_error", false,
			"the node for ethereum answered eth_chainId with error -32000: project [rpc_url] is over quota, user [rpc_url]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := rawServer(t, c.h)
			p := start(t, rpcChains(ethereumAt(secretURL(srv))))
			out, logs, err := p.Execute("get_fee_market", map[string]any{"chain": "ethereum"})
			sdktest.WantError(t, err, c.code, c.retryable, c.msg)
			noLeak(t, srv.Listener.Addr().String(), out, logs, err)
		})
	}
}

// A node that never answers: the request gives up after settings.timeout.
func TestRPCTimeout(t *testing.T) {
	done := make(chan struct{})
	srv := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	t.Cleanup(func() { close(done) }) // runs before srv.Close
	p := start(t, map[string]any{"backend": "rpc", "timeout": "200ms", "chains": []any{ethereumAt(secretURL(srv))}})
	began := time.Now()
	out, logs, err := p.Execute("diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess})
	sdktest.WantError(t, err, "rpc_unavailable", true, "the node for ethereum did not answer eth_chainId within 200ms")
	if took := time.Since(began); took > time.Minute { // it ended, not hung: no timing assertion
		t.Errorf("took %s", took)
	}
	noLeak(t, srv.Listener.Addr().String(), out, logs, err)

	// The step's own deadline comes first: the call ends with it (the host
	// either stops waiting, or gets the SDK's retryable timeout).
	p = start(t, rpcChains(ethereumAt(secretURL(srv))))
	began = time.Now()
	_, _, err = p.Execute("get_nonces", map[string]any{"chain": "ethereum", "address": sbAlice},
		sdktest.Deadline(time.Now().Add(100*time.Millisecond)))
	var ae *actions.Error
	if !errors.Is(err, context.DeadlineExceeded) && !(errors.As(err, &ae) && ae.Code == "timeout" && ae.Retryable) {
		t.Errorf("error %#v, want the step's timeout", err)
	}
	if took := time.Since(began); took > time.Minute { // it ended, not hung: no timing assertion
		t.Errorf("took %s", took)
	}
}

func TestRPCConnectionRefused(t *testing.T) {
	addr := peertest.RefusedAddr(t) // nothing listens there, nor can another process
	url := "http://steward:" + secretPassword + "@" + addr + "/v3/" + secretKey
	p := start(t, rpcChains(ethereumAt(url)))
	out, logs, err := p.Execute("get_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess})
	sdktest.WantError(t, err, "rpc_unavailable", true, "the node for ethereum refused the connection")
	noLeak(t, addr, out, logs, err)
}

// eth_chainId is asked once per process, and a node on another chain is
// refused for every call.
func TestChainIDCheck(t *testing.T) {
	srv, calls := fakeNode(t, 1, time.Now, nil)
	p := start(t, rpcChains(ethereumAt(secretURL(srv))))
	for range 3 {
		if _, _, err := p.Execute("get_fee_market", map[string]any{"chain": "1"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(calls, "eth_chainId"); n != 1 {
		t.Errorf("eth_chainId asked %d times", n)
	}

	srv, calls = fakeNode(t, 5, time.Now, nil)
	p = start(t, rpcChains(ethereumAt(secretURL(srv))))
	for range 2 {
		out, logs, err := p.Execute("diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess})
		sdktest.WantError(t, err, "wrong_chain_id", false, "the node for ethereum answers chain id 5, not 1: check rpc_url")
		noLeak(t, srv.Listener.Addr().String(), out, logs, err)
	}
	if count(calls, "eth_chainId") != 1 || count(calls, "eth_getTransactionByHash") != 0 {
		t.Errorf("calls to a node on another chain: %d eth_chainId, %d eth_getTransactionByHash", count(calls, "eth_chainId"), count(calls, "eth_getTransactionByHash"))
	}
}

// A syncing node, or one whose head is old, still gives a diagnosis, with
// an unhealthy endpoint for the runbook to escalate.
func TestEndpointHealth(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	headAt := func(age time.Duration) func(string, []json.RawMessage) (any, *rpcError, bool) {
		return func(method string, _ []json.RawMessage) (any, *rpcError, bool) {
			if method == "eth_getBlockByNumber" {
				return map[string]any{"number": "0x1406f40", "hash": "0x" + strings.Repeat("cd", 32),
					"timestamp": hexUint(uint64(now.Add(-age).Unix())), "baseFeePerGas": "0x2cb417800", "transactions": []any{}}, nil, true
			}
			return nil, nil, false
		}
	}
	syncing := func(method string, _ []json.RawMessage) (any, *rpcError, bool) {
		if method == "eth_syncing" {
			return map[string]any{"startingBlock": "0x0", "currentBlock": "0x10", "highestBlock": "0x1406f40"}, nil, true
		}
		return nil, nil, false
	}
	for _, c := range []struct {
		name   string
		answer func(string, []json.RawMessage) (any, *rpcError, bool)
		chain  map[string]any
		want   string
	}{
		{"healthy", headAt(30 * time.Second), ethereumAt(""), "map[block_age_seconds:30 healthy:true problem: syncing:false]"},
		{"stale", headAt(15 * time.Minute), ethereumAt(""), "map[block_age_seconds:900 healthy:false problem:stale head: last block 900s old syncing:false]"},
		// 10 block times of 30 s: 300 s, more than 120 s.
		{"slow chain", headAt(250 * time.Second), ethereumAt("", "block_time", "30s"), "map[block_age_seconds:250 healthy:true problem: syncing:false]"},
		{"syncing", syncing, ethereumAt(""), "map[block_age_seconds:2 healthy:false problem:syncing syncing:true]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := fakeNode(t, 1, clock, c.answer)
			c.chain["rpc_url"] = secretURL(srv)
			p := startAt(t, clock, rpcChains(c.chain))
			out, logs, err := p.Execute("diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(out["endpoint"]); got != c.want {
				t.Errorf("endpoint %s, want %s", got, c.want)
			}
			healthy := out["endpoint"].(map[string]any)["healthy"] == true
			if strings.Contains(out["summary"].(string), "unhealthy") == healthy || out["state"] != "not-found" {
				t.Errorf("summary %v", out["summary"])
			}
			noLeak(t, srv.Listener.Addr().String(), out, logs, err)
		})
	}
}

// A node without eth_maxPriorityFeePerGas: the tip is gas price - base fee.
func TestPriorityFeeFallback(t *testing.T) {
	srv, _ := fakeNode(t, 1, time.Now, func(method string, _ []json.RawMessage) (any, *rpcError, bool) {
		if method == "eth_maxPriorityFeePerGas" {
			return nil, &rpcError{Code: -32601, Message: "the method eth_maxPriorityFeePerGas does not exist/is not available"}, true
		}
		return nil, nil, false
	})
	p := start(t, rpcChains(ethereumAt(secretURL(srv))))
	out, _, err := p.Execute("get_fee_market", map[string]any{"chain": "ethereum"})
	if err != nil || pick(out, "base_fee_gwei", "priority_fee_gwei", "suggested_max_fee_wei", "gas_price_wei", "backend") !=
		"base_fee_gwei=1.00 priority_fee_gwei=1.00 suggested_max_fee_wei=3000000000 gas_price_wei=2000000000 backend=rpc" {
		t.Errorf("%v %v", out, err)
	}
}

// Looking on the other chains is best effort: one that does not answer is
// skipped with a warning, and the diagnosis goes on.
func TestOtherChainsDoNotAnswer(t *testing.T) {
	done := make(chan struct{})
	silent := rawServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	t.Cleanup(func() { close(done) })
	refusedURL := "http://" + peertest.RefusedAddr(t) + "/v3/" + secretKey
	other, _ := fakeNode(t, 10, time.Now, nil)
	home, _ := fakeNode(t, 1, time.Now, nil)
	// A timeout the answering nodes meet on a loaded machine: the silent
	// one uses it up.
	p := start(t, map[string]any{"backend": "rpc", "timeout": "3s", "chains": []any{
		ethereumAt(secretURL(home)),
		map[string]any{"name": "base", "id": 8453, "rpc_url": secretURL(silent)},
		map[string]any{"name": "optimism", "id": 10, "rpc_url": refusedURL},
		map[string]any{"name": "arbitrum", "id": 42161, "rpc_url": secretURL(other)}, // answers 10
	}})
	out, logs, err := p.Execute("diagnose_transaction", map[string]any{"chain": "ethereum", "tx_hash": sbMinedSuccess})
	if err != nil || out["state"] != "not-found" || out["advice"] != "ask_sender_nonce" {
		t.Fatalf("%v %v", out, err)
	}
	var warns []string
	for _, l := range logs {
		if l.Level == "warn" {
			warns = append(warns, l.Message)
		}
	}
	want := "[could not look for it on arbitrum: the node for arbitrum answers chain id 10, not 42161: check rpc_url " +
		"could not look for it on base: no answer within 3s " +
		"could not look for it on optimism: the node for optimism refused the connection]"
	if got := fmt.Sprint(sortedStrings(warns)); got != want {
		t.Errorf("warnings\n got %s\nwant %s", got, want)
	}
	for _, srv := range []*httptest.Server{home, silent, other} {
		noLeak(t, srv.Listener.Addr().String(), out, logs, err)
	}
}

func sortedStrings(s []string) []string {
	out := append([]string{}, s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}
