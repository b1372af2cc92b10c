package main

// End-to-end tests of the bundled support runbooks, card-payment-failure
// and stuck-transaction, through the real steward binary with the real
// payments and evm plugin processes installed and pinned in a temporary
// home: every sandbox fixture, the refund behind a payments-leads approval,
// the stripe backend against a real stripe-mock behind a recording proxy,
// providers that are down, and a real geth --dev node.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/stewardhq/steward/plugins/evm/gethtest"
	"github.com/stewardhq/steward/plugins/payments/stripemock"
	"github.com/stewardhq/steward/plugins/peertest"
)

// supportDoc is the part of the document of steward run -o json these
// tests read.
type supportDoc struct {
	ID      string
	Status  string
	Actor   string
	Inputs  map[string]any
	Outputs map[string]any
	Error   *supportError
	Steps   []supportStep
}

type supportError struct {
	Message, Code, Step string
	Retryable           bool
}

type supportStep struct {
	ID       string
	Status   string
	Attempts int
	Outputs  map[string]any
	Error    *supportError
	Reason   string
}

// supportShown is the part of steward show -o json these tests read.
type supportShown struct {
	Run struct {
		ID, Status, Actor string
	}
	Outputs   map[string]any
	Steps     []supportStep
	Approvals []struct {
		Step, By, Comment string
		Approved          bool
	}
	Waiting []struct {
		Step, Message string
	}
	Timeline []struct {
		Type string
		Data map[string]any
	}
}

func (d *supportDoc) step(t *testing.T, id string) supportStep {
	t.Helper()
	for _, s := range d.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("run %s has no step %s", d.ID, id)
	return supportStep{}
}

func (d *supportShown) step(t *testing.T, id string) supportStep {
	t.Helper()
	doc := supportDoc{ID: d.Run.ID, Steps: d.Steps}
	return doc.step(t, id)
}

// supportEnv is one test's working folder (with its steward.yaml), its
// home (the plugins installed and pinned, the journal) and environment.
// It keeps everything every command printed, to look for secrets in.
type supportEnv struct {
	t         *testing.T
	dir, home string
	env       []string
	printed   []string
}

func newSupportEnv(t *testing.T, stewardYAML string, env []string, plugins ...string) *supportEnv {
	t.Helper()
	e := &supportEnv{t: t, dir: t.TempDir(), home: supportHome(t, plugins...), env: env}
	if stewardYAML != "" {
		writeFile(t, filepath.Join(e.dir, "steward.yaml"), stewardYAML)
	}
	return e
}

// supportLocks are the lock files steward plugins lock wrote, by the
// plugins locked.
var supportLocks sync.Map

// supportHome is pinnedHome made cheaper for the many homes here: the
// lock file is the one steward plugins lock wrote for the same plugins
// before. (The binaries are copies, not hard links: a new link to a binary
// changes its ctime, and steward refuses a plugin "modified while it
// started".)
func supportHome(t *testing.T, plugins ...string) string {
	t.Helper()
	home := t.TempDir()
	for _, n := range plugins {
		installPlugin(t, home, n)
	}
	key := strings.Join(plugins, ",")
	if lock, ok := supportLocks.Load(key); ok {
		writeFile(t, filepath.Join(home, "plugins.lock"), lock.(string))
		return home
	}
	wantCode(t, homeRun(t, t.TempDir(), home, nil, "plugins", "lock"), exitOK, "plugins lock")
	b, err := os.ReadFile(filepath.Join(home, "plugins.lock"))
	if err != nil {
		t.Fatal(err)
	}
	supportLocks.Store(key, string(b))
	return home
}

// cmd runs steward and checks its exit status.
func (e *supportEnv) cmd(code int, args ...string) result {
	e.t.Helper()
	r := homeRun(e.t, e.dir, e.home, e.env, args...)
	e.printed = append(e.printed, r.stdout, r.stderr)
	wantCode(e.t, r, code, strings.Join(args, " "))
	return r
}

// run runs a runbook with -o json and returns the run's document.
func (e *supportEnv) run(code int, args ...string) supportDoc {
	e.t.Helper()
	r := e.cmd(code, append(append([]string{"run"}, args...), "-o", "json")...)
	var doc supportDoc
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		e.t.Fatalf("run -o json: %v\n%s\nstderr:\n%s", err, r.stdout, r.stderr)
	}
	return doc
}

func (e *supportEnv) show(id string) supportShown {
	e.t.Helper()
	r := e.cmd(exitOK, "show", id, "-o", "json")
	var doc supportShown
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		e.t.Fatalf("show -o json: %v\n%s", err, r.stdout)
	}
	return doc
}

// noRuns checks that the journal has no run at all.
func (e *supportEnv) noRuns() {
	e.t.Helper()
	if r := e.cmd(exitOK, "runs", "-o", "json"); strings.TrimSpace(r.stdout) != "[]" {
		e.t.Fatalf("runs -o json: want no run, got\n%s", r.stdout)
	}
}

// secretsNowhere reads every file under the home, raw, and everything
// steward printed, and fails on any of secrets. It first prints the
// journal in every form: runs, show (text and JSON) and audit export.
func (e *supportEnv) secretsNowhere(secrets ...string) {
	e.t.Helper()
	r := e.cmd(exitOK, "runs", "-o", "json")
	var runs []struct{ ID string }
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || len(runs) == 0 {
		e.t.Fatalf("runs -o json: %v\n%s", err, r.stdout)
	}
	e.cmd(exitOK, "runs")
	for _, run := range runs {
		e.cmd(exitOK, "show", run.ID)
		e.cmd(exitOK, "show", run.ID, "-o", "json")
	}
	e.cmd(exitOK, "audit", "export")
	for i, out := range e.printed {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				e.t.Errorf("output %d of steward holds the secret %q:\n%s", i, s, out)
			}
		}
	}
	files := 0
	err := filepath.WalkDir(e.home, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				e.t.Errorf("%s holds the secret %q", path, s)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if files < 3 { // the plugins, the lock file, the journal at least
		e.t.Fatalf("only %d files under %s: nothing was looked at", files, e.home)
	}
}

func hanRunes(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			n++
		}
	}
	return n
}

// checkReply checks that a reply is a complete message in its language:
// the greeting, a body, the closing; Chinese with no English sentence.
func checkReply(t *testing.T, reply, language, customer string, contains ...string) {
	t.Helper()
	greeting, closing := "Hi,", "Best regards,\nCustomer Support"
	if customer != "" {
		greeting = "Hi " + customer + ","
	}
	if language == "zh" {
		greeting, closing = "您好：", "祝好！\n客户支持团队"
		if customer != "" {
			greeting = customer + "，您好："
		}
		if hanRunes(reply) < 60 || strings.Contains(reply, "Thank you") || strings.Contains(reply, "Please") {
			t.Errorf("the reply is not in Chinese:\n%s", reply)
		}
	}
	if !strings.HasPrefix(reply, greeting+"\n\n") || !strings.HasSuffix(reply, closing) || len(reply) < len(greeting)+len(closing)+80 {
		t.Errorf("the reply is not a complete message (greeting %q, closing %q):\n%s", greeting, closing, reply)
	}
	for _, c := range contains {
		if !strings.Contains(reply, c) {
			t.Errorf("the reply does not say %q:\n%s", c, reply)
		}
	}
}

