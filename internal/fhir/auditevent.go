package fhir

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/ehrchain/ehrchain/internal/audit"
	"github.com/ehrchain/ehrchain/internal/auditreport"
	"github.com/ehrchain/ehrchain/internal/identity"
)

// searchAudit reads the audit trail back as AuditEvent resources through a signed audit
// query in the caller's name: the node applies the caller's scope (a patient sees events
// about themself, a provider its own actions, an auditor everything).
func (g *Gateway) searchAudit(w http.ResponseWriter, r *http.Request, s *session, q *query) {
	f := audit.Filter{Patient: q.patient, Limit: q.count, Cursor: r.URL.Query().Get("_cursor")}
	if f.Limit == 0 {
		f.Limit = defaultCount
	}
	if s.who.Role == identity.Provider || s.who.Role == identity.Insurer {
		f.Actor = s.who.ID // a provider's scope is its own actions
	}
	page, err := g.c.AuditQuery(r.Context(), s.ks, f)
	if err != nil {
		writeErr(w, err)
		return
	}
	v := g.b.View()
	names := map[string]string{}
	for _, e := range page.Events {
		for _, id := range []string{e.Actor, e.Patient, e.Subject} {
			if _, ok := names[id]; !ok && id != "" {
				if who := identity.Get(v, id); who != nil {
					names[id] = who.Name
				}
			}
		}
	}
	entries := make([]any, 0, len(page.Events))
	for _, e := range page.Events {
		ae := auditreport.FHIRAuditEvent(e, names)
		b, err := json.Marshal(ae)
		if err != nil {
			writeErr(w, err)
			return
		}
		o, err := Parse(b)
		if err != nil {
			writeErr(w, err)
			return
		}
		id, _ := o["id"].(string)
		entries = append(entries, Object{"fullUrl": fullURL(r, "AuditEvent", id), "resource": o, "search": Object{"mode": "match"}})
	}
	b := Object{"resourceType": "Bundle", "type": "searchset"}
	base := strings.TrimSuffix(fullURL(r, "AuditEvent", ""), "/")
	links := []any{Object{"relation": "self", "url": base + "?" + r.URL.RawQuery}}
	if page.Next != "" {
		nq := r.URL.Query()
		nq.Set("_cursor", page.Next)
		links = append(links, Object{"relation": "next", "url": base + "?" + nq.Encode()})
	}
	b["link"] = links
	if len(entries) > 0 {
		b["entry"] = entries
	}
	writeResource(w, http.StatusOK, b)
}
