package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"os/user"
	"sort"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/stewardhq/steward/engine"
	"github.com/stewardhq/steward/engine/api"
	"github.com/stewardhq/steward/engine/api/client"
	"github.com/stewardhq/steward/engine/config"
	"github.com/stewardhq/steward/engine/printable"
	"github.com/stewardhq/steward/engine/progress"
	"github.com/stewardhq/steward/engine/runs"
	"github.com/stewardhq/steward/schema"
	"golang.org/x/term"
	"gopkg.in/yaml.v3"
)

type runFlags struct {
	inputs    []string
	inputFile string
	dryRun    bool
	actor     string
	output    string
	parallel  int
	progress  string
}

func newRunCmd(g *globalFlags) *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run NAME|FILE",
		Short: "Run a runbook now and show its progress",
		Long: `Run a runbook: by name (looked up in the folders of steward.yaml's
runbooks list, default ./runbooks, then in the bundled library) or by file
path.

Inputs are given with --input NAME=VALUE (repeatable) or --inputs FILE (JSON
or YAML); --input wins over the file. Values are converted by the input's
declared type: integers, numbers and booleans are parsed, arrays and objects
are JSON. Every input problem is listed before anything runs.

Independent steps run in parallel, at most --parallel actions at once.
In a terminal each step has a line that updates in place; otherwise one
line is printed per state change. A summary with the run's outputs ends it.

--dry-run executes read-only actions and shows what the others would do
with the values they would get; outputs that depend on them are unknown.

Ctrl-C cancels the run: running actions are stopped, the undo of finished
steps runs, and the run ends cancelled. A second Ctrl-C exits at once.

Every run is recorded in the journal under --home as it happens (see
steward runs, show, audit). A step with an approval makes the run wait:
steward prints the approve command and exits 3. A run whose process died
is continued with steward resume RUN_ID.

steward runbooks lists the runbooks a name finds; steward run NAME --help
describes that runbook's inputs.

With --server URL (env STEWARD_SERVER) the run starts in that steward
serve, as the subject of the bearer token in env STEWARD_TOKEN (or
--token-file), and its progress is streamed from the server: the same
output and exit status. NAME is then a runbook the server knows, at the
version the server resolves (NAME@REF is refused); --as and --parallel
are refused (the server records the token's subject and
decides the parallelism); Ctrl-C asks the server to cancel the run.

Exit status: 0 succeeded, 1 failed or cancelled, 2 invalid runbook or
inputs (nothing ran), 3 waiting for an approval.`,
		Example: `  steward run check-endpoint --input url=https://example.com
  steward run runbooks/decline-reply.yaml --inputs ticket-4711.json --dry-run
  steward run stuck-transaction --input chain=ethereum --input tx_hash=0x9a909a909a909a909a909a909a909a909a909a909a909a909a909a909a909a90 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRunbook(cmd, g, f, args[0])
		},
		ValidArgsFunction: completeRunbook(g),
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.inputs, "input", "i", nil, "an input as NAME=VALUE (repeatable)")
	fl.StringVar(&f.inputFile, "inputs", "", "a JSON or YAML file of inputs")
	fl.BoolVar(&f.dryRun, "dry-run", false, "run read-only actions only; show what the others would do")
	fl.Var((*identity)(&f.actor), "as", "who runs it (default: your user name)")
	fl.StringVarP(&f.output, "output", "o", "text", "text, or json: print only the final run document")
	fl.IntVar(&f.parallel, "parallel", engine.DefaultParallel, "actions running at once, at most")
	fl.StringVar(&f.progress, "progress", "auto", "auto, live (update lines in place) or plain (one line per change)")
	must(cmd.RegisterFlagCompletionFunc("input", completeInput(g)))
	help := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		if ref := c.Flags().Args(); c == cmd && len(ref) == 1 {
			runbookHelp(c, g, ref[0], help)
			return
		}
		help(c, args)
	})
	return cmd
}

func usageError(format string, args ...any) error {
	return &exitError{code: exitInvalid, err: fmt.Errorf(format, args...)}
}

func runRunbook(cmd *cobra.Command, g *globalFlags, f *runFlags, ref string) error {
	if err := checkOutput(f.output, f.progress); err != nil {
		return err
	}
	if f.parallel < 1 || f.parallel > 1024 {
		return usageError("--parallel must be between 1 and 1024, got %d", f.parallel)
	}
	cfg, err := g.loadConfig(cmd)
	if err != nil {
		return err
	}
	if c, err := g.remote(); c != nil || err != nil {
		if err != nil {
			return err
		}
		return runRemote(cmd, c, cfg, f, ref)
	}
	doc, err := resolveRunbook(cmd.Context(), g, cfg, ref) // sources.go
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	svc, err := newService(cmd, g, cfg)
	if err != nil {
		return err
	}
	defer svc.close()
	plan := svc.Prepare(doc, svc.redact)
	if err := plan.Err(); err != nil {
		printDiagnostics(cmd.ErrOrStderr(), err)
		return &exitError{code: exitInvalid, err: err}
	}
	rb := plan.Runbook
	inputs, errs, err := readInputs(rb, f)
	if err != nil {
		return err
	}
	if errs = mergeInputErrors(errs, inputs, rb); len(errs) > 0 {
		return inputErrors(cmd.ErrOrStderr(), rb, errs)
	}
	ctx, stop := interruptible(cmd.ErrOrStderr())
	defer stop()
	out := newRunOutput(cmd, cfg, f.output, f.progress, rb)
	res, err := svc.Start(ctx, plan, runs.StartRequest{Inputs: inputs, Actor: actor(f.actor), DryRun: f.dryRun,
		Parallel: f.parallel, Progress: out.progress, Queued: func(holder, key string) {
			// concurrency.key: the run waits for the holder to end.
			fmt.Fprint(cmd.ErrOrStderr(), printable.String(fmt.Sprintf("waiting: run %s holds concurrency key %q (steward show %s)\n", holder, key, holder)))
		}})
	return out.finish(res, err)
}

// runRemote starts the run in the server of --server and shows it as
// runRunbook shows a run it executes: the server reads and checks the
// inputs' values (--input is converted by the input's type here, as
// locally), and the progress comes from the run's records.
func runRemote(cmd *cobra.Command, c *client.Client, cfg *config.Config, f *runFlags, ref string) error {
	if err := refuseAs(cmd); err != nil {
		return err
	}
	if cmd.Flags().Changed("parallel") {
		return usageError("--parallel is not allowed with --server: the server decides how many actions run at once")
	}
	if name, at, ok := strings.Cut(ref, "@"); ok && schema.IsName(name) {
		// POST /runs starts a runbook as the server resolves its name:
		// at its sources' pins, not at a ref a client names.
		return usageError("with --server, run takes no @REF: the server runs %s as it resolves the name (a Git source's pin); run %s@%s on the server's host, where the source's allow_refs apply", name, name, at)
	}
	if !schema.IsName(ref) {
		return usageError("with --server, run takes the name of a runbook the server knows: %q is not a runbook name (the server never reads a file named by a client)", ref)
	}
	errw := cmd.ErrOrStderr()
	rb, err := remoteRunbook(cmd.Context(), c, ref, nil)
	if err != nil {
		return remoteError(errw, "", err)
	}
	inputs, errs, err := readInputs(rb, f)
	if err != nil {
		return err
	}
	if len(errs) > 0 {
		return inputErrors(errw, rb, errs)
	}
	st, err := c.Start(cmd.Context(), api.StartRequest{Runbook: rb.Name, Inputs: inputs, DryRun: f.dryRun})
	var pe *client.ProblemError
	if errors.As(err, &pe) && pe.Slug() == "invalid-inputs" {
		return inputErrors(errw, rb, inputErrorsOf(pe))
	}
	if err != nil {
		return remoteError(errw, "", err)
	}
	ctx, stop := interruptible(errw)
	defer stop()
	out := newRunOutput(cmd, cfg, f.output, f.progress, rb)
	out.runID = st.ID
	res, err := follow(ctx, c, errw, st.ID, 0, out.progress)
	if err != nil {
		err = remoteError(errw, st.ID, err)
	}
	return out.finish(res, err)
}

// newPrinter chooses live or plain progress.
func newPrinter(w io.Writer, style string, rb *schema.Runbook) *progress.Printer {
	width := 0
	for _, st := range append(append([]*schema.Step(nil), rb.Steps...), rb.OnFailure...) {
		width = max(width, len(st.ID))
	}
	opts := progress.Options{StepWidth: width}
	file, isFile := w.(*os.File)
	tty := isFile && term.IsTerminal(int(file.Fd()))
	opts.Live = style == "live" || (style == "auto" && tty)
	if opts.Live {
		opts.Color = os.Getenv("NO_COLOR") == "" && tty
		if tty {
			opts.Width, _, _ = term.GetSize(int(file.Fd()))
		}
	}
	return progress.New(w, opts)
}

// interruptible returns a context cancelled by the first SIGINT or
// SIGTERM; a second one exits at once.
func interruptible(errw io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sig:
		case <-done:
			return
		}
		fmt.Fprintln(errw, "\ncancelling: running actions are stopped and undo runs; press Ctrl-C again to exit at once")
		cancel()
		select {
		case <-sig:
			fmt.Fprintln(errw, "exiting without cleaning up")
			os.Exit(exitFailed)
		case <-done:
		}
	}()
	return ctx, func() { signal.Stop(sig); close(done); cancel() }
}

// readInputs reads --inputs FILE, then --input NAME=VALUE over it. It
// returns the values it could convert and a problem for each it could not.
func readInputs(rb *schema.Runbook, f *runFlags) (map[string]any, []*engine.InputError, error) {
	inputs := map[string]any{}
	if f.inputFile != "" {
		b, err := readCapped(f.inputFile, schema.MaxFileSize)
		if err != nil {
			return nil, nil, usageError("--inputs: %v", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return nil, nil, usageError("--inputs %s: not a JSON or YAML mapping: %v", f.inputFile, err)
		}
		for k, v := range m {
			inputs[k] = v
		}
	}
	var errs []*engine.InputError
	for _, kv := range f.inputs {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			errs = append(errs, &engine.InputError{Message: fmt.Sprintf("--input %q: write NAME=VALUE", kv)})
			continue
		}
		in := findInput(rb, name)
		if in == nil {
			inputs[name] = val // reported as unknown by CheckInputs
			continue
		}
		v, err := engine.ParseInput(in, val)
		if err != nil {
			msg := err.Error()
			if in.Secret {
				msg = "is not a valid " + string(in.Type)
			}
			errs = append(errs, &engine.InputError{Input: name, Message: msg})
			delete(inputs, name)
			continue
		}
		inputs[name] = v
	}
	return inputs, errs, nil
}

// mergeInputErrors adds the problems CheckInputs finds to those of
// reading, once per input.
func mergeInputErrors(errs []*engine.InputError, inputs map[string]any, rb *schema.Runbook) []*engine.InputError {
	bad := map[string]bool{}
	for _, e := range errs {
		bad[e.Input] = true
	}
	_, more := engine.CheckInputs(rb, inputs)
	for _, e := range more {
		if !bad[e.Input] {
			errs = append(errs, e)
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Input < errs[j].Input })
	return errs
}

func findInput(rb *schema.Runbook, name string) *schema.Input {
	for _, in := range rb.Inputs {
		if in.Name == name {
			return in
		}
	}
	return nil
}

func inputErrors(w io.Writer, rb *schema.Runbook, errs []*engine.InputError) error {
	for _, e := range errs {
		fmt.Fprintf(w, "%s: %s\n", rb.Name, printable.String(e.Error()))
		if e.Hint != "" {
			fmt.Fprintf(w, "  hint: %s\n", printable.String(e.Hint))
		}
	}
	return &exitError{code: exitInvalid, err: fmt.Errorf("%s; nothing ran", plural(len(errs), "invalid input"))}
}

// envSecret resolves secret(NAME) from STEWARD_SECRET_NAME.
func envSecret(name string) (string, bool) {
	return os.LookupEnv(secretVar(name))
}

func actor(flag string) string {
	if flag != "" {
		return flag
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}

// readCapped reads a file of at most limit bytes.
func readCapped(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("%s is larger than %d KiB", path, limit>>10)
	}
	return b, nil
}