// escalation returns the run's escalation, checking that it is there
// exactly when the run says it escalated, and that it is complete.
func escalation(t *testing.T, doc supportDoc, escalated bool, owner string) map[string]any {
	t.Helper()
	esc, _ := doc.Outputs["escalation"].(map[string]any)
	if doc.Outputs["escalated"] != escalated || (esc != nil) != escalated {
		t.Fatalf("escalated %v, escalation %v: want escalated %v", doc.Outputs["escalated"], doc.Outputs["escalation"], escalated)
	}
	if !escalated {
		return nil
	}
	repro, _ := esc["reproduction"].([]any)
	if esc["owner"] != owner || esc["run"] != doc.ID || len(repro) != 2 || repro[1] != "steward show "+doc.ID {
		t.Errorf("escalation: owner %v (want %s), run %v (want %s), reproduction %v", esc["owner"], owner, esc["run"], doc.ID, repro)
	}
	for _, k := range []string{"title", "severity", "summary", "provider_response", "impact"} {
		if s, _ := esc[k].(string); s == "" {
			t.Errorf("escalation.%s is empty: %v", k, esc)
		}
	}
	return esc
}

// explainOwner is who acts next on each sandbox decline, by the code
// explained (docs/plugins-payments.md).
var explainOwner = map[string]string{
	"insufficient_funds": "customer", "expired_card": "customer", "incorrect_cvc": "customer",
	"authentication_required": "customer", "fraudulent": "risk", "processing_error": "customer",
	"spending_controls": "customer", "card_inactive": "customer", "suspected_fraud": "risk", "webhook_timeout": "engineering",
}

type cardCase struct {
	id, language, customer string
	diagnosis, category    string
	canFix                 bool
	severity               string // of the escalation; "" when not escalated
	reply                  []string
}

// TestSupportSandboxCardPayment runs card-payment-failure on every
// fixture of the payments sandbox (docs/plugins-payments.md), as a
// specialist would: steward run NAME --input id=... -o json.
func TestSupportSandboxCardPayment(t *testing.T) {
	t.Parallel()
	const (
		wentThrough = "the payment went through successfully"
		holding     = "we cannot reach our payment provider"
	)
	cases := []cardCase{
		{"pi_sandbox_succeeded", "en", "", "succeeded", "none", false, "", []string{"payment of 25.00 EUR", wentThrough}},
		{"pi_sandbox_insufficient_funds", "en", "Ana", "declined", "funds", true, "", []string{"payment of 49.00 EUR", "enough funds"}},
		{"pi_sandbox_insufficient_funds", "zh", "Ana", "declined", "funds", true, "", []string{"感谢您就金额为 49.00 EUR 的付款联系我们。", "余额不足"}},
		{"pi_sandbox_expired_card", "en", "", "declined", "card_status", true, "", []string{"payment of 15.00 EUR", "expired"}},
		{"pi_sandbox_incorrect_cvc", "en", "", "declined", "card_details", true, "", []string{"payment of 30.00 EUR", "CVC"}},
		{"pi_sandbox_authentication_required", "en", "", "authentication_required", "authentication", true, "", []string{"payment of 120.00 EUR", "confirm"}},
		{"pi_sandbox_fraudulent", "en", "", "declined", "risk", false, "", []string{"payment of 750.00 EUR"}},
		// A processing error is retried before anyone is blamed (issue 22).
		{"pi_sandbox_processing_error", "en", "", "temporary_error", "provider", false, "", []string{"payment of 20.00 EUR", "temporary processing error"}},
		{"pi_sandbox_timeout", "en", "", "provider_unavailable", "provider", false, "high", []string{holding}},
		{"pi_sandbox_duplicate", "en", "", "duplicate", "none", false, "", []string{"payment of 25.00 EUR", "charged more than once"}},
		{"pi_sandbox_duplicate", "zh", "", "duplicate", "none", false, "", []string{"重复扣款"}},
		// A double charge is two payments of one order (issue 22): either
		// one, or its charge, finds the other.
		{"pi_sandbox_duplicate_first", "en", "", "duplicate", "none", false, "", []string{"charged more than once"}},
		{"ch_sandbox_succeeded", "en", "", "succeeded", "none", false, "", []string{"payment of 25.00 EUR", wentThrough}},
		{"ch_sandbox_insufficient_funds", "en", "", "declined", "funds", true, "", []string{"payment of 49.00 EUR"}},
		{"ch_sandbox_expired_card", "en", "", "declined", "card_status", true, "", []string{"payment of 15.00 EUR"}},
		{"ch_sandbox_incorrect_cvc", "en", "", "declined", "card_details", true, "", []string{"payment of 30.00 EUR"}},
		{"ch_sandbox_authentication_required", "en", "", "authentication_required", "authentication", true, "", []string{"payment of 120.00 EUR"}},
		{"ch_sandbox_fraudulent", "en", "", "declined", "risk", false, "", []string{"payment of 750.00 EUR"}},
		{"ch_sandbox_processing_error", "en", "", "temporary_error", "provider", false, "", []string{"payment of 20.00 EUR"}},
		{"ch_sandbox_timeout", "en", "", "provider_unavailable", "provider", false, "high", []string{holding}},
		{"ch_sandbox_duplicate", "en", "", "duplicate", "none", false, "", []string{"payment of 25.00 EUR", "charged more than once"}},
		{"iauth_sandbox_approved", "en", "", "succeeded", "none", false, "", []string{"card payment of 18.50 EUR at Albert Heijn 1024", wentThrough}},
		{"iauth_sandbox_spending_controls", "en", "", "declined", "limits", true, "", []string{"card payment of 1200.00 EUR at MediaMarkt Amsterdam", "spending limit"}},
		{"iauth_sandbox_spending_controls", "zh", "", "declined", "limits", true, "", []string{"在 MediaMarkt Amsterdam 的一笔 1200.00 EUR 刷卡消费"}},
		{"iauth_sandbox_insufficient_funds", "en", "", "declined", "funds", true, "", []string{"card payment of 450.00 EUR at Booking.com"}},
		{"iauth_sandbox_card_inactive", "en", "", "declined", "card_status", true, "", []string{"card payment of 23.50 EUR at Uber *Trip", "activate"}},
		{"iauth_sandbox_suspected_fraud", "en", "", "declined", "risk", false, "", []string{"card payment of 99.99 EUR at GAMESHOP-ONLINE"}},
		{"iauth_sandbox_webhook_timeout", "en", "", "provider_error", "platform", false, "high", []string{"card payment of 64.20 EUR at Shell A10 Zuid", "technical problem"}},
		// Any other id: the sandbox does not know it.
		{"pi_3MtwBwLkdIwHu7ix28a3tqPa", "en", "", "not_found", "none", true, "", []string{"payment reference"}},
		{"iauth_1MzFN1K8F4fqH0lBmFq8CjbU", "zh", "", "not_found", "none", true, "", []string{"付款参考号"}},
	}
	for _, c := range cases {
		t.Run(c.id+"/"+c.language, func(t *testing.T) {
			t.Parallel()
			e := newSupportEnv(t, "", nil, "payments")
			args := []string{"card-payment-failure", "--input", "id=" + c.id, "--input", "language=" + c.language}
			if c.customer != "" {
				args = append(args, "--input", "customer="+c.customer)
			}
			doc := e.run(exitOK, args...)
			o := doc.Outputs
			if doc.Status != "succeeded" || o["diagnosis"] != c.diagnosis || o["category"] != c.category || o["customer_can_fix"] != c.canFix ||
				o["refund_id"] != "" || o["refund_status"] != "not_requested" {
				t.Fatalf("run %s: diagnosis %v category %v customer_can_fix %v refund_id %q refund_status %v; want %s %s %v\noutputs: %v",
					doc.Status, o["diagnosis"], o["category"], o["customer_can_fix"], o["refund_id"], o["refund_status"], c.diagnosis, c.category, c.canFix, o)
			}
			if s, _ := o["next_step"].(string); s == "" {
				t.Errorf("no next_step: %v", o)
			}
			reply, _ := o["reply"].(string)
			checkReply(t, reply, c.language, c.customer, c.reply...)
			if strings.Contains(strings.ToLower(reply), "fraud") || strings.Contains(reply, "欺诈") {
				t.Errorf("the reply speaks of fraud:\n%s", reply)
			}
			if esc := escalation(t, doc, c.severity != "", "payments-engineering"); esc != nil {
				repro := esc["reproduction"].([]any)
				if esc["severity"] != c.severity || repro[0] != "steward run card-payment-failure --input id="+c.id+" --input language="+c.language {
					t.Errorf("escalation severity %v (want %s), reproduction %v", esc["severity"], c.severity, repro)
				}
			}

			// The lookup came from the sandbox; a decline's explanation
			// is what the reply tells the customer.
			lookup := doc.step(t, "payment")
			if strings.HasPrefix(c.id, "iauth_") {
				lookup = doc.step(t, "authorization")
			}
			switch c.diagnosis {
			case "provider_unavailable":
				// timeout is retryable: the step ran 3 times, then the run
				// went on (continue_on_error) to escalate.
				if lookup.Status != "failed" || lookup.Attempts != 3 || lookup.Error == nil || lookup.Error.Code != "timeout" || !lookup.Error.Retryable {
					t.Errorf("lookup step %+v, want failed after 3 attempts with timeout", lookup)
				}
			case "not_found":
				if lookup.Status != "failed" || lookup.Attempts != 1 || lookup.Error == nil || lookup.Error.Code != "not_found" ||
					!strings.Contains(lookup.Error.Message, "docs/plugins-payments.md") {
					t.Errorf("lookup step %+v, want failed once with not_found", lookup)
				}
			default:
				if lookup.Status != "succeeded" || lookup.Outputs["backend"] != "sandbox" || lookup.Outputs["id"] != c.id {
					t.Errorf("lookup step %+v", lookup)
				}
			}
			if explain := doc.step(t, "explain"); explain.Status == "succeeded" {
				// What explain_decline says of each fixture (the docs'
				// table): it explains the code the fixture is named after.
				_, code, _ := strings.Cut(c.id, "_sandbox_")
				if x := explain.Outputs; x["code"] != code || x["owner"] != explainOwner[code] || x["known"] != true || x["category"] != c.category {
					t.Errorf("explain says code %v owner %v known %v category %v; want %s %s", x["code"], x["owner"], x["known"], x["category"], code, explainOwner[code])
				}
				msg, _ := explain.Outputs["customer_message"].(string)
				if explain.Outputs["backend"] != "sandbox" || explain.Outputs["language"] != c.language || msg == "" || !strings.Contains(reply, msg) {
					t.Errorf("the reply does not carry explain's customer message %q:\n%s", msg, reply)
				}
			} else if c.diagnosis != "succeeded" && c.diagnosis != "duplicate" && c.diagnosis != "not_found" && c.diagnosis != "provider_unavailable" {
				t.Errorf("explain %s for a %s", explain.Status, c.diagnosis)
			}
		})
	}

	// A malformed id is refused before anything runs.
	t.Run("malformed id", func(t *testing.T) {
		t.Parallel()
		e := newSupportEnv(t, "", nil, "payments")
		for _, id := range []string{"py_1234567", "pi_123", "pi_sandbox_succeeded?refund=1", "iauth-sandbox-approved"} {
			r := e.cmd(exitInvalid, "run", "card-payment-failure", "--input", "id="+id, "-o", "json")
			if r.stdout != "" || !strings.Contains(r.stderr, "input id: ") || !strings.Contains(r.stderr, "does not match pattern ^(pi|ch|iauth)_[A-Za-z0-9_]{6,250}$") ||
				!strings.Contains(r.stderr, "nothing ran") {
				t.Errorf("id %q:\nstdout:\n%s\nstderr:\n%s", id, r.stdout, r.stderr)
			}
		}
		e.noRuns()
	})
}

