package api

import (
	"context"
	"net/http"

	"github.com/stewardhq/steward/engine/auth"
	"github.com/stewardhq/steward/runbooks/sources"
)

// Sources is what the API asks of the runbook sources of steward.yaml:
// each one's pin and last sync, read from --home (sources.Statuses; the
// repositories are not asked).
type Sources interface {
	Statuses(ctx context.Context) ([]*sources.Status, error)
}

// SourceList answers GET /sources.
type SourceList struct {
	Sources []*sources.Status `json:"sources"`
}

// listSources answers the sources and their pins; which runbooks a
// source holds says nothing of who may view them, so it takes the
// viewer role on every runbook, as the audit does.
func (s *Server) listSources(w http.ResponseWriter, r *http.Request) {
	if _, err := s.require(r, auth.Viewer, ""); err != nil {
		s.problem(w, r, err)
		return
	}
	out := SourceList{Sources: []*sources.Status{}}
	if s.cfg.Sources != nil {
		list, err := s.cfg.Sources.Statuses(r.Context())
		if err != nil {
			s.problem(w, r, err)
			return
		}
		out.Sources = append(out.Sources, list...)
	}
	writeJSON(w, http.StatusOK, out)
}
