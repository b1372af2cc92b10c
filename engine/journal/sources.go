package journal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// Runbook sources are kept beside the chain (Store.Source), once per
// version, and a run goes on with the source of the version its
// run.started record names: Verify checks them.

// versionUse is the first run.started record naming a runbook version.
type versionUse struct {
	runID string
	seq   int64
}

// versionOf is the runbook version a run.started record's data names, ""
// when it names none or is not a record's data.
func versionOf(data []byte) string {
	var d Data
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	return startedVersion(&d)
}

// checkSources checks that the store holds the source of each runbook
// version the runs started with, and that it hashes to that version: the
// sources sit outside the chain, and a run goes on with its source. The
// first problem is of the version first named.
func checkSources(ctx context.Context, s Reader, versions map[string]versionUse) (*Problem, error) {
	order := make([]string, 0, len(versions))
	for v := range versions {
		order = append(order, v)
	}
	sort.Slice(order, func(i, j int) bool { return versions[order[i]].seq < versions[order[j]].seq })
	for _, v := range order {
		if p, err := sourceProblem(ctx, s, v, versions[v]); p != nil || err != nil {
			return p, err
		}
	}
	return nil, nil
}

// sourceProblem checks the stored source of version, which the run.started
// record use names.
func sourceProblem(ctx context.Context, s Reader, version string, use versionUse) (*Problem, error) {
	src, err := s.Source(ctx, version)
	p := &Problem{Seq: use.seq, RunID: use.runID, Type: typeRunStarted}
	switch {
	case errors.Is(err, ErrSourceNotFound):
		p.Reason = fmt.Sprintf("its runbook version (sha256 %s) is not in the journal's sources: it was removed", version)
	case err != nil:
		return nil, err
	case !hashMatches(src.Src, version):
		p.Reason = fmt.Sprintf("the stored source of its runbook (sha256 %s) hashes to %s: it was changed", version, HashBody(src.Src))
	default:
		return nil, nil
	}
	return p, nil
}