type txCase struct {
	name          string
	inputs        []string // NAME=VALUE
	state, advice string
	confirmations float64 // -1: at least 1 (a real node's, which grow)
	severity      string  // of the escalation; "" when not escalated
	summary       []string
	reply         []string
	diagnosis     map[string]any // outputs of the diagnose step
}

func repeatHash(word string) string { return "0x" + strings.Repeat(word, 16) }

// txFooter ends every stuck-transaction reply.
var txFooter = map[string]string{
	"en": "For your security: our support team will never ask for your recovery phrase (seed phrase) or private key. Never share them with anyone, even someone who says they are from support.",
	"zh": "安全提示：我们的客服团队绝不会向您索取助记词或私钥。请勿向任何人透露，包括自称客服的人员。",
}

func (c txCase) input(name string) string {
	for _, in := range c.inputs {
		if v, ok := strings.CutPrefix(in, name+"="); ok {
			return v
		}
	}
	return ""
}

// runTxCase runs stuck-transaction with c's inputs and checks what it
// says; it returns the run.
func runTxCase(t *testing.T, e *supportEnv, c txCase) supportDoc {
	t.Helper()
	args := []string{"stuck-transaction"}
	for _, in := range c.inputs {
		args = append(args, "--input", in)
	}
	doc := e.run(exitOK, args...)
	o := doc.Outputs
	confirmations, _ := o["confirmations"].(float64)
	if c.confirmations < 0 && confirmations >= 1 {
		confirmations = -1
	}
	if doc.Status != "succeeded" || o["state"] != c.state || o["advice"] != c.advice || confirmations != c.confirmations {
		t.Fatalf("run %s: state %v advice %v confirmations %v; want %s %s %v\noutputs: %v",
			doc.Status, o["state"], o["advice"], o["confirmations"], c.state, c.advice, c.confirmations, o)
	}
	summary, _ := o["summary"].(string)
	for _, s := range c.summary {
		if !strings.Contains(summary, s) {
			t.Errorf("the summary does not say %q: %s", s, summary)
		}
	}
	language := c.input("language")
	if language == "" {
		language = "en"
	}
	// Every reply ends with the reminder that support never asks for a
	// recovery phrase or a private key, after the signature.
	reply, _ := o["reply"].(string)
	body, ok := strings.CutSuffix(reply, "\n\n"+txFooter[language])
	if !ok {
		t.Errorf("the reply does not end with the footer %q:\n%s", txFooter[language], reply)
	}
	checkReply(t, body, language, c.input("customer"), c.reply...)
	owner := "chain-infrastructure"
	switch {
	case c.input("customer_replaced") == "no":
		owner = "security"
	case c.input("chain") == "solana":
		owner = "solana-support"
	}
	if esc := escalation(t, doc, c.severity != "", owner); esc != nil {
		if esc["severity"] != c.severity || !strings.HasPrefix(esc["reproduction"].([]any)[0].(string), "steward run stuck-transaction --input chain="+c.input("chain")+" --input tx_hash="+c.input("tx_hash")) {
			t.Errorf("escalation %v, want severity %s", esc, c.severity)
		}
	}
	diag := doc.step(t, "diagnose")
	for k, want := range c.diagnosis {
		if got := diag.Outputs[k]; got != want {
			t.Errorf("diagnose outputs %s = %v, want %v", k, got, want)
		}
	}
	return doc
}

