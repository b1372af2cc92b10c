// Package runs is the run service: the one application layer that starts,
// resumes, decides, cancels, gets, lists and streams runs. The CLI, and
// later steward serve, the web console and the MCP server, translate their
// requests into its calls and render what it returns; they hold no run
// logic of their own.
//
// The service takes everything from its Config and its requests: the
// store, the actions, the clock, the secrets, the approval policy, and who
// acts. It prints nothing, exits nothing, and reads no identity from the
// operating system. Its errors are typed (see errors.go).
//
// State lives in the store, not in processes: a run being executed holds a
// lease (journal.Lease) renewed by a heartbeat; a cancel is a recorded
// request that the lease holder observes at its next renewal, wherever it
// runs; a decision is a record that the execution reads from the journal.
package runs
