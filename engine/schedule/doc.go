// Package schedule is the scheduler of steward serve: it fires the
// `schedule:` entries of the runbooks in the configured folders through
// the run service.
//
// State lives in the journal, not in the process, so that a restart, a
// clock step or a second replica on the same store agree:
//   - a slot (Slots) is the UTC instant the cron spec names in its time
//     zone; its fire claims the key schedule/NAME/SLOT with run.started
//     (journal.Batch.Key), so a slot starts at most one run, whoever
//     fires it;
//   - a slot that does not fire (overlap, pause, catch-up policy) is
//     recorded as skipped, with its reason, claiming the same key: it
//     can never fire afterwards;
//   - where the scheduler stopped is the latest slot recorded for the
//     schedule, fired or skipped, and missed slots are caught up from it;
//   - pause and resume are recorded changes, read back by every replica.
//
// gocron drives the wake-ups (with the injected clock, and an optional
// Elector for leader election); Slots decides which instants they are.
// docs/schedules.md describes the fields and rules for users.
package schedule