// TestSupportSandboxStuckTransaction runs stuck-transaction on every
// fixture of the evm sandbox (docs/plugins-evm.md).
func TestSupportSandboxStuckTransaction(t *testing.T) {
	t.Parallel()
	const (
		alice = "0xa11ce000000000000000000000000000000a11ce"
		dave  = "0xd00d00000000000000000000000000000000d00d"
	)
	eth := func(hash string, more ...string) []string {
		return append([]string{"chain=ethereum", "tx_hash=" + hash}, more...)
	}
	sandbox := map[string]any{"backend": "sandbox"}
	with := func(m map[string]any) map[string]any {
		m["backend"] = "sandbox"
		return m
	}
	etherscan := func(word string) string { return "https://etherscan.io/tx/" + repeatHash(word) }
	cases := []txCase{
		{"mined-success final", eth(repeatHash("5afe")), "mined-success", "none", 51, "",
			[]string{"Mined in block 20999950 and succeeded, with 51 confirmations: final (the finalized block of ethereum is 20999950)."},
			[]string{"confirmed on Ethereum (block 20999950) and is final", "Transaction on the block explorer: " + etherscan("5afe")},
			with(map[string]any{"final": true, "finality": "final", "block_number": 20999950.0})},
		{"mined-success by chain id", []string{"chain=1", "tx_hash=" + repeatHash("5afe")}, "mined-success", "none", 51, "",
			[]string{"Mined in block 20999950"}, []string{"confirmed on Ethereum"}, with(map[string]any{"chain": "ethereum", "chain_id": 1.0})},
		{"mined-success not final", eth(repeatHash("b005")), "mined-success", "wait", 6, "",
			[]string{"with 6 confirmations: not final yet (the finalized block of ethereum is 20999950); final in about 9 min."},
			[]string{"block 20999995", "6 confirmations so far. It will be final in about 9 minutes"}, with(map[string]any{"final": false, "final_in_seconds": 540.0})},
		{"mined-reverted", eth(repeatHash("fa11")), "mined-reverted", "contact_dapp", 21, "",
			[]string{`reverted ("ERC20: transfer amount exceeds balance")`},
			[]string{`The contract gave this reason: "ERC20: transfer amount exceeds balance".`},
			with(map[string]any{"revert_reason": "ERC20: transfer amount exceeds balance"})},
		{"mined-reverted in Chinese", eth(repeatHash("fa11"), "language=zh", "customer=Ana"), "mined-reverted", "contact_dapp", 21, "",
			nil, []string{"您的交易已在以太坊上处理（区块 20999980）", "合约返回的原因是：“ERC20: transfer amount exceeds balance”。", "区块浏览器中的交易：" + etherscan("fa11")}, sandbox},
		{"pending-underpriced", eth(repeatHash("10fe")), "pending-underpriced", "speed_up", 0, "",
			[]string{"max fee of 10.00 gwei is below the base fee of 12.00 gwei", "at least 25.50 gwei"},
			[]string{"Speed up", "a max fee of at least 25.50 gwei and a priority fee (tip) of at least 1.50 gwei"},
			with(map[string]any{"suggested_max_fee_wei": "25500000000", "base_fee_wei": "12000000000", "replacement_max_fee_wei": "25500000000"})},
		{"pending-underpriced: a zero tip", eth(repeatHash("71b0")), "pending-underpriced", "speed_up", 0, "",
			[]string{"but its tip of 0.00 gwei is zero"}, []string{"the priority fee (tip) it offers is lower", "at least 33.00 gwei"},
			with(map[string]any{"fee_problem": "zero_tip"})},
		{"pending-nonce-gap", eth(repeatHash("9a90")), "pending-nonce-gap", "fill_nonce_gap", 0, "",
			[]string{"it uses nonce 43 but nonces 41 and 42 were never sent"},
			[]string{"it has not received the ones with nonces 41 and 42"},
			with(map[string]any{"missing_nonce": 41.0, "nonce": 43.0, "from": dave})},
		{"pending-nonce-gap in Chinese", eth(repeatHash("9a90"), "language=zh"), "pending-nonce-gap", "fill_nonce_gap", 0, "",
			nil, []string{"您的交易仍在以太坊上等待处理", "nonce 为 41 和 42 的交易网络尚未收到"}, with(map[string]any{"missing_count": 2.0})},
		{"pending-fine", eth(repeatHash("600d")), "pending-fine", "wait", 0, "",
			[]string{"expect it in about 12s"}, []string{"confirmed within about a minute"}, with(map[string]any{"estimate_seconds": 12.0})},
		{"replaced: ask the customer", eth(repeatHash("01d0"), "sender="+alice, "nonce=19"), "replaced", "confirm_replacement", 0, "",
			[]string{"nonce 19", repeatHash("b005")},
			[]string{"same nonce (19)", "The replacement's transaction hash is " + repeatHash("b005") + ".", "did you use either of them"},
			with(map[string]any{"replaced_by": repeatHash("b005")})},
		{"replaced, not by the customer", eth(repeatHash("01d0"), "sender="+alice, "nonce=19", "customer_replaced=no"), "replaced", "secure_wallet", 0, "high",
			[]string{"escalated to security"}, []string{"someone else may have your recovery phrase or private key"}, sandbox},
		{"not found without sender and nonce", eth(repeatHash("01d0")), "not-found", "ask_sender_nonce", 0, "",
			[]string{"does not know this hash"}, []string{"We could not find a transaction with this hash on Ethereum", "Could you send us the address you sent it from"},
			with(map[string]any{"replaced_by": ""})},
		{"dropped: its nonce unused", eth(repeatHash("dead"), "sender="+alice, "nonce=25"), "dropped", "resubmit_same_nonce", 0, "",
			[]string{"Nonces 20 to 24 must be used first."}, []string{"please use the same nonce, 25"}, with(map[string]any{"sender_latest_nonce": 20.0})},
		{"wrong-chain", eth(repeatHash("ba5e")), "wrong-chain", "switch_chain", 0, "",
			[]string{"Not on ethereum, but on base"}, []string{"but we did find it on Base", "switch your wallet or block explorer to Base", "https://basescan.org/tx/" + repeatHash("ba5e")},
			with(map[string]any{"found_on": "base"})},
		{"wrong-chain in Chinese", eth(repeatHash("ba5e"), "language=zh"), "wrong-chain", "switch_chain", 0, "",
			nil, []string{"我们在以太坊上没有找到您的交易，但在 Base 上找到了它"}, with(map[string]any{"found_on": "base"})},
		{"on its own chain", []string{"chain=base", "tx_hash=" + repeatHash("ba5e")}, "mined-success", "none", 101, "",
			[]string{"final, settled on L1"}, []string{"confirmed on Base (block 37999900)"}, with(map[string]any{"chain_id": 8453.0})},
		{"bsc: below the recent tips", []string{"chain=bsc", "tx_hash=" + repeatHash("b5c0")}, "pending-underpriced", "speed_up", 0, "",
			[]string{"below the 0.10 gwei that transactions in recent blocks paid at least"}, []string{"still waiting on BNB Smart Chain", "https://bscscan.com/tx/" + repeatHash("b5c0")},
			with(map[string]any{"chain_id": 56.0})},
		{"optimism: not posted to L1 yet", []string{"chain=optimism", "tx_hash=" + repeatHash("0a0a"), "language=zh"}, "mined-success", "wait", 21, "",
			[]string{"the batch holding it is not posted to L1 yet"}, []string{"OP Mainnet 是结算在以太坊上的二层网络", "包含这笔交易的批次尚未提交到以太坊"},
			with(map[string]any{"finality": "sequenced"})},
		// Polygon's node is 15 minutes behind: its answer cannot be
		// trusted, so the customer gets a holding reply and the node is
		// escalated.
		{"unhealthy node", []string{"chain=polygon", "tx_hash=" + repeatHash("de1a")}, "pending-fine", "wait", 0, "medium",
			[]string{"stale head: last block 900s old"}, []string{"we cannot get a reliable answer from the network right now"},
			with(map[string]any{"advice": "wait", "chain": "polygon"})},
		// Solana is not supported yet: a reply and its team, not a failure.
		{"solana", []string{"chain=solana", "tx_hash=5VfYmGBjvQKe3xgLtTQPSMEUdpEVHrJwLK7pKBJWKzHpNYjuUgqpLvqoRBEs3wMvzGhWFVVFn1LUNWYGiP6nUv3b"},
			"unsupported-chain", "escalate", 0, "low", []string{"not supported by this runbook yet: escalated to solana-support"},
			[]string{"Transactions on Solana are handled by our specialist team", "https://solscan.io/tx/5VfYmG"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newSupportEnv(t, "", nil, "evm")
			doc := runTxCase(t, e, c)
			ep, _ := doc.step(t, "diagnose").Outputs["endpoint"].(map[string]any)
			if c.severity == "" && ep["healthy"] != true {
				t.Errorf("endpoint %v", ep)
			}
			if c.severity == "medium" {
				esc := doc.Outputs["escalation"].(map[string]any)
				if ep["healthy"] != false || ep["problem"] != "stale head: last block 900s old" ||
					esc["title"] != "The polygon node is unhealthy: stale head: last block 900s old" {
					t.Errorf("endpoint %v, escalation title %v", ep, esc["title"])
				}
			}
		})
	}

	t.Run("malformed inputs", func(t *testing.T) {
		t.Parallel()
		e := newSupportEnv(t, "", nil, "evm")
		for _, bad := range []struct{ input, want string }{
			{"tx_hash=0x12", "input tx_hash: \"0x12\" does not match pattern ^((0x)?[0-9a-fA-F]{64}|[1-9A-HJ-NP-Za-km-z]{64,90})$"},
			{"tx_hash=0x" + strings.Repeat("5afe", 16) + "0", "does not match pattern"},
			{"sender=0xzz", "input sender: \"0xzz\" does not match pattern ^0x[0-9a-fA-F]{40}$"},
			{"sender=" + alice + "00", "does not match pattern ^0x[0-9a-fA-F]{40}$"},
			{"chain=Ethereum", "input chain: \"Ethereum\" does not match pattern"},
			{"nonce=-1", "input nonce"},
		} {
			args := []string{"run", "stuck-transaction", "--input", "chain=ethereum", "--input", "tx_hash=" + repeatHash("5afe"), "--input", bad.input, "-o", "json"}
			r := e.cmd(exitInvalid, args...)
			if r.stdout != "" || !strings.Contains(r.stderr, bad.want) || !strings.Contains(r.stderr, "nothing ran") {
				t.Errorf("--input %s:\nstdout:\n%s\nstderr:\n%s", bad.input, r.stdout, r.stderr)
			}
		}
		e.noRuns()
	})

	// A chain nobody configured is the specialist's mistake: the run fails
	// with the plugin's message, which names the chains there are.
	t.Run("unknown chain", func(t *testing.T) {
		t.Parallel()
		e := newSupportEnv(t, "", nil, "evm")
		doc := e.run(exitFailed, "stuck-transaction", "--input", "chain=etherium", "--input", "tx_hash="+repeatHash("5afe"))
		const msg = `unknown chain "etherium": the sandbox chains are ethereum (1), base (8453), polygon (137), bsc (56), arbitrum (42161), optimism (10)`
		if doc.Status != "failed" || doc.Error == nil || doc.Error.Step != "unknown_chain" || !strings.HasPrefix(doc.Error.Message, msg) ||
			!strings.Contains(doc.Error.Message, "rerun with one of the configured chains") {
			t.Fatalf("run %s, error %+v", doc.Status, doc.Error)
		}
		// Not retried: an unknown chain stays unknown.
		if d := doc.step(t, "diagnose"); d.Status != "failed" || d.Attempts != 1 || d.Error.Code != "unknown_chain" || d.Error.Retryable {
			t.Errorf("diagnose %+v", d)
		}
		if d := doc.step(t, "draft"); d.Status == "succeeded" {
			t.Errorf("a reply was drafted for an unknown chain: %v", d.Outputs)
		}
	})
}

