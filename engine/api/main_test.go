package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/jonboulle/clockwork"
	"github.com/stewardhq/steward/actions"
	"github.com/stewardhq/steward/actions/core"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/engine/journal"
	"github.com/stewardhq/steward/engine/journal/sqlite"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/runbooks"
	"go.uber.org/goleak"
)

// Runs execute in the background (heartbeats, recorders): none may
// outlive the tests.
func TestMain(m *testing.M) {
	if spec := os.Getenv(benchServerEnv); spec != "" {
		os.Exit(benchServer(spec))
	}
	openapi3filter.RegisterBodyDecoder("text/event-stream", sseDecoder)
	openapi3filter.RegisterBodyDecoder("application/jsonl", jsonlDecoder)
	goleak.VerifyTestMain(m)
}

// principals are the identities of these tests. The tokens package
// (engine/auth tokens) is not in this tree: a test middleware maps the
// X-Test-Principal header to one of them, as Config.Authenticate's
// middleware puts the principal of a bearer token in the context.
var principals = map[string]auth.Principal{
	"admin":  {Subject: "admin", Via: "test", Grants: []auth.Grant{{Role: auth.Admin, Runbooks: "*"}}},
	"viewer": {Subject: "vera", Via: "test", Grants: []auth.Grant{{Role: auth.Viewer, Runbooks: "*"}}},
	// ops runs (and may approve) everything; lead approves.
	"ops":  {Subject: "olga", Via: "test", Grants: []auth.Grant{{Role: auth.Approver, Runbooks: "*"}}},
	"lead": {Subject: "lena", Via: "test", Grants: []auth.Grant{{Role: auth.Approver, Runbooks: "*"}}},
	// narrow operates hello only, views the rest.
	"narrow": {Subject: "nico", Via: "test", Grants: []auth.Grant{{Role: auth.Viewer, Runbooks: "*"}, {Role: auth.Operator, Runbooks: "hello"}}},
	"author": {Subject: "aida", Via: "test", Grants: []auth.Grant{{Role: auth.Author, Runbooks: "*"}}},
	// hello-viewer views hello only.
	"hello-viewer": {Subject: "hugo", Via: "test", Grants: []auth.Grant{{Role: auth.Viewer, Runbooks: "hello"}}},
}

func testAuthenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := principals[r.Header.Get("X-Test-Principal")]
		if !ok {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"type":"urn:steward:problem:unauthenticated","title":"Unauthenticated","status":401}`)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.With(r.Context(), p)))
	})
}

// fixture is an API server (a real HTTP server) over a run service on a
// real SQLite store in a temporary home, with runbooks in a folder.
type fixture struct {
	t      *testing.T
	dir    string
	store  journal.Store
	svc    *runs.Service
	api    *api.Server
	srv    *httptest.Server
	router routers.Router
	cancel context.CancelFunc
}

type option func(*api.Config)

func newFixture(t *testing.T, files map[string]string, opts ...option) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir()}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(f.dir, name+".yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store, err := sqlite.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f.store = store
	folders := []string{f.dir}
	clock := clockwork.NewRealClock()
	f.svc = runs.New(runs.Config{
		Store: store,
		Actions: func(sub core.RunFunc) *actions.Registry {
			reg := actions.NewRegistry()
			if err := reg.Register(core.Actions(clock, sub)...); err != nil {
				t.Fatal(err)
			}
			return reg
		},
		Resolve: func(name string, _ *runbooks.Pinned) (*runbooks.Document, error) {
			return runbooks.ResolveName(name, folders)
		},
		Policy: journal.Policy{Groups: map[string][]string{"leads": {"lena"}}, Config: "steward.yaml"},
		Host:   "test", PID: os.Getpid(),
	})
	cfg := api.Config{
		Runs: f.svc, Store: store,
		Runbooks:     func() ([]*runbooks.Entry, error) { return runbooks.List(folders) },
		Resolve:      func(name string) (*runbooks.Document, error) { return runbooks.ResolveName(name, folders) },
		Authenticate: testAuthenticate,
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	f.api, err = api.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.api)
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("the OpenAPI document does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is invalid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: f.srv.URL + api.Prefix}}
	if f.router, err = gorillamux.NewRouter(doc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.srv.Close()
		// Runs still executing end with the server's context.
		if err := f.api.Wait(context.Background()); err != nil {
			t.Error(err)
		}
		cancel()
		store.Close()
	})
	return f
}

// response is an answer of the API, checked against the OpenAPI
// document.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s: %v", r.body, err)
	}
}

// problem is the response's problem+json.
func (r *response) problem(t *testing.T) api.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d, Content-Type %q, not a problem: %s", r.status, ct, r.body)
	}
	var p api.Problem
	r.decode(t, &p)
	if p.Status != r.status {
		t.Fatalf("problem status %d in a %d response", p.Status, r.status)
	}
	return p
}

// do sends a request as who ("" for none) and validates the response
// against the OpenAPI document: its status is documented for the
// operation, and its body fits the schema.
func (f *fixture) do(method, path, who string, body any, header ...string) *response {
	f.t.Helper()
	var rd io.Reader
	var raw []byte
	if body != nil {
		if s, ok := body.(string); ok {
			raw = []byte(s)
		} else {
			var err error
			if raw, err = json.Marshal(body); err != nil {
				f.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != "" {
		req.Header.Set("X-Test-Principal", who)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	out := &response{status: res.StatusCode, header: res.Header, body: b}
	f.validate(req, raw, out)
	return out
}

// validate checks a response of an API route against the document.
func (f *fixture) validate(req *http.Request, reqBody []byte, res *response) {
	f.t.Helper()
	if !strings.HasPrefix(req.URL.Path, api.Prefix+"/") {
		return // health, readiness and metrics are not API routes
	}
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := f.router.FindRoute(vreq)
	if err != nil {
		// An unknown route must still answer a documented problem.
		if res.status != http.StatusNotFound && res.status != http.StatusMethodNotAllowed {
			f.t.Fatalf("%s %s: no route in the OpenAPI document: %v", req.Method, req.URL.Path, err)
		}
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status:  res.status,
		Header:  res.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		f.t.Fatalf("%s %s answered %d, which the OpenAPI document does not allow: %v\nbody: %s", req.Method, req.URL.Path, res.status, err, res.body)
	}
}

// sse is one Server-Sent Event as read from a stream.
type sse struct {
	ID    string          `json:"id"`
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// readSSE reads a text/event-stream body.
func readSSE(r io.Reader) ([]sse, error) {
	out := []sse{}
	var cur sse
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.ID != "" || cur.Event != "" || cur.Data != nil {
				out = append(out, cur)
			}
			cur = sse{}
		case strings.HasPrefix(line, "id: "):
			cur.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			cur.Event = line[7:]
		case strings.HasPrefix(line, "data: "):
			cur.Data = append(cur.Data, line[6:]...)
		case strings.HasPrefix(line, ":"):
		default:
			return nil, fmt.Errorf("not a Server-Sent Events line: %q", line)
		}
	}
	return out, sc.Err()
}

// sseDecoder reads an event stream as the array of its events, for the
// validator to check each against the document.
func sseDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	events, err := readSSE(body)
	if err != nil {
		return nil, err
	}
	return roundTrip(events)
}

// jsonlDecoder reads JSON Lines as the array of its lines.
func jsonlDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	lines := []json.RawMessage{}
	dec := json.NewDecoder(body)
	for dec.More() {
		var l json.RawMessage
		if err := dec.Decode(&l); err != nil {
			return nil, err
		}
		lines = append(lines, l)
	}
	return roundTrip(lines)
}

func roundTrip(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}
