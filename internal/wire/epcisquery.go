package wire

import "encoding/json"

// EPCISContext is the JSON-LD context of EPCIS 2.0 documents.
const EPCISContext = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"

// EPCISQueryDocument is the answer of GET /epcis/events (EPCIS 2.0 REST query binding,
// JSON-LD): the events of one page in ledger order, each as captured with its Event Hash
// ID as eventID when it carried none. The next page is in the Link header (rel="next").
type EPCISQueryDocument struct {
	Context       []any     `json:"@context"` // the EPCIS context, then the events' extension namespaces
	Type          string    `json:"type"`     // EPCISQueryDocument
	SchemaVersion string    `json:"schemaVersion"`
	CreationDate  string    `json:"creationDate"`
	EPCISBody     QueryBody `json:"epcisBody"`
}

// QueryBody is an EPCISQueryDocument's epcisBody.
type QueryBody struct {
	QueryResults QueryResults `json:"queryResults"`
}

// QueryResults names the query and holds its events.
type QueryResults struct {
	QueryName   string      `json:"queryName"` // SimpleEventQuery
	ResultsBody ResultsBody `json:"resultsBody"`
}

// ResultsBody is the event list of a query answer.
type ResultsBody struct {
	EventList []json.RawMessage `json:"eventList"`
}