// paymentsLeads defines the group card-payment-failure's refund names:
// a steward.yaml without it makes the runbook invalid.
const paymentsLeads = "approvals:\n  groups:\n    payments-leads: [bruno, carla]\n"

// TestSupportRefundNeedsApproval: a refund waits for a payments-lead; the
// person who asked for it cannot approve it; an approval refunds once,
// with the step's idempotency key; a denial is an answer, not a failure.
func TestSupportRefundNeedsApproval(t *testing.T) {
	t.Parallel()
	e := newSupportEnv(t, paymentsLeads, nil, "payments")
	// The ticket names the first payment of a double charge: the refund
	// goes to the later one (issue 22).
	args := []string{"card-payment-failure", "--input", "id=pi_sandbox_duplicate_first", "--input", "refund=true", "--as", "ana"}
	doc := e.run(exitWaiting, args...)
	id := doc.ID
	if doc.Status != "waiting" || doc.step(t, "refund").Status != "waiting" || len(doc.Outputs) != 0 {
		t.Fatalf("run %s, refund %+v, outputs %v", doc.Status, doc.step(t, "refund"), doc.Outputs)
	}
	shown := e.show(id)
	refund := shown.step(t, "refund")
	if shown.Run.Status != "waiting" || refund.Status != "waiting" || refund.Outputs != nil || refund.Error != nil {
		t.Fatalf("before the approval: run %s, refund %+v", shown.Run.Status, refund)
	}
	if len(shown.Waiting) != 1 || shown.Waiting[0].Step != "refund" ||
		shown.Waiting[0].Message != "Refund 25.00 EUR (2500 eur in minor units) of pi_sandbox_duplicate to the customer's card? Diagnosis: duplicate "+
			"(the order was paid 2 times: pi_sandbox_duplicate_first stands)." {
		t.Fatalf("waiting %+v", shown.Waiting)
	}
	// The plugin was not called for the refund: it logs every refund.
	for _, rec := range shown.Timeline {
		if rec.Data["step"] == "refund" && rec.Type == "step.log" {
			t.Fatalf("the refund step ran before its approval: %v", rec.Data)
		}
	}

	r := e.cmd(exitFailed, "approve", id, "refund", "--as", "ana")
	if !strings.Contains(r.stderr, "ana started run "+id+" and cannot approve its steps: four eyes") {
		t.Fatalf("self-approval:\n%s", r.stderr)
	}
	r = e.cmd(exitFailed, "approve", id, "refund", "--as", "mallory")
	if !strings.Contains(r.stderr, "mallory may not decide step refund: approvers are group:payments-leads (bruno, carla)") {
		t.Fatalf("an outsider's approval:\n%s", r.stderr)
	}
	if s := e.show(id); s.Run.Status != "waiting" || len(s.Approvals) != 0 {
		t.Fatalf("after refused approvals: %s %+v", s.Run.Status, s.Approvals)
	}

	e.cmd(exitOK, "approve", id, "refund", "--as", "bruno", "--comment", "charged twice, ticket 4711")
	shown = e.show(id)
	// The sandbox names a refund after its idempotency key, RUN_ID:STEP
	// (engine/step.go): this one refunded with the key of this step.
	sum := sha256.Sum256([]byte(id + ":refund"))
	refundID := "re_sandbox_" + hex.EncodeToString(sum[:])[:16]
	o := shown.Outputs
	if shown.Run.Status != "succeeded" || shown.Run.Actor != "ana" || o["refund_id"] != refundID || o["refund_status"] != "refunded" ||
		o["diagnosis"] != "duplicate" || o["escalated"] != false || o["refund_payment_id"] != "pi_sandbox_duplicate" {
		t.Fatalf("after the approval: run %s, outputs %v; want refund_id %s", shown.Run.Status, o, refundID)
	}
	if r := shown.step(t, "refund"); r.Status != "succeeded" || r.Attempts != 1 || r.Outputs["amount"] != 2500.0 || r.Outputs["currency"] != "eur" ||
		r.Outputs["backend"] != "sandbox" || r.Outputs["payment_id"] != "pi_sandbox_duplicate" {
		t.Errorf("refund step %+v", r)
	}
	if s, _ := o["next_step"].(string); !strings.HasSuffix(s, "Refunded 25.00 EUR ("+refundID+").") {
		t.Errorf("next_step %q", s)
	}
	checkReply(t, o["reply"].(string), "en", "", "so we have refunded the extra payment of 25.00 EUR to the card you paid with")
	if len(shown.Approvals) != 1 || shown.Approvals[0].Step != "refund" || !shown.Approvals[0].Approved || shown.Approvals[0].By != "bruno" ||
		shown.Approvals[0].Comment != "charged twice, ticket 4711" {
		t.Fatalf("approvals %+v", shown.Approvals)
	}
	// The export records who decided, in the hash-chained journal.
	export := e.cmd(exitOK, "audit", "export", "--run", id)
	decided := 0
	for _, line := range strings.Split(strings.TrimSpace(export.stdout), "\n") {
		var rec struct {
			Type string
			Data map[string]any
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("export line %q: %v", line, err)
		}
		if rec.Type == "approval.decided" {
			decided++
			if rec.Data["by"] != "bruno" || rec.Data["approved"] != true || rec.Data["step"] != "refund" || rec.Data["comment"] != "charged twice, ticket 4711" {
				t.Errorf("approval record %v", rec.Data)
			}
		}
	}
	if decided != 1 {
		t.Errorf("%d approval.decided records in the export, want 1:\n%s", decided, export.stdout)
	}

	// A second request, denied by a lead: the run succeeds, without a
	// refund, and the reply promises none.
	doc = e.run(exitWaiting, args...)
	e.cmd(exitOK, "approve", doc.ID, "refund", "--deny", "--as", "carla", "--comment", "refunded by bank transfer already")
	shown = e.show(doc.ID)
	o = shown.Outputs
	if shown.Run.Status != "succeeded" || o["refund_id"] != "" || o["refund_status"] != "not_approved" || o["escalated"] != false {
		t.Fatalf("after the denial: run %s, outputs %v", shown.Run.Status, o)
	}
	if r := shown.step(t, "refund"); r.Status != "failed" || r.Error == nil || r.Error.Code != "denied" || r.Outputs != nil {
		t.Errorf("denied refund step %+v", r)
	}
	if s, _ := o["next_step"].(string); !strings.HasSuffix(s, "The refund was not approved: the reply does not promise one.") {
		t.Errorf("next_step %q", s)
	}
	reply := o["reply"].(string)
	checkReply(t, reply, "en", "", "We are reviewing the extra charge")
	if strings.Contains(reply, "refunded") {
		t.Errorf("the reply promises a refund that was denied:\n%s", reply)
	}
	if len(shown.Approvals) != 1 || shown.Approvals[0].Approved || shown.Approvals[0].By != "carla" || shown.Approvals[0].Comment != "refunded by bank transfer already" {
		t.Errorf("approvals %+v", shown.Approvals)
	}
	e.cmd(exitOK, "audit", "verify")
}

// exchange is one request the recording proxy forwarded, and the status
// its upstream answered.
type exchange struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
	Status              int
}

// recordingProxy records every request, then forwards it to its upstream.
type recordingProxy struct {
	*httptest.Server
	mu        sync.Mutex
	exchanges []exchange
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func newRecordingProxy(t *testing.T, upstream string, modify func(*http.Response) error) *recordingProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			r.Out.Header.Del("Accept-Encoding") // plain bodies, for modify
		},
		ModifyResponse: modify,
	}
	p := &recordingProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		x := exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)}
		sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		rp.ServeHTTP(sw, r)
		x.Status = sw.status
		p.mu.Lock()
		p.exchanges = append(p.exchanges, x)
		p.mu.Unlock()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *recordingProxy) recorded() []exchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]exchange(nil), p.exchanges...)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestSupportAuthorizationIsNotRefunded: an approved authorization of
// our own card is not ours to refund (issue 22): refund=true asks for no
// approval and refunds nothing; the specialist and the customer are told
// the money comes back by the merchant's refund or a dispute.
func TestSupportAuthorizationIsNotRefunded(t *testing.T) {
	t.Parallel()
	e := newSupportEnv(t, paymentsLeads, nil, "payments")
	for _, lang := range []string{"en", "zh"} {
		doc := e.run(exitOK, "card-payment-failure", "--input", "id=iauth_sandbox_approved", "--input", "refund=true", "--input", "language="+lang, "--as", "ana")
		o := doc.Outputs
		next, _ := o["next_step"].(string)
		if doc.Status != "succeeded" || o["diagnosis"] != "succeeded" || o["refund_status"] != "not_possible" || o["refund_id"] != "" ||
			doc.step(t, "refund").Status != "skipped" || !strings.Contains(next, "we cannot refund an authorization") || strings.Contains(next, "refund=true") {
			t.Fatalf("%s: run %s, refund %s, outputs %v", lang, doc.Status, doc.step(t, "refund").Status, o)
		}
		want := map[string]string{"en": "Please ask the merchant for a refund", "zh": "请联系商户申请退款"}[lang]
		checkReply(t, o["reply"].(string), lang, "", want)
	}
}

// TestSupportStripeBackend runs card-payment-failure on the stripe
// backend against a real stripe-mock, behind a proxy that records every
// request: a refund reaches Stripe only after its approval, once, with
// the step's idempotency key; every request is one Stripe's spec accepts;
// and the API key is nowhere but in the Authorization header.
//
// stripe-mock answers any id with its fixtures, in which nothing is
// refundable: its PaymentIntent is requires_payment_method with
// amount_received 0, its charge uncaptured (amount_captured 0). The first
// run shows that the runbook then asks for no approval and sends no
// refund. For the refund, the proxy turns stripe-mock's answer for one
// PaymentIntent, pi_StewardCaptured0001, into a captured one (status
// succeeded, amount_received = amount, no last_payment_error nor
// next_action); everything else, the refund's POST included, is stripe-mock's
// own validation and answer.
func TestSupportStripeBackend(t *testing.T) {
	t.Parallel()
	const captured = "pi_StewardCaptured0001"
	mock := stripemock.Start(t)
	proxy := newRecordingProxy(t, mock, func(resp *http.Response) error {
		if resp.Request.Method != "GET" || resp.Request.URL.Path != "/v1/payment_intents/"+captured || resp.StatusCode != 200 {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		var pi map[string]any
		if err := json.Unmarshal(b, &pi); err != nil {
			return err
		}
		pi["status"], pi["amount_received"], pi["last_payment_error"], pi["next_action"] = "succeeded", pi["amount"], nil, nil
		if b, err = json.Marshal(pi); err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", fmt.Sprint(len(b)))
		return nil
	})
	key := "sk_test_" + randomHex(t, 16)
	e := newSupportEnv(t, paymentsLeads+`plugins:
  settings:
    payments:
      backend: stripe
      stripe:
        api_key: {secret: STRIPE_API_KEY}
        base_url: `+proxy.URL+`
`, []string{"STEWARD_SECRET_STRIPE_API_KEY=" + key}, "payments")
	refunds := func() []exchange {
		var out []exchange
		for _, x := range proxy.recorded() {
			if x.Path == "/v1/refunds" {
				out = append(out, x)
			}
		}
		return out
	}

	// stripe-mock's own fixture: nothing to refund, nothing asked.
	doc := e.run(exitOK, "card-payment-failure", "--input", "id=pi_3MtwBwLkdIwHu7ix28a3tqPa", "--input", "refund=true", "--as", "ana")
	if p := doc.step(t, "payment"); p.Status != "succeeded" || p.Outputs["backend"] != "stripe" || p.Outputs["amount_refundable"] != 0.0 {
		t.Fatalf("payment step %+v", p)
	}
	if doc.Outputs["refund_status"] != "nothing_refundable" || doc.Outputs["refund_id"] != "" || doc.step(t, "refund").Status != "skipped" ||
		doc.step(t, "nothing_to_refund").Status != "succeeded" {
		t.Fatalf("nothing refundable: outputs %v", doc.Outputs)
	}
	if len(proxy.recorded()) != 2 || len(refunds()) != 0 {
		t.Fatalf("want the PaymentIntent and its charges, no refund: %+v", proxy.recorded())
	}

	// A captured payment: the refund waits for its approval.
	doc = e.run(exitWaiting, "card-payment-failure", "--input", "id="+captured, "--input", "refund=true", "--as", "ana")
	if p := doc.step(t, "payment"); p.Outputs["amount_refundable"] != p.Outputs["amount"] || p.Outputs["amount_refundable"] == 0.0 {
		t.Fatalf("the captured payment has nothing refundable: %v", p.Outputs)
	}
	if doc.step(t, "refund").Status != "waiting" {
		t.Fatalf("refund %+v", doc.step(t, "refund"))
	}
	if n := len(refunds()); n != 0 {
		t.Fatalf("%d refunds reached Stripe before the approval", n)
	}
	e.cmd(exitFailed, "approve", doc.ID, "refund", "--as", "ana")
	if n := len(refunds()); n != 0 {
		t.Fatalf("%d refunds reached Stripe after a refused self-approval", n)
	}
	e.cmd(exitOK, "approve", doc.ID, "refund", "--as", "carla", "--comment", "customer asked, ticket 90210")

	got := refunds()
	if len(got) != 1 {
		t.Fatalf("%d refunds reached Stripe, want 1: %+v", len(got), got)
	}
	x := got[0]
	form, _ := url.ParseQuery(x.Body)
	if x.Method != "POST" || x.Status != 200 || x.Header.Get("Idempotency-Key") != doc.ID+":refund" ||
		x.Header.Get("Content-Type") != "application/x-www-form-urlencoded" ||
		form.Get("payment_intent") != captured || form.Get("reason") != "requested_by_customer" || form.Has("amount") {
		t.Errorf("the refund request: %s %s %d, Idempotency-Key %q (want %q), form %v", x.Method, x.Path, x.Status,
			x.Header.Get("Idempotency-Key"), doc.ID+":refund", form)
	}
	shown := e.show(doc.ID)
	refundID, _ := shown.Outputs["refund_id"].(string)
	if shown.Run.Status != "succeeded" || !strings.HasPrefix(refundID, "re_") || shown.Outputs["refund_status"] != "refunded" {
		t.Fatalf("after the approval: %s %v", shown.Run.Status, shown.Outputs)
	}
	if r := shown.step(t, "refund"); r.Outputs["backend"] != "stripe" || r.Outputs["payment_id"] != captured {
		t.Errorf("refund step %+v", r)
	}

	// Every request: the key as a bearer token, the pinned API version,
	// and accepted by stripe-mock's validation.
	all := proxy.recorded()
	// find_duplicates looks the captured payment up again; stripe-mock's
	// PaymentIntent has no customer, so it lists nothing.
	if len(all) != 6 {
		t.Errorf("%d requests, want 6 (2 lookups per run, the duplicate search's lookup, 1 refund)", len(all))
	}
	for _, x := range all {
		if x.Status < 200 || x.Status > 299 || x.Header.Get("Authorization") != "Bearer "+key || x.Header.Get("Stripe-Version") == "" {
			t.Errorf("%s %s?%s: status %d, Authorization %q, Stripe-Version %q", x.Method, x.Path, x.Query, x.Status,
				x.Header.Get("Authorization"), x.Header.Get("Stripe-Version"))
		}
		if strings.Contains(x.Path+x.Query+x.Body, key) {
			t.Errorf("%s %s carries the key outside its Authorization header", x.Method, x.Path)
		}
	}
	e.cmd(exitOK, "audit", "verify")
	e.secretsNowhere(key)
}

// TestSupportProviderOutage: a provider that answers 503 to everything
// makes the lookup fail after the plugin's own retries and the step's 3
// attempts; the run still succeeds, with a holding reply, and escalates.
func TestSupportProviderOutage(t *testing.T) {
	t.Parallel()

	// stripe-mock cannot answer 503: an httptest server does.
	t.Run("payments", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		counts := map[string]int{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			counts[r.Method+" "+r.URL.Path]++
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":{"type":"api_error","message":"Stripe is temporarily unavailable"}}`)
		}))
		defer srv.Close()
		const maxRetries = 1
		key := "sk_test_" + randomHex(t, 16)
		e := newSupportEnv(t, paymentsLeads+fmt.Sprintf(`plugins:
  settings:
    payments:
      backend: stripe
      stripe:
        api_key: {secret: STRIPE_API_KEY}
        base_url: %s
        timeout: 30s # never reached: the server answers at once; generous on a loaded machine
        max_retries: %d
`, srv.URL, maxRetries), []string{"STEWARD_SECRET_STRIPE_API_KEY=" + key}, "payments")
		const id = "pi_3MtwBwLkdIwHu7ix28a3tqPa"
		doc := e.run(exitOK, "card-payment-failure", "--input", "id="+id)
		for _, s := range []string{"payment", "attempts"} {
			st := doc.step(t, s)
			if st.Status != "failed" || st.Attempts != 3 || st.Error == nil || st.Error.Code != "provider_unavailable" || !st.Error.Retryable ||
				!strings.Contains(st.Error.Message, "Stripe answered 503 Service Unavailable") {
				t.Errorf("step %s %+v, want failed after 3 attempts with provider_unavailable", s, st)
			}
		}
		o := doc.Outputs
		if doc.Status != "succeeded" || o["diagnosis"] != "provider_unavailable" || o["category"] != "provider" {
			t.Fatalf("run %s, outputs %v", doc.Status, o)
		}
		checkReply(t, o["reply"].(string), "en", "", "we cannot reach our payment provider to check it right now")
		esc := escalation(t, doc, true, "payments-engineering")
		if esc["severity"] != "high" || esc["title"] != "Payment provider unavailable: could not look up "+id+" (provider_unavailable)" ||
			!strings.Contains(esc["summary"].(string), "failed after 3 attempts") {
			t.Errorf("escalation %v", esc)
		}
		mu.Lock()
		defer mu.Unlock()
		want := map[string]int{"GET /v1/payment_intents/" + id: (maxRetries + 1) * 3, "GET /v1/charges": (maxRetries + 1) * 3}
		if fmt.Sprint(counts) != fmt.Sprint(want) {
			t.Errorf("requests %v, want %v: (max_retries+1) per attempt, 3 attempts per step", counts, want)
		}
		e.secretsNowhere(key)
	})

	// The rpc backend: a node answering 503, and one that is not there.
	for _, c := range []struct {
		name, message string
		down          bool
	}{
		{"evm 503", "the node for ethereum answered eth_chainId with HTTP 503 Service Unavailable", false},
		{"evm closed port", "the node for ethereum refused the connection", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			requests := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				requests++
				mu.Unlock()
				http.Error(w, "upstream unavailable", http.StatusServiceUnavailable)
			}))
			addr := srv.Listener.Addr().String()
			if c.down {
				srv.Close() // nothing listens on its port now
				release, err := peertest.Hold(srv.Listener.Addr().(*net.TCPAddr).Port)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(release)
			} else {
				defer srv.Close()
			}
			secret := "k3y-" + randomHex(t, 8)
			e := newSupportEnv(t, `plugins:
  settings:
    evm:
      backend: rpc
      timeout: 30s # never reached: the node answers 503 or refuses at once
      chains:
        - name: ethereum
          id: 1
          rpc_url: http://`+addr+`/v3/`+secret+`
`, nil, "evm")
			tx := txCase{inputs: []string{"chain=ethereum", "tx_hash=" + repeatHash("5afe")}, state: "unavailable", advice: "wait", severity: "high",
				summary: []string{"The ethereum node could not be asked after 3 tries (rpc_unavailable: " + c.message + ")."},
				reply:   []string{"we cannot get a reliable answer from the network right now"}}
			doc := runTxCase(t, e, tx)
			d := doc.step(t, "diagnose")
			if d.Status != "failed" || d.Attempts != 3 || d.Error == nil || d.Error.Code != "rpc_unavailable" || !d.Error.Retryable || d.Error.Message != c.message {
				t.Errorf("diagnose %+v, want failed after 3 attempts with rpc_unavailable", d)
			}
			esc := doc.Outputs["escalation"].(map[string]any)
			if esc["title"] != "Cannot diagnose transactions on ethereum: rpc_unavailable" || esc["provider_response"] != "rpc_unavailable: "+c.message {
				t.Errorf("escalation %v", esc)
			}
			mu.Lock()
			if !c.down && requests != 3 {
				t.Errorf("the node got %d requests, want 3: one eth_chainId per attempt, no retry inside a call", requests)
			}
			mu.Unlock()
			e.secretsNowhere(secret, addr)
		})
	}
}

// TestSupportGeth runs stuck-transaction against a real node, geth --dev,
// through the rpc backend: every state its transactions are in, and a
// node configured with the wrong chain id. The rpc_url, with a password
// in it, is printed and stored nowhere.
func TestSupportGeth(t *testing.T) {
	t.Parallel()
	gethtest.Path(t)
	node, err := gethtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(node.Stop)
	password := "pw-" + randomHex(t, 8)
	rpcURL := strings.Replace(node.URL, "http://", "http://steward:"+password+"@", 1) + "/"
	config := func(id int) string {
		return fmt.Sprintf(`plugins:
  settings:
    evm:
      backend: rpc
      timeout: 5s
      chains:
        - name: devnet
          id: %d
          rpc_url: %s
          block_time: 1s
          finality: confirmations
          confirmations: 1
          min_priority_fee_wei: "1000"  # geth --dev's --miner.gasprice
`, id, rpcURL)
	}
	dev := func(hash string, more ...string) []string {
		return append([]string{"chain=devnet", "tx_hash=" + hash}, more...)
	}
	unknown := "0x" + strings.Repeat("0", 62) + "42"
	rpc := func(m map[string]any) map[string]any {
		m["backend"], m["chain_id"] = "rpc", float64(gethtest.ChainID)
		return m
	}
	cases := []txCase{
		{"mined-success", dev(node.Success), "mined-success", "none", -1, "",
			[]string{fmt.Sprintf("Mined in block %d and succeeded", node.SuccessBlock)},
			[]string{fmt.Sprintf("confirmed on Devnet (block %d)", node.SuccessBlock)},
			rpc(map[string]any{"final": true, "block_number": float64(node.SuccessBlock), "from": node.Account, "nonce": 1.0})},
		{"mined-reverted", dev(node.Reverted), "mined-reverted", "contact_dapp", -1, "",
			[]string{fmt.Sprintf("Mined in block %d but reverted (%q)", node.RevertedBlock, gethtest.RevertReason)},
			[]string{`The contract gave this reason: "` + gethtest.RevertReason + `".`},
			rpc(map[string]any{"revert_reason": gethtest.RevertReason, "to": node.Contract})},
		{"pending-nonce-gap", dev(node.Gap), "pending-nonce-gap", "fill_nonce_gap", 0, "",
			[]string{"it uses nonce 9 but nonces 6, 7 and 8 were never sent"}, []string{"it has not received the ones with nonces 6, 7 and 8"},
			rpc(map[string]any{"missing_nonce": 6.0, "nonce": 9.0})},
		{"pending-nonce-gap in Chinese", dev(node.Later, "language=zh"), "pending-nonce-gap", "fill_nonce_gap", 0, "",
			nil, []string{"nonce 为 6、7、8、10、11 和 13 的交易网络尚未收到"}, rpc(map[string]any{"missing_count": 6.0})},
		{"pending-underpriced", dev(node.Underpriced), "pending-underpriced", "speed_up", 0, "",
			[]string{"its max fee of 0.000000001 gwei is below the base fee"}, []string{"Speed up"},
			rpc(map[string]any{"max_fee_per_gas_wei": "1", "nonce": 5.0})},
		// Its tip (2 wei) is below what the miner takes: never mined.
		{"pending-underpriced: a tip below the minimum", dev(node.Fine), "pending-underpriced", "speed_up", 0, "",
			[]string{"its tip of 0.000000002 gwei is below the minimum of 0.000001 gwei that devnet's block producers take"}, []string{"the priority fee (tip) it offers is lower"},
			rpc(map[string]any{"fee_problem": "tip_below_chain_minimum", "nonce": 4.0})},
		{"replaced", dev(node.ReplacedOld, "sender="+node.Account, "nonce=3"), "replaced", "confirm_replacement", 0, "",
			[]string{node.Replacement}, []string{"same nonce (3)", "The replacement's transaction hash is " + node.Replacement + "."},
			rpc(map[string]any{"replaced_by": node.Replacement, "from": node.Account, "nonce": 3.0})},
		{"not found", dev(unknown), "not-found", "ask_sender_nonce", 0, "",
			[]string{"does not know this hash"}, []string{"We could not find a transaction with this hash on Devnet"},
			rpc(map[string]any{"replaced_by": "", "block_number": 0.0})},
		{"dropped", dev(unknown, "sender="+node.Account, "nonce=30"), "dropped", "resubmit_same_nonce", 0, "",
			[]string{"nonce 30 of"}, []string{"please use the same nonce, 30"},
			rpc(map[string]any{"sender_latest_nonce": 4.0, "sender_pending_nonce": 6.0})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newSupportEnv(t, config(gethtest.ChainID), nil, "evm")
			doc := runTxCase(t, e, c)
			if ep, _ := doc.step(t, "diagnose").Outputs["endpoint"].(map[string]any); ep["healthy"] != true {
				t.Errorf("the dev node is unhealthy: %v", ep)
			}
			e.secretsNowhere(password, node.Addr())
		})
	}

	// The node answers chain id 1337 where steward.yaml says 1: nothing
	// it says can be trusted, the run escalates to chain-infrastructure
	// at once (wrong_chain_id is not retryable) with a holding reply.
	t.Run("wrong chain id", func(t *testing.T) {
		t.Parallel()
		e := newSupportEnv(t, config(1), nil, "evm")
		const msg = "the node for devnet answers chain id 1337, not 1: check rpc_url"
		doc := runTxCase(t, e, txCase{inputs: dev(node.Success), state: "unavailable", advice: "wait", severity: "high",
			summary: []string{"The devnet node could not be asked (wrong_chain_id: " + msg + ")."},
			reply:   []string{"we cannot get a reliable answer from the network right now"}})
		if d := doc.step(t, "diagnose"); d.Status != "failed" || d.Attempts != 1 || d.Error == nil || d.Error.Code != "wrong_chain_id" || d.Error.Message != msg {
			t.Errorf("diagnose %+v", d)
		}
		esc := doc.Outputs["escalation"].(map[string]any)
		if esc["title"] != "Cannot diagnose transactions on devnet: wrong_chain_id" || esc["provider_response"] != "wrong_chain_id: "+msg {
			t.Errorf("escalation %v", esc)
		}
		e.secretsNowhere(password, node.Addr())
	})
}
